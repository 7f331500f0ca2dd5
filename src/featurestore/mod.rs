//! `fsdemo featurestore ...`: the feature store's resources and syncs (local registry and
//! online store, or Vertex AI), and the two online reads every profile shares: `fetch`
//! prints one customer's served features, `verify` compares served values with the newest
//! offline rows, which is the feature store's promise.

mod local;

use anyhow::bail;
use fsdemo_core::time::format_timestamp;
use fsdemo_core::vertex::FeatureViewSync;
use fsdemo_core::{FeatureRow, FeatureValue};
use fsdemo_featurestore::EnsureReport;
use fsdemo_report::data::{Mismatch, PairedValue, VerifyRow};
use fsdemo_serving::DataFormat;

use crate::cli::{CreateArgs, FetchArgs, FormatArg, SyncArgs, VerifyArgs};
use crate::context::Context;
use crate::records::{self, Resource};
use crate::serving::{online, Online};

pub use local::WarehouseSource;

/// `featurestore create [--recreate]`.
pub async fn create(ctx: &Context, args: &CreateArgs) -> anyhow::Result<Vec<Resource>> {
    let reports: Vec<EnsureReport> = if ctx.is_gcp() {
        crate::gcp::ensure_feature_store(ctx, args.recreate).await?
    } else {
        local::ensure(ctx, args.recreate).await?
    };

    let resources: Vec<Resource> = reports
        .iter()
        .map(|r| Resource::new(&r.kind, &r.name, format!("{:?}", r.outcome).to_lowercase()))
        .collect();
    for resource in &resources {
        println!("{:<9} {:<19} {}", resource.outcome, resource.kind, resource.name);
    }
    Ok(resources)
}

/// `featurestore sync [--wait]`; a finished sync that failed is an error.
pub async fn sync(ctx: &Context, args: &SyncArgs) -> anyhow::Result<FeatureViewSync> {
    let sync = if ctx.is_gcp() {
        crate::gcp::sync(ctx, args.wait).await?
    } else {
        local::sync(ctx, args.wait).await?
    };
    records::save(&ctx.paths.runs, "sync", &sync)?;

    match (&sync.final_status, sync.is_done()) {
        (_, false) => {
            println!(
                "sync {} started and runs in the background (`featurestore sync --wait` starts \
                 one and waits for its end)",
                sync.name
            )
        }
        (Some(status), true) if status.code != 0 => bail!(
            "sync {} failed (code {}): {}; the online store keeps serving the previous rows",
            sync.name,
            status.code,
            status.message
        ),
        _ => println!("sync {} succeeded: {} rows", sync.name, sync.rows_synced().unwrap_or(0)),
    }
    Ok(sync)
}

/// `featurestore fetch --customer-id X`.
pub async fn fetch(ctx: &Context, args: &FetchArgs) -> anyhow::Result<()> {
    let online = online(ctx).await?;
    let format = match args.format {
        FormatArg::KeyValue => DataFormat::KeyValue,
        FormatArg::ProtoStruct => DataFormat::ProtoStruct,
    };
    let fetched = online.client.fetch_feature_values(&online.view, &args.customer_id, format).await;
    let fetched = match fetched {
        Err(error) if error.is_not_found() => bail!(
            "fetch: customer {} has no row in feature view {}: no order before the newest \
             snapshot, or the view was not synced since (`fsdemo featurestore sync --wait`)",
            args.customer_id,
            online.view
        ),
        other => other?,
    };

    println!("feature view {}", online.view);
    println!("customer {}", args.customer_id);
    for (name, value) in &fetched.features {
        println!("  {name:<24} {}", value.map_or("NULL".to_string(), show));
    }
    if let Some(ts) = fetched.feature_timestamp {
        println!("  {:<24} {}", "feature_timestamp", format_timestamp(ts));
    }
    Ok(())
}

/// What `verify` found, as `runs/verify.json` keeps it: the report's own shape, so the
/// page shows exactly what the command compared.
pub type VerifyRecord = fsdemo_report::data::Verify;

/// `featurestore verify [--sample N]`: fails when any value differs.
pub async fn verify(ctx: &Context, args: &VerifyArgs) -> anyhow::Result<VerifyRecord> {
    let online = online(ctx).await?;
    let ids = sample_customers(ctx, &online, args.sample).await?;
    if ids.is_empty() {
        bail!(
            "verify: feature view {} serves no customer; run `fsdemo featurestore sync --wait`",
            online.view
        );
    }
    let offline = offline_newest(ctx, &ids).await?;
    let record = compare(ctx, &online, &ids, &offline).await?;
    records::save(&ctx.paths.runs, "verify", &record)?;

    println!(
        "verify: {} of {} customers match {} in every value",
        record.matched, record.sampled, record.offline_table
    );
    let text = |v: Option<f64>| v.map_or("NULL".to_string(), |v| v.to_string());
    for m in &record.mismatches {
        println!(
            "  MISMATCH customer {} {}: online {} offline {}",
            m.customer_id,
            m.feature,
            text(m.online),
            text(m.offline)
        );
    }
    if !record.mismatches.is_empty() {
        bail!(
            "verify: {} value(s) differ between {} and {}",
            record.mismatches.len(),
            record.feature_view,
            record.offline_table
        );
    }
    Ok(record)
}

