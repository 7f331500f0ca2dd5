//! [`ReportData::sample`]: a complete, realistic run of the local profile on theLook, for
//! tests and for a quick look at the page (`cargo run -p fsdemo-report --example sample`).
//!
//! The customer's features are computed from their orders with the SPEC's rules and the
//! train and test metrics add up to the label days, so the sample is internally consistent
//! the way a real run is; the curves and distributions are shaped like the real data's
//! (1-2% positives, ROC AUC about 0.66), not measured.

use fsdemo_core::time::{parse_timestamp, MICROS_PER_DAY};
use fsdemo_core::MODEL_INPUTS;

use crate::data::*;

const DAY: i64 = MICROS_PER_DAY;

impl ReportData {
    /// A complete report of a local run, every section present.
    pub fn sample() -> ReportData {
        ReportData {
            profile: Profile::Local,
            generated_at: "2025-01-25T19:52:07Z".into(),
            workdir: ".fsdemo".into(),
            pipeline: Some(pipeline()),
            point_in_time: Some(point_in_time()),
            leakage: Some(Leakage {
                train_rows: label_days().iter().map(|d| d.rows).sum(),
                rows_leaking_with_naive_join: 96_482,
                source: "train_dataset joined to each customer's newest features_customer row, \
                         counting rows whose snapshot counts an order at or after the label time"
                    .into(),
            }),
            verify: Some(verify()),
            predictions: Some(predictions()),
            model: Some(model()),
            data: Some(data_profile()),
            bench: Some(bench()),
        }
    }
}

fn at(text: &str) -> i64 {
    parse_timestamp(text).unwrap_or_default()
}

fn pipeline() -> Pipeline {
    let names = fsdemo_core::ResourceNames::new("local", "local");
    let table = |t: &str, outcome| Resource {
        kind: "Table".into(),
        full_name: format!("local.fsdemo.{t}"),
        outcome,
    };
    let vertex =
        |kind: &str, full_name: String, outcome| Resource { kind: kind.into(), full_name, outcome };
    let step = |name: &str, status, duration_ms, resources, detail: &str| Step {
        name: name.into(),
        status,
        duration_ms,
        resources,
        detail: detail.into(),
    };

    let mut features =
        vec![vertex("FeatureGroup", names.feature_group("customer"), Outcome::Reused)];
    features.extend(
        MODEL_INPUTS
            .iter()
            .map(|f| vertex("Feature", names.feature("customer", f), Outcome::Reused)),
    );
    let view = names.feature_view("fsdemo_store", "customer_features");

    let steps = vec![
        step(
            "load theLook",
            StepStatus::Reused,
            1_240,
            vec![table("orders", Outcome::Reused), table("order_items", Outcome::Reused)],
            "124,092 orders, 180,027 items, unchanged since the last run",
        ),
        step(
            "build features_customer",
            StepStatus::Ok,
            41_870,
            vec![table("features_customer", Outcome::Replaced)],
            "180 snapshot days, 12,437,905 rows",
        ),
        step(
            "build labels_customer",
            StepStatus::Ok,
            9_630,
            vec![table("labels_customer", Outcome::Replaced)],
            "24 label days, 1,693,114 rows",
        ),
        step(
            "build train_dataset",
            StepStatus::Ok,
            6_210,
            vec![table("train_dataset", Outcome::Replaced)],
            "point-in-time join, 1,693,114 rows, 0 without a snapshot",
        ),
        step("sanity checks", StepStatus::Ok, 2_480, vec![], "9 checks passed"),
        step("feature group", StepStatus::Reused, 120, features, "6 features, unchanged"),
        step(
            "online store and view",
            StepStatus::Ok,
            310,
            vec![
                vertex("FeatureOnlineStore", names.online_store("fsdemo_store"), Outcome::Reused),
                vertex("FeatureView", view.clone(), Outcome::Updated),
            ],
            "view now reads local.fsdemo.features_customer",
        ),
        step(
            "sync feature view",
            StepStatus::Ok,
            3_420,
            vec![vertex(
                "FeatureViewSync",
                names.feature_view_sync("fsdemo_store", "customer_features", "1737834603104622"),
                Outcome::Created,
            )],
            "81,342 rows published",
        ),
        step(
            "train model",
            StepStatus::Ok,
            14_950,
            vec![],
            "train 20 label days, test 4 label days",
        ),
        step(
            "upload model",
            StepStatus::Ok,
            180,
            vec![vertex("Model", names.model("repurchase_14d"), Outcome::Created)],
            "model.bst, version 3",
        ),
        step(
            "deploy endpoint",
            StepStatus::Ok,
            260,
            vec![
                vertex("Endpoint", names.endpoint("repurchase"), Outcome::Reused),
                vertex(
                    "DeployedModel",
                    format!("{}/deployedModels/7420315", names.endpoint("repurchase")),
                    Outcome::Replaced,
                ),
            ],
            "traffic 100% to version 3",
        ),
        step(
            "verify and predict",
            StepStatus::Ok,
            1_930,
            vec![],
            "200 customers compared, 5 predictions",
        ),
    ];
    Pipeline { steps, source: ".fsdemo/run/steps.json (this run's step records)".into() }
}

