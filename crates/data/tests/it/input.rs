//! Bad input: every error names the file, the line and the column, and skipped rows are
//! counted by reason.

use std::io::Write;

use fsdemo_data::{load_export, DataError, Warehouse};

use crate::{export, order};

fn warehouse() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    (dir, warehouse)
}

fn write(dir: &std::path::Path, file: &str, text: &str) {
    std::fs::File::create(dir.join(file)).unwrap().write_all(text.as_bytes()).unwrap();
}

#[test]
fn missing_table_names_the_folder_and_the_files_looked_for() {
    let source = tempfile::tempdir().unwrap();
    write(source.path(), "orders.csv", "order_id,user_id,status,created_at\n");
    let (_dir, warehouse) = warehouse();

    let err = load_export(&warehouse, source.path(), "src").unwrap_err();

    assert!(matches!(err, DataError::MissingTable { table: "order_items", .. }), "{err}");
    assert!(err.to_string().contains("order_items.csv.gz"), "{err}");
}

#[test]
fn missing_column_names_the_file_and_the_columns_read() {
    let source = export(&[order(1, 1, "Complete", "2024-03-01 10:00:00 UTC")]);
    write(
        source.path(),
        "orders.csv",
        "order_id,customer,status,created_at\n1,1,Complete,2024-03-01\n",
    );
    let (_dir, warehouse) = warehouse();

    let err = load_export(&warehouse, source.path(), "src").unwrap_err().to_string();

    assert!(err.contains("orders.csv") && err.contains("`user_id`"), "{err}");
    assert!(err.contains("order_id, user_id, status, created_at"), "{err}");
}

#[test]
fn unparsable_timestamp_names_file_line_and_column() {
    let source = export(&[order(1, 1, "Complete", "2024-03-01 10:00:00 UTC")]);
    write(
        source.path(),
        "orders.csv",
        "order_id,user_id,status,created_at\n1,1,Complete,2024-03-01 10:00:00 UTC\n2,1,Complete,yesterday\n",
    );
    let (_dir, warehouse) = warehouse();

    let err = load_export(&warehouse, source.path(), "src").unwrap_err().to_string();

    assert!(err.contains("orders.csv:3") && err.contains("`created_at`"), "{err}");
    assert!(err.contains("\"yesterday\"") && err.contains("2024-03-07 20:15:00 UTC"), "{err}");
}

#[test]
fn rows_that_cannot_be_used_are_skipped_and_counted_by_reason() {
    let source = export(&[
        order(1, 1, "Complete", "2024-03-01 10:00:00 UTC"),
        order(2, 2, "Complete", "2024-03-02 10:00:00 UTC"),
    ]);
    write(
        source.path(),
        "orders.csv",
        "order_id,user_id,status,created_at\n1,1,Complete,2024-03-01 10:00:00 UTC\n\
         2,,Complete,2024-03-02 10:00:00 UTC\n3,3,Complete,\n1,1,Shipped,2024-03-03 10:00:00 UTC\n",
    );
    let (_dir, warehouse) = warehouse();

    let report = load_export(&warehouse, source.path(), "src").unwrap();

    let orders = &report.tables[0];
    assert_eq!((orders.rows_read, orders.rows_loaded), (4, 1));
    assert_eq!(orders.skipped.len(), 3, "{:?}", orders.skipped);
    let items = &report.tables[1];
    assert_eq!(items.rows_loaded, 1);
    assert_eq!(items.skipped.get("order_id not among the loaded orders"), Some(&1));
    assert_eq!(warehouse.count_rows("src", "orders").unwrap(), 1);
}

#[test]
fn gzip_files_and_bigquery_shards_are_read_and_an_unchanged_load_is_reused() {
    let source = tempfile::tempdir().unwrap();
    let gz = |name: &str, text: &str| {
        let file = std::fs::File::create(source.path().join(name)).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap();
    };
    gz(
        "orders-000000000000.csv.gz",
        "order_id,user_id,status,created_at\n1,1,Complete,2024-03-01 10:00:00 UTC\n",
    );
    gz(
        "orders-000000000001.csv.gz",
        "order_id,user_id,status,created_at\n2,2,Complete,2024-03-02 10:00:00 UTC\n",
    );
    gz("order_items.csv.gz", "order_id,product_id,sale_price\n1,5,9.5\n2,6,1.5\n");
    let (_dir, warehouse) = warehouse();

    let first = load_export(&warehouse, source.path(), "src").unwrap();
    let second = load_export(&warehouse, source.path(), "src").unwrap();

    assert_eq!(first.tables[0].files.len(), 2);
    assert_eq!(first.tables[0].rows_loaded, 2);
    assert!(!first.reused && second.reused);
    assert_eq!(warehouse.count_rows("src", "order_items").unwrap(), 2);
}

#[test]
fn a_failed_load_keeps_the_previous_tables() {
    let source = export(&[order(1, 1, "Complete", "2024-03-01 10:00:00 UTC")]);
    let (_dir, warehouse) = warehouse();
    load_export(&warehouse, source.path(), "src").unwrap();
    write(source.path(), "order_items.csv", "order_id,product_id,sale_price\n1,2,lots\n");

    let err = load_export(&warehouse, source.path(), "src").unwrap_err().to_string();

    assert!(err.contains("order_items.csv:2") && err.contains("`sale_price`"), "{err}");
    assert_eq!(warehouse.count_rows("src", "order_items").unwrap(), 1);
}

#[test]
fn export_writes_csv_and_parquet_and_refuses_other_extensions() {
    let source = export(&[order(1, 1, "Complete", "2024-03-01 10:00:00 UTC")]);
    let (_dir, warehouse, _) = crate::built(source.path(), &[]);
    let out = tempfile::tempdir().unwrap();

    let csv = fsdemo_data::export::export_table(
        &warehouse,
        "fsdemo",
        "features_customer",
        &out.path().join("f.csv"),
    )
    .unwrap();
    let parquet = fsdemo_data::export::export_table(
        &warehouse,
        "fsdemo",
        "features_customer",
        &out.path().join("f.parquet"),
    )
    .unwrap();
    let json = fsdemo_data::export::export_table(
        &warehouse,
        "fsdemo",
        "features_customer",
        &out.path().join("f.json"),
    );
    let missing =
        fsdemo_data::export::export_table(&warehouse, "fsdemo", "nope", &out.path().join("f.csv"));

    let text = std::fs::read_to_string(out.path().join("f.csv")).unwrap();
    assert_eq!(text.lines().count() as u64, csv + 1);
    assert!(text.starts_with("customer_id,feature_timestamp,orders_7d"), "{text}");
    assert_eq!(parquet, csv);
    assert!(std::fs::read(out.path().join("f.parquet")).unwrap().starts_with(b"PAR1"));
    assert!(json.unwrap_err().to_string().contains(".csv or .parquet"));
    assert!(missing.unwrap_err().to_string().contains("data build"));
}
