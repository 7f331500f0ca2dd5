//! `fsdemo data ...`: the offline tables. Generating an export is the same for both
//! profiles; building runs the SQL steps on DuckDB (`local`) or as BigQuery jobs (`gcp`).

mod local;

use std::time::Instant;

use fsdemo_data::build::{Checks, Rebuild, TimeFrame};
use fsdemo_data::generate::{generate as generate_export, GenerateOptions, GenerateReport};
use serde::{Deserialize, Serialize};

use crate::cli::{BuildArgs, ExportArgs, GenerateArgs};
use crate::context::Context;
use crate::records::{self, Resource};

/// What a build did, as `runs/build.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildRecord {
    /// `local` or `gcp`.
    pub profile: String,
    /// Where the source data came from.
    pub source: String,
    /// The tables, in build order, with their row counts.
    pub tables: Vec<TableRecord>,
    /// The sanity checks' findings.
    pub checks: Checks,
    /// The time frame used.
    pub time_frame: TimeFrame,
    /// How long the build took.
    pub duration_ms: u64,
    /// `true` when the tables already held this build and were kept.
    #[serde(default)]
    pub reused: bool,
    /// What decided the tables' content, hashed: for local the loaded files and the
    /// rendered SQL (the warehouse's manifest keeps it too), for gcp the SQL sent and the
    /// source tables' last writes. The next run compares it to keep tables and the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One built table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRecord {
    /// The SQL file that built it.
    pub step: String,
    /// Its full name, `project.dataset.table`.
    pub name: String,
    /// Rows in it.
    pub rows: u64,
    /// How long it took.
    pub duration_ms: u64,
    /// gcp: the table's `lastModifiedTime` after the build, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ms: Option<i64>,
}

/// `data generate`.
pub fn generate(ctx: &Context, args: &GenerateArgs) -> anyhow::Result<GenerateReport> {
    let options = GenerateOptions {
        users: args.users.unwrap_or(ctx.config.data.generate_users),
        seed: args.seed.unwrap_or(ctx.config.data.generate_seed),
    };
    let report = generate_export(&args.out, &options)?;
    println!(
        "wrote {} users, {} orders, {} order items (seed {}) to {}",
        report.users,
        report.orders,
        report.order_items,
        report.seed,
        args.out.display()
    );
    Ok(report)
}

/// `data build`: the SQL steps in order; returns the resources for the demo's log. With
/// [`Rebuild::IfChanged`], tables holding the same build are kept.
pub async fn build(
    ctx: &Context,
    args: &BuildArgs,
    rebuild: Rebuild,
) -> anyhow::Result<Vec<Resource>> {
    let started = Instant::now();
    let previous = records::load::<BuildRecord>(&ctx.paths.runs, "build").ok().flatten();
    let record = if ctx.is_gcp() {
        crate::gcp::build(ctx, args.dry_run, rebuild, previous.as_ref()).await?
    } else {
        if args.dry_run {
            anyhow::bail!("data build --dry-run estimates BigQuery costs; it needs --profile gcp");
        }
        local::build(ctx, rebuild)?
    };
    let Some(record) = record else { return Ok(Vec::new()) };

    print_build(&record);
    if let Some(previous) = previous.filter(|p| p.source != record.source) {
        let (before, now) = (&previous.source, &record.source);
        tracing::warn!(before = %before, now = %now, "the tables now come from another source");
        println!(
            "note: the last build read {before}, this one read {now} (data.source); the online \
             store serves the old rows until the next sync"
        );
    }
    records::save(&ctx.paths.runs, "build", &record)?;
    tracing::info!(
        tables = record.tables.len(),
        duration_ms = started.elapsed().as_millis() as u64,
        "data build done"
    );
    Ok(record
        .tables
        .iter()
        .map(|t| {
            if t.step == "load" {
                return Resource::new("SourceTable", &t.name, format!("loaded, {} rows", t.rows));
            }
            let how = if record.reused { "reused" } else { "built" };
            Resource::new("Table", &t.name, format!("{how}, {} rows", t.rows))
        })
        .collect())
}

/// `data export`.
pub fn export(ctx: &Context, args: &ExportArgs) -> anyhow::Result<()> {
    if ctx.is_gcp() {
        anyhow::bail!(
            "data export writes local warehouse tables; on gcp use `bq extract {}`",
            ctx.table(&args.table)
        );
    }
    local::export(ctx, args)
}

fn print_build(record: &BuildRecord) {
    if record.reused {
        println!("source, SQL and settings unchanged since the last build: tables reused");
    }
    for table in &record.tables {
        // A kept table took no time now; its build time belongs to the build that made it.
        let took = match record.reused {
            true => format!("{:>10}", "kept"),
            false => format!("{:>8.2} s", table.duration_ms as f64 / 1000.0),
        };
        println!("{:<48} {:>12} rows {took}   ({})", table.name, thousands(table.rows), table.step);
    }
    let checks = &record.checks;
    let broken = checks.violations.iter().filter(|(_, n)| *n != 0).count();
    println!(
        "checks: {} ({} label rows, {} training rows, {} snapshots); positive rate {}",
        if broken == 0 { "all invariants hold" } else { "BROKEN" },
        thousands(checks.label_rows as u64),
        thousands(checks.train_rows as u64),
        thousands(checks.snapshot_rows as u64),
        checks.positive_rate.map_or("n/a".into(), |r| format!("{:.2}%", r * 100.0)),
    );
}

/// `1234567` as `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
