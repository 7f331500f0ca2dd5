//! The SPEC's cases, each on a small export with all times in UTC.

use fsdemo_data::build::run_step;
use fsdemo_data::{Cell, Warehouse};

use crate::{built, config, export, micros, order, params, rows, snapshot, value, Order};

const FRAME: [&str; 3] = [
    "data.horizon=2024-03-22 00:00:00 UTC",
    "data.snapshot_end=2024-03-09",
    "data.snapshot_days=10",
];

fn label(warehouse: &Warehouse, customer: i64, day: &str) -> Option<i64> {
    let sql = format!(
        "SELECT label_repurchase_14d FROM fsdemo.labels_customer WHERE customer_id = {customer} \
         AND label_timestamp = TIMESTAMP '{day} 00:00:00'"
    );
    rows(warehouse, &sql).rows.first().and_then(|row| row[0].as_i64())
}

#[test]
fn case_1_pit_join_takes_the_newest_snapshot_at_or_before_the_label_whole() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let config = config(&[]);
    warehouse
        .execute(
            "setup",
            "tables",
            "CREATE SCHEMA fsdemo;
             CREATE TABLE fsdemo.features_customer AS SELECT * FROM (VALUES
               (101, TIMESTAMP '2024-03-06 00:00:00', 1, 1, 10.0, 10.0, 1, 1),
               (101, TIMESTAMP '2024-03-07 00:00:00', 2, 2, 20.0, 10.0, 2, 2),
               (101, TIMESTAMP '2024-03-08 00:00:00', 0, 0, 0.0, NULL, NULL, 0))
             AS t(customer_id, feature_timestamp, orders_7d, orders_30d, revenue_30d,
                  avg_order_value_30d, days_since_last_order, distinct_products_30d);
             CREATE TABLE fsdemo.labels_customer AS SELECT * FROM (VALUES
               (101, TIMESTAMP '2024-03-05 00:00:00', 0),
               (101, TIMESTAMP '2024-03-07 00:00:00', 1),
               (101, TIMESTAMP '2024-03-07 23:59:59', 0),
               (101, TIMESTAMP '2024-03-08 00:00:00', 1),
               (102, TIMESTAMP '2024-03-08 00:00:00', 0))
             AS t(customer_id, label_timestamp, label_repurchase_14d);",
        )
        .unwrap();

    run_step(&warehouse, &config, &params(&config), "04_build_train.sql").unwrap();

    let result = rows(
        &warehouse,
        "SELECT customer_id, label_timestamp, feature_timestamp, orders_30d, avg_order_value_30d \
         FROM fsdemo.train_dataset ORDER BY customer_id, label_timestamp",
    );
    let got: Vec<(i64, Cell, Cell)> =
        result.rows.iter().map(|r| (r[0].as_i64().unwrap(), r[1].clone(), r[2].clone())).collect();
    let ts = |text: &str| Cell::Timestamp(micros(text));
    assert_eq!(
        got,
        vec![
            (101, ts("2024-03-05 00:00:00"), Cell::Null),
            (101, ts("2024-03-07 00:00:00"), ts("2024-03-07 00:00:00")),
            (101, ts("2024-03-07 23:59:59"), ts("2024-03-07 00:00:00")),
            (101, ts("2024-03-08 00:00:00"), ts("2024-03-08 00:00:00")),
            (102, ts("2024-03-08 00:00:00"), Cell::Null),
        ]
    );
    // The row is taken whole: the 03-08 NULL average is not filled from 03-07.
    assert_eq!(result.rows[3][4], Cell::Null);
    assert_eq!(result.rows[3][3], Cell::Int(0));
    assert_eq!(result.rows[2][3], Cell::Int(2));
}

#[test]
fn case_2_an_order_at_exactly_t_belongs_to_the_label_not_the_snapshot() {
    let source = export(&[
        order(1, 201, "Complete", "2024-03-01 10:00:00 UTC"),
        order(2, 201, "Complete", "2024-03-08 00:00:00 UTC"),
        order(3, 202, "Complete", "2024-03-07 23:59:59 UTC"),
    ]);

    let (_dir, warehouse, _) = built(source.path(), &FRAME);

    let s201 = snapshot(&warehouse, 201, "2024-03-08").unwrap();
    let s202 = snapshot(&warehouse, 202, "2024-03-08").unwrap();
    assert_eq!(value(&s201, "orders_30d"), &Cell::Int(1));
    assert_eq!(value(&s201, "days_since_last_order"), &Cell::Int(6));
    assert_eq!(value(&s202, "orders_30d"), &Cell::Int(1));
    assert_eq!(value(&s202, "days_since_last_order"), &Cell::Int(0));
    assert_eq!(label(&warehouse, 201, "2024-03-08"), Some(1));
    assert_eq!(label(&warehouse, 202, "2024-03-08"), Some(0));
    let next_day = snapshot(&warehouse, 201, "2024-03-09").unwrap();
    assert_eq!(value(&next_day, "orders_30d"), &Cell::Int(2));
}

