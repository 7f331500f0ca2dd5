//! BigQuery v2: the derived tables' dataset, SQL statements run as query jobs, dry runs
//! with a cost estimate, and query results read page by page. Every job runs in
//! `gcp.bigquery_location` with `useLegacySql: false`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fsdemo_featurestore::{EnsureOutcome, EnsureReport};
use serde_json::{json, Value};
use tracing::info;

use crate::error::GcpError;
use crate::http::{with_query, Call};
use crate::Gcp;

/// One TiB, the unit of BigQuery's on-demand price.
const TIB: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// Rows per `getQueryResults` page.
const PAGE_ROWS: &str = "10000";

/// Makes job ids unique within one process.
static JOB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A statement of the pipeline: its step name, its SQL, and the table it creates.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// The step, e.g. `build features_customer`.
    pub step: &'a str,
    /// BigQuery Standard SQL.
    pub sql: &'a str,
    /// The table it writes, as `project.dataset.table`.
    pub creates: Option<&'a str>,
}

/// What one statement did.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    /// The step.
    pub step: String,
    /// The BigQuery job id.
    pub job_id: String,
    /// The location the job ran in.
    pub location: String,
    /// `totalBytesProcessed`.
    pub bytes_processed: u64,
    /// The table the statement created, if one was named.
    pub table: Option<String>,
    /// `numRows` of that table after the job.
    pub rows: Option<u64>,
    /// Its `lastModifiedTime` after the job, milliseconds since the epoch.
    pub modified_ms: Option<i64>,
    /// From insert to done.
    pub duration: Duration,
}

/// What `tables.get` says about a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableInfo {
    /// `numRows`.
    pub rows: u64,
    /// `lastModifiedTime`, milliseconds since the epoch (0 when not reported).
    pub modified_ms: i64,
}

/// A dry run's answer for one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// The step.
    pub step: String,
    /// The estimate, or why there is none yet.
    pub outcome: DryRunOutcome,
}

/// What a dry run found.
#[derive(Debug, Clone, PartialEq)]
pub enum DryRunOutcome {
    /// BigQuery estimated the statement.
    Estimated {
        /// Bytes it would process.
        bytes_processed: u64,
        /// At `gcp.bigquery_usd_per_tib`.
        usd: f64,
    },
    /// The statement reads a table (or dataset) the demo has not created yet.
    NotEstimable {
        /// The missing table or dataset, `project.dataset[.table]`.
        missing: String,
        /// The step that creates it, when known.
        created_by: Option<String>,
    },
}

impl DryRun {
    /// One line for people: `step: 1.50 GiB, about $0.0092` or `step: not estimable before
    /// step X runs (it reads p.d.t, which does not exist yet)`.
    pub fn summary(&self) -> String {
        match &self.outcome {
            DryRunOutcome::Estimated { bytes_processed, usd } => {
                let gib = *bytes_processed as f64 / (1024.0 * 1024.0 * 1024.0);
                format!("{}: {gib:.2} GiB, about ${usd:.4}", self.step)
            }
            DryRunOutcome::NotEstimable { missing, created_by } => {
                let before = created_by.as_deref().unwrap_or("the step that creates it");
                format!(
                    "{}: not estimable before step `{before}` runs (it reads {missing}, which \
                     does not exist yet)",
                    self.step
                )
            }
        }
    }
}

/// Rows of a query, every value as BigQuery's JSON carries it (TIMESTAMP as microseconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryRows {
    /// (column name, BigQuery type), in order.
    pub columns: Vec<(String, String)>,
    /// One string per column, `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

impl QueryRows {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(column, _)| column == name)
    }
}

impl Gcp {
    /// Creates the dataset `project.dataset` in `gcp.bigquery_location` if missing; an
    /// existing dataset in another location is a [`GcpError::LocationMismatch`].
    pub async fn ensure_dataset(&self) -> Result<EnsureReport, GcpError> {
        self.check_locations()?;
        let step = "ensure dataset";
        let name = self.dataset();
        let dataset_id = &self.config.project.dataset;
        let location = &self.config.gcp.bigquery_location;

        let url = self.bigquery_url(&format!("datasets/{dataset_id}"));
        let existing = self.lookup(Call::get(step, "bigquery.datasets.get", &name, url)).await?;
        if let Some(dataset) = existing {
            self.check_dataset_location(step, &dataset)?;
            info!(dataset = %name, %location, "reusing BigQuery dataset");
            return Ok(report(&name, EnsureOutcome::Reused));
        }

        let body = json!({
            "datasetReference": {"projectId": self.config.project.id, "datasetId": dataset_id},
            "location": location,
            "description": "Derived tables of the feature store demo",
        });
        let call = Call::post(
            step,
            "bigquery.datasets.insert",
            &name,
            self.bigquery_url("datasets"),
            body,
        );
        let outcome = match self.send(call).await {
            Ok(_) => EnsureOutcome::Created,
            Err(error) if error.is_already_exists() => EnsureOutcome::Reused,
            Err(error) => return Err(error),
        };
        info!(dataset = %name, %location, ?outcome, "BigQuery dataset ready");
        Ok(report(&name, outcome))
    }

