//! The local feature store's steps: the registry ensured in the workdir (restarting a
//! running service so it serves what changed), and syncs from the DuckDB warehouse, through
//! the running service or, when none runs, in this process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use fsdemo_core::vertex::FeatureViewSync;
use fsdemo_core::{FeatureRow, FeatureSpec};
use fsdemo_data::read::newest_rows;
use fsdemo_data::Warehouse;
use fsdemo_featurestore::{
    EnsureOutcome, EnsureReport, FeatureGroup, OnlineStore, RedbStore, Registry, SourceError,
    SyncRunner, SyncSource,
};
use fsdemo_serving::VertexClient;

use crate::context::Context;
use crate::serving::process;

/// How often a waiting sync is polled.
const POLL: Duration = Duration::from_millis(200);

/// Reads a feature group's newest rows from the warehouse, opened read-only per sync so a
/// build can run between syncs.
pub struct WarehouseSource {
    path: PathBuf,
    projects: Vec<String>,
}

impl WarehouseSource {
    /// A source over the workdir's warehouse.
    pub fn new(ctx: &Context) -> WarehouseSource {
        let project = &ctx.config.project;
        WarehouseSource {
            path: ctx.paths.warehouse.clone(),
            projects: vec![project.id.clone(), project.source_project.clone()],
        }
    }

    /// The newest offline rows of `table`, optionally only for `ids`.
    pub fn rows(
        &self,
        table: &str,
        entity: &str,
        timestamp: &str,
        features: &[FeatureSpec],
        ids: Option<&[i64]>,
    ) -> Result<Vec<FeatureRow>, fsdemo_data::DataError> {
        let warehouse = Warehouse::open_read_only(&self.path)?;
        let projects: Vec<&str> = self.projects.iter().map(String::as_str).collect();
        newest_rows(&warehouse, table, entity, timestamp, features, ids, &projects)
    }
}

impl SyncSource for WarehouseSource {
    fn newest_rows(
        &self,
        group: &FeatureGroup,
        features: &[FeatureSpec],
    ) -> Result<Vec<FeatureRow>, SourceError> {
        let rows = self.rows(
            &group.source_table,
            &group.entity_id_column,
            &group.timestamp_column,
            features,
            None,
        )?;
        Ok(rows)
    }
}

/// Ensures the configured resources; a running service is stopped while the registry
/// changes and started again after, and replaced views lose their old rows.
pub async fn ensure(ctx: &Context, recreate: bool) -> anyhow::Result<Vec<EnsureReport>> {
    let config = &ctx.config;
    let names = config.names();
    let mut registry = Registry::open(&ctx.paths.featurestore)?;
    let plan = registry.plan(&config.featurestore, &names, &config.project.dataset, recreate)?;
    let changes = plan.iter().any(|r| r.outcome != EnsureOutcome::Reused);

    let was_running = changes && process::stop(ctx).await?;
    let reports =
        registry.ensure(&config.featurestore, &names, &config.project.dataset, recreate)?;

    // A replaced view (or one over a replaced group) holds rows of the old shape or source.
    let group_replaced =
        reports.iter().any(|r| r.kind == "FeatureGroup" && r.outcome == EnsureOutcome::Replaced);
    let stale: Vec<&EnsureReport> = reports
        .iter()
        .filter(|r| {
            r.kind == "FeatureView" && (r.outcome == EnsureOutcome::Replaced || group_replaced)
        })
        .collect();
    if !stale.is_empty() {
        let store = RedbStore::open(&ctx.paths.online_store)?;
        for view in stale {
            let removed = store.clear(&view.name)?;
            let name = &view.name;
            tracing::info!(view = %name, removed, "rows of the replaced view cleared; sync again");
        }
    }

    if was_running {
        process::start_detached(ctx).await?;
        println!("restarted the local service so it serves the changed resources");
    }
    Ok(reports)
}

/// Syncs the feature view: through the running service, or in this process.
pub async fn sync(ctx: &Context, wait: bool) -> anyhow::Result<FeatureViewSync> {
    let view = ctx.feature_view_name();
    process::check_same_url(ctx)?;
    if process::running_pid(ctx).is_some() && process::healthy(ctx).await {
        let client = VertexClient::new(process::url(ctx))?;
        let name = client.start_sync(&view).await?;
        tracing::info!(sync = %name, "sync started by the local service");
        if !wait {
            return Ok(client.get_sync(&name).await?);
        }
        return poll(&client, &name).await;
    }

    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || sync_in_process(&ctx, &view)).await?
}

/// Polls a sync until it has an end time.
pub async fn poll(client: &VertexClient, name: &str) -> anyhow::Result<FeatureViewSync> {
    loop {
        let sync = client.get_sync(name).await?;
        if sync.is_done() {
            return Ok(sync);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn sync_in_process(ctx: &Context, view: &str) -> anyhow::Result<FeatureViewSync> {
    let registry = Registry::open(&ctx.paths.featurestore)?;
    let (view, group) = registry.feature_view_with_group(view).with_context(|| {
        format!("sync: feature view {view} is not registered; run `fsdemo featurestore create`")
    })?;
    let store: Arc<dyn OnlineStore> = Arc::new(RedbStore::open(&ctx.paths.online_store)?);
    let runner =
        SyncRunner::open(&ctx.paths.featurestore, store, Arc::new(WarehouseSource::new(ctx)))?;
    tracing::info!(view = %view.name, "no local service runs; syncing in this process");
    Ok(runner.run(view, group)?)
}
