//! The local profile's tables: the source export (configured, or generated under the
//! workdir and reused while its settings are unchanged) loaded into DuckDB, and the SQL
//! steps run there.

use std::path::PathBuf;

use anyhow::Context as _;
use fsdemo_data::build::{load_and_build, Rebuild};
use fsdemo_data::generate::{generate, GenerateOptions};
use fsdemo_data::Warehouse;
use fsdemo_sql::Params;
use serde::{Deserialize, Serialize};

use super::{BuildRecord, TableRecord};
use crate::cli::ExportArgs;
use crate::context::Context;

/// What the generated export under the workdir was made with.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Generated {
    users: u32,
    seed: u64,
}

/// The export folder to load: `data.source`, or one generated under the workdir (made
/// again only when `data.generate_users` or `data.generate_seed` changed).
pub fn ensure_source(ctx: &Context) -> anyhow::Result<PathBuf> {
    if let Some(source) = &ctx.config.data.source {
        anyhow::ensure!(
            source.is_dir(),
            "data: data.source = {} is not a folder; point it at a theLook export (CSV or \
             CSV.gz per table) or leave it empty to generate one",
            source.display()
        );
        return Ok(source.clone());
    }

    let dir = &ctx.paths.export;
    let wanted =
        Generated { users: ctx.config.data.generate_users, seed: ctx.config.data.generate_seed };
    let manifest = dir.join("generated.json");
    let existing: Option<Generated> =
        std::fs::read(&manifest).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if existing.as_ref() == Some(&wanted) {
        let (users, seed) = (wanted.users, wanted.seed);
        tracing::info!(dir = %dir.display(), users, seed, "generated export reused");
        return Ok(dir.clone());
    }

    let options = GenerateOptions { users: wanted.users, seed: wanted.seed };
    generate(dir, &options)
        .with_context(|| format!("generate a synthetic export into {}", dir.display()))?;
    std::fs::write(&manifest, serde_json::to_vec(&wanted)?)
        .with_context(|| format!("write {}", manifest.display()))?;
    Ok(dir.clone())
}

/// Loads the source and builds every table.
pub fn build(ctx: &Context, rebuild: Rebuild) -> anyhow::Result<Option<BuildRecord>> {
    let source = ensure_source(ctx)?;
    let limit = ctx.config.data.duckdb_memory_limit.as_deref();
    let warehouse = Warehouse::open_limited(&ctx.paths.warehouse, limit)?;
    let params = Params::from_config(&ctx.config, chrono::Utc::now())?;

    let (load, build) = load_and_build(&warehouse, &ctx.config, &source, &params, rebuild)
        .with_context(|| format!("data build into {}", ctx.paths.warehouse.display()))?;

    let source_tables = load.tables.iter().map(|t| TableRecord {
        step: "load".into(),
        name: format!(
            "{}.{}.{}",
            ctx.config.project.source_project, ctx.config.project.source_dataset, t.table
        ),
        rows: t.rows_loaded,
        duration_ms: load.duration_ms,
        modified_ms: None,
    });
    let built = build.steps.iter().flat_map(|step| {
        step.tables.iter().map(|t| TableRecord {
            step: step.file.clone(),
            name: t.name.clone(),
            rows: t.rows,
            duration_ms: t.duration_ms,
            modified_ms: None,
        })
    });
    for table in &load.tables {
        for (reason, count) in &table.skipped {
            println!("skipped {count} row(s) of {}: {reason}", table.table);
        }
    }
    Ok(Some(BuildRecord {
        profile: "local".into(),
        source: source.display().to_string(),
        tables: source_tables.chain(built).collect(),
        checks: build.checks,
        time_frame: build.time_frame,
        duration_ms: load.duration_ms + build.duration_ms,
        reused: build.reused,
        fingerprint: Some(build.fingerprint),
    }))
}

/// `data export TABLE --out FILE` from the local warehouse.
pub fn export(ctx: &Context, args: &ExportArgs) -> anyhow::Result<()> {
    let warehouse = Warehouse::open_read_only(&ctx.paths.warehouse)?;
    let rows = fsdemo_data::export::export_table(
        &warehouse,
        &ctx.config.project.dataset,
        &args.table,
        &args.out,
    )?;
    println!("wrote {rows} rows of {} to {}", ctx.table(&args.table), args.out.display());
    Ok(())
}
