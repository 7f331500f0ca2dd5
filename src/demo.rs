//! `fsdemo demo` (what `make demo` runs): every step in order, each logged with what it
//! created or reused, its status and duration, reusing whatever exists, and ending with
//! online predictions for customers taken from the online store, checked against the model
//! applied to the newest offline rows. A failing step stops the demo naming the step, the
//! resource and what is needed.

use std::future::Future;
use std::time::Instant;

use anyhow::{bail, Context as _};
use fsdemo_core::features::row_input;
use fsdemo_data::build::Rebuild;
use serde::{Deserialize, Serialize};

use crate::cli::{BuildArgs, CreateArgs, DemoArgs, SyncArgs, VerifyArgs};
use crate::context::Context;
use crate::records::{self, Resource};
use crate::serving::{features_text, online, predict_customers, OnlinePrediction};
use crate::{data, featurestore, report, training};

/// How many customers the demo predicts for when none are named.
const DEMO_CUSTOMERS: usize = 10;

/// Customers `verify` compares during the demo.
const VERIFY_SAMPLE: usize = 200;

/// One step of a run, as `runs/demo.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step, e.g. `tables`, `sync`.
    pub name: String,
    /// `ok`, `skipped` or `failed`.
    pub status: String,
    /// How long it took.
    pub duration_ms: u64,
    /// What it created or reused.
    pub resources: Vec<Resource>,
    /// A one-line outcome, or the error.
    pub detail: String,
}

/// The whole demo, as `runs/demo.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoRecord {
    /// `local` or `gcp`.
    pub profile: String,
    /// When it started, RFC 3339.
    pub started_at: String,
    /// The steps in order.
    pub steps: Vec<StepRecord>,
    /// The wall time, in milliseconds.
    pub duration_ms: u64,
}

/// A served prediction next to the model applied offline to the newest offline row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictionCheck {
    /// The online answer.
    pub served: OnlinePrediction,
    /// `model.bst` applied to the newest `features_customer` row, filled the same way.
    pub offline: Option<f64>,
}

/// Runs the steps in order and keeps their record, also when one fails.
struct Steps<'a> {
    ctx: &'a Context,
    record: DemoRecord,
    started: Instant,
}

