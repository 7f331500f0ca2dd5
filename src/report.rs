//! `fsdemo report` (and the demo's last step): gathers what the run recorded (the steps,
//! the training metrics and curves, verify, the predictions, the benchmark) and what the
//! built tables say about one customer, and writes the HTML page with `fsdemo-report`.
//!
//! Numbers are taken as the commands recorded them in `<workdir>/runs/`, never recomputed
//! another way; the point-in-time panel and the leakage count are queried from the tables,
//! in the same BigQuery SQL on both profiles.

use std::path::PathBuf;

use fsdemo_data::{Cell, Rows};
use fsdemo_report::data as report;
use fsdemo_sql::queries;

use crate::context::Context;
use crate::demo::{DemoRecord, PredictionCheck};
use crate::featurestore::VerifyRecord;
use crate::records;
use crate::training::TrainRecord;

/// How many label rows the point-in-time panel shows at most.
const PANEL_LABELS: usize = 5;

/// Writes the report under `<workdir>/report/` and returns the page's path.
pub async fn write(ctx: &Context, customer: Option<i64>) -> anyhow::Result<PathBuf> {
    let data = gather(ctx, customer).await?;
    Ok(fsdemo_report::write(&ctx.paths.report, &data)?)
}

async fn gather(ctx: &Context, customer: Option<i64>) -> anyhow::Result<report::ReportData> {
    let runs = &ctx.paths.runs;
    let source = |name: &str| runs.join(format!("{name}.json")).display().to_string();

    let pipeline = records::load::<DemoRecord>(runs, "demo")?.map(|demo| report::Pipeline {
        steps: demo.steps.iter().map(step).collect(),
        source: source("demo"),
    });
    let train = records::load::<TrainRecord>(runs, "train")?;
    let (point_in_time, leakage) = match story(ctx, customer).await {
        Ok(story) => story,
        Err(error) => {
            let error = format!("{error:#}");
            tracing::warn!(%error, "no point-in-time panel: the tables cannot be read");
            (None, None)
        }
    };

    Ok(report::ReportData {
        profile: if ctx.is_gcp() { report::Profile::Gcp } else { report::Profile::Local },
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        workdir: ctx.paths.workdir.display().to_string(),
        pipeline,
        point_in_time,
        leakage,
        verify: records::load::<VerifyRecord>(runs, "verify")?,
        predictions: records::load::<Vec<PredictionCheck>>(runs, "predictions")?
            .map(|checks| predictions(ctx, checks, source("predictions"))),
        model: train.as_ref().map(|t| model(ctx, t, source("train"))),
        data: train.as_ref().map(|t| data_profile(t, source("train"))),
        bench: records::load::<crate::bench::OnlineBench>(runs, "bench_online")?
            .map(|b| bench(b, source("bench_online"))),
    })
}

fn step(record: &crate::demo::StepRecord) -> report::Step {
    let status = match record.status.as_str() {
        "ok" if record.resources.iter().all(|r| r.outcome.starts_with("reused"))
            && !record.resources.is_empty() =>
        {
            report::StepStatus::Reused
        }
        "ok" => report::StepStatus::Ok,
        "skipped" => report::StepStatus::Skipped,
        _ => report::StepStatus::Failed,
    };
    let resources = record
        .resources
        .iter()
        .map(|r| report::Resource {
            kind: r.kind.clone(),
            full_name: r.name.clone(),
            outcome: match r.outcome.as_str() {
                o if o.starts_with("reused") => report::Outcome::Reused,
                o if o.starts_with("updated") => report::Outcome::Updated,
                o if o.starts_with("replaced") || o.starts_with("deleted") => {
                    report::Outcome::Replaced
                }
                _ => report::Outcome::Created,
            },
        })
        .collect();
    report::Step {
        name: record.name.clone(),
        status,
        duration_ms: record.duration_ms,
        resources,
        detail: record.detail.clone(),
    }
}

/// Runs one BigQuery query on the profile's tables.
async fn query(ctx: &Context, sql: String) -> anyhow::Result<Rows> {
    if ctx.is_gcp() {
        return crate::gcp::select(ctx, &sql).await;
    }
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let warehouse = fsdemo_data::Warehouse::open_read_only(&ctx.paths.warehouse)?;
        let project = &ctx.config.project;
        let projects = [project.id.as_str(), project.source_project.as_str()];
        anyhow::Ok(fsdemo_data::read::select_bigquery(&warehouse, "report", &sql, &projects)?)
    })
    .await?
}