/// Fetches each customer online and compares with its newest offline row.
async fn compare(
    ctx: &Context,
    online: &Online,
    ids: &[i64],
    offline: &[FeatureRow],
) -> anyhow::Result<VerifyRecord> {
    let schema = &ctx.config.featurestore.features;
    let mut mismatches = Vec::new();
    let mut examples = Vec::new();
    let mut matched = 0u64;

    for &id in ids {
        let stored = offline.iter().find(|row| row.entity_id == id);
        let served = online
            .client
            .fetch_feature_values(&online.view, &id.to_string(), DataFormat::KeyValue)
            .await;
        let served = match served {
            Ok(served) => Some(served),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error.into()),
        };
        let (Some(served), Some(stored)) = (served.as_ref(), stored) else {
            let side = |present: bool| present.then_some(1.0);
            mismatches.push(Mismatch {
                customer_id: id,
                feature: "row".into(),
                online: side(served.is_some()),
                offline: side(stored.is_some()),
            });
            continue;
        };

        // Values compare exactly, type included: the store must serve what the table holds.
        let mut differing = Vec::new();
        let mut values = Vec::new();
        for (index, spec) in schema.iter().enumerate() {
            let (online_value, offline_value) =
                (served.get(&spec.name), stored.values.get(index).copied().flatten());
            let number = |v: Option<FeatureValue>| v.map(FeatureValue::as_f64);
            if online_value != offline_value {
                differing.push(Mismatch {
                    customer_id: id,
                    feature: spec.name.clone(),
                    online: number(online_value),
                    offline: number(offline_value),
                });
            }
            values.push(PairedValue {
                name: spec.name.clone(),
                online: number(online_value),
                offline: number(offline_value),
            });
        }
        if served.feature_timestamp != Some(stored.feature_timestamp) {
            differing.push(Mismatch {
                customer_id: id,
                feature: "feature_timestamp".into(),
                online: served.feature_timestamp.map(|t| t as f64),
                offline: Some(stored.feature_timestamp as f64),
            });
        }

        matched += u64::from(differing.is_empty());
        mismatches.extend(differing);
        if examples.len() < 5 {
            examples.push(VerifyRow {
                customer_id: id,
                online_timestamp_micros: served.feature_timestamp,
                offline_timestamp_micros: Some(stored.feature_timestamp),
                values,
            });
        }
    }
    Ok(VerifyRecord {
        feature_view: online.view.clone(),
        offline_table: ctx.features_table(),
        sampled: ids.len() as u64,
        matched,
        mismatches,
        sample_rows: examples,
        source: ctx.paths.runs.join("verify.json").display().to_string(),
    })
}

/// Up to `count` customers the feature view serves, spread over its keys.
pub async fn sample_customers(
    ctx: &Context,
    online: &Online,
    count: usize,
) -> anyhow::Result<Vec<i64>> {
    if ctx.is_gcp() {
        return crate::gcp::sample_customers(ctx, count).await;
    }
    let all = online.client.entity_ids(&online.view, 10_000).await?;
    let step = (all.len() / count.max(1)).max(1);
    Ok(all.into_iter().step_by(step).take(count).collect())
}

/// The newest offline rows of `ids`, from the warehouse or BigQuery.
pub async fn offline_newest(ctx: &Context, ids: &[i64]) -> anyhow::Result<Vec<FeatureRow>> {
    if ctx.is_gcp() {
        return crate::gcp::offline_newest(ctx, ids).await;
    }
    let group = &ctx.config.featurestore.feature_group;
    let source = WarehouseSource::new(ctx);
    let (table, features) = (ctx.features_table(), ctx.config.featurestore.features.clone());
    let ids = ids.to_vec();
    let entity = group.entity_id_column.clone();
    let timestamp = group.timestamp_column.clone();
    let rows = tokio::task::spawn_blocking(move || {
        source.rows(&table, &entity, &timestamp, &features, Some(&ids))
    })
    .await??;
    Ok(rows)
}

/// A value as text: integers plainly, floats by Rust's shortest round-trip form.
fn show(value: FeatureValue) -> String {
    match value {
        FeatureValue::Int64(v) => v.to_string(),
        FeatureValue::Float64(v) => v.to_string(),
    }
}
