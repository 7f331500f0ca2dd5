//! `fsdemo train`, `model upload` and `endpoint deploy`: the model trained on the
//! point-in-time rows (read from DuckDB or BigQuery, filled by the one shared fill rule),
//! saved as `model.bst`, registered and deployed (local registry or Vertex AI).

use std::collections::BTreeMap;

use anyhow::Context as _;
use fsdemo_core::features::model_input;
use fsdemo_core::{FeatureValue, MODEL_INPUTS};
use fsdemo_data::{LabeledRow, Warehouse};
use fsdemo_training::metrics::{Metrics, SplitMetrics};
use fsdemo_training::registry::Outcome;
use fsdemo_training::{save, train as fit, Curves, Registry, TrainingRow};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::data::thousands;
use crate::records::{self, Resource};

/// What training recorded, as `runs/train.json` keeps it (the report reads it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainRecord {
    /// Rows of train_dataset read.
    pub rows: usize,
    /// Train and test metrics.
    pub metrics: Metrics,
    /// The raw-input weight of each model input.
    pub weights: Vec<(String, f64)>,
    /// Each weight times its input's standard deviation on the train split: the change
    /// in log-odds per standard deviation, comparable across inputs.
    pub weights_per_std: Vec<f64>,
    /// The intercept.
    pub bias: f64,
    /// ROC, PR and calibration of the test split.
    pub curves: Curves,
    /// Per label day: (day, rows, positive rate).
    pub label_rate_by_day: Vec<(String, usize, f64)>,
    /// Each feature's distribution over the training rows.
    pub features: Vec<FeatureProfile>,
    /// The artifact folder and model.bst's sha256.
    pub artifact: String,
    /// Lowercase hex SHA-256 of model.bst.
    pub sha256: String,
    /// What decided this model: the build's fingerprint, the features and the training
    /// settings, hashed (see [`training_key`]); empty when unknown.
    #[serde(default)]
    pub trained_on: String,
}

/// One feature's distribution: its NULL rate and a histogram of its non-NULL values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureProfile {
    /// The feature.
    pub name: String,
    /// Share of rows where it is NULL (before the fill rule).
    pub null_rate: f64,
    /// (low, high, count) bins; values above the 99th percentile land in the last bin.
    pub bins: Vec<(f64, f64, u64)>,
}

/// `fsdemo train`.
pub async fn train(ctx: &Context) -> anyhow::Result<TrainRecord> {
    let labeled =
        if ctx.is_gcp() { crate::gcp::training_rows(ctx).await? } else { local_rows(ctx).await? };
    let schema = &ctx.config.featurestore.features;
    let rows: Vec<TrainingRow> = labeled
        .iter()
        .map(|row| TrainingRow {
            label_timestamp: row.label_timestamp,
            label: row.label,
            inputs: model_input(|name| row.get(schema, name).map(FeatureValue::as_f64)),
        })
        .collect();
    tracing::info!(rows = rows.len(), table = %ctx.table("train_dataset"), "training rows read");

    let trained = fit(&rows, &ctx.config.training).context("train")?;
    let artifact = save(&trained, &ctx.paths.model).context("train: save the model")?;
    let record = TrainRecord {
        rows: rows.len(),
        metrics: trained.metrics.clone(),
        weights: MODEL_INPUTS.iter().map(|n| n.to_string()).zip(trained.model.weights).collect(),
        weights_per_std: per_std(&trained, &rows)?,
        bias: trained.model.bias,
        curves: Curves::of_test_split(&trained, &rows)?,
        label_rate_by_day: label_rates(&rows),
        features: schema
            .iter()
            .enumerate()
            .map(|(i, spec)| profile(&spec.name, &labeled, i))
            .collect(),
        artifact: artifact.dir.display().to_string(),
        sha256: artifact.sha256.clone(),
        trained_on: training_key(ctx)?.unwrap_or_default(),
    };
    records::save(&ctx.paths.runs, "train", &record)?;
    print_metrics(&record);
    Ok(record)
}

