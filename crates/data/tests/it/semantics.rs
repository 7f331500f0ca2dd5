//! The translation means what BigQuery means: BigQuery snippets, translated and run on
//! DuckDB, give the results Google's reference documents (examples quoted from it where
//! it has one).

use fsdemo_data::read::select_bigquery;
use fsdemo_data::{Cell, Warehouse};

use crate::micros;

/// The one value `SELECT <expr>` gives after translation.
fn eval(warehouse: &Warehouse, bigquery: &str) -> Cell {
    let rows = select_bigquery(warehouse, "semantics", bigquery, &["local"]).unwrap();
    rows.rows[0][0].clone()
}

#[test]
fn bigquery_functions_keep_their_meaning_on_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();

    let cases: Vec<(&str, Cell)> = vec![
        // TIMESTAMP_DIFF counts whole elapsed units (the reference's example: 13410 hours).
        ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00', TIMESTAMP '2008-12-25 15:30:00', HOUR)", Cell::Int(13_410)),
        ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2024-03-08 00:00:00', TIMESTAMP '2024-01-08 12:00:00', DAY)", Cell::Int(59)),
        ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2024-03-08 00:00:00', TIMESTAMP '2024-03-07 23:59:59', DAY)", Cell::Int(0)),
        // DATE_DIFF of dates (the reference's example: 559 days).
        ("SELECT DATE_DIFF(DATE '2010-07-07', DATE '2008-12-25', DAY)", Cell::Int(559)),
        ("SELECT SAFE_DIVIDE(1, 0)", Cell::Null),
        ("SELECT SAFE_DIVIDE(3, 2)", Cell::Float(1.5)),
        ("SELECT LEAST(1, NULL)", Cell::Null),
        ("SELECT GREATEST(1, 2, 3)", Cell::Int(3)),
        ("SELECT IF(NULL, 1, 2)", Cell::Int(2)),
        ("SELECT DATE_SUB(DATE '2024-03-08', INTERVAL 3 DAY)", Cell::Date(19_787)),
        ("SELECT DATE_ADD(DATE '2024-02-28', INTERVAL 2 DAY)", Cell::Date(19_783)),
        ("SELECT DATE(TIMESTAMP '2024-03-07 23:59:59')", Cell::Date(19_789)),
        ("SELECT TIMESTAMP(DATE '2024-03-07')", Cell::Timestamp(micros("2024-03-07 00:00:00 UTC"))),
        ("SELECT TIMESTAMP_SUB(TIMESTAMP '2024-03-08 00:00:00', INTERVAL 7 DAY)", Cell::Timestamp(micros("2024-03-01 00:00:00 UTC"))),
        ("SELECT COUNT(*) FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2024-02-28', DATE '2024-03-01')) AS d", Cell::Int(3)),
        ("SELECT MAX(d) FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2024-02-28', DATE '2024-03-01')) AS d", Cell::Date(19_783)),
        ("SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(0, 10, 7)) AS s", Cell::Int(2)),
        ("SELECT COUNTIF(x > 1) FROM UNNEST(GENERATE_ARRAY(1, 3)) AS x", Cell::Int(2)),
        // COUNTIF of only NULLs, and of no rows, is 0 (the reference says so).
        ("SELECT COUNTIF(CAST(NULL AS BOOL))", Cell::Int(0)),
        ("SELECT COUNTIF(x > 1) FROM UNNEST(GENERATE_ARRAY(1, 0)) AS x", Cell::Int(0)),
        ("SELECT CAST(2.5 AS INT64)", Cell::Int(3)),
        ("SELECT CAST(-2.5 AS INT64)", Cell::Int(-3)),
        (r#"SELECT "Cancelled""#, Cell::Text("Cancelled".into())),
        ("SELECT COALESCE(CAST(NULL AS STRING) NOT IN ('Cancelled'), TRUE)", Cell::Bool(true)),
    ];

    for (bigquery, expected) in cases {
        assert_eq!(eval(&w, bigquery), expected, "{bigquery}");
    }
}
