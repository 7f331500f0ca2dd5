//! Everything the fakes remember, behind one lock: the resources of every service, the
//! recorded requests, the injected faults and the pending long-running operations. A
//! handler runs with the lock held, so each request sees and leaves a consistent state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::check::ApiError;
use crate::engine::{QueryEngine, QueryOutput};

/// Which fake a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// `bigquery.googleapis.com`.
    BigQuery,
    /// `storage.googleapis.com`.
    Storage,
    /// `{region}-aiplatform.googleapis.com`.
    Vertex,
    /// `cloudresourcemanager.googleapis.com`.
    ResourceManager,
    /// `serviceusage.googleapis.com`.
    ServiceUsage,
    /// `oauth2.googleapis.com`, the token endpoint.
    OAuth,
}

impl Service {
    /// The API's service name, as Service Usage knows it.
    pub fn api(self) -> &'static str {
        match self {
            Service::BigQuery => "bigquery.googleapis.com",
            Service::Storage => "storage.googleapis.com",
            Service::Vertex => "aiplatform.googleapis.com",
            Service::ResourceManager => "cloudresourcemanager.googleapis.com",
            Service::ServiceUsage => "serviceusage.googleapis.com",
            Service::OAuth => "oauth2.googleapis.com",
        }
    }
}

/// One request as a fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The fake that received it.
    pub service: Service,
    /// The REST method it matched, e.g. `aiplatform.featureOnlineStores.create`,
    /// `bigquery.jobs.insert`; empty when the path matched no method.
    pub method_id: String,
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub http_method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    /// The query string as sent, without `?`.
    pub query: String,
    /// The JSON body, if the body was JSON.
    pub body: Option<Value>,
    /// The bearer token sent, if any.
    pub bearer_token: Option<String>,
    /// The HTTP status the fake answered.
    pub status: u16,
}

/// An error to answer instead of running a method.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 403 `PERMISSION_DENIED`.
    PermissionDenied,
    /// 404 `NOT_FOUND`.
    NotFound,
    /// 409 `ALREADY_EXISTS` (for a create: someone else created it first).
    AlreadyExists,
    /// Any other answer: HTTP code, canonical status and message.
    Status {
        /// The HTTP code.
        code: u16,
        /// The canonical status, e.g. `UNAVAILABLE`.
        status: String,
        /// The message.
        message: String,
    },
}

impl Fault {
    fn error(&self, method_id: &str) -> ApiError {
        match self {
            Fault::PermissionDenied => ApiError::denied(format!(
                "Permission denied for {method_id} on the resource (or it may not exist)."
            )),
            Fault::NotFound => {
                ApiError::not_found(format!("{method_id}: resource not found (injected)."))
            }
            Fault::AlreadyExists => {
                ApiError::already_exists(format!("{method_id}: already exists (injected)."))
            }
            Fault::Status { code, status, message } => {
                ApiError::new(*code, status, "backendError", message.clone())
            }
        }
    }
}

/// A fault armed for a method, for a number of calls or for all of them.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub method_id: String,
    pub fault: Fault,
    pub remaining: Option<u32>,
}

/// How many polls things take before they finish.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Knobs {
    /// Gets of a Vertex AI operation that still report it running.
    pub operation_polls: u32,
    /// `jobs.get` calls that still report a BigQuery job `RUNNING`.
    pub job_polls: u32,
    /// Gets of a `FeatureViewSync` that still report it running.
    pub sync_polls: u32,
    /// Rows per `getQueryResults` page when the request sets no `maxResults`.
    pub page_size: usize,
}

/// The side effect of a Vertex AI operation, run when it finishes; its value becomes
/// the operation's `response`.
pub(crate) type Effect = Box<dyn FnOnce(&mut State) -> Result<Value, ApiError> + Send>;

/// A long-running operation that has not finished yet, or its result.
pub(crate) struct Operation {
    pub polls_left: u32,
    pub metadata: Value,
    pub effect: Option<Effect>,
    pub result: Option<Result<Value, ApiError>>,
}

