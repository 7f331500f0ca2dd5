//! The fake BigQuery v2: datasets (insert, get, delete), jobs (insert, get,
//! getQueryResults, including dry runs) and tables.get. SQL runs on the [`QueryEngine`];
//! the fake owns locations, datasets, job states and paging.
//!
//! Limitation: only backticked three-part names (`` `project.dataset.table` ``) count as
//! tables a statement reads, for dry runs and location checks; a two-part or unquoted name
//! is passed to the engine unchecked, where BigQuery would resolve it.
//!
//! [`QueryEngine`]: crate::engine::QueryEngine

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::check::{
    labels, only, opt_bool, opt_str, req_obj, req_str, segments, Answer, ApiError, Req,
};
use crate::engine::{ddl_target, table_refs};
use crate::state::{Job, Service, State};

/// The project whose datasets live in the `US` multi-region and are never created here.
const PUBLIC_PROJECT: &str = "bigquery-public-data";

/// Estimated bytes per row for dry runs and statistics.
const BYTES_PER_ROW: u64 = 64;

pub(crate) fn handle(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    let (parts, verb) = segments(&req.path, "/bigquery/v2/").ok_or_else(|| unknown(req))?;
    if verb.is_some() {
        return Err(unknown(req));
    }
    match (&req.method, parts.as_slice()) {
        (&Method::POST, ["projects", project, "datasets"]) => insert_dataset(state, req, project),
        (&Method::GET, ["projects", project, "datasets", dataset]) => {
            state.enter(Service::BigQuery, "bigquery.datasets.get")?;
            req.query_only(&[])?;
            let key = format!("{project}.{dataset}");
            let found = state.bigquery.datasets.get(&key).cloned();
            found.map(Answer::Json).ok_or_else(|| dataset_missing(project, dataset))
        }
        (&Method::DELETE, ["projects", project, "datasets", dataset]) => {
            delete_dataset(state, req, project, dataset)
        }
        (&Method::GET, ["projects", project, "datasets", dataset, "tables", table]) => {
            state.enter(Service::BigQuery, "bigquery.tables.get")?;
            req.query_only(&[])?;
            get_table(state, project, dataset, table)
        }
        (&Method::POST, ["projects", project, "jobs"]) => insert_job(state, req, project),
        (&Method::GET, ["projects", project, "jobs", job]) => {
            state.enter(Service::BigQuery, "bigquery.jobs.get")?;
            req.query_only(&["location"])?;
            get_job(state, req, project, job)
        }
        (&Method::GET, ["projects", project, "queries", job]) => {
            state.enter(Service::BigQuery, "bigquery.jobs.getQueryResults")?;
            let allowed = [
                "location",
                "pageToken",
                "maxResults",
                "timeoutMs",
                "formatOptions.useInt64Timestamp",
            ];
            req.query_only(&allowed)?;
            query_results(state, req, project, job)
        }
        _ => Err(unknown(req)),
    }
}

/// POST /bigquery/v2/projects/{projectId}/datasets
/// body Dataset {datasetReference: {projectId, datasetId}, location, description, labels}
/// -> Dataset {kind, id: "p:d", datasetReference, location, creationTime}; 409 if it exists.
fn insert_dataset(state: &mut State, req: &Req, project: &str) -> Result<Answer, ApiError> {
    state.enter(Service::BigQuery, "bigquery.datasets.insert")?;
    req.query_only(&[])?;
    let body = req.json_object("Dataset")?;
    only(
        &body,
        "Dataset",
        &["datasetReference", "location", "description", "labels", "friendlyName"],
    )?;
    labels(&body, "Dataset")?;

    let reference = req_obj(&body, "Dataset", "datasetReference")?;
    only(reference, "Dataset.datasetReference", &["projectId", "datasetId"])?;
    let reference_project = req_str(reference, "Dataset.datasetReference", "projectId")?;
    let dataset = req_str(reference, "Dataset.datasetReference", "datasetId")?;
    if reference_project != project {
        return Err(ApiError::invalid(format!(
            "`Dataset.datasetReference.projectId` {reference_project:?} differs from the \
             path's project {project:?}"
        )));
    }
    let location = opt_str(&body, "Dataset", "location")?.unwrap_or("US");

    let key = format!("{project}.{dataset}");
    if state.bigquery.datasets.contains_key(&key) {
        return Err(ApiError::already_exists(format!(
            "Already Exists: Dataset {project}:{dataset}"
        )));
    }
    let resource = json!({
        "kind": "bigquery#dataset",
        "id": format!("{project}:{dataset}"),
        "datasetReference": {"projectId": project, "datasetId": dataset},
        "location": location,
        "creationTime": chrono::Utc::now().timestamp_millis().to_string(),
    });
    state.bigquery.datasets.insert(key, resource.clone());
    Ok(Answer::Json(resource))
}

