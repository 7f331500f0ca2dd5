//! `data build`: runs the SQL steps in order on the warehouse, inside one transaction,
//! and commits only when the sanity checks pass, so readers (a sync, training) see the
//! previous tables or the new ones, never a half-built or broken set.
//!
//! Each step's tables are logged with their BigQuery name, row count and duration; the
//! checks' positive rate and NULL rates are logged too.

use std::time::Instant;

use fsdemo_core::Config;
use fsdemo_sql::translate::TableRef;
use fsdemo_sql::{split_statements, to_duckdb, Params, STEPS};
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::warehouse::{Cell, Rows, Warehouse};

/// One table a step created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableBuilt {
    /// Its BigQuery name, `project.dataset.table`.
    pub name: String,
    /// Rows in it.
    pub rows: u64,
    /// How long its statement ran, in milliseconds.
    pub duration_ms: u64,
}

/// What one SQL file did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The file, e.g. `02_build_features.sql`.
    pub file: String,
    /// What the step does.
    pub title: String,
    /// The tables it created, in order.
    pub tables: Vec<TableBuilt>,
    /// How long the whole file ran, in milliseconds.
    pub duration_ms: u64,
}

/// What the checks step found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    /// Every `*_violations` column and its count (all 0 in a committed build).
    pub violations: Vec<(String, i64)>,
    /// Rows of `labels_customer`.
    pub label_rows: i64,
    /// Rows of `train_dataset`.
    pub train_rows: i64,
    /// Rows of `features_customer`.
    pub snapshot_rows: i64,
    /// Share of labels that are 1.
    pub positive_rate: Option<f64>,
    /// Each feature's share of NULLs in `features_customer`.
    pub null_rates: Vec<(String, f64)>,
}

/// The time frame the build used (SPEC "Time frame"), as `time_frame` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeFrame {
    /// The horizon `H`, UTC microseconds.
    pub horizon_micros: Option<i64>,
    /// The first snapshot day, days since 1970-01-01.
    pub first_snapshot_day: Option<i32>,
    /// The newest snapshot day.
    pub last_snapshot_day: Option<i32>,
    /// The newest label day whose window closes by `H`.
    pub last_label_day: Option<i32>,
}

/// What [`build`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// The build steps, in order.
    pub steps: Vec<StepReport>,
    /// The checks' findings.
    pub checks: Checks,
    /// The time frame.
    pub time_frame: TimeFrame,
    /// How long everything took, in milliseconds.
    pub duration_ms: u64,
    /// `true` when the tables already held this build and were kept as they are.
    #[serde(default)]
    pub reused: bool,
    /// What decided this build's result (the loaded files and the rendered SQL), hashed:
    /// equal fingerprints, equal tables.
    #[serde(default)]
    pub fingerprint: String,
}

/// Whether [`load_and_build`] may keep tables that already hold the same build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuild {
    /// Run every step (`data build`: re-running replaces the tables).
    Always,
    /// Keep the tables when the source files, the rendered SQL and the settings are those
    /// of the last committed build (the demo's re-runs).
    IfChanged,
}

/// The table in the dataset that remembers the last committed build.
const BUILD_MANIFEST: &str = "_fsdemo_build";

/// The projects whose tables live in the local warehouse.
pub fn local_projects(config: &Config) -> [&str; 2] {
    [config.project.id.as_str(), config.project.source_project.as_str()]
}

/// Loads the export in `source` into the source dataset, then [`build`]s.
pub fn load_and_build(
    warehouse: &Warehouse,
    config: &Config,
    source: &std::path::Path,
    params: &Params,
    rebuild: Rebuild,
) -> Result<(crate::LoadReport, BuildReport), DataError> {
    let load = crate::load_export(warehouse, source, &config.project.source_dataset)?;
    if rebuild == Rebuild::IfChanged {
        let fingerprint = fingerprint(warehouse, config, params)?;
        if let Some(previous) = last_build(warehouse, &config.project.dataset, &fingerprint)? {
            tracing::info!(
                dataset = %config.project.dataset,
                "source, SQL and settings unchanged since the last build; tables reused"
            );
            return Ok((load, BuildReport { reused: true, fingerprint, ..previous }));
        }
    }
    let build = build(warehouse, config, params)?;
    Ok((load, build))
}

