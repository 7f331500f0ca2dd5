//! The gcp profile's client: plain REST over `reqwest` to BigQuery v2, Vertex AI v1
//! (Feature Store, models, endpoints, operations), the Cloud Storage JSON API, Resource
//! Manager v3 and Service Usage v1, with Application Default Credentials. Online calls
//! (fetchFeatureValues, predict, sync) go through `fsdemo_serving::VertexClient`, the
//! client both profiles share.
//!
//! Modules in pipeline order: [`bigquery`] (dataset, statements, dry runs, queries),
//! [`featurestore`] (online store, feature group, features, feature view, sync),
//! [`model`] (bucket, upload, endpoint, deploy), then [`doctor`] and [`teardown`]. Beneath
//! them: `http` (the one place calls go out and errors are read), `operation` (polling with
//! a deadline), `auth` ([`TokenSource`]) and [`iam`] (method -> permission -> role).
//!
//! # API
//!
//! ```text
//! Gcp::connect(&Config) -> Result<Gcp, GcpError>                      (async)
//! Gcp::with_token_source(&Config, Arc<dyn TokenSource>) -> Result<Gcp, GcpError>
//! gcp.with_timing(poll_interval: Duration, timeout: Duration) -> Gcp
//! gcp.access_token() -> Result<String, GcpError>                      (async)
//! gcp.names() / dataset() / bucket() / online_store_name() / feature_group_name()
//!    / feature_view_name() / model_name() / endpoint_name() -> String
//! gcp.check_locations() -> Result<(), GcpError>
//!
//! ensure_dataset() -> Result<EnsureReport, GcpError>
//! run_statement(step, sql, creates: Option<&str>) -> Result<JobReport, GcpError>
//! dry_run(step, sql) -> Result<DryRun, GcpError>
//! dry_run_all(&[Statement]) -> Result<Vec<DryRun>, GcpError>
//! query(sql) -> Result<QueryRows, GcpError>
//!
//! ensure_feature_store(recreate: bool) -> Result<Vec<EnsureReport>, GcpError>
//! feature_view_grant() -> Result<Option<String>, GcpError>
//! sync(wait: bool) -> Result<FeatureViewSync, GcpError>
//! online_base_url() -> Result<String, GcpError>
//! online_client() -> Result<VertexClient, GcpError>     (fetch: base URL + bearer token)
//! prediction_client() -> Result<VertexClient, GcpError> (predict: regional host + token)
//!
//! upload_model(artifact_dir: &Path) -> Result<UploadReport, GcpError>
//! deploy() -> Result<DeployReport, GcpError>
//! doctor() -> Vec<CheckLine>
//! teardown(with_data: bool) -> Result<Vec<TeardownLine>, GcpError>
//! ```
//!
//! Every create is preceded by a get, so a second run reuses what exists, and a 409
//! `ALREADY_EXISTS` on create counts as reuse. Long-running operations are polled every
//! `gcp.poll_interval_ms` until `gcp.operation_timeout_secs`.
//!
//! Locations: the public theLook data lives in BigQuery's `US` multi-region and BigQuery
//! cannot join across locations. This client fails early, before any call, when
//! `project.source_project` is `bigquery-public-data` and `gcp.bigquery_location` is not
//! `US`, rather than copying the source data into another location.
//!
//! Limitation: Vertex AI endpoint ids allow `[a-z0-9-]` only, so `training.endpoint.id` is
//! used with `_` replaced by `-` (`repurchase_endpoint` becomes `repurchase-endpoint`);
//! [`Gcp::endpoint_name`] gives the name actually used.

// GcpError carries the step, the resource, the permission and role and Google's message
// as owned text, which puts it past clippy's 128-byte hint. Every error ends a network
// call (milliseconds at least), so its size costs nothing worth boxing the fields for.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod bigquery;
pub mod doctor;
mod error;
pub mod featurestore;
mod http;
pub mod iam;
pub mod model;
mod operation;
mod storage;
pub mod teardown;