/// DELETE /bigquery/v2/projects/{projectId}/datasets/{datasetId}?deleteContents=bool
/// -> 204; a dataset with tables needs deleteContents=true (400 resourceInUse otherwise).
fn delete_dataset(
    state: &mut State,
    req: &Req,
    project: &str,
    dataset: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::BigQuery, "bigquery.datasets.delete")?;
    req.query_only(&["deleteContents"])?;
    let key = format!("{project}.{dataset}");
    if !state.bigquery.datasets.contains_key(&key) {
        return Err(dataset_missing(project, dataset));
    }

    let prefix = format!("{key}.");
    let has_tables = state.bigquery.tables.keys().any(|t| t.starts_with(&prefix));
    if has_tables && !req.q_bool("deleteContents")? {
        return Err(ApiError::new(
            400,
            "FAILED_PRECONDITION",
            "resourceInUse",
            format!("Dataset {project}:{dataset} is still in use"),
        ));
    }
    state.bigquery.tables.retain(|table, _| !table.starts_with(&prefix));
    state.bigquery.datasets.remove(&key);
    Ok(Answer::Empty)
}

/// GET /bigquery/v2/projects/{projectId}/datasets/{datasetId}/tables/{tableId}
/// -> Table {kind, id, tableReference, numRows: int64 string, numBytes, lastModifiedTime:
/// int64 string of milliseconds since the epoch, type: "TABLE"}
fn get_table(state: &State, project: &str, dataset: &str, table: &str) -> Result<Answer, ApiError> {
    let name = format!("{project}.{dataset}.{table}");
    let written = state.bigquery.tables.get(&name).copied().ok_or_else(|| {
        ApiError::not_found(format!("Not found: Table {project}:{dataset}.{table}"))
    })?;
    let rows = written.rows;
    Ok(Answer::Json(json!({
        "kind": "bigquery#table",
        "id": format!("{project}:{dataset}.{table}"),
        "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
        "numRows": rows.to_string(),
        "numBytes": (rows * BYTES_PER_ROW).to_string(),
        "lastModifiedTime": written.modified_ms.to_string(),
        "type": "TABLE",
    })))
}

/// A table's rows: one DDL wrote through the fake, or one the test registered.
fn table_rows(state: &State, table: &str) -> Option<u64> {
    state.bigquery.tables.get(table).map(|t| t.rows)
}

/// POST /bigquery/v2/projects/{projectId}/jobs
/// body Job {jobReference: {projectId, jobId, location}, configuration: {query: {query,
/// useLegacySql: false, ...}, dryRun, labels}}
/// -> Job {kind, id, jobReference, configuration, status: {state}, statistics}. A dry run
/// answers at once with statistics.query.totalBytesProcessed, or 404 for a missing table.
fn insert_job(state: &mut State, req: &Req, project: &str) -> Result<Answer, ApiError> {
    state.enter(Service::BigQuery, "bigquery.jobs.insert")?;
    req.query_only(&[])?;
    let body = req.json_object("Job")?;
    only(&body, "Job", &["jobReference", "configuration"])?;

    let reference = req_obj(&body, "Job", "jobReference")?;
    only(reference, "Job.jobReference", &["projectId", "jobId", "location"])?;
    let job_id = req_str(reference, "Job.jobReference", "jobId")?.to_string();
    let location = opt_str(reference, "Job.jobReference", "location")?.unwrap_or("US").to_string();
    let valid_id = job_id.len() <= 1024
        && job_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_id {
        return Err(ApiError::invalid(format!(
            "`Job.jobReference.jobId` {job_id:?}: only [A-Za-z0-9_-]"
        )));
    }

    let configuration = req_obj(&body, "Job", "configuration")?;
    only(configuration, "Job.configuration", &["query", "dryRun", "labels", "jobTimeoutMs"])?;
    labels(configuration, "Job.configuration")?;
    let dry_run = opt_bool(configuration, "Job.configuration", "dryRun")?.unwrap_or(false);
    let query = req_obj(configuration, "Job.configuration", "query")?;
    let allowed = [
        "query",
        "useLegacySql",
        "defaultDataset",
        "priority",
        "useQueryCache",
        "maximumBytesBilled",
    ];
    only(query, "Job.configuration.query", &allowed)?;
    let sql = req_str(query, "Job.configuration.query", "query")?.to_string();
    if opt_bool(query, "Job.configuration.query", "useLegacySql")? != Some(false) {
        return Err(ApiError::invalid(
            "`Job.configuration.query.useLegacySql` must be sent as false: BigQuery defaults to \
             legacy SQL, which cannot read `project.dataset.table` names",
        ));
    }

    let key = format!("{project}:{job_id}");
    if state.bigquery.jobs.contains_key(&key) {
        return Err(ApiError::already_exists(format!(
            "Already Exists: Job {project}:{location}.{job_id}"
        )));
    }
    check_sources(state, &sql, &location)?;

    let mut resource = json!({
        "kind": "bigquery#job",
        "id": format!("{project}:{location}.{job_id}"),
        "jobReference": {"projectId": project, "jobId": job_id, "location": location},
        "configuration": Value::Object(configuration.clone()),
        "status": {"state": "RUNNING"},
        "statistics": {"creationTime": millis(), "startTime": millis()},
    });

    if dry_run {
        let bytes: u64 =
            reads(&sql).iter().filter_map(|t| table_rows(state, t)).sum::<u64>() * BYTES_PER_ROW;
        resource["status"] = json!({"state": "DONE"});
        resource["statistics"]["totalBytesProcessed"] = json!(bytes.to_string());
        let kind = statement_type(&sql);
        let query = json!({"totalBytesProcessed": bytes.to_string(), "statementType": kind});
        resource["statistics"]["query"] = query;
        return Ok(Answer::Json(resource));
    }

    let output = run_statement(state, &sql, project);
    let job = Job { resource: resource.clone(), polls_left: state.knobs.job_polls, output };
    state.bigquery.jobs.insert(key.clone(), job);
    if state.knobs.job_polls == 0 {
        finish_job(state, &key);
    }
    Ok(Answer::Json(state.bigquery.jobs[&key].resource.clone()))
}