/// A BigQuery dataset, table or job, as the fake BigQuery keeps it.
#[derive(Debug, Default)]
pub(crate) struct BigQueryState {
    /// `project.dataset` -> Dataset JSON.
    pub datasets: BTreeMap<String, Value>,
    /// `project.dataset.table` written by DDL through the fake, or registered by the
    /// test -> its rows and last write.
    pub tables: BTreeMap<String, Table>,
    /// `project:jobId` -> job.
    pub jobs: BTreeMap<String, Job>,
    /// The newest `lastModifiedTime` handed out, so every write gets a later one.
    pub last_modified_ms: i64,
}

/// A BigQuery table as the fake keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Table {
    pub rows: u64,
    /// `lastModifiedTime`, milliseconds since the epoch.
    pub modified_ms: i64,
}

impl BigQueryState {
    /// Writes `table` with `rows`, now (and strictly after every earlier write).
    pub fn write_table(&mut self, table: &str, rows: u64) {
        let now = chrono::Utc::now().timestamp_millis();
        self.last_modified_ms = now.max(self.last_modified_ms + 1);
        let modified_ms = self.last_modified_ms;
        self.tables.insert(table.to_string(), Table { rows, modified_ms });
    }
}

/// One BigQuery job and what its statement produced.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub resource: Value,
    pub polls_left: u32,
    pub output: Result<QueryOutput, String>,
}

/// Cloud Storage buckets and objects.
#[derive(Debug, Default)]
pub(crate) struct StorageState {
    /// Bucket name -> Bucket JSON.
    pub buckets: BTreeMap<String, Value>,
    /// (bucket, object name) -> (bytes, metadata JSON).
    pub objects: BTreeMap<(String, String), (Vec<u8>, Value)>,
}

/// Vertex AI resources by full name.
#[derive(Debug, Default)]
pub(crate) struct VertexState {
    pub stores: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    pub features: BTreeMap<String, Value>,
    pub views: BTreeMap<String, Value>,
    pub syncs: BTreeMap<String, Sync>,
    /// View name -> the rows its last successful sync published.
    pub online: BTreeMap<String, OnlineRows>,
    /// Model name -> its versions, oldest first.
    pub models: BTreeMap<String, Vec<Value>>,
    pub endpoints: BTreeMap<String, Value>,
}

/// A `FeatureViewSync` and the polls before it finishes.
#[derive(Debug, Clone)]
pub(crate) struct Sync {
    pub resource: Value,
    pub view: String,
    pub polls_left: u32,
}

/// What a feature view serves: typed columns and one row per entity key.
#[derive(Debug, Clone, Default)]
pub(crate) struct OnlineRows {
    /// (feature name, BigQuery type) in the order they are served.
    pub features: Vec<(String, String)>,
    /// Entity key -> (values in `features` order, feature_timestamp in micros).
    pub rows: BTreeMap<String, (Vec<Option<String>>, Option<i64>)>,
}

/// All of it.
pub(crate) struct State {
    pub engine: Arc<dyn QueryEngine>,
    pub requests: Vec<RecordedRequest>,
    pub faults: Vec<FaultRule>,
    pub knobs: Knobs,
    pub disabled_services: BTreeSet<String>,
    pub denied_permissions: BTreeSet<String>,
    pub required_token: Option<String>,
    /// `127.0.0.1:PORT` of the fake Vertex AI, the Optimized stores' endpoint domain.
    pub vertex_host: String,
    pub next_id: u64,
    pub bigquery: BigQueryState,
    pub storage: StorageState,
    pub vertex: VertexState,
    pub operations: BTreeMap<String, Operation>,
    pub oauth: crate::oauth::OAuthState,
}

/// The project number every fake project reports.
pub(crate) const PROJECT_NUMBER: &str = "123456789012";