    /// Runs one statement as a query job, waits for it, and reads the row count of the
    /// table it `creates` (`project.dataset.table`).
    pub async fn run_statement(
        &self,
        step: &str,
        sql: &str,
        creates: Option<&str>,
    ) -> Result<JobReport, GcpError> {
        self.check_locations()?;
        let started = Instant::now();

        let job = self.insert_job(step, sql, false).await?;
        let job_id = job["jobReference"]["jobId"].as_str().unwrap_or_default().to_string();
        let done = self.wait_job(step, &job_id, job).await?;
        let bytes_processed = total_bytes(&done);

        let info = match creates {
            Some(table) => {
                Some(self.table(step, table).await?.ok_or_else(|| GcpError::NotFound {
                    step: step.into(),
                    resource: table.into(),
                    message: "the statement finished but its table is missing".into(),
                    fix: "check the statement's CREATE TABLE name".into(),
                })?)
            }
            None => None,
        };
        let rows = info.map(|t| t.rows);
        let duration = started.elapsed();
        let duration_ms = duration.as_millis() as u64;
        let job = &job_id;
        info!(step, job, bytes_processed, rows, table = creates, duration_ms, "statement done");

        let location = self.config.gcp.bigquery_location.clone();
        let table = creates.map(str::to_string);
        Ok(JobReport {
            step: step.into(),
            job_id,
            location,
            bytes_processed,
            table,
            rows,
            modified_ms: info.map(|t| t.modified_ms),
            duration,
        })
    }

    /// Dry-runs one statement: the bytes it would process and their on-demand price, or
    /// [`DryRunOutcome::NotEstimable`] when it reads a table of the demo's dataset that
    /// does not exist yet.
    pub async fn dry_run(&self, step: &str, sql: &str) -> Result<DryRun, GcpError> {
        self.check_locations()?;

        let outcome = match self.insert_job(step, sql, true).await {
            Ok(job) => {
                let bytes_processed = total_bytes(&job);
                let usd = bytes_processed as f64 / TIB * self.config.gcp.bigquery_usd_per_tib;
                DryRunOutcome::Estimated { bytes_processed, usd }
            }
            Err(GcpError::NotFound { message, .. }) => match self.missing_object(&message) {
                Missing::Ours(missing) => {
                    let created_by =
                        (missing == self.dataset()).then(|| "ensure dataset".to_string());
                    DryRunOutcome::NotEstimable { missing, created_by }
                }
                Missing::Elsewhere(detail) => return Err(self.location_error(step, detail)),
            },
            Err(error) => return Err(error),
        };

        let dry_run = DryRun { step: step.to_string(), outcome };
        info!(step, summary = %dry_run.summary(), "dry run");
        Ok(dry_run)
    }