/// Every table the SQL reads must exist and be in the job's location; BigQuery answers a
/// missing one with 404 `notFound` "Not found: Table p:d.t was not found in location L".
fn check_sources(state: &State, sql: &str, location: &str) -> Result<(), ApiError> {
    for table in reads(sql) {
        let parts: Vec<&str> = table.split('.').collect();
        let dataset_key = format!("{}.{}", parts[0], parts[1]);
        let dataset_location = match state.bigquery.datasets.get(&dataset_key) {
            Some(dataset) => dataset["location"].as_str().unwrap_or("US").to_string(),
            None if parts[0] == PUBLIC_PROJECT => "US".to_string(),
            None => location.to_string(),
        };
        if !dataset_location.eq_ignore_ascii_case(location) {
            return Err(ApiError::not_found(format!(
                "Not found: Dataset {}:{} was not found in location {location}",
                parts[0], parts[1]
            )));
        }
        if table_rows(state, &table).is_none() {
            return Err(ApiError::not_found(format!(
                "Not found: Table {}:{}.{} was not found in location {location}",
                parts[0], parts[1], parts[2]
            )));
        }
    }
    Ok(())
}

/// The tables a statement reads: every backticked name except a DDL's target.
fn reads(sql: &str) -> Vec<String> {
    let target = ddl_target(sql);
    let mut tables: Vec<String> =
        table_refs(sql).into_iter().filter(|t| Some(t) != target.as_ref()).collect();
    tables.dedup();
    tables
}

/// Runs `sql` on the engine; DDL into a dataset the fake does not know fails as BigQuery's.
fn run_statement(
    state: &mut State,
    sql: &str,
    project: &str,
) -> Result<crate::engine::QueryOutput, String> {
    if let Some(target) = ddl_target(sql) {
        let dataset: String =
            target.rsplit_once('.').map(|(d, _)| d.to_string()).unwrap_or_default();
        if !state.bigquery.datasets.contains_key(&dataset) {
            return Err(format!("Not found: Dataset {}", dataset.replacen('.', ":", 1)));
        }
    }
    let output = state.engine.execute(sql)?;
    if let Some(table) = &output.created_table {
        state.bigquery.write_table(table, output.created_rows);
    }
    tracing::debug!(project, rows = output.rows.len(), "fake BigQuery ran a statement");
    Ok(output)
}

/// GET /bigquery/v2/projects/{projectId}/jobs/{jobId}?location=L -> Job; the job reports
/// RUNNING for the configured number of polls, then DONE with statistics or errorResult.
fn get_job(state: &mut State, req: &Req, project: &str, job_id: &str) -> Result<Answer, ApiError> {
    let key = format!("{project}:{job_id}");
    let job = state.bigquery.jobs.get_mut(&key).ok_or_else(|| job_missing(project, job_id, req))?;
    check_job_location(job, req)?;

    if job.resource["status"]["state"] != "DONE" {
        job.polls_left = job.polls_left.saturating_sub(1);
        if job.polls_left == 0 {
            finish_job(state, &key);
        }
    }
    Ok(Answer::Json(state.bigquery.jobs[&key].resource.clone()))
}