#[test]
fn case_3_items_are_summed_per_order_never_counted_as_orders() {
    let source = export(&[
        Order {
            id: 1,
            customer: 301,
            status: "Complete",
            at: "2024-03-05 12:00:00 UTC",
            items: &[(21, 10.0), (22, 15.0), (21, 10.0)],
        },
        Order {
            id: 2,
            customer: 301,
            status: "Shipped",
            at: "2024-03-06 12:00:00 UTC",
            items: &[(23, 5.0)],
        },
    ]);

    let (_dir, warehouse, _) = built(source.path(), &FRAME);

    let row = snapshot(&warehouse, 301, "2024-03-08").unwrap();
    assert_eq!(value(&row, "orders_7d"), &Cell::Int(2));
    assert_eq!(value(&row, "revenue_30d"), &Cell::Float(40.0));
    assert_eq!(value(&row, "avg_order_value_30d"), &Cell::Float(20.0));
    assert_eq!(value(&row, "distinct_products_30d"), &Cell::Int(3));
}

#[test]
fn case_4_cancelled_and_returned_orders_count_nowhere() {
    let source = export(&[
        order(1, 401, "Cancelled", "2024-03-02 09:00:00 UTC"),
        order(2, 401, "Returned", "2024-03-03 09:00:00 UTC"),
        order(3, 401, "Shipped", "2024-03-04 09:00:00 UTC"),
        order(4, 401, "Processing", "2024-03-05 09:00:00 UTC"),
        order(5, 401, "Complete", "2024-03-06 09:00:00 UTC"),
        order(6, 402, "Complete", "2024-02-20 09:00:00 UTC"),
        order(7, 402, "Cancelled", "2024-03-10 09:00:00 UTC"),
        order(8, 402, "Returned", "2024-03-12 09:00:00 UTC"),
        order(9, 403, "Complete", "2024-02-20 09:00:00 UTC"),
        order(10, 403, "Processing", "2024-03-12 09:00:00 UTC"),
    ]);

    let (_dir, warehouse, _) = built(source.path(), &FRAME);

    let row = snapshot(&warehouse, 401, "2024-03-08").unwrap();
    assert_eq!(value(&row, "orders_7d"), &Cell::Int(3));
    assert_eq!(value(&row, "revenue_30d"), &Cell::Float(30.0));
    assert_eq!(value(&row, "days_since_last_order"), &Cell::Int(1));
    assert_eq!(label(&warehouse, 402, "2024-03-08"), Some(0));
    assert_eq!(label(&warehouse, 403, "2024-03-08"), Some(1));
}

#[test]
fn case_5_empty_windows_are_zero_and_averages_and_ages_null() {
    let source = export(&[
        order(1, 501, "Complete", "2024-01-08 12:00:00 UTC"),
        order(2, 502, "Cancelled", "2024-03-01 12:00:00 UTC"),
    ]);

    let (_dir, warehouse, _) = built(source.path(), &FRAME);

    let lapsed = snapshot(&warehouse, 501, "2024-03-08").unwrap();
    assert_eq!(value(&lapsed, "orders_30d"), &Cell::Int(0));
    assert_eq!(value(&lapsed, "revenue_30d"), &Cell::Float(0.0));
    assert_eq!(value(&lapsed, "avg_order_value_30d"), &Cell::Null);
    assert_eq!(value(&lapsed, "days_since_last_order"), &Cell::Int(59));
    let cancelled_only = snapshot(&warehouse, 502, "2024-03-08").unwrap();
    assert_eq!(value(&cancelled_only, "days_since_last_order"), &Cell::Null);
    assert_eq!(value(&cancelled_only, "orders_7d"), &Cell::Int(0));
    assert_eq!(value(&cancelled_only, "distinct_products_30d"), &Cell::Int(0));
    assert!(
        snapshot(&warehouse, 502, "2024-03-01").is_none(),
        "not in the population before its order"
    );
}