    /// Dry-runs `statements` in order; a statement that reads a table another statement
    /// creates is reported as not estimable before that statement's step.
    pub async fn dry_run_all(&self, statements: &[Statement<'_>]) -> Result<Vec<DryRun>, GcpError> {
        let mut runs = Vec::with_capacity(statements.len());
        for statement in statements {
            let mut run = self.dry_run(statement.step, statement.sql).await?;
            if let DryRunOutcome::NotEstimable { missing, created_by } = &mut run.outcome {
                let creator = statements.iter().find(|s| s.creates == Some(missing.as_str()));
                if let Some(creator) = creator {
                    *created_by = Some(creator.step.to_string());
                }
            }
            runs.push(run);
        }
        Ok(runs)
    }

    /// Runs a query and reads every page of its result.
    pub async fn query(&self, sql: &str) -> Result<QueryRows, GcpError> {
        self.check_locations()?;
        let step = "query";
        let started = Instant::now();
        let job = self.insert_job(step, sql, false).await?;
        let job_id = job["jobReference"]["jobId"].as_str().unwrap_or_default().to_string();
        self.wait_job(step, &job_id, job).await?;

        let mut result = QueryRows::default();
        let mut page_token: Option<String> = None;
        loop {
            let page = self.results_page(step, &job_id, page_token.as_deref()).await?;
            if result.columns.is_empty() {
                result.columns = schema(&page);
            }
            result.rows.extend(rows(&page));

            page_token = page["pageToken"].as_str().map(str::to_string);
            if page_token.is_none() {
                break;
            }
        }

        let duration_ms = started.elapsed().as_millis() as u64;
        info!(job = %job_id, rows = result.rows.len(), duration_ms, "query read");
        Ok(result)
    }

    /// `tables.get` of `project.dataset.table`: its rows and last write, or `None` when it
    /// does not exist.
    pub async fn table(&self, step: &str, table: &str) -> Result<Option<TableInfo>, GcpError> {
        let parts: Vec<&str> = table.split('.').collect();
        let [project, dataset, table_id] = parts.as_slice() else {
            let fix = "name the created table as project.dataset.table".to_string();
            return Err(GcpError::Config {
                step: step.into(),
                key: "creates".into(),
                value: table.into(),
                fix,
            });
        };
        let base = self.config.gcp.bigquery_url.trim_end_matches('/');
        let url =
            format!("{base}/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table_id}");

        let answer = self.lookup(Call::get(step, "bigquery.tables.get", table, url)).await?;
        Ok(answer.map(|table| TableInfo {
            rows: int64(&table["numRows"]).unwrap_or(0),
            modified_ms: int64(&table["lastModifiedTime"]).unwrap_or(0) as i64,
        }))
    }

    /// jobs.insert of a query job (or a dry run) in the configured location.
    async fn insert_job(&self, step: &str, sql: &str, dry_run: bool) -> Result<Value, GcpError> {
        let project = &self.config.project.id;
        let label: String = step
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(63)
            .collect();
        let job_id = format!(
            "fsdemo_{label}_{}_{}",
            chrono::Utc::now().format("%Y%m%d_%H%M%S_%6f"),
            JOB_COUNTER.fetch_add(1, Ordering::Relaxed)
        );

        let body = json!({
            "jobReference": {
                "projectId": project,
                "jobId": job_id,
                "location": self.config.gcp.bigquery_location,
            },
            "configuration": {
                "query": {"query": sql, "useLegacySql": false},
                "dryRun": dry_run,
                "labels": {"fsdemo-step": label},
            },
        });
        let resource = format!("{project}:{job_id}");
        let call =
            Call::post(step, "bigquery.jobs.insert", &resource, self.bigquery_url("jobs"), body);
        self.send(call).await
    }

    /// Polls jobs.get until the job is DONE, then fails on its `errorResult`.
    async fn wait_job(&self, step: &str, job_id: &str, job: Value) -> Result<Value, GcpError> {
        let location = self.config.gcp.bigquery_location.clone();
        let resource = format!("{}:{location}.{job_id}", self.config.project.id);
        let url =
            with_query(&self.bigquery_url(&format!("jobs/{job_id}")), &[("location", &location)]);

        let done = if job["status"]["state"] == "DONE" {
            job
        } else {
            self.poll_until(step, &resource, &resource, || async {
                let call = Call::get(step, "bigquery.jobs.get", &resource, url.clone());
                let polled = self.send(call).await?;
                Ok((polled["status"]["state"] == "DONE").then_some(polled))
            })
            .await?
        };

        match done["status"].get("errorResult") {
            Some(error) if !error.is_null() => Err(self.job_error(step, &resource, error)),
            _ => Ok(done),
        }
    }

    /// A job's `errorResult` as the error that says what to do.
    fn job_error(&self, step: &str, job: &str, error: &Value) -> GcpError {
        let reason = error["reason"].as_str().unwrap_or("unknown").to_string();
        let message = error["message"].as_str().unwrap_or("no message").to_string();

        if reason == "notFound" {
            if let Missing::Elsewhere(detail) = self.missing_object(&message) {
                return self.location_error(step, detail);
            }
        }
        let hint = match reason.as_str() {
            "accessDenied" => "; grant roles/bigquery.dataViewer on the tables it reads and \
                               roles/bigquery.jobUser on the project"
                .to_string(),
            "notFound" => "; run the step that creates it first".to_string(),
            _ => String::new(),
        };
        GcpError::Job { step: step.into(), job: job.into(), reason, message, hint }
    }

    /// One page of getQueryResults, timestamps as int64 microseconds.
    async fn results_page(
        &self,
        step: &str,
        job_id: &str,
        token: Option<&str>,
    ) -> Result<Value, GcpError> {
        let location = self.config.gcp.bigquery_location.clone();
        let mut query = vec![
            ("location", location.as_str()),
            ("maxResults", PAGE_ROWS),
            ("formatOptions.useInt64Timestamp", "true"),
        ];
        if let Some(token) = token {
            query.push(("pageToken", token));
        }
        let url = with_query(&self.bigquery_url(&format!("queries/{job_id}")), &query);
        let resource = format!("{}:{location}.{job_id}", self.config.project.id);

        self.poll_until(step, &resource, &resource, || async {
            let call = Call::get(step, "bigquery.jobs.getQueryResults", &resource, url.clone());
            let page = self.send(call).await?;
            Ok((page["jobComplete"].as_bool() != Some(false)).then_some(page))
        })
        .await
    }

    /// An existing dataset must be in the configured location.
    fn check_dataset_location(&self, step: &str, dataset: &Value) -> Result<(), GcpError> {
        let actual = dataset["location"].as_str().unwrap_or("US");
        let wanted = &self.config.gcp.bigquery_location;
        if actual.eq_ignore_ascii_case(wanted) {
            return Ok(());
        }
        Err(GcpError::LocationMismatch {
            step: step.into(),
            resource: self.dataset(),
            detail: format!(
                "the dataset exists in location {actual}, but gcp.bigquery_location is \
                 {wanted:?}; set gcp.bigquery_location={actual}, or delete the dataset \
                 (teardown --with-data) so it is created in {wanted}"
            ),
        })
    }

    /// What a `Not found: Table p:d.t` / `Not found: Dataset p:d` message is about.
    fn missing_object(&self, message: &str) -> Missing {
        let object = message
            .split_whitespace()
            .skip_while(|word| *word != "Table" && *word != "Dataset")
            .nth(1)
            .map(|name| name.replacen(':', ".", 1))
            .unwrap_or_default();
        let ours = self.dataset();
        if object == ours || object.starts_with(&format!("{ours}.")) {
            return Missing::Ours(object);
        }
        Missing::Elsewhere(format!(
            "{message}: {object} is not visible from location {:?} (gcp.bigquery_location, Vertex \
             AI region {:?}); it does not exist, or it lives in another location: check \
             project.source_project/source_dataset, or run in the data's location",
            self.config.gcp.bigquery_location, self.config.project.location
        ))
    }

    fn location_error(&self, step: &str, detail: String) -> GcpError {
        let project = &self.config.project;
        let resource = format!("{}.{}", project.source_project, project.source_dataset);
        GcpError::LocationMismatch { step: step.into(), resource, detail }
    }
}

/// A missing table or dataset: one the demo creates, or one it only reads.
enum Missing {
    Ours(String),
    Elsewhere(String),
}

fn report(name: &str, outcome: EnsureOutcome) -> EnsureReport {
    EnsureReport { kind: "Dataset".into(), name: name.into(), outcome }
}

/// `statistics.query.totalBytesProcessed`, else `statistics.totalBytesProcessed`.
fn total_bytes(job: &Value) -> u64 {
    let statistics = &job["statistics"];
    int64(&statistics["query"]["totalBytesProcessed"])
        .or(int64(&statistics["totalBytesProcessed"]))
        .unwrap_or(0)
}

/// An int64 as proto3 JSON writes it (a string), or a number.
fn int64(value: &Value) -> Option<u64> {
    value.as_str().and_then(|s| s.parse().ok()).or(value.as_u64())
}

fn schema(page: &Value) -> Vec<(String, String)> {
    let fields = page["schema"]["fields"].as_array().cloned().unwrap_or_default();
    fields
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().into(),
                f["type"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

/// `rows: [{f: [{v}]}]` as strings; a nested value (RECORD, REPEATED) stays JSON text.
fn rows(page: &Value) -> Vec<Vec<Option<String>>> {
    let rows = page["rows"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .map(|row| {
            let cells = row["f"].as_array().cloned().unwrap_or_default();
            cells
                .iter()
                .map(|cell| match &cell["v"] {
                    Value::Null => None,
                    Value::String(text) => Some(text.clone()),
                    other => Some(other.to_string()),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_nulls_and_strings() {
        let page = json!({"rows": [{"f": [{"v": "1"}, {"v": null}]}]});

        assert_eq!(rows(&page), vec![vec![Some("1".to_string()), None]]);
        assert_eq!(int64(&json!("42")), Some(42));
    }

    #[test]
    fn summary_names_the_step_that_must_run_first() {
        let run = DryRun {
            step: "build train_dataset".into(),
            outcome: DryRunOutcome::NotEstimable {
                missing: "p.d.features_customer".into(),
                created_by: Some("build features_customer".into()),
            },
        };

        let summary = run.summary();

        assert!(
            summary.contains("not estimable before step `build features_customer` runs"),
            "{summary}"
        );
    }
}