/// The sample customer's orders: id, created_at, value, status.
const ORDERS: [(i64, &str, f64, &str); 5] = [
    (40211, "2024-11-28 18:42:10 UTC", 84.50, "Complete"),
    (42877, "2024-12-22 09:15:44 UTC", 129.00, "Shipped"),
    (43390, "2025-01-03 21:07:02 UTC", 19.99, "Cancelled"),
    (43712, "2025-01-09 10:31:27 UTC", 57.25, "Complete"),
    (44105, "2025-01-18 13:02:51 UTC", 35.90, "Returned"),
];

/// Distinct products per order, for `distinct_products_30d`.
const ITEMS: [f64; 5] = [2.0, 3.0, 1.0, 1.0, 1.0];

fn orders() -> Vec<Order> {
    ORDERS
        .iter()
        .map(|&(order_id, created, value, status)| Order {
            order_id,
            created_at_micros: at(created),
            value,
            status: status.into(),
            countable: !matches!(status, "Cancelled" | "Returned"),
        })
        .collect()
}

/// The SPEC's features at snapshot time `t` from `orders` (the sample has one product per
/// item, so distinct products add up per order).
fn features_at(orders: &[Order], t: i64) -> Vec<NamedValue> {
    let known: Vec<(usize, &Order)> =
        orders.iter().enumerate().filter(|(_, o)| o.countable && o.created_at_micros < t).collect();
    let within =
        |days: i64| known.iter().filter(move |(_, o)| o.created_at_micros >= t - days * DAY);

    let orders_7d = within(7).count() as f64;
    let orders_30d = within(30).count() as f64;
    let revenue_30d: f64 = within(30).map(|(_, o)| o.value).sum();
    let products_30d: f64 = within(30).map(|(i, _)| ITEMS[*i]).sum();
    let newest = known.iter().map(|(_, o)| o.created_at_micros).max();

    let values = [
        Some(orders_7d),
        Some(orders_30d),
        Some((revenue_30d * 100.0).round() / 100.0),
        (orders_30d > 0.0).then(|| (revenue_30d / orders_30d * 100.0).round() / 100.0),
        newest.map(|n| ((t - n) / DAY) as f64),
        Some(products_30d),
    ];
    MODEL_INPUTS
        .iter()
        .zip(values)
        .map(|(name, value)| NamedValue { name: name.to_string(), value })
        .collect()
}

fn point_in_time() -> PointInTime {
    let orders = orders();
    let first = at("2024-11-29");
    let newest = at("2025-01-25");
    let label_days =
        ["2024-12-07", "2024-12-14", "2024-12-21", "2024-12-28", "2025-01-04", "2025-01-11"];
    let label_times: Vec<i64> = label_days.iter().map(|d| at(d)).collect();

    // Values only where a label row or the naive join reads the snapshot.
    let snapshots = (0..=(newest - first) / DAY)
        .map(|k| first + k * DAY)
        .map(|t| {
            let shown = t == newest || label_times.contains(&t);
            Snapshot {
                feature_timestamp_micros: t,
                values: if shown { features_at(&orders, t) } else { vec![] },
            }
        })
        .collect();

    let labels = label_times
        .iter()
        .map(|&l| LabelRow {
            label_timestamp_micros: l,
            window_days: 14,
            label: orders
                .iter()
                .any(|o| o.countable && (l..l + 14 * DAY).contains(&o.created_at_micros)),
            used_snapshot_micros: Some(l),
        })
        .collect();
    let naive = label_times
        .iter()
        .map(|&l| NaiveRow {
            label_timestamp_micros: l,
            naive_snapshot_micros: newest,
            future_order_ids: orders
                .iter()
                .filter(|o| o.countable && (l..newest).contains(&o.created_at_micros))
                .map(|o| o.order_id)
                .collect(),
        })
        .collect();

    PointInTime {
        customer_id: 61_204,
        why_chosen: "picked automatically: 5 orders, 4 positive label rows, and a cancelled and a \
                     returned order that count for neither features nor labels"
            .into(),
        orders,
        snapshots,
        labels,
        naive,
        source: "orders, features_customer and train_dataset filtered to customer_id = 61204"
            .into(),
    }
}

