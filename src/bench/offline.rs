//! `bench offline`: generates theLook-shaped exports at each scale and times every step of
//! the local build (load, then each SQL file) with the process's peak memory during it.
//!
//! Peak memory is the kernel's high-water mark of this process's resident set (`VmHWM`),
//! reset before each step through `/proc/self/clear_refs`; DuckDB runs in this process,
//! so it counts everything the step used.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use fsdemo_data::build::run_step;
use fsdemo_data::generate::{generate, GenerateOptions};
use fsdemo_data::{load_export, Warehouse};
use fsdemo_sql::{Params, STEPS};
use serde::{Deserialize, Serialize};

use crate::cli::BenchOfflineArgs;
use crate::context::Context;
use crate::data::thousands;
use crate::records;

/// One measured step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTiming {
    /// `load` or a SQL file.
    pub step: String,
    /// Rows of the tables it made.
    pub rows: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Peak resident memory of the process during the step, MiB.
    pub peak_mib: f64,
}

/// All steps at one scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleTiming {
    /// Users in the export.
    pub users: u32,
    /// Orders in the export.
    pub orders: u64,
    /// The steps in order.
    pub steps: Vec<StepTiming>,
    /// The whole build (load and every SQL step), seconds.
    pub total_seconds: f64,
    /// The highest step peak, MiB.
    pub peak_mib: f64,
}

/// `fsdemo bench offline`.
pub async fn offline(ctx: &Context, args: &BenchOfflineArgs) -> anyhow::Result<()> {
    let ctx = ctx.clone();
    let (users, scales) = (args.users, args.scales.clone());
    let results = tokio::task::spawn_blocking(move || {
        scales
            .iter()
            .map(|scale| measure(&ctx, users * scale))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|results| (ctx, results))
    })
    .await??;
    let (ctx, results) = results;
    records::save(&ctx.paths.runs, "bench_offline", &results)?;
    Ok(())
}

fn measure(ctx: &Context, users: u32) -> anyhow::Result<ScaleTiming> {
    let dir = ctx.paths.workdir.join("bench").join(format!("users-{users}"));
    let export = dir.join("export");
    let report = if export.join("orders.csv.gz").exists() {
        None
    } else {
        Some(generate(&export, &GenerateOptions { users, seed: ctx.config.data.generate_seed })?)
    };
    let warehouse_path = dir.join("warehouse.duckdb");
    let _ = std::fs::remove_file(&warehouse_path);
    let _ = std::fs::remove_file(dir.join("warehouse.duckdb.wal"));
    let warehouse =
        Warehouse::open_limited(&warehouse_path, ctx.config.data.duckdb_memory_limit.as_deref())?;
    let params = Params::from_config(&ctx.config, chrono::Utc::now())?;
    println!("\nscale: {} users ({})", thousands(users.into()), export.display());

    let mut steps = Vec::new();
    let load = timed(|| {
        let load = load_export(&warehouse, &export, &ctx.config.project.source_dataset)?;
        Ok(load.tables.iter().map(|t| t.rows_loaded).sum())
    })?;
    steps.push(StepTiming { step: "load".into(), ..load });
    warehouse.execute(
        "bench",
        "schema",
        &format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", ctx.config.project.dataset),
    )?;

    for step in STEPS {
        let mut timing = timed(|| {
            let report = run_step(&warehouse, &ctx.config, &params, step.file)?;
            Ok(report.tables.iter().map(|t| t.rows).sum())
        })?;
        timing.step = step.file.into();
        steps.push(timing);
    }

    let orders = match report {
        Some(report) => report.orders,
        None => warehouse.count_rows(&ctx.config.project.source_dataset, "orders")?,
    };
    let total_seconds = steps.iter().map(|s| s.seconds).sum();
    let peak_mib = steps.iter().map(|s| s.peak_mib).fold(0.0, f64::max);
    for s in &steps {
        println!(
            "  {:<24} {:>12} rows {:>8.2} s {:>8.0} MiB peak",
            s.step,
            thousands(s.rows),
            s.seconds,
            s.peak_mib
        );
    }
    println!(
        "  {:<24} {:>12}      {:>8.2} s {:>8.0} MiB peak",
        "total", "", total_seconds, peak_mib
    );
    Ok(ScaleTiming { users, orders, steps, total_seconds, peak_mib })
}

/// Runs `step`, returning its rows, time and peak memory.
fn timed(step: impl FnOnce() -> anyhow::Result<u64>) -> anyhow::Result<StepTiming> {
    reset_peak();
    let started = Instant::now();
    let rows = step()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(StepTiming {
        step: String::new(),
        rows,
        seconds,
        peak_mib: peak_mib().context("read VmHWM")?,
    })
}

/// Resets the high-water mark of resident memory (Linux 4.0+).
fn reset_peak() {
    if let Err(error) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::warn!(%error, "cannot reset the peak memory; peaks are since the start");
    }
}

/// The high-water mark of resident memory, MiB.
fn peak_mib() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(Path::new("/proc/self/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM line")?;
    let kib: f64 = line.split_whitespace().nth(1).context("no VmHWM value")?.parse()?;
    Ok(kib / 1024.0)
}
