//! Loads a theLook export (BigQuery's table layout as CSV or CSV.gz) into the warehouse's
//! source schema, so the SQL reads `source_dataset.orders` locally as it reads
//! `bigquery-public-data.thelook_ecommerce.orders` on BigQuery.
//!
//! Every value is parsed here, so bad input stops the load with the file, line and column;
//! rows the pipeline cannot use (no customer, no time, an item of an unknown order) are
//! skipped, counted by reason and reported, never dropped silently. Only the columns the SQL
//! reads are kept. A load whose files are unchanged since the last one is reused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use duckdb::types::{TimeUnit, Value};
use flate2::read::MultiGzDecoder;
use fsdemo_core::time::parse_timestamp;
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::warehouse::Warehouse;

/// The table that remembers which files the loaded tables came from.
const MANIFEST: &str = "_fsdemo_load";

/// What loading one table did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableLoad {
    /// The table, e.g. `orders`.
    pub table: String,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Data rows read from the files.
    pub rows_read: u64,
    /// Rows stored in the warehouse.
    pub rows_loaded: u64,
    /// Rows skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// What [`load_export`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The export folder.
    pub dir: PathBuf,
    /// The warehouse schema the tables went to.
    pub schema: String,
    /// `true` when the files were unchanged and the loaded tables were kept.
    pub reused: bool,
    /// One entry per table (empty counts when reused).
    pub tables: Vec<TableLoad>,
    /// How long the load took, in milliseconds.
    pub duration_ms: u64,
}

/// Loads `orders` and `order_items` from the export in `dir` into schema `schema`.
pub fn load_export(
    warehouse: &Warehouse,
    dir: &Path,
    schema: &str,
) -> Result<LoadReport, DataError> {
    let started = Instant::now();
    let orders_files = table_files(dir, "orders")?;
    let items_files = table_files(dir, "order_items")?;
    let fingerprint = fingerprint(orders_files.iter().chain(&items_files))?;

    if loaded_fingerprint(warehouse, schema)? == Some(fingerprint.clone()) {
        let dir_name = dir.display();
        tracing::info!(dir = %dir_name, schema, "source unchanged since the last load; reused");
        return Ok(LoadReport {
            dir: dir.into(),
            schema: schema.into(),
            reused: true,
            tables: Vec::new(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }

    // One transaction: a failed load leaves the previous tables, never half of new ones.
    warehouse.execute("load", schema, "BEGIN TRANSACTION")?;
    let loaded = load_tables(warehouse, schema, &orders_files, &items_files, &fingerprint);
    match loaded {
        Ok(tables) => {
            warehouse.execute("load", schema, "COMMIT")?;
            for table in &tables {
                tracing::info!(
                    table = %format!("{schema}.{}", table.table),
                    files = table.files.len(),
                    rows_read = table.rows_read,
                    rows_loaded = table.rows_loaded,
                    skipped = ?table.skipped,
                    "source table loaded"
                );
            }
            let duration_ms = started.elapsed().as_millis() as u64;
            Ok(LoadReport {
                dir: dir.into(),
                schema: schema.into(),
                reused: false,
                tables,
                duration_ms,
            })
        }
        Err(error) => {
            warehouse.execute("load", schema, "ROLLBACK").ok();
            Err(error)
        }
    }
}

fn load_tables(
    warehouse: &Warehouse,
    schema: &str,
    orders_files: &[PathBuf],
    items_files: &[PathBuf],
    fingerprint: &str,
) -> Result<Vec<TableLoad>, DataError> {
    let ddl = format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         CREATE OR REPLACE TABLE \"{schema}\".orders (
           order_id BIGINT NOT NULL, user_id BIGINT NOT NULL, status VARCHAR,
           created_at TIMESTAMP NOT NULL, num_of_item BIGINT);
         CREATE OR REPLACE TABLE \"{schema}\".order_items (
           id BIGINT, order_id BIGINT NOT NULL, user_id BIGINT, product_id BIGINT,
           sale_price DOUBLE);
         CREATE OR REPLACE TABLE \"{schema}\".{MANIFEST} (fingerprint VARCHAR);"
    );
    warehouse.execute("load", schema, &ddl)?;

    let (orders, order_ids) = load_orders(warehouse, schema, orders_files)?;
    let items = load_items(warehouse, schema, items_files, &order_ids)?;

    let record = format!("INSERT INTO \"{schema}\".{MANIFEST} VALUES (?)");
    warehouse
        .conn()
        .execute(&record, [fingerprint])
        .map_err(|e| DataError::duckdb("load", format!("{schema}.{MANIFEST}"), e))?;
    Ok(vec![orders, items])
}