/// The last training's record, when the model in the workdir is the one it wrote and
/// the tables, the features and the training settings are those it was trained on: the
/// demo keeps that model instead of fitting the same one again.
pub fn unchanged_model(ctx: &Context) -> anyhow::Result<Option<TrainRecord>> {
    let Some(key) = training_key(ctx)? else { return Ok(None) };
    let Some(last) = records::load::<TrainRecord>(&ctx.paths.runs, "train")? else {
        return Ok(None);
    };
    if last.trained_on != key {
        return Ok(None);
    }
    let meta = std::fs::read(ctx.paths.model.join(fsdemo_training::META_FILE)).ok();
    let meta: Option<fsdemo_training::ModelMeta> =
        meta.and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let intact = fsdemo_training::load(&ctx.paths.model).is_ok();
    if !intact || meta.is_none_or(|meta| meta.sha256 != last.sha256) {
        return Ok(None);
    }

    println!(
        "train_dataset, features and training settings unchanged since the last training: \
         {}/model.bst kept (sha256 {})",
        last.artifact,
        &last.sha256[..16]
    );
    print_metrics(&last);
    Ok(Some(last))
}

/// The SHA-256 of what decides the model: the last build's fingerprint (from
/// `runs/build.json`), the feature definitions and the training settings. `None` when no
/// build with a fingerprint was recorded.
fn training_key(ctx: &Context) -> anyhow::Result<Option<String>> {
    let build = records::load::<crate::data::BuildRecord>(&ctx.paths.runs, "build")?;
    let Some(fingerprint) = build.and_then(|b| b.fingerprint) else { return Ok(None) };
    let material = serde_json::json!({
        "profile": ctx.config.project.profile,
        "build": fingerprint,
        "features": ctx.config.featurestore.features,
        "training": ctx.config.training,
    });
    Ok(Some(records::sha256_hex(material.to_string().as_bytes())))
}

async fn local_rows(ctx: &Context) -> anyhow::Result<Vec<LabeledRow>> {
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let warehouse = Warehouse::open_read_only(&ctx.paths.warehouse)?;
        let project = &ctx.config.project;
        let projects = [project.id.as_str(), project.source_project.as_str()];
        let rows = fsdemo_data::read::training_rows(
            &warehouse,
            &ctx.table("train_dataset"),
            &ctx.config.featurestore.features,
            &projects,
        )?;
        anyhow::Ok(rows)
    })
    .await?
}

/// `fsdemo model upload`.
pub async fn upload(ctx: &Context) -> anyhow::Result<Vec<Resource>> {
    let resource = if ctx.is_gcp() {
        crate::gcp::upload_model(ctx).await?
    } else {
        let registry = Registry::open(&ctx.paths.registry, ctx.config.names());
        let report = registry.upload(&ctx.config.training.model, &ctx.paths.model)?;
        let name = format!("{}@{}", report.model, report.version.version_id);
        Resource::new("Model", name, outcome(report.outcome))
    };
    println!("{:<9} {:<19} {}", resource.outcome, resource.kind, resource.name);
    records::save(&ctx.paths.runs, "upload", &resource)?;
    Ok(vec![resource])
}

/// `fsdemo endpoint deploy`.
pub async fn deploy(ctx: &Context) -> anyhow::Result<Vec<Resource>> {
    let resources = if ctx.is_gcp() {
        crate::gcp::deploy(ctx).await?
    } else {
        let registry = Registry::open(&ctx.paths.registry, ctx.config.names());
        let report =
            registry.deploy(&ctx.config.training.endpoint, &ctx.config.training.model.id)?;
        let deployed = &report.deployed_model;
        vec![
            Resource::new("Endpoint", &report.endpoint.name, outcome(report.endpoint_outcome)),
            Resource::new(
                "DeployedModel",
                format!(
                    "{} ({}@{}, 100% traffic)",
                    deployed.id, deployed.model, deployed.model_version_id
                ),
                outcome(report.outcome),
            ),
        ]
    };
    for resource in &resources {
        println!("{:<9} {:<19} {}", resource.outcome, resource.kind, resource.name);
    }
    records::save(&ctx.paths.runs, "deploy", &resources)?;
    Ok(resources)
}

