//! The two traits the service serves through, so the online store and the model plug in
//! from other crates: [`FeatureServing`] (feature views, rows, syncs) and [`Predicting`]
//! (endpoints). This module defines the contract; the implementations live elsewhere.
//!
//! # Threading
//!
//! The trait methods are synchronous. Lookups that the SPEC makes latency-critical
//! (`feature_view`, `fetch_latest`, `get_sync`, and `predict` for small batches) are
//! called directly on the async worker thread: a `spawn_blocking` round trip costs tens
//! of microseconds and two thread hand-offs, a large share of the 0.3 ms fetch budget.
//! So those methods must return quickly: an in-memory lookup or a single point read (a
//! redb read transaction is fine). `start_sync`, and `predict` for large batches, run on
//! tokio's blocking pool and may take as long as they need.
//!
//! Limitation: a lookup that stalls (a slow disk) stalls the worker thread that called it;
//! a production service would bound it with a dedicated reader pool and a deadline.

use std::sync::Arc;

use fsdemo_core::vertex::FeatureViewSync;
use fsdemo_core::{FeatureRow, FeatureSpec};

/// Why a backend could not answer. Anything a caller can fix is one of the named variants;
/// the service maps them to Google's error JSON in one place (`error`).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The named resource does not exist; the message names it (404 `NOT_FOUND`).
    #[error("{0}")]
    NotFound(String),
    /// The resource exists but is not in a state to serve the request, e.g. an endpoint
    /// with no deployed model or a sync already running (400 `FAILED_PRECONDITION`).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A fault of the backend itself (storage, model, I/O): logged, answered with a 500.
    #[error(transparent)]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl BackendError {
    /// An internal fault from any error or message.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        BackendError::Internal(error.into())
    }
}

/// The online side of the feature store: feature views, their latest rows and syncs.
pub trait FeatureServing: Send + Sync + 'static {
    /// The feature schema of the feature view with full name `view`
    /// (`projects/P/locations/L/featureOnlineStores/S/featureViews/V`), in the order
    /// [`FeatureRow::values`] uses; `None` when there is no such view.
    ///
    /// Called on every fetch, so return a shared schema rather than building one.
    fn feature_view(&self, view: &str) -> Result<Option<Arc<[FeatureSpec]>>, BackendError>;

    /// The latest synced row of entity `entity_id` in `view`; `None` when the entity has
    /// no row. Values follow the order of [`FeatureServing::feature_view`]'s schema.
    fn fetch_latest(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, BackendError>;

    /// Starts a sync of `view` and returns its `FeatureViewSync` (running or already
    /// finished). Runs on the blocking pool, so it may do the whole sync before returning.
    /// An unknown view is [`BackendError::NotFound`].
    fn start_sync(&self, view: &str) -> Result<FeatureViewSync, BackendError>;

    /// The sync with full name `sync`
    /// (`.../featureViews/V/featureViewSyncs/ID`); `None` when there is no such sync.
    fn get_sync(&self, sync: &str) -> Result<Option<FeatureViewSync>, BackendError>;

    /// Up to `limit` entity ids that `view` serves, smallest first; `None` when there is no
    /// such view. A local extension for picking demo customers: Vertex AI has no listing.
    fn entity_ids(&self, view: &str, limit: usize) -> Result<Option<Vec<i64>>, BackendError>;
}

/// What a predict call returns: one probability per instance and the model that made them.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The probability of a repurchase within 14 days, one per instance, in order.
    pub predictions: Vec<f64>,
    /// The id of the `DeployedModel` that answered.
    pub deployed_model_id: String,
}

/// Models deployed to endpoints.
pub trait Predicting: Send + Sync + 'static {
    /// Predicts for `instances` (each the six model inputs in `MODEL_INPUTS` order, all
    /// finite) with the model deployed to `endpoint`
    /// (`projects/P/locations/L/endpoints/E`).
    ///
    /// An unknown endpoint is [`BackendError::NotFound`]; an endpoint with no deployed
    /// model is [`BackendError::FailedPrecondition`]. The result must hold exactly one
    /// prediction per instance.
    fn predict(&self, endpoint: &str, instances: &[[f64; 6]]) -> Result<Prediction, BackendError>;
}