/// The columns read from `orders`, in the order they are stored.
const ORDERS_COLUMNS: [&str; 5] = ["order_id", "user_id", "status", "created_at", "num_of_item"];

/// The columns read from `order_items`.
const ITEMS_COLUMNS: [&str; 5] = ["id", "order_id", "user_id", "product_id", "sale_price"];

fn load_orders(
    warehouse: &Warehouse,
    schema: &str,
    files: &[PathBuf],
) -> Result<(TableLoad, HashSet<i64>), DataError> {
    let mut appender = appender(warehouse, schema, "orders")?;
    let mut load = TableLoad::new("orders", files);
    let mut seen = HashSet::new();

    for file in files {
        let mut reader = CsvFile::open(file, &ORDERS_COLUMNS, &["status", "num_of_item"])?;
        while let Some(row) = reader.next_row()? {
            load.rows_read += 1;
            let Some(order_id) = row.int("order_id")? else {
                load.skip("order_id empty");
                continue;
            };
            let Some(user_id) = row.int("user_id")? else {
                load.skip("user_id empty: the order has no customer");
                continue;
            };
            let Some(created_at) = row.timestamp("created_at")? else {
                load.skip("created_at empty: the order has no time");
                continue;
            };
            if !seen.insert(order_id) {
                load.skip("order_id repeated: the first row is kept");
                continue;
            }

            let values = [
                Value::BigInt(order_id),
                Value::BigInt(user_id),
                row.text("status").map_or(Value::Null, Value::Text),
                Value::Timestamp(TimeUnit::Microsecond, created_at),
                row.int("num_of_item")?.map_or(Value::Null, Value::BigInt),
            ];
            appender.append_row(values).map_err(|e| append_error(file, &row, e))?;
            load.rows_loaded += 1;
        }
    }
    appender.flush().map_err(|e| DataError::duckdb("load", format!("{schema}.orders"), e))?;
    Ok((load, seen))
}

fn load_items(
    warehouse: &Warehouse,
    schema: &str,
    files: &[PathBuf],
    order_ids: &HashSet<i64>,
) -> Result<TableLoad, DataError> {
    let mut appender = appender(warehouse, schema, "order_items")?;
    let mut load = TableLoad::new("order_items", files);

    for file in files {
        let mut reader = CsvFile::open(file, &ITEMS_COLUMNS, &["id", "user_id"])?;
        while let Some(row) = reader.next_row()? {
            load.rows_read += 1;
            let Some(order_id) = row.int("order_id")? else {
                load.skip("order_id empty");
                continue;
            };
            if !order_ids.contains(&order_id) {
                load.skip("order_id not among the loaded orders");
                continue;
            }

            let values = [
                row.int("id")?.map_or(Value::Null, Value::BigInt),
                Value::BigInt(order_id),
                row.int("user_id")?.map_or(Value::Null, Value::BigInt),
                row.int("product_id")?.map_or(Value::Null, Value::BigInt),
                row.float("sale_price")?.map_or(Value::Null, Value::Double),
            ];
            appender.append_row(values).map_err(|e| append_error(file, &row, e))?;
            load.rows_loaded += 1;
        }
    }
    appender.flush().map_err(|e| DataError::duckdb("load", format!("{schema}.order_items"), e))?;
    Ok(load)
}

impl TableLoad {
    fn new(table: &str, files: &[PathBuf]) -> TableLoad {
        TableLoad {
            table: table.into(),
            files: files.to_vec(),
            rows_read: 0,
            rows_loaded: 0,
            skipped: BTreeMap::new(),
        }
    }

    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

/// The files of `table` in `dir`: `table.csv[.gz]`, or BigQuery's shards `table-*.csv[.gz]`.
pub fn table_files(dir: &Path, table: &'static str) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::File {
        step: "load",
        path: dir.into(),
        message: format!("cannot read the export folder: {e}"),
    })?;

    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
            let stem = name.strip_suffix(".gz").unwrap_or(name);
            let Some(stem) = stem.strip_suffix(".csv") else { return false };
            stem == table || stem.strip_prefix(table).is_some_and(|rest| rest.starts_with('-'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::MissingTable { dir: dir.into(), table });
    }
    Ok(files)
}

/// Paths, sizes and modification times of `files`, as one string.
fn fingerprint<'a>(files: impl Iterator<Item = &'a PathBuf>) -> Result<String, DataError> {
    let mut parts = Vec::new();
    for file in files {
        let meta = std::fs::metadata(file).map_err(|e| DataError::File {
            step: "load",
            path: file.clone(),
            message: e.to_string(),
        })?;
        let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        parts.push(format!(
            "{}:{}:{}",
            absolute.display(),
            meta.len(),
            modified.map_or(0, |d| d.as_nanos())
        ));
    }
    Ok(parts.join("|"))
}

