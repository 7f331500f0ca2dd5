//! Errors of the offline pipeline. Each names the step, the file or table, and the fix.

use std::path::PathBuf;

use fsdemo_sql::SqlError;

/// Why loading, generating, building, reading or exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A table of the export has no file.
    #[error(
        "load: no `{table}` table in {dir}: expected {table}.csv, {table}.csv.gz or \
         {table}-*.csv.gz (BigQuery's export layout); point data.source at a theLook export, \
         or leave it empty to generate one"
    )]
    MissingTable {
        /// The folder searched.
        dir: PathBuf,
        /// The table, e.g. `orders`.
        table: &'static str,
    },

    /// A file lacks a column the pipeline reads.
    #[error("load {file}: no column `{column}` in the header; the load step reads {expected}")]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The missing column.
        column: &'static str,
        /// Every column the step reads from this table.
        expected: String,
    },

    /// A value that does not parse as its column's type.
    #[error("load {file}:{line}: column `{column}`: {value:?} is not {expected}")]
    BadValue {
        /// The file.
        file: PathBuf,
        /// 1-based line in the (decompressed) file.
        line: u64,
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
        /// What the column holds, with an example.
        expected: &'static str,
    },

    /// A file could not be read, written or decoded.
    #[error("{step} {path}: {message}")]
    File {
        /// `load`, `generate`, `export`, ...
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// The warehouse file is held by another process.
    #[error(
        "warehouse {path} is open in another process (a build, or a sync of the running \
         local service); wait for it to finish, or stop it with `fsdemo serve --stop`"
    )]
    Locked {
        /// The DuckDB file.
        path: PathBuf,
    },

    /// A DuckDB call failed.
    #[error("{step} {target}: {message}")]
    Warehouse {
        /// The step, e.g. `build 02_build_features.sql:4`.
        step: String,
        /// The table or file it worked on.
        target: String,
        /// DuckDB's message, and what to do where known.
        message: String,
    },

    /// A SQL file could not be rendered or translated.
    #[error(transparent)]
    Sql(#[from] SqlError),

    /// The sanity checks found broken invariants.
    #[error(
        "checks: {} invariant(s) broken: {}; the build was rolled back and the previous tables \
         are kept; fix the SQL or the input and build again",
        violations.len(),
        violations.iter().map(|(name, n)| format!("{name} = {n}")).collect::<Vec<_>>().join(", ")
    )]
    Checks {
        /// Each broken check and how many rows broke it.
        violations: Vec<(String, i64)>,
    },
}

impl DataError {
    /// A warehouse error from DuckDB; an out-of-memory error says which setting to raise
    /// instead of DuckDB's `SET ...` advice, which a user of this tool cannot apply.
    pub(crate) fn duckdb(
        step: impl Into<String>,
        target: impl Into<String>,
        error: duckdb::Error,
    ) -> Self {
        DataError::Warehouse {
            step: step.into(),
            target: target.into(),
            message: with_fix(&error.to_string()),
        }
    }
}

/// DuckDB's `message`, with what to do where this tool knows better than DuckDB.
fn with_fix(message: &str) -> String {
    if !message.contains("Out of Memory Error") {
        return message.to_string();
    }
    let first = message.split("\n\n").next().unwrap_or(message).trim();
    format!(
        "{first}; the warehouse is capped by data.duckdb_memory_limit: raise it (e.g. `--set \
         data.duckdb_memory_limit=3GB`) or build fewer days (`data.snapshot_days`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_of_memory_error_names_the_setting_to_raise() {
        let duckdb = "Out of Memory Error: could not allocate block of size 256.0 KiB \
                      (1.3 GiB/1.3 GiB used)\n\nPossible solutions:\n* Reducing the number \
                      of threads (SET threads=X)";

        let message = with_fix(duckdb);

        assert!(message.starts_with("Out of Memory Error: could not allocate"), "{message}");
        assert!(message.contains("--set data.duckdb_memory_limit=3GB"), "{message}");
        assert!(!message.contains("SET threads"), "{message}");
        assert_eq!(with_fix("Catalog Error: no table"), "Catalog Error: no table");
    }
}
