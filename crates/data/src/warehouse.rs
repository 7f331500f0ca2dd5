//! The local warehouse: one DuckDB file under the workdir playing BigQuery, a dataset
//! being a schema (`fsdemo.features_customer`). It runs translated statements, counts
//! rows, reads small results as typed cells and exports tables.
//!
//! DuckDB lets one process write a file at a time: builds open it read-write, while
//! readers that may run beside a build (a sync of the local service, `verify`) open it
//! read-only for as long as they read, never longer.

use std::path::{Path, PathBuf};

use duckdb::types::{TimeUnit, ValueRef};
use duckdb::{AccessMode, Config, Connection};

use crate::error::DataError;

/// The warehouse file's name inside the workdir.
pub const WAREHOUSE_FILE: &str = "warehouse.duckdb";

/// An open warehouse.
pub struct Warehouse {
    path: PathBuf,
    conn: Connection,
}

/// One value of a small result.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Any integer type.
    Int(i64),
    /// Any floating or decimal type.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// A timestamp, microseconds since the epoch (UTC).
    Timestamp(i64),
    /// A date, days since 1970-01-01.
    Date(i32),
}

impl Cell {
    /// The value as an integer, if it is one (or a boolean).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(v) => Some(*v),
            Cell::Bool(v) => Some(i64::from(*v)),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(v) => Some(*v as f64),
            Cell::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// Reads one DuckDB value.
    pub(crate) fn from_ref(value: ValueRef<'_>) -> Cell {
        match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Boolean(v) => Cell::Bool(v),
            ValueRef::TinyInt(v) => Cell::Int(v.into()),
            ValueRef::SmallInt(v) => Cell::Int(v.into()),
            ValueRef::Int(v) => Cell::Int(v.into()),
            ValueRef::BigInt(v) => Cell::Int(v),
            ValueRef::HugeInt(v) => i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int),
            ValueRef::UTinyInt(v) => Cell::Int(v.into()),
            ValueRef::USmallInt(v) => Cell::Int(v.into()),
            ValueRef::UInt(v) => Cell::Int(v.into()),
            ValueRef::UBigInt(v) => i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int),
            ValueRef::Float(v) => Cell::Float(v.into()),
            ValueRef::Double(v) => Cell::Float(v),
            ValueRef::Decimal(v) => Cell::Float(v.to_string().parse().unwrap_or(f64::NAN)),
            ValueRef::Timestamp(unit, v) => Cell::Timestamp(micros(unit, v)),
            ValueRef::Date32(days) => Cell::Date(days),
            ValueRef::Text(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
            other => Cell::Text(format!("{other:?}")),
        }
    }
}

/// A small result: column names and rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// The column names, in order.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

impl Warehouse {
    /// Opens (or creates) the warehouse at `path` for reading and writing.
    pub fn open(path: &Path) -> Result<Warehouse, DataError> {
        Self::open_limited(path, None)
    }

    /// As [`Warehouse::open`], with DuckDB's memory capped at `memory_limit` (`1.5GB`).
    pub fn open_limited(path: &Path, memory_limit: Option<&str>) -> Result<Warehouse, DataError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| DataError::File {
                step: "open warehouse",
                path: folder.into(),
                message: format!("cannot create the folder: {e}"),
            })?;
        }
        let warehouse = Self::connect(path, AccessMode::ReadWrite)?;
        // The tables are sets: keeping insertion order only costs memory on large builds.
        warehouse.execute("open warehouse", "settings", "SET preserve_insertion_order = false")?;
        if let Some(limit) = memory_limit.filter(|l| !l.trim().is_empty()) {
            let sql = format!("SET memory_limit = '{}'", limit.replace('\'', ""));
            warehouse.execute("open warehouse", "data.duckdb_memory_limit", &sql)?;
        }
        Ok(warehouse)
    }

    /// Opens an existing warehouse read-only; several readers may share it.
    pub fn open_read_only(path: &Path) -> Result<Warehouse, DataError> {
        if !path.exists() {
            return Err(DataError::File {
                step: "open warehouse",
                path: path.into(),
                message: "does not exist; run `fsdemo data build` first".into(),
            });
        }
        Self::connect(path, AccessMode::ReadOnly)
    }

    fn connect(path: &Path, mode: AccessMode) -> Result<Warehouse, DataError> {
        let config = Config::default().access_mode(mode).map_err(|e| open_error(path, e))?;
        let conn = Connection::open_with_flags(path, config).map_err(|e| open_error(path, e))?;
        tracing::debug!(path = %path.display(), "warehouse opened");
        Ok(Warehouse { path: path.into(), conn })
    }

    /// The DuckDB file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the loaders and readers of this crate.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `sql` (one or more statements) for `step` on `target`.
    pub fn execute(&self, step: &str, target: &str, sql: &str) -> Result<(), DataError> {
        self.conn.execute_batch(sql).map_err(|e| DataError::duckdb(step, target, e))
    }

    /// How many rows `schema.table` holds.
    pub fn count_rows(&self, schema: &str, table: &str) -> Result<u64, DataError> {
        let sql = format!("SELECT COUNT(*) FROM \"{schema}\".\"{table}\"");
        let count: i64 = self
            .conn
            .query_row(&sql, [], |row| row.get(0))
            .map_err(|e| DataError::duckdb("count rows of", format!("{schema}.{table}"), e))?;
        Ok(count as u64)
    }

    /// Whether `schema.table` exists.
    pub fn has_table(&self, schema: &str, table: &str) -> Result<bool, DataError> {
        let sql = "SELECT COUNT(*) FROM information_schema.tables \
                   WHERE table_schema = ? AND table_name = ?";
        let count: i64 = self
            .conn
            .query_row(sql, [schema, table], |row| row.get(0))
            .map_err(|e| DataError::duckdb("look up", format!("{schema}.{table}"), e))?;
        Ok(count > 0)
    }

    /// Runs a query and reads every row as [`Cell`]s; for small results (checks, samples).
    pub fn select(&self, step: &str, sql: &str) -> Result<Rows, DataError> {
        let fail = |e| DataError::duckdb(step, "query", e);
        let mut statement = self.conn.prepare(sql).map_err(fail)?;
        let mut result = statement.query([]).map_err(fail)?;
        let columns = result.as_ref().map(|s| s.column_names()).unwrap_or_default();

        let mut rows = Vec::new();
        while let Some(row) = result.next().map_err(fail)? {
            let cells = (0..columns.len())
                .map(|i| row.get_ref(i).map(Cell::from_ref))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            rows.push(cells);
        }
        Ok(Rows { columns, rows })
    }
}

/// Microseconds from a DuckDB timestamp of any unit.
pub(crate) fn micros(unit: TimeUnit, value: i64) -> i64 {
    unit.to_micros(value)
}

fn open_error(path: &Path, error: duckdb::Error) -> DataError {
    let message = error.to_string();
    if message.contains("lock") {
        return DataError::Locked { path: path.into() };
    }
    DataError::Warehouse {
        step: "open warehouse".into(),
        target: path.display().to_string(),
        message: format!("{message}; if the file is damaged, delete it and build again"),
    }
}
