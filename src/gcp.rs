//! The gcp profile's steps, on `fsdemo-gcp`: the same SQL text as BigQuery jobs, the same
//! feature definitions as Vertex AI resources, the same `model.bst` on Vertex AI's
//! XGBoost container, and the same online client with a bearer token. Results come back
//! in the shapes the local profile produces, so the demo, `verify`, training and the report
//! are written once.

use std::time::Instant;

use anyhow::{bail, Context as _};
use fsdemo_core::vertex::FeatureViewSync;
use fsdemo_core::{FeatureRow, FeatureType, FeatureValue};
use fsdemo_data::build::{read_checks, time_frame, time_frame_query, Rebuild};
use fsdemo_data::{Cell, LabeledRow, Rows};
use fsdemo_featurestore::EnsureReport;
use fsdemo_gcp::{DryRunOutcome, Gcp, QueryRows, Statement, TeardownOutcome};
use fsdemo_sql::{queries, split_statements, to_duckdb, Params, STEPS};
use tracing::info;

use crate::context::Context;
use crate::data::{thousands, BuildRecord, TableRecord};
use crate::records::{self, Resource};
use crate::serving::Online;

async fn connect(ctx: &Context) -> anyhow::Result<Gcp> {
    Gcp::connect(&ctx.config).await.context("gcp: connect to Google Cloud")
}

/// One SQL statement of a step file, ready for BigQuery.
struct StepStatement {
    file: &'static str,
    label: String,
    sql: String,
    creates: Option<String>,
    /// The `project.dataset.table` names it reads.
    reads: Vec<String>,
    is_check: bool,
}

/// Every statement of the step files, rendered, with the table each creates.
fn statements(ctx: &Context) -> anyhow::Result<Vec<StepStatement>> {
    let params = Params::from_config(&ctx.config, chrono::Utc::now())?;
    let projects = [ctx.config.project.id.as_str(), ctx.config.project.source_project.as_str()];
    let mut out = Vec::new();
    for step in STEPS {
        let text = params.render(step.file, step.text)?;
        for statement in split_statements(step.file, &text)? {
            // The translation is used here only as the parser that names the tables.
            let parsed = to_duckdb(step.file, &statement, &projects)?;
            out.push(StepStatement {
                file: step.file,
                label: format!("{}:{}", step.file, statement.line),
                sql: statement.text.trim().to_string(),
                creates: parsed.creates.map(|t| t.bigquery),
                reads: parsed.reads,
                is_check: step.is_check,
            });
        }
    }
    Ok(out)
}

/// `data build` on BigQuery, or with `dry_run` the estimate of every statement. With
/// [`Rebuild::IfChanged`], the tables of the last build are kept when the SQL, the source
/// tables' last writes and the built tables are all as that build left them.
pub async fn build(
    ctx: &Context,
    dry_run: bool,
    rebuild: Rebuild,
    last: Option<&BuildRecord>,
) -> anyhow::Result<Option<BuildRecord>> {
    let gcp = connect(ctx).await?;
    let statements = statements(ctx)?;
    if dry_run {
        print_dry_runs(&gcp, &statements).await?;
        return Ok(None);
    }

    let started = Instant::now();
    let fingerprint = fingerprint(ctx, &gcp, &statements).await?;
    if rebuild == Rebuild::IfChanged {
        if let Some(mut last) = unchanged_build(&gcp, last, &fingerprint).await? {
            info!(dataset = %gcp.dataset(), tables = last.tables.len(), "BigQuery tables reused");
            last.reused = true;
            last.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(Some(last));
        }
    }

    let dataset = gcp.ensure_dataset().await?;
    println!(
        "{:<9} {:<19} {}",
        format!("{:?}", dataset.outcome).to_lowercase(),
        dataset.kind,
        dataset.name
    );

    let mut tables = Vec::new();
    let mut checks = None;
    for statement in &statements {
        if statement.is_check {
            let rows = to_rows(gcp.query(&statement.sql).await?);
            checks = Some(read_checks(&rows, &statement.label)?);
            continue;
        }
        let job = gcp
            .run_statement(&statement.label, &statement.sql, statement.creates.as_deref())
            .await?;
        if let Some(table) = job.table {
            tables.push(TableRecord {
                step: statement.file.into(),
                name: table,
                rows: job.rows.unwrap_or(0),
                duration_ms: job.duration.as_millis() as u64,
                modified_ms: job.modified_ms,
            });
        }
    }

    let checks = checks.context("gcp: the checks step returned no row")?;
    let broken: Vec<String> = checks
        .violations
        .iter()
        .filter(|(_, n)| *n != 0)
        .map(|(name, n)| format!("{name} = {n}"))
        .collect();
    if !broken.is_empty() {
        bail!(
            "checks: invariants broken on BigQuery: {}; the new tables stay in {} (BigQuery jobs \
             are not one transaction): fix the SQL and build again",
            broken.join(", "),
            gcp.dataset()
        );
    }
    let frame =
        to_rows(gcp.query(&time_frame_query(&format!("`{}.time_frame`", gcp.dataset()))).await?);
    let project = &ctx.config.project;
    Ok(Some(BuildRecord {
        profile: "gcp".into(),
        source: format!("{}.{}", project.source_project, project.source_dataset),
        tables,
        checks,
        time_frame: time_frame(&frame),
        duration_ms: started.elapsed().as_millis() as u64,
        reused: false,
        fingerprint: Some(fingerprint),
    }))
}