use std::sync::Arc;
use std::time::Duration;

use fsdemo_core::{Config, ResourceNames};

pub use auth::{AdcTokens, StaticToken, TokenSource, TOKEN_ENV};
pub use bigquery::{DryRun, DryRunOutcome, JobReport, QueryRows, Statement};
pub use doctor::CheckLine;
pub use error::GcpError;
pub use fsdemo_core::vertex::FeatureViewSync;
pub use fsdemo_featurestore::{EnsureOutcome, EnsureReport};
pub use model::{DeployReport, UploadReport};
pub use teardown::{TeardownLine, TeardownOutcome};

/// The project that hosts the public theLook dataset, in the `US` multi-region.
pub const PUBLIC_DATA_PROJECT: &str = "bigquery-public-data";

/// How long one HTTP call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A connected client for one configuration.
#[derive(Debug, Clone)]
pub struct Gcp {
    config: Config,
    names: ResourceNames,
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
    poll_interval: Duration,
    timeout: Duration,
}

impl Gcp {
    /// A client whose tokens come from `FSDEMO_GCP_ACCESS_TOKEN` when set, else from
    /// Application Default Credentials. Missing credentials do not fail here: `doctor`
    /// reports them, and every call fails with [`GcpError::Credentials`].
    pub async fn connect(config: &Config) -> Result<Gcp, GcpError> {
        let tokens = auth::default_source().await;
        Gcp::with_token_source(config, tokens)
    }