/// One customer's orders, snapshots and labels, and the dataset's leakage count.
async fn story(
    ctx: &Context,
    customer: Option<i64>,
) -> anyhow::Result<(Option<report::PointInTime>, Option<report::Leakage>)> {
    let dataset = format!("{}.{}", ctx.config.project.id, ctx.config.project.dataset);
    let sources = format!("{dataset}.orders_prepared, features_customer and train_dataset");

    let leak_rows = query(ctx, queries::report::leakage(&dataset)).await?;
    let int = |rows: &Rows, row: usize, column: &str| {
        rows.column(column).and_then(|i| rows.rows.get(row)?.get(i)?.as_i64()).unwrap_or(0)
    };
    let leakage = report::Leakage {
        train_rows: int(&leak_rows, 0, "train_rows") as u64,
        rows_leaking_with_naive_join: int(&leak_rows, 0, "leaking_rows") as u64,
        source: format!(
            "queried from {dataset}.train_dataset, features_customer and orders_prepared"
        ),
    };

    let (customer, why) = match customer {
        Some(id) => (id, "chosen with --customer-id".to_string()),
        None => {
            let picked = query(ctx, queries::report::interesting_customer(&dataset)).await?;
            let Some(id) = picked.rows.first().and_then(|r| r[0].as_i64()) else {
                return Ok((None, Some(leakage)));
            };
            (
                id,
                "picked automatically: repeat orders and at least one repurchase label".to_string(),
            )
        }
    };

    let orders = query(ctx, queries::report::orders(&dataset, customer)).await?;
    let orders: Vec<report::Order> = orders
        .rows
        .iter()
        .map(|r| report::Order {
            order_id: r[0].as_i64().unwrap_or(0),
            created_at_micros: micros(&r[1]),
            value: r[2].as_f64().unwrap_or(0.0),
            status: text(&r[3]),
            countable: r[4].as_i64() == Some(1),
        })
        .collect();

    let names: Vec<&str> =
        ctx.config.featurestore.features.iter().map(|f| f.name.as_str()).collect();
    let snapshots = query(ctx, queries::report::snapshots(&dataset, customer, &names)).await?;
    let snapshots = snapshots
        .rows
        .iter()
        .map(|r| report::Snapshot {
            feature_timestamp_micros: micros(&r[0]),
            values: names
                .iter()
                .zip(&r[1..])
                .map(|(name, cell)| report::NamedValue {
                    name: name.to_string(),
                    value: cell.as_f64(),
                })
                .collect(),
        })
        .collect();

    let labels = query(ctx, queries::report::labels(&dataset, customer)).await?;
    let chosen = panel_labels(&labels);
    let window = ctx.config.data.label_window_days;
    let label_rows = chosen
        .iter()
        .map(|r| report::LabelRow {
            label_timestamp_micros: micros(&r[0]),
            window_days: window,
            label: r[1].as_i64() == Some(1),
            used_snapshot_micros: optional_micros(&r[2]),
        })
        .collect();
    let naive = chosen
        .iter()
        .filter_map(|r| {
            let (label, newest) = (micros(&r[0]), optional_micros(&r[3])?);
            let future = orders
                .iter()
                .filter(|o| {
                    o.countable && o.created_at_micros >= label && o.created_at_micros < newest
                })
                .map(|o| o.order_id)
                .collect();
            Some(report::NaiveRow {
                label_timestamp_micros: label,
                naive_snapshot_micros: newest,
                future_order_ids: future,
            })
        })
        .collect();

    let panel = report::PointInTime {
        customer_id: customer,
        why_chosen: why,
        orders,
        snapshots,
        labels: label_rows,
        naive,
        source: format!("queried from {sources}"),
    };
    Ok((Some(panel), Some(leakage)))
}

/// Up to [`PANEL_LABELS`] label rows: every positive first, then the negatives nearest to
/// them, in time order.
fn panel_labels(labels: &Rows) -> Vec<Vec<Cell>> {
    let all = &labels.rows;
    let positives: Vec<i64> =
        all.iter().filter(|r| r[1].as_i64() == Some(1)).map(|r| micros(&r[0])).collect();
    let distance = |row: &Vec<Cell>| {
        let t = micros(&row[0]);
        positives.iter().map(|p| (p - t).abs()).min().unwrap_or(0)
    };
    let mut ranked: Vec<&Vec<Cell>> = all.iter().collect();
    ranked.sort_by_key(|row| (row[1].as_i64() != Some(1), distance(row)));
    let mut chosen: Vec<Vec<Cell>> = ranked.into_iter().take(PANEL_LABELS).cloned().collect();
    chosen.sort_by_key(|row| micros(&row[0]));
    chosen
}