fn verify() -> Verify {
    let row = |customer_id: i64, ts: &str, values: [Option<f64>; 6]| VerifyRow {
        customer_id,
        online_timestamp_micros: Some(at(ts)),
        offline_timestamp_micros: Some(at(ts)),
        values: MODEL_INPUTS
            .iter()
            .zip(values)
            .map(|(name, v)| PairedValue { name: name.to_string(), online: v, offline: v })
            .collect(),
    };
    Verify {
        feature_view: fsdemo_core::ResourceNames::new("local", "local")
            .feature_view("fsdemo_store", "customer_features"),
        offline_table: "local.fsdemo.features_customer".into(),
        sampled: 200,
        matched: 200,
        mismatches: vec![],
        sample_rows: vec![
            row(
                61_204,
                "2025-01-25",
                [Some(0.0), Some(1.0), Some(57.25), Some(57.25), Some(15.0), Some(1.0)],
            ),
            row(
                1_501,
                "2025-01-25",
                [Some(1.0), Some(1.0), Some(212.4), Some(212.4), Some(3.0), Some(4.0)],
            ),
            row(88_090, "2025-01-25", [Some(0.0), Some(0.0), Some(0.0), None, None, Some(0.0)]),
        ],
        source: ".fsdemo/run/verify.json: fetchFeatureValues for 200 sampled customers against \
                 their newest features_customer row"
            .into(),
    }
}

fn predictions() -> Predictions {
    let endpoint = fsdemo_core::ResourceNames::new("local", "local").endpoint("repurchase");
    let rows = [
        (61_204, 0.021_734),
        (1_501, 0.048_112),
        (88_090, 0.006_205),
        (23_377, 0.013_958),
        (70_412, 0.031_407),
    ]
    .into_iter()
    .map(|(customer_id, offline): (i64, f64)| PredictionCheck {
        customer_id,
        // f32 rounding inside the served model, nothing more.
        served: (offline as f32) as f64,
        offline,
        deployed_model_id: "7420315".into(),
    })
    .collect();
    Predictions {
        endpoint,
        tolerance: 1e-6,
        rows,
        source: "endpoints.predict on the online features, and model.bst applied to the newest \
                 offline rows"
            .into(),
    }
}

fn label_days() -> Vec<LabelDay> {
    let first = at("2024-08-03");
    (0..24)
        .map(|k| {
            let rows = 61_800 + k * 920 + (k * 37 % 11) * 140;
            let wiggle = ((k * 7 % 5) as f64 - 2.0) * 0.0011;
            LabelDay {
                day: crate::html::day(first + k as i64 * 7 * DAY),
                rows,
                positive_rate: 0.0142 + k as f64 * 0.00009 + wiggle,
            }
        })
        .collect()
}

fn split(days: &[LabelDay], roc_auc: f64, pr_auc: f64, log_loss: f64) -> SplitSummary {
    let rows: u64 = days.iter().map(|d| d.rows).sum();
    let positives: u64 =
        days.iter().map(|d| (d.rows as f64 * d.positive_rate).round() as u64).sum();
    let positive_rate = positives as f64 / rows as f64;
    SplitSummary {
        label_days: DayRange {
            first: days[0].day.clone(),
            last: days[days.len() - 1].day.clone(),
            days: days.len() as u32,
        },
        rows,
        positives,
        positive_rate,
        roc_auc: Some(roc_auc),
        pr_auc: Some(pr_auc),
        log_loss,
        accuracy: 1.0 - positive_rate,
        baseline_accuracy: 1.0 - positive_rate,
    }
}

fn model() -> Model {
    let days = label_days();
    let (train_days, test_days) = days.split_at(20);
    let test = split(test_days, 0.6618, 0.0391, 0.0803);

    // A ROC curve of the form tpr = fpr^k has AUC 1 / (1 + k).
    let k = 1.0 / 0.6618 - 1.0;
    let roc_curve: Vec<RocPoint> =
        (0..=50).map(|i| i as f64 / 50.0).map(|fpr| RocPoint { fpr, tpr: fpr.powf(k) }).collect();
    let rate = test.positive_rate;
    let pr_curve = roc_curve
        .iter()
        .skip(1)
        .map(|p| PrPoint {
            recall: p.tpr,
            precision: rate * p.tpr / (rate * p.tpr + (1.0 - rate) * p.fpr),
        })
        .collect();

    let calibration = (0..10)
        .map(|d| {
            let predicted_mean = 0.0052 + 0.0041 * d as f64 + if d == 9 { 0.012 } else { 0.0 };
            let observed_rate = predicted_mean * (0.92 + 0.03 * ((d * 3 % 7) as f64));
            CalibrationBin { predicted_mean, observed_rate, rows: test.rows / 10 }
        })
        .collect();

    let effects = [0.118, 0.214, 0.047, -0.031, -0.482, 0.093];
    let std_devs = [0.14, 0.23, 41.7, 38.2, 412.0, 0.61];
    let weights = MODEL_INPUTS
        .iter()
        .zip(effects.iter().zip(std_devs))
        .map(|(feature, (&effect, sd))| Weight {
            feature: feature.to_string(),
            weight: effect / sd,
            per_std_dev: Some(effect),
        })
        .collect();

    Model {
        model: fsdemo_core::ResourceNames::new("local", "local").model("repurchase_14d"),
        threshold: 0.5,
        train: split(train_days, 0.6741, 0.0402, 0.0779),
        test,
        roc_curve,
        pr_curve,
        calibration,
        weights,
        bias: -4.1372,
        source: ".fsdemo/model/model_meta.json (metrics, weights) and the test split's \
                 predictions saved by training (curves, deciles)"
            .into(),
    }
}