#[test]
fn case_6_label_days_whose_window_passes_the_horizon_are_absent_not_zero() {
    let source = export(&[
        order(1, 601, "Complete", "2024-02-01 12:00:00 UTC"),
        order(2, 601, "Complete", "2024-03-19 12:00:00 UTC"),
    ]);

    let (_dir, warehouse, report) = built(
        source.path(),
        &[
            "data.horizon=2024-03-20 00:00:00 UTC",
            "data.snapshot_end=2024-03-20",
            "data.snapshot_days=30",
        ],
    );

    let days = rows(
        &warehouse,
        "SELECT DISTINCT CAST(label_timestamp AS DATE) FROM fsdemo.labels_customer ORDER BY 1",
    );
    let newest = days.rows.last().unwrap()[0].clone();
    assert_eq!(newest, Cell::Date(19_788), "newest label day is 2024-03-06"); // 2024-03-06
    assert!(label(&warehouse, 601, "2024-03-07").is_none());
    assert_eq!(label(&warehouse, 601, "2024-03-06"), Some(1));
    assert_eq!(
        days.rows.len(),
        3,
        "every 7th day back from 03-06 down to 02-20: 03-06, 02-28, 02-21"
    );
    assert_eq!(report.time_frame.last_label_day, Some(19_788));
}

#[test]
fn rebuilding_replaces_the_tables_and_an_unchanged_build_can_be_kept() {
    use fsdemo_data::build::{load_and_build, Rebuild};
    let source = export(&[order(1, 701, "Complete", "2024-03-01 10:00:00 UTC")]);
    let (_dir, warehouse, first) = built(source.path(), &FRAME);
    let config = config(&FRAME);
    let other = crate::config(&[FRAME[0], FRAME[1], "data.snapshot_days=5"]);
    let run = |config: &fsdemo_core::Config, rebuild| {
        load_and_build(&warehouse, config, source.path(), &params(config), rebuild).unwrap().1
    };

    let replaced = run(&config, Rebuild::Always);
    let kept = run(&config, Rebuild::IfChanged);
    let changed = run(&other, Rebuild::IfChanged);

    assert!(!first.reused && !replaced.reused && kept.reused && !changed.reused);
    assert_eq!(replaced.checks, first.checks);
    assert_eq!(kept.checks, replaced.checks);
    assert_eq!(changed.checks.snapshot_rows, 5, "snapshot days 03-05..03-09 of one customer");
}

#[test]
fn broken_invariants_fail_the_checks_naming_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let config = config(&[]);
    // A repeated snapshot, a training row from the future, and a label without a row.
    warehouse
        .execute(
            "setup",
            "tables",
            "CREATE SCHEMA fsdemo;
             CREATE TABLE fsdemo.features_customer AS SELECT * FROM (VALUES
               (1, TIMESTAMP '2024-03-06 00:00:00', 1, 1, 1.0, 1.0, 1, 1),
               (1, TIMESTAMP '2024-03-06 00:00:00', 1, 1, 1.0, 1.0, 1, 1))
             AS t(customer_id, feature_timestamp, orders_7d, orders_30d, revenue_30d,
                  avg_order_value_30d, days_since_last_order, distinct_products_30d);
             CREATE TABLE fsdemo.labels_customer AS SELECT * FROM (VALUES
               (1, TIMESTAMP '2024-03-05 00:00:00', 0), (2, TIMESTAMP '2024-03-05 00:00:00', 1))
             AS t(customer_id, label_timestamp, label_repurchase_14d);
             CREATE TABLE fsdemo.train_dataset AS
               SELECT 1 AS customer_id, TIMESTAMP '2024-03-05 00:00:00' AS label_timestamp,
                      0 AS label_repurchase_14d, f.* EXCLUDE (customer_id)
               FROM fsdemo.features_customer f LIMIT 1;",
        )
        .unwrap();

    let error = fsdemo_data::build::run_checks(&warehouse, &config, &params(&config)).unwrap_err();

    let fsdemo_data::DataError::Checks { violations } = &error else { panic!("{error}") };
    let names: Vec<&str> = violations.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "future_snapshot_violations",
            "label_without_row_violations",
            "train_without_label_violations",
            "duplicate_snapshot_violations"
        ]
    );
    assert!(error.to_string().contains("rolled back"), "{error}");
}