impl<'a> Steps<'a> {
    fn new(ctx: &'a Context) -> Steps<'a> {
        let profile = if ctx.is_gcp() { "gcp" } else { "local" };
        let record = DemoRecord {
            profile: profile.into(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            steps: Vec::new(),
            duration_ms: 0,
        };
        Steps { ctx, record, started: Instant::now() }
    }

    /// Runs `step` unless `skip`, logs and records it; an error stops the demo.
    async fn run<F>(&mut self, name: &str, skip: bool, step: F) -> anyhow::Result<()>
    where
        F: Future<Output = anyhow::Result<(Vec<Resource>, String)>>,
    {
        if skip {
            tracing::info!(step = name, "step skipped");
            println!("\n== {name}: skipped");
            self.push(name, "skipped", 0, Vec::new(), "skipped by a --skip flag".into());
            return Ok(());
        }

        println!("\n== {name}");
        let started = Instant::now();
        let outcome = step.await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok((resources, detail)) => {
                let count = resources.len();
                tracing::info!(
                    step = name,
                    status = "ok",
                    duration_ms,
                    resources = count,
                    "step done"
                );
                self.push(name, "ok", duration_ms, resources, detail);
                Ok(())
            }
            Err(error) => {
                let detail = format!("{error:#}");
                tracing::error!(step = name, status = "failed", duration_ms, "step failed");
                self.push(name, "failed", duration_ms, Vec::new(), detail);
                self.save()?;
                Err(error.context(format!("demo stopped at step `{name}`")))
            }
        }
    }

    fn push(
        &mut self,
        name: &str,
        status: &str,
        duration_ms: u64,
        resources: Vec<Resource>,
        detail: String,
    ) {
        self.record.steps.push(StepRecord {
            name: name.into(),
            status: status.into(),
            duration_ms,
            resources,
            detail,
        });
    }

    fn save(&mut self) -> anyhow::Result<()> {
        self.record.duration_ms = self.started.elapsed().as_millis() as u64;
        records::save(&self.ctx.paths.runs, "demo", &self.record)
    }
}

/// `fsdemo demo`.
pub async fn run(ctx: &Context, args: &DemoArgs) -> anyhow::Result<()> {
    let mut steps = Steps::new(ctx);
    println!(
        "fsdemo demo, profile {}: will customer X order again within {} days?",
        steps.record.profile, ctx.config.data.label_window_days
    );

    steps
        .run("tables", args.skip_data, async {
            let build = BuildArgs { dry_run: args.dry_run };
            let resources = data::build(ctx, &build, Rebuild::IfChanged).await?;
            let (tables, loaded): (Vec<_>, Vec<_>) =
                resources.iter().partition(|r| r.kind == "Table");
            let how = if tables.iter().all(|r| r.outcome.starts_with("reused")) {
                "kept (unchanged)"
            } else {
                "built"
            };
            let mut detail = format!("{} tables {how} from theLook orders", tables.len());
            if !loaded.is_empty() {
                detail.push_str(&format!(" ({} source tables loaded)", loaded.len()));
            }
            Ok((resources, detail))
        })
        .await?;
    if args.dry_run {
        println!("\ndry run: nothing was created; drop --dry-run to run the demo");
        return steps.save();
    }

    steps
        .run("feature store", args.skip_featurestore, async {
            let resources = featurestore::create(ctx, &CreateArgs { recreate: false }).await?;
            let changed = resources.iter().filter(|r| r.outcome != "reused").count();
            Ok((resources, format!("{changed} resource(s) created or changed")))
        })
        .await?;

    steps
        .run("first sync", args.skip_featurestore, async {
            let sync = featurestore::sync(ctx, &SyncArgs { wait: true }).await?;
            let rows = sync.rows_synced().unwrap_or(0);
            let resource =
                Resource::new("FeatureViewSync", &sync.name, format!("succeeded, {rows} rows"));
            Ok((vec![resource], format!("{rows} customers servable")))
        })
        .await?;

    steps
        .run("training", args.skip_training, async {
            let (record, outcome) = match training::unchanged_model(ctx)? {
                Some(record) => (record, "reused"),
                None => (training::train(ctx).await?, "written"),
            };
            let test = &record.metrics.test;
            let resource =
                Resource::new("Artifact", format!("{}/model.bst", record.artifact), outcome);
            let detail = format!(
                "{}test ROC AUC {:.3}, PR AUC {:.3} at a positive rate of {:.2}%",
                if outcome == "reused" { "model kept (unchanged): " } else { "" },
                test.roc_auc.unwrap_or(f64::NAN),
                test.pr_auc.unwrap_or(f64::NAN),
                test.positive_rate * 100.0
            );
            Ok((vec![resource], detail))
        })
        .await?;

    steps
        .run("upload", args.skip_deploy, async {
            let resources = training::upload(ctx).await?;
            let how = if resources.iter().all(|r| r.outcome.starts_with("reused")) {
                "model.bst already registered"
            } else {
                "model.bst registered"
            };
            Ok((resources, how.into()))
        })
        .await?;

    steps
        .run("deploy", args.skip_deploy, async {
            let resources = training::deploy(ctx).await?;
            Ok((resources, "newest version takes 100% of the traffic".into()))
        })
        .await?;

    let mut checks = Vec::new();
    steps
        .run("online predictions", false, async {
            checks = predictions(ctx, &args.customer_ids).await?;
            let agree = checks.iter().filter(|c| agrees(c)).count();
            Ok((
                Vec::new(),
                format!(
                    "{} customers predicted; {agree} equal the model applied offline",
                    checks.len()
                ),
            ))
        })
        .await?;

    steps
        .run("verify", args.skip_featurestore, async {
            let record = featurestore::verify(ctx, &VerifyArgs { sample: VERIFY_SAMPLE }).await?;
            Ok((
                Vec::new(),
                format!("{} of {} customers match offline", record.matched, record.sampled),
            ))
        })
        .await?;

    steps.save()?;
    let page = report::write(ctx, None).await;
    summary(ctx, &steps.record, &checks, page.as_ref().ok());
    if let Err(error) = page {
        tracing::warn!(error = %format!("{error:#}"), "the report could not be written");
    }
    Ok(())
}

/// Predicts for the named customers, or for ten taken from the online store, and checks
/// each against the model applied offline.
async fn predictions(ctx: &Context, named: &[String]) -> anyhow::Result<Vec<PredictionCheck>> {
    let online = online(ctx).await?;
    let customers: Vec<String> = if named.is_empty() {
        let ids = featurestore::sample_customers(ctx, &online, DEMO_CUSTOMERS).await?;
        ids.iter().map(i64::to_string).collect()
    } else {
        named.to_vec()
    };
    if customers.is_empty() {
        bail!(
            "online predictions: feature view {} serves no customer; run the first sync",
            online.view
        );
    }

    let (served, missing) = predict_customers(&online, &customers).await?;
    if !missing.is_empty() {
        bail!(
            "online predictions: feature view {} has no row for customer(s) {}",
            online.view,
            missing.join(", ")
        );
    }

    let model = fsdemo_training::load(&ctx.paths.model).with_context(|| {
        format!("online predictions: read the trained model in {}", ctx.paths.model.display())
    })?;
    let ids: Vec<i64> = served.iter().map(|p| p.customer_id).collect();
    let offline = featurestore::offline_newest(ctx, &ids).await?;
    let schema = &ctx.config.featurestore.features;
    let checks: Vec<PredictionCheck> = served
        .into_iter()
        .map(|served| {
            let row = offline.iter().find(|row| row.entity_id == served.customer_id);
            let offline = row.map(|row| model.predict(&row_input(schema, row)));
            PredictionCheck { served, offline }
        })
        .collect();

    print_predictions(&checks);
    records::save(&ctx.paths.runs, "predictions", &checks)?;
    Ok(checks)
}

/// Served and offline agree within float rounding of the serving container.
fn agrees(check: &PredictionCheck) -> bool {
    check.offline.is_some_and(|offline| (offline - check.served.prediction).abs() < 1e-6)
}

fn print_predictions(checks: &[PredictionCheck]) {
    println!(
        "{:>10}  {:>12}  {:>12}  {:<6}  features",
        "customer", "P(14 days)", "offline", "same?"
    );
    for check in checks {
        let offline = check.offline.map_or("no row".to_string(), |p| format!("{p:.6}"));
        println!(
            "{:>10}  {:>12.6}  {:>12}  {:<6}  {}",
            check.served.customer_id,
            check.served.prediction,
            offline,
            if agrees(check) { "yes" } else { "NO" },
            features_text(&check.served)
        );
    }
}

fn summary(
    ctx: &Context,
    record: &DemoRecord,
    checks: &[PredictionCheck],
    page: Option<&std::path::PathBuf>,
) {
    println!(
        "\n== summary (profile {}, {:.1} s)",
        record.profile,
        record.duration_ms as f64 / 1000.0
    );
    for step in &record.steps {
        println!(
            "  {:<20} {:<8} {:>8.2} s  {}",
            step.name,
            step.status,
            step.duration_ms as f64 / 1000.0,
            step.detail
        );
    }
    if let Some(check) = checks.first() {
        println!(
            "\ntry one customer by hand:\n  {}",
            ctx.suggest(&format!("online-predict --customer-id {}", check.served.customer_id))
        );
    }
    if !ctx.is_gcp() {
        println!(
            "the local service keeps running at {} like a cloud endpoint; stop it with `{}`",
            crate::serving::process::url(ctx),
            ctx.suggest("serve --stop")
        );
    }
    if let Some(page) = page {
        println!("report: {}", page.display());
    }
}
