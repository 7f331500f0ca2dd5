//! The HTTP surface: [`router`] builds the axum `Router` over an [`AppState`], dispatches
//! `/v1/{name}:{verb}` to fetch, sync and predict, and wraps every request in one tracing
//! span. Wire formats live in `fetch` and `predict`, status codes in `error`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::backend::{BackendError, FeatureServing, Predicting};
use crate::body::parse_json;
use crate::error::{json_response, ApiError};
use crate::fetch::{FetchRequest, FetchResponse};
use crate::predict::{parse_instances, PredictResponse};
use crate::resource::{split_verb, Kind};

/// Batches up to this many instances are predicted on the worker thread; larger ones go
/// to the blocking pool (see `backend` on threading).
const INLINE_PREDICT_LIMIT: usize = 64;

/// What the handlers serve from: the online store and the deployed models.
#[derive(Clone)]
pub struct AppState {
    features: Arc<dyn FeatureServing>,
    model: Arc<dyn Predicting>,
}

impl AppState {
    /// State serving feature views from `features` and endpoints from `model`.
    pub fn new(features: Arc<dyn FeatureServing>, model: Arc<dyn Predicting>) -> Self {
        AppState { features, model }
    }
}

/// The service's routes: `GET /healthz`, `POST /v1/{featureView}:fetchFeatureValues`,
/// `POST /v1/{featureView}:sync`, `GET /v1/{featureViewSync}` and
/// `POST /v1/{endpoint}:predict`, plus one local extension outside `/v1`,
/// `GET /local/v1/{featureView}/entityIds?limit=N`. Every other path or method gets
/// Google's error JSON.
///
/// Limitation: no authentication and no `Content-Type` check; it is meant for loopback.
/// A production service would sit behind an authenticating proxy.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/{*rest}", get(get_resource).post(post_verb))
        .route("/local/v1/{*rest}", get(local_entity_ids))
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(trace_request))
        .with_state(state)
}

/// One span per request, so every log line of a request carries its method and path.
async fn trace_request(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    );

    async move {
        let started = Instant::now();
        let response = next.run(request).await;
        let micros = started.elapsed().as_micros() as u64;
        tracing::debug!(status = response.status().as_u16(), micros, "answered");
        response
    }
    .instrument(span)
    .await
}

async fn healthz() -> &'static str {
    "ok"
}

async fn unknown_path() -> ApiError {
    ApiError::NotFound("No such path; this service serves /v1/{name}:{verb} and /healthz".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("This path does not take this HTTP method".into())
}

/// `POST /v1/{name}:{verb}`: the custom methods.
async fn post_verb(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(rest) = path.map_err(|rejection| ApiError::InvalidArgument(rejection.body_text()))?;
    let body = body.map_err(body_rejection)?;

    match split_verb(&rest) {
        (name, Some("fetchFeatureValues")) => fetch_feature_values(&state, name, &body),
        (name, Some("sync")) => sync_feature_view(&state, name, &body).await,
        (name, Some("predict")) => predict(&state, name, &body).await,
        (name, Some(verb)) => Err(ApiError::NotFound(format!(
            "Unknown method \":{verb}\" on {name}; this service serves :fetchFeatureValues, \
             :sync and :predict"
        ))),
        (name, None) => Err(ApiError::MethodNotAllowed(format!(
            "POST {name} needs a custom method such as :fetchFeatureValues"
        ))),
    }
}

/// `GET /v1/{name}`: reading a `FeatureViewSync`.
async fn get_resource(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(rest) = path.map_err(|rejection| ApiError::InvalidArgument(rejection.body_text()))?;

    match split_verb(&rest) {
        (_, Some(verb @ ("fetchFeatureValues" | "sync" | "predict"))) => {
            Err(ApiError::MethodNotAllowed(format!(":{verb} takes POST, not GET")))
        }
        (name, Some(verb)) => {
            Err(ApiError::NotFound(format!("Unknown method \":{verb}\" on {name}")))
        }
        (name, None) if Kind::FeatureViewSync.matches(name) => get_sync(&state, name),
        (name, None) => Err(ApiError::NotFound(format!(
            "No resource {name}; GET serves {}",
            Kind::FeatureViewSync.pattern()
        ))),
    }
}

/// The most ids one `entityIds` call returns.
const MAX_ENTITY_IDS: usize = 10_000;

/// `?limit=N` of `entityIds`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityIdsQuery {
    limit: Option<usize>,
}

/// The answer of `entityIds`: ids as strings, as proto3 JSON writes int64.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntityIdsResponse {
    entity_ids: Vec<String>,
}

