//! In-process fakes of the Google Cloud REST APIs the gcp profile calls, for tests: BigQuery
//! v2, the Cloud Storage JSON API, Vertex AI v1 (feature store, models, endpoints,
//! operations), Resource Manager v3, Service Usage v1 and the OAuth 2.0 token endpoint,
//! each on its own `127.0.0.1` port.
//!
//! Each handler checks method, path, query and JSON body against Google's REST reference
//! (written beside it) and answers a request of any other shape with a 400 that names the
//! field, so a client bug fails the test. They keep state like the real services (a
//! created resource is returned by later gets, a deleted one is a 404, uploaded objects are
//! kept), run long-running operations that finish on a later poll, record every request,
//! and answer injected faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use fsdemo_gcp_fake::{CannedEngine, FakeGcp, Fault};
//!
//! let engine = Arc::new(CannedEngine::new());
//! let fake = FakeGcp::start(engine.clone()).await?;
//! fake.add_table("bigquery-public-data.thelook_ecommerce.orders", 1_000);
//! let overrides = fake.set_overrides(); // ["gcp.bigquery_url=http://127.0.0.1:PORT", ...]
//! fake.fail("aiplatform.featureOnlineStores.create", Fault::PermissionDenied);
//! fake.set_operation_polls(3); // every operation reports done on its third poll
//! let methods = fake.method_ids(); // what the client called, in order
//! # Ok(()) }
//! ```
//!
//! To drive the `fsdemo` binary, start the fakes in a multi-thread runtime (the servers
//! keep answering while the test waits on the child process), pass `set_overrides()` as
//! `--set` arguments and any `FSDEMO_GCP_ACCESS_TOKEN`: by default every bearer token is
//! accepted, [`FakeGcp::require_token`] pins one. To run Application Default Credentials
//! instead, write [`FakeGcp::service_account_key`] to a file, point
//! `GOOGLE_APPLICATION_CREDENTIALS` at it and call [`FakeGcp::require_issued_tokens`].
//!
//! Modules: `check` (request parsing and field checks), `state` (what is remembered),
//! `engine` (the [`QueryEngine`] SQL runs on), then one module per API (`oauth` for the
//! token endpoint).
//!
//! Limitation: one project's worth of realism. Any project id is accepted, IAM is all or
//! nothing per permission, and quotas, etags and field masks beyond those used are absent.

mod admin;
mod bigquery;
mod check;
pub mod engine;
mod oauth;
mod state;
mod storage;
mod vertex;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use fsdemo_core::config::GcpConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::check::{decode, Answer, ApiError, Req};
use crate::state::{FaultRule, State};

pub use engine::{CannedEngine, QueryEngine, QueryOutput};
pub use state::{Fault, RecordedRequest, Service};

/// The largest request body the fakes read (model artifacts are small).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

type Shared = Arc<Mutex<State>>;
type Handler = fn(&mut State, &Req) -> Result<Answer, ApiError>;

/// The base URLs of the running fakes, in the form `GcpConfig` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUrls {
    /// For `gcp.bigquery_url`.
    pub bigquery: String,
    /// For `gcp.storage_url` (uploads use the same host, under `/upload`).
    pub storage: String,
    /// For `gcp.aiplatform_url` (no `{region}`: one fake serves every region).
    pub aiplatform: String,
    /// For `gcp.resourcemanager_url`.
    pub resourcemanager: String,
    /// For `gcp.serviceusage_url`.
    pub serviceusage: String,
}