/// What decides a build's result: the loaded files and every rendered SQL step.
///
/// Limitation: the key is std's `DefaultHasher`, stable within one build of the program
/// only; another toolchain sees a different key and rebuilds once, which is all it costs.
fn fingerprint(
    warehouse: &Warehouse,
    config: &Config,
    params: &Params,
) -> Result<String, DataError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    crate::source::loaded_fingerprint(warehouse, &config.project.source_dataset)?.hash(&mut hasher);
    for step in STEPS {
        params.render(step.file, step.text)?.hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// The report of the last committed build, if it had `fingerprint`.
fn last_build(
    warehouse: &Warehouse,
    dataset: &str,
    fingerprint: &str,
) -> Result<Option<BuildReport>, DataError> {
    if !warehouse.has_table(dataset, BUILD_MANIFEST)? {
        return Ok(None);
    }
    let sql = format!("SELECT fingerprint, report FROM \"{dataset}\".{BUILD_MANIFEST}");
    let rows = warehouse.select("build: read the last build", &sql)?;
    let Some([Cell::Text(stored), Cell::Text(report)]) = rows.rows.first().map(Vec::as_slice)
    else {
        return Ok(None);
    };
    if stored != fingerprint {
        return Ok(None);
    }
    Ok(serde_json::from_str(report).ok())
}

/// Records `report` as the dataset's last build, inside the build's transaction.
fn record_build(
    warehouse: &Warehouse,
    dataset: &str,
    fingerprint: &str,
    report: &BuildReport,
) -> Result<(), DataError> {
    let table = format!("\"{dataset}\".{BUILD_MANIFEST}");
    let ddl = format!("CREATE OR REPLACE TABLE {table} (fingerprint VARCHAR, report VARCHAR)");
    warehouse.execute("build: record the build", &table, &ddl)?;
    let json = serde_json::to_string(report).expect("build reports serialise");
    let insert = format!("INSERT INTO {table} VALUES (?, ?)");
    warehouse
        .conn()
        .execute(&insert, [fingerprint, json.as_str()])
        .map_err(|e| DataError::duckdb("build: record the build", table.clone(), e))?;
    Ok(())
}

/// Runs one SQL step by itself, outside any transaction, without its checks (for tests
/// that set up a step's input tables by hand).
pub fn run_step(
    warehouse: &Warehouse,
    config: &Config,
    params: &Params,
    file: &str,
) -> Result<StepReport, DataError> {
    let step = fsdemo_sql::steps::step(file).ok_or_else(|| DataError::Warehouse {
        step: "build".into(),
        target: file.into(),
        message: "no such SQL step".into(),
    })?;
    let started = Instant::now();
    let text = params.render(step.file, step.text)?;
    let mut tables = Vec::new();
    for statement in split_statements(step.file, &text)? {
        let duck = to_duckdb(step.file, &statement, &local_projects(config))?;
        let at = format!("build {}:{}", step.file, duck.line);
        let clock = Instant::now();
        warehouse.execute(&at, "statement", &duck.sql)?;
        if let Some(table) = &duck.creates {
            tables.push(table_built(warehouse, table, clock)?);
        }
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    Ok(StepReport { file: step.file.into(), title: step.title.into(), tables, duration_ms })
}

/// Runs every SQL step on `warehouse` with `params`; commits only if the checks pass.
pub fn build(
    warehouse: &Warehouse,
    config: &Config,
    params: &Params,
) -> Result<BuildReport, DataError> {
    let started = Instant::now();
    let dataset = &config.project.dataset;
    warehouse.execute("build", dataset, &format!("CREATE SCHEMA IF NOT EXISTS \"{dataset}\""))?;

    let fingerprint = fingerprint(warehouse, config, params)?;
    warehouse.execute("build", dataset, "BEGIN TRANSACTION")?;
    let built = run_steps(warehouse, config, params).and_then(|(steps, checks, time_frame)| {
        let duration_ms = started.elapsed().as_millis() as u64;
        let report = BuildReport {
            steps,
            checks,
            time_frame,
            duration_ms,
            reused: false,
            fingerprint: fingerprint.clone(),
        };
        record_build(warehouse, dataset, &fingerprint, &report)?;
        Ok(report)
    });
    match built {
        Ok(report) => {
            warehouse.execute("build", dataset, "COMMIT")?;
            let (steps, checks, duration_ms) = (&report.steps, &report.checks, report.duration_ms);
            tracing::info!(
                steps = steps.len(),
                label_rows = checks.label_rows,
                train_rows = checks.train_rows,
                duration_ms,
                "build committed"
            );
            Ok(report)
        }
        Err(error) => {
            warehouse.execute("build", dataset, "ROLLBACK").ok();
            tracing::warn!(error = %error, "build rolled back; the previous tables are kept");
            Err(error)
        }
    }
}

fn run_steps(
    warehouse: &Warehouse,
    config: &Config,
    params: &Params,
) -> Result<(Vec<StepReport>, Checks, TimeFrame), DataError> {
    let projects = local_projects(config);
    let mut steps = Vec::new();

    for step in STEPS.iter().filter(|step| !step.is_check) {
        let started = Instant::now();
        let text = params.render(step.file, step.text)?;
        let mut tables = Vec::new();
        let settings = duckdb_settings(step.text);
        for (name, value) in &settings {
            let at = format!("build {}: -- duckdb: {name}", step.file);
            warehouse.execute(&at, name, &format!("SET {name} = {value}"))?;
        }

        for statement in split_statements(step.file, &text)? {
            let duck = to_duckdb(step.file, &statement, &projects)?;
            let at = format!("build {}:{}", step.file, duck.line);
            let clock = Instant::now();
            let target = duck.creates.as_ref().map_or("statement".into(), |t| t.bigquery.clone());
            warehouse.execute(&at, &target, &duck.sql).map_err(|e| explain(e, step.file))?;
            if let Some(table) = &duck.creates {
                tables.push(table_built(warehouse, table, clock)?);
            }
        }

        for (name, _) in &settings {
            warehouse.execute(&format!("build {}", step.file), name, &format!("RESET {name}"))?;
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        log_step(step.file, &tables, duration_ms);
        steps.push(StepReport {
            file: step.file.into(),
            title: step.title.into(),
            tables,
            duration_ms,
        });
    }

    let checks = run_checks(warehouse, config, params)?;
    let time_frame = read_time_frame(warehouse, &config.project.dataset)?;
    Ok((steps, checks, time_frame))
}

/// The DuckDB settings a step file asks for while it runs locally, from its
/// `-- duckdb: name = value` lines (comments to BigQuery): an engine hint is written in
/// the file whose query needs it, with the reason beside it.
fn duckdb_settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("-- duckdb:"))
        .filter_map(|setting| setting.split_once('='))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

/// Runs the checks step on the tables as they are; broken invariants are
/// [`DataError::Checks`], naming each and how many rows broke it.
pub fn run_checks(
    warehouse: &Warehouse,
    config: &Config,
    params: &Params,
) -> Result<Checks, DataError> {
    let step = STEPS.iter().find(|step| step.is_check).expect("one step is the checks");
    let text = params.render(step.file, step.text)?;
    let statements = split_statements(step.file, &text)?;
    let statement = statements.first().expect("the checks step has one statement");
    let duck = to_duckdb(step.file, statement, &local_projects(config))?;
    let at = format!("build {}:{}", step.file, duck.line);

    let checks = read_checks(&warehouse.select(&at, &duck.sql)?, &at)?;
    log_checks(&checks);
    let broken: Vec<(String, i64)> =
        checks.violations.iter().filter(|(_, n)| *n != 0).cloned().collect();
    if !broken.is_empty() {
        return Err(DataError::Checks { violations: broken });
    }
    Ok(checks)
}

fn table_built(
    warehouse: &Warehouse,
    table: &TableRef,
    clock: Instant,
) -> Result<TableBuilt, DataError> {
    let duration_ms = clock.elapsed().as_millis() as u64;
    let rows = warehouse.count_rows(&table.schema, &table.table)?;
    Ok(TableBuilt { name: table.bigquery.clone(), rows, duration_ms })
}

/// Adds what to do to the DuckDB errors a user can cause.
fn explain(error: DataError, file: &str) -> DataError {
    match error {
        DataError::Warehouse { step, target, message } if message.contains("does not exist") => {
            let message = format!(
                "{message}; the source tables are loaded by `fsdemo data build` before the SQL \
                 runs (check data.source), and {file} reads only tables of earlier steps"
            );
            DataError::Warehouse { step, target, message }
        }
        other => other,
    }
}

fn log_step(file: &str, tables: &[TableBuilt], duration_ms: u64) {
    for table in tables {
        tracing::info!(
            step = file,
            table = %table.name,
            rows = table.rows,
            duration_ms = table.duration_ms,
            "table built"
        );
    }
    tracing::debug!(step = file, duration_ms, "step done");
}

fn log_checks(checks: &Checks) {
    tracing::info!(
        label_rows = checks.label_rows,
        train_rows = checks.train_rows,
        snapshot_rows = checks.snapshot_rows,
        positive_rate = ?checks.positive_rate,
        violations = ?checks.violations,
        "sanity checks"
    );
    for (feature, rate) in &checks.null_rates {
        tracing::info!(feature = %feature, null_rate = rate, "feature NULL rate");
    }
}

/// Reads the checks step's one row (from DuckDB or BigQuery).
pub fn read_checks(rows: &Rows, at: &str) -> Result<Checks, DataError> {
    let row = rows.rows.first().ok_or_else(|| DataError::Warehouse {
        step: at.into(),
        target: "checks".into(),
        message: "the checks query returned no row".into(),
    })?;
    let named = |name: &str| rows.column(name).map(|i| &row[i]);
    let int = |name: &str| named(name).and_then(Cell::as_i64).unwrap_or(0);

    let mut violations = Vec::new();
    let mut null_rates = Vec::new();
    for (column, cell) in rows.columns.iter().zip(row) {
        if column.ends_with("_violations") {
            violations.push((column.clone(), cell.as_i64().unwrap_or(0)));
        } else if let Some(feature) = column.strip_prefix("null_rate_") {
            null_rates.push((feature.to_string(), cell.as_f64().unwrap_or(0.0)));
        }
    }
    Ok(Checks {
        violations,
        label_rows: int("label_rows"),
        train_rows: int("train_rows"),
        snapshot_rows: int("snapshot_rows"),
        positive_rate: named("positive_rate").and_then(Cell::as_f64),
        null_rates,
    })
}

fn read_time_frame(warehouse: &Warehouse, dataset: &str) -> Result<TimeFrame, DataError> {
    let table = format!("\"{dataset}\".time_frame");
    let rows = warehouse.select("build: read the time frame", &time_frame_query(&table))?;
    let frame = time_frame(&rows);
    let horizon = frame.horizon_micros.map(fsdemo_core::time::format_timestamp);
    let days = frame.first_snapshot_day.zip(frame.last_snapshot_day).map(|(a, b)| b - a + 1);
    tracing::info!(horizon = %horizon.unwrap_or_default(), snapshot_days = ?days, "time frame");
    Ok(frame)
}

/// The query of the time frame table `table`, written as the engine reads it
/// (`"fsdemo".time_frame` on DuckDB, `` `p.fsdemo.time_frame` `` on BigQuery).
pub fn time_frame_query(table: &str) -> String {
    format!("SELECT horizon, first_snapshot_day, last_snapshot_day, last_label_day FROM {table}")
}

/// Reads the one row of [`time_frame_query`].
pub fn time_frame(rows: &Rows) -> TimeFrame {
    let cell = |i: usize| rows.rows.first().and_then(|row| row.get(i).cloned());
    let day = |i: usize| match cell(i) {
        Some(Cell::Date(day)) => Some(day),
        _ => None,
    };
    let horizon_micros = match cell(0) {
        Some(Cell::Timestamp(micros)) => Some(micros),
        _ => None,
    };
    TimeFrame {
        horizon_micros,
        first_snapshot_day: day(1),
        last_snapshot_day: day(2),
        last_label_day: day(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_lines_of_a_step_file_are_its_local_settings() {
        let text = "-- Step 9\n-- duckdb: disabled_optimizers = 'build_side_probe_side'\n\
                    --duckdb: threads = 1\n  -- duckdb: bad name = 1\nSELECT 1; -- duckdb: x = 2";

        let settings = duckdb_settings(text);

        assert_eq!(
            settings,
            [("disabled_optimizers".to_string(), "'build_side_probe_side'".to_string())]
        );
    }
}
