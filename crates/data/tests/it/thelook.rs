//! The whole build on the real theLook export in `../shared/thelook/`, its invariants, and
//! the tables compared row by row, for a sample of customers, with features computed here
//! straight from the CSV files by the SPEC's words (an implementation that shares nothing
//! with the SQL).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;

use fsdemo_core::time::{parse_timestamp, MICROS_PER_DAY};
use fsdemo_data::{Cell, Warehouse};

use crate::{built, rows, thelook_dir};

/// One order as the SPEC reads it.
struct RefOrder {
    created: i64,
    countable: bool,
    value: f64,
    products: Vec<i64>,
}

fn read_orders(dir: &std::path::Path) -> HashMap<i64, Vec<RefOrder>> {
    let open = |name: &str| {
        let file = File::open(dir.join(name)).unwrap();
        csv::Reader::from_reader(flate2::read::MultiGzDecoder::new(file))
    };
    let mut items: HashMap<i64, Vec<(i64, f64)>> = HashMap::new();
    let mut reader = open("order_items.csv.gz");
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (order_col, product_col, price_col) =
        (col("order_id"), col("product_id"), col("sale_price"));
    for record in reader.records() {
        let r = record.unwrap();
        let entry = items.entry(r[order_col].parse().unwrap()).or_default();
        entry.push((r[product_col].parse().unwrap(), r[price_col].parse().unwrap()));
    }

    let mut orders: HashMap<i64, Vec<RefOrder>> = HashMap::new();
    let mut reader = open("orders.csv.gz");
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, user, status, created) =
        (col("order_id"), col("user_id"), col("status"), col("created_at"));
    for record in reader.records() {
        let r = record.unwrap();
        let lines = items.remove(&r[id].parse::<i64>().unwrap()).unwrap_or_default();
        orders.entry(r[user].parse().unwrap()).or_default().push(RefOrder {
            created: parse_timestamp(&r[created]).unwrap(),
            countable: !matches!(&r[status], "Cancelled" | "Returned"),
            value: lines.iter().map(|(_, price)| price).sum(),
            products: lines.iter().map(|(product, _)| *product).collect(),
        });
    }
    orders
}

/// The SPEC's features of one customer at `t`: (orders_7d, orders_30d, revenue_30d,
/// avg_order_value_30d, days_since_last_order, distinct_products_30d).
fn expected(orders: &[RefOrder], t: i64) -> (i64, i64, f64, Option<f64>, Option<i64>, i64) {
    let known: Vec<&RefOrder> = orders.iter().filter(|o| o.countable && o.created < t).collect();
    let within = |days: i64| known.iter().filter(move |o| o.created >= t - days * MICROS_PER_DAY);
    let orders_30d = within(30).count() as i64;
    let revenue: f64 = within(30).map(|o| o.value).sum();
    let products: HashSet<i64> = within(30).flat_map(|o| o.products.iter().copied()).collect();
    let newest = known.iter().map(|o| o.created).max();
    (
        within(7).count() as i64,
        orders_30d,
        revenue,
        (orders_30d > 0).then(|| revenue / orders_30d as f64),
        newest.map(|n| (t - n).div_euclid(MICROS_PER_DAY)),
        products.len() as i64,
    )
}

#[test]
fn real_export_builds_and_every_sampled_row_matches_the_spec() {
    let Some(source) = thelook_dir() else { return };
    let (_dir, warehouse, report) = built(&source, &[]);
    let orders = read_orders(&source);

    // The build committed, so the checks found no broken invariant.
    assert!(report.checks.violations.iter().all(|(_, n)| *n == 0), "{:?}", report.checks);
    assert!(report.checks.train_rows > 500_000, "{:?}", report.checks);
    let rate = report.checks.positive_rate.unwrap();
    assert!((0.005..0.03).contains(&rate), "positive rate {rate}");

    // The time frame follows the SPEC from the newest order.
    let horizon = orders.values().flatten().map(|o| o.created).max().unwrap();
    let frame = &report.time_frame;
    assert_eq!(frame.horizon_micros, Some(horizon));
    let last_day = horizon.div_euclid(MICROS_PER_DAY) as i32;
    assert_eq!(frame.last_snapshot_day, Some(last_day));
    assert_eq!(frame.first_snapshot_day, Some(last_day - 179));
    assert_eq!(
        frame.last_label_day,
        Some((horizon - 14 * MICROS_PER_DAY).div_euclid(MICROS_PER_DAY) as i32)
    );

    let sample = sample_customers(&orders);
    check_features(&warehouse, &orders, &sample, frame.first_snapshot_day.unwrap(), last_day);
    check_labels(
        &warehouse,
        &orders,
        &sample,
        frame.last_label_day.unwrap(),
        frame.first_snapshot_day.unwrap(),
    );
}