/// The SHA-256 of every statement sent and of each source table's `lastModifiedTime`
/// (theLook's public tables are rewritten daily, so a new day means a new build).
async fn fingerprint(
    ctx: &Context,
    gcp: &Gcp,
    statements: &[StepStatement],
) -> anyhow::Result<String> {
    let project = &ctx.config.project;
    let prefix = format!("{}.{}.", project.source_project, project.source_dataset);
    let sources: std::collections::BTreeSet<&String> =
        statements.iter().flat_map(|s| &s.reads).filter(|t| t.starts_with(&prefix)).collect();

    let mut material = String::new();
    for statement in statements {
        material.push_str(&statement.sql);
        material.push_str("\n;\n");
    }
    for source in &sources {
        let table = gcp.table("data build", source).await?.with_context(|| {
            format!(
                "data build: source table {source} not found; check project.source_project \
                 and project.source_dataset"
            )
        })?;
        material.push_str(&format!("{source}@{}\n", table.modified_ms));
    }
    Ok(records::sha256_hex(material.as_bytes()))
}

/// The last build (`runs/build.json`), when it was a gcp build with this fingerprint and
/// each of its tables still has the rows and the last write that build saw.
async fn unchanged_build(
    gcp: &Gcp,
    last: Option<&BuildRecord>,
    fingerprint: &str,
) -> anyhow::Result<Option<BuildRecord>> {
    let Some(last) = last else { return Ok(None) };
    if last.profile != "gcp" || last.fingerprint.as_deref() != Some(fingerprint) {
        return Ok(None);
    }
    for table in &last.tables {
        let now = gcp.table("data build", &table.name).await?;
        let as_built = now.is_some_and(|now| {
            now.rows == table.rows && Some(now.modified_ms) == table.modified_ms
        });
        if !as_built {
            info!(table = %table.name, "changed since the last build; building again");
            return Ok(None);
        }
    }
    Ok(Some(last.clone()))
}

async fn print_dry_runs(gcp: &Gcp, statements: &[StepStatement]) -> anyhow::Result<()> {
    let list: Vec<Statement> = statements
        .iter()
        .map(|s| Statement { step: &s.label, sql: &s.sql, creates: s.creates.as_deref() })
        .collect();
    let runs = gcp.dry_run_all(&list).await?;
    let (mut bytes, mut usd) = (0u64, 0.0);
    for run in &runs {
        println!("{}", run.summary());
        if let DryRunOutcome::Estimated { bytes_processed, usd: cost } = run.outcome {
            bytes += bytes_processed;
            usd += cost;
        }
    }
    println!(
        "dry run total: {} bytes, about ${usd:.4} at ${} per TiB (steps not yet estimable read \
         only tables the demo creates, which are far smaller than the source)",
        thousands(bytes),
        gcp.config().gcp.bigquery_usd_per_tib
    );
    Ok(())
}

/// `featurestore create` on Vertex AI.
pub async fn ensure_feature_store(
    ctx: &Context,
    recreate: bool,
) -> anyhow::Result<Vec<EnsureReport>> {
    let gcp = connect(ctx).await?;
    let reports = gcp.ensure_feature_store(recreate).await?;
    if let Some(grant) = gcp.feature_view_grant().await? {
        println!("the feature view's service account needs: {grant}");
    }
    Ok(reports)
}