impl State {
    pub fn new(engine: Arc<dyn QueryEngine>) -> State {
        State {
            engine,
            requests: Vec::new(),
            faults: Vec::new(),
            knobs: Knobs { operation_polls: 1, job_polls: 1, sync_polls: 1, page_size: 1000 },
            disabled_services: BTreeSet::new(),
            denied_permissions: BTreeSet::new(),
            required_token: None,
            vertex_host: String::new(),
            next_id: 1,
            bigquery: BigQueryState::default(),
            storage: StorageState::default(),
            vertex: VertexState::default(),
            operations: BTreeMap::new(),
            oauth: crate::oauth::OAuthState::default(),
        }
    }

    /// Names the method the current request matched, then answers with an injected fault
    /// or a disabled API instead of running it.
    pub fn enter(&mut self, service: Service, method_id: &str) -> Result<(), ApiError> {
        if let Some(request) = self.requests.last_mut() {
            request.method_id = method_id.to_string();
        }

        if self.disabled_services.contains(service.api()) {
            return Err(ApiError::new(
                403,
                "PERMISSION_DENIED",
                "accessNotConfigured",
                format!(
                    "{} API has not been used in project {PROJECT_NUMBER} before or it is \
                     disabled. Enable it and then retry. (reason: SERVICE_DISABLED)",
                    service.api()
                ),
            ));
        }

        let rule = self
            .faults
            .iter_mut()
            .find(|rule| rule.method_id == method_id && rule.remaining.is_none_or(|left| left > 0));
        if let Some(rule) = rule {
            if let Some(left) = rule.remaining.as_mut() {
                *left -= 1;
            }
            return Err(rule.fault.error(method_id));
        }
        Ok(())
    }

    /// A fresh numeric id, unique across the fakes.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Starts a Vertex AI operation under `resource`; it finishes after the configured
    /// number of polls (at once when that is 0), running `effect` then.
    pub fn start_operation(&mut self, resource: String, kind: &str, effect: Effect) -> Value {
        let name = format!("{resource}/operations/{}", self.id());
        let metadata = json!({
            "@type": format!("type.googleapis.com/google.cloud.aiplatform.v1.{kind}"),
            "genericMetadata": {"createTime": now(), "updateTime": now()},
        });
        let operation = Operation {
            polls_left: self.knobs.operation_polls,
            metadata,
            effect: Some(effect),
            result: None,
        };
        self.operations.insert(name.clone(), operation);

        if self.knobs.operation_polls == 0 {
            self.finish_operation(&name);
        }
        self.operation_json(&name)
    }

    /// One poll of operation `name`: counts down, finishes it when the count reaches 0.
    pub fn poll_operation(&mut self, name: &str) -> Result<Value, ApiError> {
        let operation = self
            .operations
            .get_mut(name)
            .ok_or_else(|| ApiError::not_found(format!("Operation {name} not found.")))?;
        if operation.result.is_none() {
            operation.polls_left = operation.polls_left.saturating_sub(1);
            if operation.polls_left == 0 {
                self.finish_operation(name);
            }
        }
        Ok(self.operation_json(name))
    }

    fn finish_operation(&mut self, name: &str) {
        let Some(effect) = self.operations.get_mut(name).and_then(|op| op.effect.take()) else {
            return;
        };
        let result = effect(self);
        if let Some(operation) = self.operations.get_mut(name) {
            operation.result = Some(result);
        }
    }

    /// `google.longrunning.Operation`: `name`, `metadata`, and once finished `done` with
    /// `response` or `error`.
    fn operation_json(&self, name: &str) -> Value {
        let operation = &self.operations[name];
        let mut json = json!({"name": name, "metadata": operation.metadata});
        match &operation.result {
            None => {}
            Some(Ok(response)) => {
                json["done"] = json!(true);
                json["response"] = response.clone();
            }
            Some(Err(error)) => {
                json["done"] = json!(true);
                json["error"] = json!({"code": grpc_code(&error.status), "message": error.message});
            }
        }
        json
    }
}

/// The `google.rpc.Code` number of a canonical status name.
pub(crate) fn grpc_code(status: &str) -> i32 {
    match status {
        "INVALID_ARGUMENT" => 3,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "FAILED_PRECONDITION" => 9,
        "UNAVAILABLE" => 14,
        _ => 13,
    }
}

/// The current time, RFC 3339 UTC.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}