fn finish_job(state: &mut State, key: &str) {
    let Some(job) = state.bigquery.jobs.get_mut(key) else { return };
    let sql =
        job.resource["configuration"]["query"]["query"].as_str().unwrap_or_default().to_string();
    job.resource["statistics"]["endTime"] = json!(millis());
    match &job.output {
        Ok(output) => {
            let bytes = output.bytes_processed.to_string();
            job.resource["status"] = json!({"state": "DONE"});
            job.resource["statistics"]["totalBytesProcessed"] = json!(bytes);
            let mut query =
                json!({"totalBytesProcessed": bytes, "statementType": statement_type(&sql)});
            if let Some(table) = &output.created_table {
                let p: Vec<&str> = table.split('.').collect();
                query["ddlTargetTable"] =
                    json!({"projectId": p[0], "datasetId": p[1], "tableId": p[2]});
            }
            job.resource["statistics"]["query"] = query;
        }
        Err(message) => {
            let reason = if message.starts_with("Not found") { "notFound" } else { "invalidQuery" };
            let error = json!({"reason": reason, "message": message, "location": "query"});
            job.resource["status"] =
                json!({"state": "DONE", "errorResult": error, "errors": [error]});
        }
    }
}

/// GET /bigquery/v2/projects/{projectId}/queries/{jobId}?location&pageToken&maxResults
/// -> {kind, jobReference, jobComplete, schema: {fields: [{name, type, mode}]},
///    totalRows: int64 string, rows: [{f: [{v}]}], pageToken (when more rows follow)}
fn query_results(
    state: &mut State,
    req: &Req,
    project: &str,
    job_id: &str,
) -> Result<Answer, ApiError> {
    let key = format!("{project}:{job_id}");
    let page_size = state.knobs.page_size;
    let job = state.bigquery.jobs.get(&key).ok_or_else(|| job_missing(project, job_id, req))?;
    check_job_location(job, req)?;
    if job.resource["status"]["state"] != "DONE" {
        return Ok(Answer::Json(json!({
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": job.resource["jobReference"],
            "jobComplete": false,
        })));
    }
    let output = job.output.as_ref().map_err(|message| ApiError::invalid(message.clone()))?;

    let start: usize = match req.q("pageToken") {
        Some(token) => token.parse().map_err(|_| {
            ApiError::invalid(format!("pageToken {token:?} is not one this API gave"))
        })?,
        None => 0,
    };
    let size = match req.q("maxResults") {
        Some(max) => max
            .parse()
            .map_err(|_| ApiError::invalid(format!("maxResults {max:?} is not a number")))?,
        None => page_size,
    };
    // BigQuery caps a page by size whatever maxResults asks; the fake caps it by rows.
    let size: usize = size.min(page_size);
    let end = (start + size.max(1)).min(output.rows.len());

    let fields: Vec<Value> = output
        .columns
        .iter()
        .map(|(name, kind)| json!({"name": name, "type": kind, "mode": "NULLABLE"}))
        .collect();
    let rows: Vec<Value> = output.rows[start.min(end)..end]
        .iter()
        .map(|row| json!({"f": row.iter().map(|v| json!({"v": v})).collect::<Vec<_>>()}))
        .collect();
    let mut answer = json!({
        "kind": "bigquery#getQueryResultsResponse",
        "jobReference": job.resource["jobReference"],
        "jobComplete": true,
        "schema": {"fields": fields},
        "totalRows": output.rows.len().to_string(),
    });
    let body: &mut Map<String, Value> = answer.as_object_mut().expect("an object");
    if !rows.is_empty() {
        body.insert("rows".into(), json!(rows));
    }
    if end < output.rows.len() {
        body.insert("pageToken".into(), json!(end.to_string()));
    }
    Ok(Answer::Json(answer))
}

/// jobs.get and getQueryResults must name the job's location (any but `US` is required).
fn check_job_location(job: &Job, req: &Req) -> Result<(), ApiError> {
    let location = job.resource["jobReference"]["location"].as_str().unwrap_or("US");
    match req.q("location") {
        Some(asked) if asked.eq_ignore_ascii_case(location) => Ok(()),
        None if location.eq_ignore_ascii_case("US") => Ok(()),
        asked => Err(ApiError::not_found(format!(
            "Not found: Job {} (location {asked:?}; the job runs in {location})",
            job.resource["jobReference"]["jobId"]
        ))),
    }
}

fn statement_type(sql: &str) -> &'static str {
    match ddl_target(sql) {
        Some(_) => "CREATE_TABLE_AS_SELECT",
        None => "SELECT",
    }
}

fn dataset_missing(project: &str, dataset: &str) -> ApiError {
    ApiError::not_found(format!("Not found: Dataset {project}:{dataset}"))
}

fn job_missing(project: &str, job: &str, req: &Req) -> ApiError {
    let location = req.q("location").unwrap_or("US");
    ApiError::not_found(format!("Not found: Job {project}:{location}.{job}"))
}

fn millis() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

fn unknown(req: &Req) -> ApiError {
    ApiError::invalid(format!("{} {} matches no BigQuery v2 method", req.method, req.path))
}