fn data_profile() -> DataProfile {
    let rows = 81_342u64;
    let histogram = |edges: &[f64], shares: &[f64], non_null: u64| -> Vec<HistogramBin> {
        edges
            .windows(2)
            .zip(shares)
            .map(|(w, share)| HistogramBin {
                lo: w[0],
                hi: w[1],
                count: (non_null as f64 * share).round() as u64,
            })
            .collect()
    };
    let feature = |name: &str, null_rate: f64, edges: &[f64], shares: &[f64]| FeatureDistribution {
        name: name.into(),
        rows,
        null_rate,
        bins: histogram(edges, shares, (rows as f64 * (1.0 - null_rate)).round() as u64),
    };

    let features = vec![
        feature("orders_7d", 0.0, &[0.0, 1.0, 2.0, 3.0], &[0.9862, 0.0136, 0.0002]),
        feature("orders_30d", 0.0, &[0.0, 1.0, 2.0, 3.0, 4.0], &[0.9418, 0.0561, 0.0020, 0.0001]),
        feature(
            "revenue_30d",
            0.0,
            &[0.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0],
            &[0.9420, 0.0081, 0.0148, 0.0189, 0.0119, 0.0036, 0.0006, 0.0001],
        ),
        feature(
            "avg_order_value_30d",
            0.9418,
            &[0.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0],
            &[0.139, 0.254, 0.326, 0.205, 0.066, 0.010],
        ),
        feature(
            "days_since_last_order",
            0.0913,
            &[0.0, 30.0, 90.0, 180.0, 365.0, 730.0, 1100.0, 1500.0, 2200.0],
            &[0.0638, 0.0953, 0.1061, 0.1622, 0.2381, 0.1577, 0.1269, 0.0499],
        ),
        feature(
            "distinct_products_30d",
            0.0,
            &[0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0],
            &[0.9418, 0.0221, 0.0186, 0.0104, 0.0061, 0.0010],
        ),
    ];
    DataProfile {
        label_rate_by_day: label_days(),
        features,
        source: "labels_customer per label day; feature distributions over the newest snapshot \
                 of features_customer (2025-01-25, 81,342 customers)"
            .into(),
    }
}

fn bench() -> Bench {
    Bench {
        fetch: Latency {
            requests: 20_000,
            concurrency: 8,
            p50_ms: 0.41,
            p90_ms: 0.63,
            p99_ms: 1.27,
            max_ms: 4.82,
            requests_per_sec: 14_870.0,
        },
        full_path: Some(Latency {
            requests: 20_000,
            concurrency: 8,
            p50_ms: 0.88,
            p90_ms: 1.31,
            p99_ms: 2.64,
            max_ms: 9.10,
            requests_per_sec: 7_240.0,
        }),
        sync_secs: Some(3.42),
        sync_rows: Some(81_342),
        source: ".fsdemo/run/bench_online.json (fsdemo bench online, local server on 127.0.0.1)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_customer_has_several_orders_and_a_positive_label() {
        let pit = point_in_time();

        assert!(pit.orders.len() >= 3);
        assert!(pit.labels.iter().any(|l| l.label));
        assert!(pit.naive.iter().any(|n| !n.future_order_ids.is_empty()));
    }

    #[test]
    fn sample_features_follow_the_spec() {
        let orders = orders();

        // On Dec 21 only the Nov 28 order is known: 1 order in 30 days, 22 days ago.
        let values = features_at(&orders, at("2024-12-21"));
        let get = |name: &str| values.iter().find(|v| v.name == name).unwrap().value;

        assert_eq!(get("orders_30d"), Some(1.0));
        assert_eq!(get("revenue_30d"), Some(84.5));
        assert_eq!(get("days_since_last_order"), Some(22.0));
        assert_eq!(get("orders_7d"), Some(0.0));
    }

    #[test]
    fn sample_splits_add_up_to_the_label_days() {
        let data = ReportData::sample();
        let model = data.model.unwrap();
        let days = data.data.unwrap().label_rate_by_day;

        assert_eq!(model.train.rows + model.test.rows, days.iter().map(|d| d.rows).sum::<u64>());
        assert_eq!(data.leakage.unwrap().train_rows, model.train.rows + model.test.rows);
    }
}