    /// A client with its tokens from `tokens`.
    pub fn with_token_source(
        config: &Config,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Gcp, GcpError> {
        check_config(config)?;
        let http =
            reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().map_err(|source| {
                GcpError::Transport {
                    step: "connect".into(),
                    method: "-".into(),
                    url: "-".into(),
                    source,
                }
            })?;

        Ok(Gcp {
            names: config.names(),
            http,
            tokens,
            poll_interval: Duration::from_millis(config.gcp.poll_interval_ms.max(1)),
            timeout: Duration::from_secs(config.gcp.operation_timeout_secs),
            config: config.clone(),
        })
    }

    /// The same client with another poll interval and deadline (tests use milliseconds).
    pub fn with_timing(mut self, poll_interval: Duration, timeout: Duration) -> Gcp {
        self.poll_interval = poll_interval;
        self.timeout = timeout;
        self
    }

    /// A current access token, for `VertexClient::with_bearer_token`.
    pub async fn access_token(&self) -> Result<String, GcpError> {
        self.tokens.token().await
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Resource names for the configured project and region.
    pub fn names(&self) -> &ResourceNames {
        &self.names
    }

    /// The derived tables' dataset, `project.dataset`.
    pub fn dataset(&self) -> String {
        format!("{}.{}", self.config.project.id, self.config.project.dataset)
    }

    /// The model bucket: `gcp.bucket`, or `<project>-fsdemo` when empty.
    pub fn bucket(&self) -> String {
        match self.config.gcp.bucket.as_deref().map(str::trim) {
            Some(bucket) if !bucket.is_empty() => bucket.trim_start_matches("gs://").to_string(),
            _ => format!("{}-fsdemo", self.config.project.id),
        }
    }

    /// `projects/P/locations/L/featureOnlineStores/S`.
    pub fn online_store_name(&self) -> String {
        self.names.online_store(&self.config.featurestore.online_store.id)
    }

    /// `projects/P/locations/L/featureGroups/G`.
    pub fn feature_group_name(&self) -> String {
        self.names.feature_group(&self.config.featurestore.feature_group.id)
    }

    /// `projects/P/locations/L/featureOnlineStores/S/featureViews/V`.
    pub fn feature_view_name(&self) -> String {
        let featurestore = &self.config.featurestore;
        self.names.feature_view(&featurestore.online_store.id, &featurestore.feature_view.id)
    }

    /// `projects/P/locations/L/models/M`.
    pub fn model_name(&self) -> String {
        self.names.model(&self.config.training.model.id)
    }

    /// `projects/P/locations/L/endpoints/E`, with `_` in the configured id replaced by `-`
    /// (endpoint ids allow `[a-z0-9-]` only).
    pub fn endpoint_name(&self) -> String {
        self.names.endpoint(&self.config.training.endpoint.id.replace('_', "-"))
    }

    /// Fails early when the BigQuery location cannot read the source data (see the crate
    /// doc); the error names both locations and the fix.
    pub fn check_locations(&self) -> Result<(), GcpError> {
        let project = &self.config.project;
        let location = &self.config.gcp.bigquery_location;
        if project.source_project == PUBLIC_DATA_PROJECT && !location.eq_ignore_ascii_case("US") {
            return Err(GcpError::LocationMismatch {
                step: "check locations".into(),
                resource: format!("{}.{}", project.source_project, project.source_dataset),
                detail: format!(
                    "the public theLook dataset lives in the US multi-region, but \
                     gcp.bigquery_location is {location:?} (Vertex AI region {:?}); BigQuery \
                     cannot join across locations, so set gcp.bigquery_location=US (the \
                     feature store then needs a us-* region), or copy theLook into a dataset \
                     in {location} and set project.source_project/source_dataset to it",
                    project.location
                ),
            });
        }
        Ok(())
    }

    /// `{aiplatform_url}/v1/{name}` or `.../v1/{name}:{verb}`.
    pub(crate) fn vertex_url(&self, name: &str, verb: Option<&str>) -> String {
        let base = self.aiplatform_base();
        match verb {
            Some(verb) => format!("{base}/v1/{name}:{verb}"),
            None => format!("{base}/v1/{name}"),
        }
    }

    /// `gcp.aiplatform_url` with `{region}` replaced by `project.location`.
    pub(crate) fn aiplatform_base(&self) -> String {
        let url = self.config.gcp.aiplatform_url.replace("{region}", &self.config.project.location);
        url.trim_end_matches('/').to_string()
    }

    /// `{bigquery_url}/bigquery/v2/projects/{project}/{path}`.
    pub(crate) fn bigquery_url(&self, path: &str) -> String {
        let base = self.config.gcp.bigquery_url.trim_end_matches('/');
        format!("{base}/bigquery/v2/projects/{}/{path}", self.config.project.id)
    }
}

/// What the gcp profile cannot work without.
fn check_config(config: &Config) -> Result<(), GcpError> {
    let bad = |key: &str, value: &str, fix: &str| GcpError::Config {
        step: "connect".into(),
        key: key.into(),
        value: value.into(),
        fix: fix.into(),
    };
    let project = &config.project;
    if project.id.is_empty() || project.id == "local" {
        return Err(bad(
            "project.id",
            &project.id,
            "set it to your GCP project id (--set project.id=...)",
        ));
    }
    if project.location.is_empty() || project.location == "local" {
        let fix = "set it to a Vertex AI region, e.g. --set project.location=us-central1";
        return Err(bad("project.location", &project.location, fix));
    }

    let gcp = &config.gcp;
    if !["bigtable", "optimized"].contains(&gcp.online_serving.as_str()) {
        return Err(bad("gcp.online_serving", &gcp.online_serving, "use bigtable or optimized"));
    }
    let (min, max) = (gcp.bigtable_min_nodes, gcp.bigtable_max_nodes);
    if min < 1 || max < min || max > 10 * min {
        let value = format!("{min}..{max}");
        let fix = "need 1 <= bigtable_min_nodes <= bigtable_max_nodes <= 10 x bigtable_min_nodes";
        return Err(bad("gcp.bigtable_min_nodes/bigtable_max_nodes", &value, fix));
    }
    Ok(())
}