/// The fingerprint of the last load into `schema`, if there was one.
pub(crate) fn loaded_fingerprint(
    warehouse: &Warehouse,
    schema: &str,
) -> Result<Option<String>, DataError> {
    if !warehouse.has_table(schema, MANIFEST)? {
        return Ok(None);
    }
    let sql = format!("SELECT fingerprint FROM \"{schema}\".{MANIFEST}");
    let rows = warehouse.select("load", &sql)?;
    Ok(rows.rows.first().and_then(|row| match row.first() {
        Some(crate::warehouse::Cell::Text(text)) => Some(text.clone()),
        _ => None,
    }))
}

fn appender<'w>(
    warehouse: &'w Warehouse,
    schema: &str,
    table: &str,
) -> Result<duckdb::Appender<'w>, DataError> {
    warehouse
        .conn()
        .appender_to_db(table, schema)
        .map_err(|e| DataError::duckdb("load", format!("{schema}.{table}"), e))
}

fn append_error(file: &Path, row: &Row, error: duckdb::Error) -> DataError {
    DataError::Warehouse {
        step: format!("load {}:{}", file.display(), row.line),
        target: "append".into(),
        message: error.to_string(),
    }
}

/// A CSV file (gzip or plain) read with its header, giving the wanted columns by name.
struct CsvFile {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    /// Column name to its index in the file, for the wanted columns present.
    index: HashMap<&'static str, usize>,
    record: csv::StringRecord,
}

/// One data row of a [`CsvFile`].
struct Row<'a> {
    file: &'a Path,
    line: u64,
    index: &'a HashMap<&'static str, usize>,
    record: &'a csv::StringRecord,
}

impl CsvFile {
    /// Opens `path`; every column of `wanted` must be in the header except the `optional` ones.
    fn open(path: &Path, wanted: &[&'static str], optional: &[&str]) -> Result<CsvFile, DataError> {
        let file = File::open(path).map_err(|e| DataError::File {
            step: "load",
            path: path.into(),
            message: format!("cannot open: {e}"),
        })?;
        let stream: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(stream);

        let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        let mut index = HashMap::new();
        for &column in wanted {
            match header.iter().position(|name| name.trim() == column) {
                Some(i) => {
                    index.insert(column, i);
                }
                None if optional.contains(&column) => {}
                None => {
                    return Err(DataError::MissingColumn {
                        file: path.into(),
                        column,
                        expected: wanted.join(", "),
                    })
                }
            }
        }
        Ok(CsvFile { path: path.into(), reader, index, record: csv::StringRecord::new() })
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, DataError> {
        let more =
            self.reader.read_record(&mut self.record).map_err(|e| csv_error(&self.path, e))?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        Ok(Some(Row { file: &self.path, line, index: &self.index, record: &self.record }))
    }
}

impl Row<'_> {
    /// The raw field of `column`; `None` when the column is absent or the field empty.
    fn field(&self, column: &str) -> Option<&str> {
        let value = self.record.get(*self.index.get(column)?)?;
        Some(value.trim()).filter(|v| !v.is_empty())
    }

    fn bad(&self, column: &'static str, value: &str, expected: &'static str) -> DataError {
        DataError::BadValue {
            file: self.file.into(),
            line: self.line,
            column,
            value: value.into(),
            expected,
        }
    }

    fn int(&self, column: &'static str) -> Result<Option<i64>, DataError> {
        let Some(text) = self.field(column) else { return Ok(None) };
        text.parse().map(Some).map_err(|_| self.bad(column, text, "an integer such as 1501"))
    }

    fn float(&self, column: &'static str) -> Result<Option<f64>, DataError> {
        let Some(text) = self.field(column) else { return Ok(None) };
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Some(value)),
            _ => Err(self.bad(column, text, "a finite number such as 34.99")),
        }
    }

    fn timestamp(&self, column: &'static str) -> Result<Option<i64>, DataError> {
        let Some(text) = self.field(column) else { return Ok(None) };
        let expected = "a timestamp such as `2024-03-07 20:15:00 UTC`";
        parse_timestamp(text).map(Some).ok_or_else(|| self.bad(column, text, expected))
    }

    fn text(&self, column: &'static str) -> Option<String> {
        self.field(column).map(str::to_string)
    }
}

fn csv_error(path: &Path, error: csv::Error) -> DataError {
    let line = error.position().map(|p| format!(" line {}", p.line())).unwrap_or_default();
    DataError::File {
        step: "load",
        path: path.into(),
        message: format!("not a readable CSV{line}: {error}"),
    }
}