/// `GET /local/v1/{featureView}/entityIds?limit=N`: some ids the view serves.
async fn local_entity_ids(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<axum::extract::Query<EntityIdsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(rest) = path.map_err(|rejection| ApiError::InvalidArgument(rejection.body_text()))?;
    let axum::extract::Query(query) =
        query.map_err(|rejection| ApiError::InvalidArgument(rejection.body_text()))?;
    let view = rest.strip_suffix("/entityIds").ok_or_else(|| {
        ApiError::NotFound(format!(
            "No local method {rest}; this path serves {{featureView}}/entityIds"
        ))
    })?;
    check_name(Kind::FeatureView, view, "featureView")?;

    let limit = query.limit.unwrap_or(10).min(MAX_ENTITY_IDS);
    let ids = state
        .features
        .entity_ids(view, limit)?
        .ok_or_else(|| ApiError::NotFound(format!("FeatureView {view} not found")))?;
    let entity_ids = ids.iter().map(i64::to_string).collect();
    Ok(json_response(StatusCode::OK, &EntityIdsResponse { entity_ids }))
}

/// A body that could not be read: too large is a 413, anything else a 400.
fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(rejection.body_text())
    } else {
        ApiError::InvalidArgument(rejection.body_text())
    }
}

/// A 404 unless `name` has the shape of `kind`; `field` is the path parameter's name.
fn check_name(kind: Kind, name: &str, field: &str) -> Result<(), ApiError> {
    if kind.matches(name) {
        return Ok(());
    }
    Err(ApiError::NotFound(format!(
        "{field} \"{name}\" is not a resource name of the form {}",
        kind.pattern()
    )))
}

/// `featureViews.fetchFeatureValues`: the latest row of one entity.
///
/// Runs on the worker thread: both lookups are point reads (see `backend`).
fn fetch_feature_values(state: &AppState, view: &str, body: &[u8]) -> Result<Response, ApiError> {
    check_name(Kind::FeatureView, view, "featureView")?;
    let request = FetchRequest::parse(body)?;

    let schema = state
        .features
        .feature_view(view)?
        .ok_or_else(|| ApiError::NotFound(format!("FeatureView {view} not found")))?;

    let entity_id = request.entity_id;
    let Some(row) = state.features.fetch_latest(view, entity_id)? else {
        tracing::debug!(view, entity_id, "no row for this key");
        return Err(ApiError::NotFound(format!(
            "No feature values for key \"{entity_id}\" in FeatureView {view}"
        )));
    };

    let response = FetchResponse::new(request.format, &schema, &row)?;
    tracing::debug!(view, entity_id, format = request.format.as_str(), "fetched");
    Ok(json_response(StatusCode::OK, &response))
}

/// `SyncFeatureViewRequest`: no fields; an empty body is accepted too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFeatureViewRequest {}

/// `SyncFeatureViewResponse`: the full name of the started sync.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncFeatureViewResponse<'a> {
    feature_view_sync: &'a str,
}

/// `featureViews.sync`: starts a sync on the blocking pool, since it may run it whole.
async fn sync_feature_view(
    state: &AppState,
    view: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    check_name(Kind::FeatureView, view, "featureView")?;
    if !body.is_empty() {
        parse_json::<SyncFeatureViewRequest>(body)?;
    }

    let features = Arc::clone(&state.features);
    let owned_view = view.to_string();
    let sync = run_blocking(move || features.start_sync(&owned_view)).await?;

    tracing::info!(view, sync = %sync.name, done = sync.is_done(), "feature view sync started");
    let response = SyncFeatureViewResponse { feature_view_sync: &sync.name };
    Ok(json_response(StatusCode::OK, &response))
}

/// `featureViewSyncs.get`.
fn get_sync(state: &AppState, name: &str) -> Result<Response, ApiError> {
    let sync = state
        .features
        .get_sync(name)?
        .ok_or_else(|| ApiError::NotFound(format!("FeatureViewSync {name} not found")))?;

    Ok(json_response(StatusCode::OK, &sync))
}

/// `endpoints.predict`: probabilities from the model deployed to `endpoint`.
async fn predict(state: &AppState, endpoint: &str, body: &[u8]) -> Result<Response, ApiError> {
    check_name(Kind::Endpoint, endpoint, "endpoint")?;
    let instances = parse_instances(body)?;
    let count = instances.len();

    let prediction = if count <= INLINE_PREDICT_LIMIT {
        state.model.predict(endpoint, &instances)?
    } else {
        let model = Arc::clone(&state.model);
        let owned_endpoint = endpoint.to_string();
        run_blocking(move || model.predict(&owned_endpoint, &instances)).await?
    };

    // The backend promised one finite probability per instance; anything else is its bug.
    let predictions = &prediction.predictions;
    if predictions.len() != count || predictions.iter().any(|p| !p.is_finite()) {
        return Err(ApiError::Internal(format!(
            "model at {endpoint} returned {} predictions for {count} instances, \
             or a non-finite one",
            predictions.len()
        )));
    }

    let deployed_model_id = prediction.deployed_model_id.as_str();
    tracing::debug!(endpoint, count, deployed_model_id, "predicted");
    let response = PredictResponse { predictions, deployed_model_id };
    Ok(json_response(StatusCode::OK, &response))
}

/// Runs a slow backend call on tokio's blocking pool.
async fn run_blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, ApiError> {
    let joined = tokio::task::spawn_blocking(call).await;
    let result =
        joined.map_err(|error| ApiError::Internal(format!("backend task failed: {error}")))?;
    Ok(result?)
}