/// Customers with several orders (the interesting ones) and some with one, by id order.
fn sample_customers(orders: &HashMap<i64, Vec<RefOrder>>) -> Vec<i64> {
    let mut ids: Vec<i64> = orders.keys().copied().collect();
    ids.sort();
    let repeat = ids.iter().filter(|id| orders[id].len() >= 3).step_by(40).take(150);
    let single = ids.iter().filter(|id| orders[id].len() == 1).step_by(400).take(50);
    repeat.chain(single).copied().collect()
}

fn check_features(
    w: &Warehouse,
    orders: &HashMap<i64, Vec<RefOrder>>,
    sample: &[i64],
    first: i32,
    last: i32,
) {
    let list: Vec<String> = sample.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT customer_id, epoch_us(feature_timestamp), orders_7d, orders_30d, revenue_30d, \
         avg_order_value_30d, days_since_last_order, distinct_products_30d \
         FROM fsdemo.features_customer WHERE customer_id IN ({})",
        list.join(", ")
    );
    let mut stored: BTreeMap<(i64, i64), Vec<Cell>> = BTreeMap::new();
    for row in rows(w, &sql).rows {
        stored.insert((row[0].as_i64().unwrap(), row[1].as_i64().unwrap()), row[2..].to_vec());
    }

    let mut compared = 0;
    for &customer in sample {
        let history = &orders[&customer];
        let first_order = history.iter().map(|o| o.created).min().unwrap();
        for day in first..=last {
            let t = i64::from(day) * MICROS_PER_DAY;
            let row = stored.get(&(customer, t));
            if first_order >= t {
                assert!(row.is_none(), "customer {customer} at day {day} is not yet a customer");
                continue;
            }
            let row = row.unwrap_or_else(|| panic!("no snapshot of {customer} at day {day}"));
            let (o7, o30, revenue, average, since, products) = expected(history, t);
            let close = |cell: &Cell, want: f64| (cell.as_f64().unwrap() - want).abs() < 1e-6;
            assert_eq!(row[0], Cell::Int(o7), "orders_7d of {customer} at {day}");
            assert_eq!(row[1], Cell::Int(o30), "orders_30d of {customer} at {day}");
            assert!(
                close(&row[2], revenue),
                "revenue_30d of {customer} at {day}: {:?} vs {revenue}",
                row[2]
            );
            match average {
                Some(a) => assert!(close(&row[3], a), "avg of {customer} at {day}"),
                None => assert_eq!(row[3], Cell::Null, "avg of {customer} at {day}"),
            }
            assert_eq!(
                row[4],
                since.map_or(Cell::Null, Cell::Int),
                "days_since of {customer} at {day}"
            );
            assert_eq!(row[5], Cell::Int(products), "distinct_products of {customer} at {day}");
            compared += 1;
        }
    }
    assert!(compared > 10_000, "only {compared} snapshots compared");
}

fn check_labels(
    w: &Warehouse,
    orders: &HashMap<i64, Vec<RefOrder>>,
    sample: &[i64],
    last_label: i32,
    first: i32,
) {
    let list: Vec<String> = sample.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT l.customer_id, epoch_us(l.label_timestamp), l.label_repurchase_14d, \
         epoch_us(t.feature_timestamp) \
         FROM fsdemo.labels_customer l JOIN fsdemo.train_dataset t USING (customer_id, label_timestamp) \
         WHERE l.customer_id IN ({})",
        list.join(", ")
    );
    let stored: HashMap<(i64, i64), (i64, Option<i64>)> = rows(w, &sql)
        .rows
        .iter()
        .map(|r| {
            (
                (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()),
                (r[2].as_i64().unwrap(), r[3].as_i64()),
            )
        })
        .collect();

    let label_days: Vec<i32> = (first..=last_label).rev().step_by(7).collect();
    let mut expected_rows = 0;
    for &customer in sample {
        let history = &orders[&customer];
        let first_order = history.iter().map(|o| o.created).min().unwrap();
        for &day in &label_days {
            let l = i64::from(day) * MICROS_PER_DAY;
            if first_order >= l {
                assert!(!stored.contains_key(&(customer, l)), "label of a non-customer");
                continue;
            }
            let window = l + 14 * MICROS_PER_DAY;
            let label = history.iter().any(|o| o.countable && o.created >= l && o.created < window);
            let (stored_label, snapshot) = stored[&(customer, l)];
            assert_eq!(stored_label, i64::from(label), "label of {customer} at day {day}");
            assert_eq!(
                snapshot,
                Some(l),
                "the PIT row of {customer} at {day} is the snapshot at L"
            );
            expected_rows += 1;
        }
    }
    let stored_rows = stored.len();
    assert_eq!(stored_rows, expected_rows, "label rows of the sample");
}
