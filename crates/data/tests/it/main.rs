//! Integration tests of the offline pipeline on DuckDB: the SPEC's cases on small hand-made
//! exports (`cases`), bad input (`input`), the translation's meaning (`semantics`), and the
//! whole build on the real theLook export checked against an independent reference
//! (`thelook`).

mod cases;
mod input;
mod semantics;
mod thelook;

use std::io::Write;
use std::path::{Path, PathBuf};

use fsdemo_core::time::parse_timestamp;
use fsdemo_core::Config;
use fsdemo_data::build::{load_and_build, Rebuild};
use fsdemo_data::{BuildReport, Cell, Rows, Warehouse};
use fsdemo_sql::Params;

/// The shipped configuration with `overrides` (`section.key=value`).
pub fn config(overrides: &[&str]) -> Config {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::load(&dir, &overrides).unwrap()
}

pub fn params(config: &Config) -> Params {
    Params::from_config(config, chrono::Utc::now()).unwrap()
}

/// One order of a hand-made export: id, customer, status, time, and its items as
/// (product, price).
pub struct Order<'a> {
    pub id: i64,
    pub customer: i64,
    pub status: &'a str,
    pub at: &'a str,
    pub items: &'a [(i64, f64)],
}

/// An order of one item of product 1 at 10.0.
pub fn order<'a>(id: i64, customer: i64, status: &'a str, at: &'a str) -> Order<'a> {
    Order { id, customer, status, at, items: &[(1, 10.0)] }
}

/// Writes `orders` as a theLook export (plain CSV) into a new temp dir.
pub fn export(orders: &[Order]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut o = std::fs::File::create(dir.path().join("orders.csv")).unwrap();
    let mut i = std::fs::File::create(dir.path().join("order_items.csv")).unwrap();
    writeln!(o, "order_id,user_id,status,gender,created_at,num_of_item").unwrap();
    writeln!(i, "id,order_id,user_id,product_id,sale_price").unwrap();
    let mut item_id = 0;
    for order in orders {
        writeln!(
            o,
            "{},{},{},F,{},{}",
            order.id,
            order.customer,
            order.status,
            order.at,
            order.items.len()
        )
        .unwrap();
        for (product, price) in order.items {
            item_id += 1;
            writeln!(i, "{item_id},{},{},{product},{price}", order.id, order.customer).unwrap();
        }
    }
    dir
}

/// A warehouse in a temp dir, the export loaded and built with `overrides`.
pub fn built(source: &Path, overrides: &[&str]) -> (tempfile::TempDir, Warehouse, BuildReport) {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let config = config(overrides);
    let (_, report) =
        load_and_build(&warehouse, &config, source, &params(&config), Rebuild::Always).unwrap();
    (dir, warehouse, report)
}

/// The rows of a DuckDB query.
pub fn rows(warehouse: &Warehouse, sql: &str) -> Rows {
    warehouse.select("test", sql).unwrap()
}

/// The features row of `customer` at snapshot `day` (`YYYY-MM-DD`), by column name.
pub fn snapshot(warehouse: &Warehouse, customer: i64, day: &str) -> Option<Vec<(String, Cell)>> {
    let sql = format!(
        "SELECT * FROM fsdemo.features_customer WHERE customer_id = {customer} \
         AND feature_timestamp = TIMESTAMP '{day} 00:00:00'"
    );
    let result = rows(warehouse, &sql);
    assert!(result.rows.len() <= 1, "two snapshots of {customer} at {day}");
    let row = result.rows.into_iter().next()?;
    Some(result.columns.into_iter().zip(row).collect())
}

/// The value of `column` in a named row.
pub fn value<'a>(row: &'a [(String, Cell)], column: &str) -> &'a Cell {
    &row.iter().find(|(name, _)| name == column).unwrap_or_else(|| panic!("no {column}")).1
}

/// Microseconds of a timestamp text.
pub fn micros(text: &str) -> i64 {
    parse_timestamp(text).unwrap()
}

/// The real export shipped beside the project; `None` (the test skips) when it is not
/// there, except under `CI=true`, where its absence fails the test.
pub fn thelook_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/thelook");
    if dir.join("orders.csv.gz").exists() {
        return Some(dir);
    }
    let missing = format!("the real theLook export is not at {}", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {missing}");
    }
    eprintln!("skipped: {missing}");
    None
}