/// `featurestore sync` on Vertex AI.
pub async fn sync(ctx: &Context, wait: bool) -> anyhow::Result<FeatureViewSync> {
    Ok(connect(ctx).await?.sync(wait).await?)
}

/// The online handle: fetch from the feature view's serving host, predict on the
/// regional endpoint, both with a bearer token.
pub async fn online(ctx: &Context) -> anyhow::Result<Online> {
    let gcp = connect(ctx).await?;
    Ok(Online {
        client: gcp.online_client().await?,
        view: gcp.feature_view_name(),
        endpoint: gcp.endpoint_name(),
        predict_client: Some(gcp.prediction_client().await?),
    })
}

/// Customers the feature view serves, taken from its BigQuery source (Vertex AI has no
/// listing of an online store): the newest snapshot's customers, spread by id.
pub async fn sample_customers(ctx: &Context, count: usize) -> anyhow::Result<Vec<i64>> {
    let table = ctx.features_table();
    let sql = format!(
        "SELECT customer_id FROM `{table}`\n\
         WHERE feature_timestamp = (SELECT MAX(feature_timestamp) FROM `{table}`)\n\
         ORDER BY MOD(customer_id * 7919, 10007), customer_id\nLIMIT {count}"
    );
    let rows = to_rows(connect(ctx).await?.query(&sql).await?);
    Ok(rows.rows.iter().filter_map(|r| r.first().and_then(Cell::as_i64)).collect())
}

/// The newest rows of `ids` in the feature group's BigQuery table.
pub async fn offline_newest(ctx: &Context, ids: &[i64]) -> anyhow::Result<Vec<FeatureRow>> {
    let group = &ctx.config.featurestore.feature_group;
    let features = &ctx.config.featurestore.features;
    let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let sql = queries::newest_rows(
        &ctx.features_table(),
        &group.entity_id_column,
        &group.timestamp_column,
        &names,
        Some(ids),
    )?;
    let rows = to_rows(connect(ctx).await?.query(&sql).await?);
    Ok(rows
        .rows
        .iter()
        .map(|r| FeatureRow {
            entity_id: r[0].as_i64().unwrap_or(0),
            feature_timestamp: timestamp(&r[1]).unwrap_or(i64::MIN),
            values: typed(&r[2..], features),
        })
        .collect())
}

/// Every `train_dataset` row from BigQuery, as the local reader gives them.
pub async fn training_rows(ctx: &Context) -> anyhow::Result<Vec<LabeledRow>> {
    let features = &ctx.config.featurestore.features;
    let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let sql = queries::training_rows(&ctx.table("train_dataset"), &names)?;
    let rows = to_rows(connect(ctx).await?.query(&sql).await?);
    Ok(rows
        .rows
        .iter()
        .map(|r| LabeledRow {
            customer_id: r[0].as_i64().unwrap_or(0),
            label_timestamp: timestamp(&r[1]).unwrap_or(i64::MIN),
            label: r[2].as_i64() == Some(1),
            feature_timestamp: timestamp(&r[3]),
            values: typed(&r[4..], features),
        })
        .collect())
}

/// `model upload` on Vertex AI (the bucket first).
pub async fn upload_model(ctx: &Context) -> anyhow::Result<Resource> {
    let report = connect(ctx).await?.upload_model(&ctx.paths.model).await?;
    println!("model.bst in {} (bucket {:?})", report.artifact_uri, report.bucket);
    Ok(Resource::new(
        "Model",
        format!("{}@{}", report.model, report.version_id),
        format!("{:?}", report.outcome).to_lowercase(),
    ))
}

/// `endpoint deploy` on Vertex AI.
pub async fn deploy(ctx: &Context) -> anyhow::Result<Vec<Resource>> {
    let report = connect(ctx).await?.deploy().await?;
    let outcome = |o: fsdemo_featurestore::EnsureOutcome| format!("{o:?}").to_lowercase();
    Ok(vec![
        Resource::new("Endpoint", &report.endpoint, outcome(report.endpoint_outcome)),
        Resource::new(
            "DeployedModel",
            format!(
                "{} (version {}, 100% traffic)",
                report.deployed_model_id, report.model_version_id
            ),
            outcome(report.outcome),
        ),
    ])
}

/// One BigQuery query as [`Rows`].
pub async fn select(ctx: &Context, sql: &str) -> anyhow::Result<Rows> {
    Ok(to_rows(connect(ctx).await?.query(sql).await?))
}