fn predictions(ctx: &Context, checks: Vec<PredictionCheck>, source: String) -> report::Predictions {
    report::Predictions {
        endpoint: ctx.endpoint_name(),
        tolerance: 1e-6,
        rows: checks
            .into_iter()
            .map(|c| report::PredictionCheck {
                customer_id: c.served.customer_id,
                served: c.served.prediction,
                offline: c.offline.unwrap_or(f64::NAN),
                deployed_model_id: c.served.deployed_model_id,
            })
            .collect(),
        source,
    }
}

fn model(ctx: &Context, train: &TrainRecord, source: String) -> report::Model {
    let split = |m: &fsdemo_training::SplitMetrics| report::SplitSummary {
        label_days: report::DayRange {
            first: m.label_days.first.clone(),
            last: m.label_days.last.clone(),
            days: m.label_days.days as u32,
        },
        rows: m.rows as u64,
        positives: m.positives as u64,
        positive_rate: m.positive_rate,
        roc_auc: m.roc_auc,
        pr_auc: m.pr_auc,
        log_loss: m.log_loss,
        accuracy: m.accuracy,
        baseline_accuracy: m.baseline_accuracy,
    };
    report::Model {
        model: ctx.config.names().model(&ctx.config.training.model.id),
        threshold: train.metrics.threshold,
        train: split(&train.metrics.train),
        test: split(&train.metrics.test),
        roc_curve: train
            .curves
            .roc
            .iter()
            .map(|&(fpr, tpr)| report::RocPoint { fpr, tpr })
            .collect(),
        pr_curve: train
            .curves
            .pr
            .iter()
            .map(|&(recall, precision)| report::PrPoint { recall, precision })
            .collect(),
        calibration: train
            .curves
            .calibration
            .iter()
            .map(|b| report::CalibrationBin {
                predicted_mean: b.predicted,
                observed_rate: b.observed,
                rows: b.rows as u64,
            })
            .collect(),
        weights: train
            .weights
            .iter()
            .zip(&train.weights_per_std)
            .map(|((feature, weight), per_std)| report::Weight {
                feature: feature.clone(),
                weight: *weight,
                per_std_dev: Some(*per_std),
            })
            .collect(),
        bias: train.bias,
        source,
    }
}

fn data_profile(train: &TrainRecord, source: String) -> report::DataProfile {
    report::DataProfile {
        label_rate_by_day: train
            .label_rate_by_day
            .iter()
            .map(|(day, rows, rate)| report::LabelDay {
                day: day.clone(),
                rows: *rows as u64,
                positive_rate: *rate,
            })
            .collect(),
        features: train
            .features
            .iter()
            .map(|f| report::FeatureDistribution {
                name: f.name.clone(),
                rows: train.rows as u64,
                null_rate: f.null_rate,
                bins: f
                    .bins
                    .iter()
                    .map(|&(lo, hi, count)| report::HistogramBin { lo, hi, count })
                    .collect(),
            })
            .collect(),
        source,
    }
}

fn bench(record: crate::bench::OnlineBench, source: String) -> report::Bench {
    let latency = |l: &crate::bench::Latency| report::Latency {
        requests: l.requests as u64,
        concurrency: record.concurrency as u32,
        p50_ms: l.p50_ms,
        p90_ms: l.p90_ms,
        p99_ms: l.p99_ms,
        max_ms: l.max_ms,
        requests_per_sec: l.requests_per_sec,
    };
    report::Bench {
        fetch: latency(&record.fetch),
        full_path: Some(latency(&record.full_path)),
        sync_secs: record.sync_secs,
        sync_rows: record.sync_rows,
        source,
    }
}

fn micros(cell: &Cell) -> i64 {
    optional_micros(cell).unwrap_or(0)
}

fn optional_micros(cell: &Cell) -> Option<i64> {
    match cell {
        Cell::Timestamp(micros) => Some(*micros),
        Cell::Int(micros) => Some(*micros),
        _ => None,
    }
}

fn text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Null => String::new(),
        other => format!("{other:?}"),
    }
}