/// The six fakes, running until this value is dropped.
pub struct FakeGcp {
    state: Shared,
    urls: FakeUrls,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeGcp {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeGcp {
    /// Starts the six fakes on free `127.0.0.1` ports, running SQL on `engine`.
    pub async fn start(engine: Arc<dyn QueryEngine>) -> std::io::Result<FakeGcp> {
        let state = Arc::new(Mutex::new(State::new(engine)));
        let mut tasks = Vec::new();

        let services: [(Service, Handler); 6] = [
            (Service::BigQuery, bigquery::handle),
            (Service::Storage, storage::handle),
            (Service::Vertex, vertex::handle),
            (Service::ResourceManager, admin::resource_manager),
            (Service::ServiceUsage, admin::service_usage),
            (Service::OAuth, oauth::handle),
        ];
        let mut urls = BTreeMap::new();
        for (service, handler) in services {
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let address = listener.local_addr()?;
            urls.insert(service, format!("http://{address}"));
            if service == Service::Vertex {
                lock(&state).vertex_host = address.to_string();
            }
            if service == Service::OAuth {
                lock(&state).oauth.token_uri = format!("http://{address}/token");
            }

            let shared = state.clone();
            let app = Router::new().fallback(move |request: Request| {
                dispatch(shared.clone(), service, handler, request)
            });
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }

        let urls = FakeUrls {
            bigquery: urls[&Service::BigQuery].clone(),
            storage: urls[&Service::Storage].clone(),
            aiplatform: urls[&Service::Vertex].clone(),
            resourcemanager: urls[&Service::ResourceManager].clone(),
            serviceusage: urls[&Service::ServiceUsage].clone(),
        };
        tracing::info!(?urls, "fake Google Cloud APIs started");
        Ok(FakeGcp { state, urls, tasks })
    }

    /// The base URLs.
    pub fn urls(&self) -> &FakeUrls {
        &self.urls
    }

    /// Points `gcp`'s five base URLs at the fakes.
    pub fn configure(&self, gcp: &mut GcpConfig) {
        gcp.bigquery_url = self.urls.bigquery.clone();
        gcp.storage_url = self.urls.storage.clone();
        gcp.aiplatform_url = self.urls.aiplatform.clone();
        gcp.resourcemanager_url = self.urls.resourcemanager.clone();
        gcp.serviceusage_url = self.urls.serviceusage.clone();
    }

    /// The same as `--set` arguments for the `fsdemo` binary (`gcp.bigquery_url=...`).
    pub fn set_overrides(&self) -> Vec<String> {
        let urls = &self.urls;
        vec![
            format!("gcp.bigquery_url={}", urls.bigquery),
            format!("gcp.storage_url={}", urls.storage),
            format!("gcp.aiplatform_url={}", urls.aiplatform),
            format!("gcp.resourcemanager_url={}", urls.resourcemanager),
            format!("gcp.serviceusage_url={}", urls.serviceusage),
        ]
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The method ids of every request so far (`bigquery.datasets.get`, ...), in order.
    pub fn method_ids(&self) -> Vec<String> {
        lock(&self.state).requests.iter().map(|r| r.method_id.clone()).collect()
    }

    /// Forgets the recorded requests (resources stay).
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// Answers every call of `method_id` with `fault` until [`FakeGcp::clear_faults`].
    pub fn fail(&self, method_id: &str, fault: Fault) {
        let rule = FaultRule { method_id: method_id.to_string(), fault, remaining: None };
        lock(&self.state).faults.push(rule);
    }

    /// Answers the next `times` calls of `method_id` with `fault`.
    pub fn fail_times(&self, method_id: &str, fault: Fault, times: u32) {
        let rule = FaultRule { method_id: method_id.to_string(), fault, remaining: Some(times) };
        lock(&self.state).faults.push(rule);
    }

    /// Removes every injected fault, disabled API and denied permission.
    pub fn clear_faults(&self) {
        let mut state = lock(&self.state);
        state.faults.clear();
        state.disabled_services.clear();
        state.denied_permissions.clear();
    }

    /// Makes the API `service` (`aiplatform.googleapis.com`) disabled: Service Usage says
    /// `DISABLED` and every call to that fake is a 403 `SERVICE_DISABLED`.
    pub fn disable_service(&self, service: &str) {
        lock(&self.state).disabled_services.insert(service.to_string());
    }

    /// Leaves `permission` out of every `testIamPermissions` answer.
    pub fn deny_permission(&self, permission: &str) {
        lock(&self.state).denied_permissions.insert(permission.to_string());
    }

    /// Accepts only `Authorization: Bearer {token}` (by default any bearer token passes).
    pub fn require_token(&self, token: &str) {
        lock(&self.state).required_token = Some(token.to_string());
    }

    /// A service account key file (JSON text) for `client_email` in `project`, with a fresh
    /// RSA key and `token_uri` pointing at the fake token endpoint, which then accepts JWTs
    /// signed with that key. Point `GOOGLE_APPLICATION_CREDENTIALS` at it to run ADC.
    pub fn service_account_key(&self, project: &str, client_email: &str) -> String {
        let key = oauth::service_account_key(&mut lock(&self.state), project, client_email);
        serde_json::to_string_pretty(&key).unwrap_or_default()
    }

    /// Accepts only access tokens the fake token endpoint issued.
    pub fn require_issued_tokens(&self) {
        lock(&self.state).oauth.require_issued = true;
    }

    /// The access tokens the fake token endpoint issued, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.state).oauth.issued.clone()
    }

    /// How many gets a Vertex AI operation reports running before it is done (default 1:
    /// done on the first poll after the create; 0: done in the create's answer;
    /// `u32::MAX`: never).
    pub fn set_operation_polls(&self, polls: u32) {
        lock(&self.state).knobs.operation_polls = polls;
    }

    /// How many `jobs.get` calls a BigQuery job reports `RUNNING` (default 1).
    pub fn set_job_polls(&self, polls: u32) {
        lock(&self.state).knobs.job_polls = polls;
    }

    /// How many gets a `FeatureViewSync` reports running (default 1).
    pub fn set_sync_polls(&self, polls: u32) {
        lock(&self.state).knobs.sync_polls = polls;
    }

    /// The most rows one `getQueryResults` page holds, whatever `maxResults` asks, as
    /// BigQuery caps pages by size (default 1000).
    pub fn set_page_size(&self, rows: usize) {
        lock(&self.state).knobs.page_size = rows.max(1);
    }

    /// Registers a table that exists without the demo creating it (theLook's source
    /// tables), with its row count, for `tables.get`, dry runs and feature groups. Adding
    /// it again rewrites it with a later `lastModifiedTime`, as theLook's public tables are
    /// rewritten every day.
    pub fn add_table(&self, table: &str, rows: u64) {
        lock(&self.state).bigquery.write_table(table, rows);
    }

    /// The bytes of Cloud Storage object `name` in `bucket`, if uploaded.
    pub fn object(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        let key = (bucket.to_string(), name.to_string());
        lock(&self.state).storage.objects.get(&key).map(|(bytes, _)| bytes.clone())
    }

    /// The names of every Vertex AI resource that exists now (stores, groups, features,
    /// views, models, endpoints), sorted.
    pub fn vertex_resources(&self) -> Vec<String> {
        let state = lock(&self.state);
        let vertex = &state.vertex;
        let mut names: Vec<String> =
            vertex.stores.keys().chain(vertex.groups.keys()).cloned().collect();
        names.extend(vertex.features.keys().chain(vertex.views.keys()).cloned());
        names.extend(vertex.models.keys().chain(vertex.endpoints.keys()).cloned());
        names.sort();
        names
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records the request, checks its credentials, runs the handler and answers.
async fn dispatch(state: Shared, service: Service, handler: Handler, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => return error_response(&ApiError::invalid("the request body is too large")),
    };
    let query = parts.uri.query().unwrap_or_default().to_string();
    let req = Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parse_query(&query),
        content_type: header_text(&parts.headers, header::CONTENT_TYPE),
        body,
    };
    let bearer_token = header_text(&parts.headers, header::AUTHORIZATION)
        .and_then(|value| value.strip_prefix("Bearer ").map(str::to_string));

    let mut state = lock(&state);
    state.requests.push(RecordedRequest {
        service,
        method_id: String::new(),
        http_method: req.method.to_string(),
        path: req.path.clone(),
        query,
        body: serde_json::from_slice(&req.body).ok(),
        bearer_token: bearer_token.clone(),
        status: 0,
    });

    // The token endpoint is where tokens come from, so it takes none.
    let token_checked = match service {
        Service::OAuth => Ok(()),
        _ => check_token(&state, bearer_token.as_deref()),
    };
    let result = token_checked.and_then(|()| handler(&mut state, &req));
    let response = match result {
        Ok(answer) => answer_response(answer),
        Err(error) => {
            let (path, code, message) = (&req.path, error.code, &error.message);
            tracing::debug!(?service, path, code, message, "fake answers an error");
            error_response(&error)
        }
    };
    if let Some(last) = state.requests.last_mut() {
        last.status = response.status().as_u16();
    }
    response
}

/// Google answers a call without a token, or with a wrong one, with 401.
fn check_token(state: &State, token: Option<&str>) -> Result<(), ApiError> {
    let unauthenticated =
        |message: &str| ApiError::new(401, "UNAUTHENTICATED", "required", message);
    match (token, &state.required_token) {
        (None, _) | (Some(""), _) => Err(unauthenticated(
            "Request is missing required authentication credential. Expected OAuth 2 access token.",
        )),
        (Some(sent), Some(required)) if sent != required => {
            Err(unauthenticated("Request had invalid authentication credentials."))
        }
        (Some(sent), _)
            if state.oauth.require_issued && !state.oauth.issued.iter().any(|t| t == sent) =>
        {
            Err(unauthenticated("Request had invalid authentication credentials."))
        }
        _ => Ok(()),
    }
}

fn answer_response(answer: Answer) -> Response {
    match answer {
        Answer::Json(value) => json_response(StatusCode::OK, &value),
        Answer::Empty => StatusCode::NO_CONTENT.into_response(),
        Answer::Status(code, value) => {
            json_response(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST), &value)
        }
        Answer::Bytes(bytes, content_type) => {
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], Body::from(bytes))
                .into_response()
        }
    }
}

fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.body())
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let json = HeaderValue::from_static("application/json; charset=UTF-8");
    (status, [(header::CONTENT_TYPE, json)], value.to_string()).into_response()
}

fn header_text(headers: &axum::http::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `a=1&b=x%2Fy` into a map of decoded keys and values; a repeated key keeps the last.
pub(crate) fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}