/// `fsdemo doctor`: every check with ok or what to grant or enable.
pub async fn doctor(ctx: &Context) -> anyhow::Result<()> {
    if !ctx.is_gcp() {
        bail!("doctor checks a Google Cloud project; run it with --profile gcp");
    }
    let lines = connect(ctx).await?.doctor().await;
    for line in &lines {
        println!("{:<4} {:<44} {}", if line.ok { "ok" } else { "FAIL" }, line.check, line.detail);
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed > 0 {
        bail!("doctor: {failed} check(s) failed; each line above says what to grant or enable");
    }
    println!("doctor: all {} checks passed", lines.len());
    Ok(())
}

/// `fsdemo teardown [--with-data]`.
pub async fn teardown(ctx: &Context, with_data: bool) -> anyhow::Result<()> {
    if !ctx.is_gcp() {
        bail!(
            "teardown deletes billed Google Cloud resources; run it with --profile gcp \
             (locally, stop the service and delete the workdir)"
        );
    }
    let lines = connect(ctx).await?.teardown(with_data).await?;
    for line in &lines {
        let outcome = match line.outcome {
            TeardownOutcome::Deleted => "deleted",
            TeardownOutcome::AlreadyGone => "gone",
            TeardownOutcome::Kept => "kept",
        };
        println!("{outcome:<8} {:<19} {} {}", line.kind, line.resource, line.detail);
    }
    Ok(())
}

/// BigQuery's string cells as typed [`Cell`]s, by column type.
fn to_rows(result: QueryRows) -> Rows {
    let types: Vec<String> = result.columns.iter().map(|(_, t)| t.to_ascii_uppercase()).collect();
    let rows = result
        .rows
        .into_iter()
        .map(|row| row.into_iter().zip(&types).map(|(value, kind)| cell(value, kind)).collect())
        .collect();
    Rows { columns: result.columns.into_iter().map(|(name, _)| name).collect(), rows }
}

fn cell(value: Option<String>, kind: &str) -> Cell {
    let Some(text) = value else { return Cell::Null };
    let parsed = match kind {
        "INTEGER" | "INT64" => text.parse().ok().map(Cell::Int),
        "FLOAT" | "FLOAT64" | "NUMERIC" | "BIGNUMERIC" => text.parse().ok().map(Cell::Float),
        "BOOLEAN" | "BOOL" => Some(Cell::Bool(text == "true")),
        // formatOptions.useInt64Timestamp: microseconds since the epoch.
        "TIMESTAMP" => text.parse().ok().map(Cell::Timestamp),
        "DATE" => fsdemo_core::time::parse_date(&text)
            .map(|d| Cell::Date((d - chrono::NaiveDate::default()).num_days() as i32)),
        _ => None,
    };
    parsed.unwrap_or(Cell::Text(text))
}

fn timestamp(cell: &Cell) -> Option<i64> {
    match cell {
        Cell::Timestamp(micros) | Cell::Int(micros) => Some(*micros),
        _ => None,
    }
}

/// Feature cells typed by their specs; a NaN is NULL.
fn typed(cells: &[Cell], features: &[fsdemo_core::FeatureSpec]) -> Vec<Option<FeatureValue>> {
    cells
        .iter()
        .zip(features)
        .map(|(cell, spec)| match spec.value_type {
            FeatureType::Int64 => cell.as_i64().map(FeatureValue::Int64),
            FeatureType::Float64 => {
                cell.as_f64().filter(|v| v.is_finite()).map(FeatureValue::Float64)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigquery_cells_are_typed_by_column() {
        let result = QueryRows {
            columns: vec![
                ("a".into(), "INTEGER".into()),
                ("b".into(), "FLOAT".into()),
                ("c".into(), "TIMESTAMP".into()),
                ("d".into(), "DATE".into()),
                ("e".into(), "BOOLEAN".into()),
                ("f".into(), "STRING".into()),
            ],
            rows: vec![vec![
                Some("7".into()),
                Some("1.5".into()),
                Some("1709769600000000".into()),
                Some("1970-01-02".into()),
                Some("true".into()),
                None,
            ]],
        };

        let rows = to_rows(result);

        assert_eq!(
            rows.rows[0],
            vec![
                Cell::Int(7),
                Cell::Float(1.5),
                Cell::Timestamp(1_709_769_600_000_000),
                Cell::Date(1),
                Cell::Bool(true),
                Cell::Null
            ]
        );
    }
}