fn outcome(outcome: Outcome) -> String {
    format!("{outcome:?}").to_lowercase()
}

fn print_metrics(record: &TrainRecord) {
    println!(
        "{:<6} {:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "split",
        "label days",
        "rows",
        "positives",
        "pos.rate",
        "ROC AUC",
        "PR AUC",
        "log loss",
        "accuracy"
    );
    let line = |split: &str, m: &SplitMetrics| {
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        println!(
            "{split:<6} {:<34} {:>9} {:>9} {:>7.2}% {:>8} {:>8} {:>9.4} {:>8.2}%",
            m.label_days.to_string(),
            thousands(m.rows as u64),
            thousands(m.positives as u64),
            m.positive_rate * 100.0,
            opt(m.roc_auc),
            opt(m.pr_auc),
            m.log_loss,
            m.accuracy * 100.0
        );
    };
    line("train", &record.metrics.train);
    line("test", &record.metrics.test);
    let test = &record.metrics.test;
    println!(
        "note: repurchases are rare ({:.2}% of test rows), so accuracy alone means little: \
         always answering \"no\" scores {:.2}%; read ROC AUC and PR AUC (a random model's PR AUC \
         is the positive rate)",
        test.positive_rate * 100.0,
        test.baseline_accuracy * 100.0
    );
    println!("model.bst in {} (sha256 {})", record.artifact, &record.sha256[..16]);
}

/// Each raw weight times the standard deviation of its input on the train split.
fn per_std(
    trained: &fsdemo_training::TrainedModel,
    rows: &[TrainingRow],
) -> anyhow::Result<Vec<f64>> {
    let split = fsdemo_training::split_out_of_time(rows, trained.config.test_label_days)?;
    let n = split.train.len().max(1) as f64;
    Ok((0..MODEL_INPUTS.len())
        .map(|j| {
            let mean = split.train.iter().map(|r| r.inputs[j]).sum::<f64>() / n;
            let variance =
                split.train.iter().map(|r| (r.inputs[j] - mean).powi(2)).sum::<f64>() / n;
            trained.model.weights[j] * variance.sqrt()
        })
        .collect())
}

/// (day, rows, positive rate) per label day, oldest first.
fn label_rates(rows: &[TrainingRow]) -> Vec<(String, usize, f64)> {
    let mut days: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for row in rows {
        let day = row.label_timestamp.div_euclid(fsdemo_core::time::MICROS_PER_DAY);
        let entry = days.entry(day).or_default();
        entry.0 += 1;
        entry.1 += usize::from(row.label);
    }
    days.into_iter()
        .map(|(day, (n, positives))| {
            let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default();
            (date.format("%Y-%m-%d").to_string(), n, positives as f64 / n.max(1) as f64)
        })
        .collect()
}

/// The distribution of feature `index` over the training rows.
fn profile(name: &str, rows: &[LabeledRow], index: usize) -> FeatureProfile {
    let mut values: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.values.get(index).copied().flatten())
        .map(FeatureValue::as_f64)
        .collect();
    let null_rate = 1.0 - values.len() as f64 / rows.len().max(1) as f64;
    values.sort_by(f64::total_cmp);
    let (Some(&low), Some(_)) = (values.first(), values.last()) else {
        return FeatureProfile { name: name.into(), null_rate, bins: Vec::new() };
    };

    let high = values[(values.len() - 1) * 99 / 100].max(low + 1.0);
    let integers = values.iter().all(|v| v.fract() == 0.0);
    let bins = if integers { ((high - low) as usize + 1).min(20) } else { 20 };
    let width = (high - low) / bins as f64;
    let mut counts = vec![0u64; bins];
    for v in &values {
        let bin = (((v - low) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let bins = counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| (low + i as f64 * width, low + (i + 1) as f64 * width, count))
        .collect();
    FeatureProfile { name: name.into(), null_rate, bins }
}
