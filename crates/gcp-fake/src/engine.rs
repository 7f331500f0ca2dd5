//! Where the fake BigQuery's SQL runs: the [`QueryEngine`] trait, the [`QueryOutput`] it
//! returns, and [`CannedEngine`], a default engine that records DDL and answers SELECTs
//! from results registered by the test. A DuckDB-backed engine lives with the binary's
//! end-to-end test; the fake itself never parses SQL beyond table names.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Runs the SQL the fake BigQuery and the fake feature view sync receive.
///
/// The SQL arrives exactly as the client sent it: BigQuery Standard SQL with tables
/// written as `` `project.dataset.table` ``. Values travel as BigQuery's `f`/`v` JSON
/// carries them: strings, `None` for NULL; `INT64` as decimal text, `FLOAT64` as text a
/// float parser reads, `TIMESTAMP` as microseconds since the Unix epoch (what
/// `formatOptions.useInt64Timestamp=true` asks BigQuery for), `BOOL` as `true`/`false`.
pub trait QueryEngine: Send + Sync {
    /// Runs one statement: a query returns its columns and rows, a DDL statement
    /// (`CREATE OR REPLACE TABLE`) names the table it wrote and its row count. An `Err`
    /// becomes the job's `status.errorResult.message`.
    ///
    /// Which tables exist is the fake's business: the tables DDL reported writing, and
    /// those registered with `FakeGcp::add_table` (theLook's source tables).
    fn execute(&self, sql: &str) -> Result<QueryOutput, String>;
}

/// What one statement produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOutput {
    /// Result columns as (name, BigQuery type: `INT64`, `FLOAT64`, `STRING`, `TIMESTAMP`,
    /// `BOOL`); empty for DDL.
    pub columns: Vec<(String, String)>,
    /// Result rows, one string per column, `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// For DDL: the table written, as `project.dataset.table`.
    pub created_table: Option<String>,
    /// For DDL: the rows now in `created_table`.
    pub created_rows: u64,
    /// Bytes the statement read, reported as `totalBytesProcessed`.
    pub bytes_processed: u64,
}

impl QueryOutput {
    /// A query result with `columns` and `rows`.
    pub fn rows(columns: &[(&str, &str)], rows: Vec<Vec<Option<String>>>) -> QueryOutput {
        let columns = columns.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        QueryOutput { columns, rows, ..QueryOutput::default() }
    }
}

/// The default engine: records DDL, answers SELECTs from canned results.
///
/// - `CREATE [OR REPLACE] TABLE `p.d.t` ...` reports `p.d.t` as written, with the row
///   count set by [`CannedEngine::ddl_rows`] (default 100).
/// - Any other statement is answered by the first canned result whose marker occurs in
///   the SQL ([`CannedEngine::answer`]); with none, it fails naming the SQL's start.
///
/// Limitation: it runs no SQL. A test that needs real results plugs in a real engine.
#[derive(Debug, Default)]
pub struct CannedEngine {
    inner: Mutex<Canned>,
}

#[derive(Debug, Default)]
struct Canned {
    ddl_rows: BTreeMap<String, u64>,
    answers: Vec<(String, QueryOutput)>,
    executed: Vec<String>,
}

impl CannedEngine {
    /// An engine with no canned answers.
    pub fn new() -> CannedEngine {
        CannedEngine::default()
    }

    /// Sets the row count that DDL writing `table` records.
    pub fn ddl_rows(&self, table: &str, rows: u64) -> &Self {
        self.lock().ddl_rows.insert(table.to_string(), rows);
        self
    }

    /// Answers every non-DDL statement whose text contains `marker` with `output`.
    pub fn answer(&self, marker: &str, output: QueryOutput) -> &Self {
        self.lock().answers.push((marker.to_string(), output));
        self
    }

    /// Every statement executed so far, in order.
    pub fn executed(&self) -> Vec<String> {
        self.lock().executed.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Canned> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl QueryEngine for CannedEngine {
    fn execute(&self, sql: &str) -> Result<QueryOutput, String> {
        let mut canned = self.lock();
        canned.executed.push(sql.to_string());

        if let Some(table) = ddl_target(sql) {
            let rows = canned.ddl_rows.get(&table).copied().unwrap_or(100);
            let bytes_processed = rows * 64;
            let created_table = Some(table);
            return Ok(QueryOutput {
                created_table,
                created_rows: rows,
                bytes_processed,
                ..Default::default()
            });
        }

        let answer = canned.answers.iter().find(|(marker, _)| sql.contains(marker.as_str()));
        match answer {
            Some((_, output)) => Ok(output.clone()),
            None => {
                let start: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                let start: String = start.chars().take(120).collect();
                Err(format!("the canned engine has no answer for: {start}"))
            }
        }
    }
}

/// The table a `CREATE [OR REPLACE] TABLE` statement writes, without backticks.
pub fn ddl_target(sql: &str) -> Option<String> {
    // Leading `--` comments are part of a statement BigQuery accepts; skip them.
    let code: Vec<&str> = sql.lines().filter(|line| !line.trim_start().starts_with("--")).collect();
    let upper = code.join("\n").to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let is_ddl = matches!(
        words.as_slice(),
        ["CREATE", "TABLE", ..] | ["CREATE", "OR", "REPLACE", "TABLE", ..]
    );
    if !is_ddl {
        return None;
    }
    table_refs(sql).into_iter().next()
}

/// Every backticked three-part name (`` `p.d.t` ``) in `sql`, in order of appearance.
pub fn table_refs(sql: &str) -> Vec<String> {
    sql.split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| name.split('.').count() == 3 && name.split('.').all(|p| !p.is_empty()))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_is_recorded_with_its_configured_rows() {
        let engine = CannedEngine::new();
        engine.ddl_rows("p.d.t", 7);

        let output = engine.execute("CREATE OR REPLACE TABLE `p.d.t` AS SELECT 1").unwrap();

        assert_eq!(output.created_table.as_deref(), Some("p.d.t"));
        assert_eq!(output.created_rows, 7);
    }

    #[test]
    fn selects_need_a_canned_answer() {
        let engine = CannedEngine::new();
        engine.answer("FROM `p.d.t`", QueryOutput::rows(&[("x", "INT64")], vec![vec![None]]));

        assert_eq!(engine.execute("SELECT x FROM `p.d.t`").unwrap().rows.len(), 1);
        assert!(engine.execute("SELECT 2").unwrap_err().contains("SELECT 2"));
    }

    #[test]
    fn table_refs_skip_cte_names_and_strings() {
        let sql = "WITH a AS (SELECT * FROM `p.d.src`) SELECT * FROM a JOIN `x.y.z` USING (k)";

        assert_eq!(table_refs(sql), ["p.d.src", "x.y.z"]);
        assert_eq!(ddl_target("create or replace table `p.d.t` as select 1").unwrap(), "p.d.t");
        assert_eq!(ddl_target("SELECT * FROM `p.d.t`"), None);
    }

    /// Regression: the SQL files' statements start with a comment on their role, which hid
    /// the DDL and made the fake look for the table being created.
    #[test]
    fn ddl_behind_leading_comments_is_still_ddl() {
        let sql = "-- One row per order.\n  -- More.\nCREATE OR REPLACE TABLE `p.d.t` AS SELECT 1";

        assert_eq!(ddl_target(sql).as_deref(), Some("p.d.t"));
    }
}
