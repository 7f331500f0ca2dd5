//! The online side of the demo: a local HTTP service that speaks Vertex AI's REST shapes
//! (`featureViews.fetchFeatureValues`, `featureViews.sync`, `featureViewSyncs.get`,
//! `endpoints.predict`) over a feature store and a model plugged in through traits, and a
//! client for the same methods on the local service or on Vertex AI.
//!
//! Modules in request order: `resource` reads the path, `body` the JSON, `fetch` and
//! `predict` own the wire formats, `router` dispatches to the `backend` traits, `error`
//! maps every failure to Google's error JSON, `serve` runs it, `client` calls it.

pub mod backend;
mod body;
pub mod client;
mod error;
pub mod fetch;
mod predict;
mod resource;
pub mod router;
pub mod serve;

pub use backend::{BackendError, FeatureServing, Predicting, Prediction};
pub use client::{ClientError, FetchedFeatures, VertexClient};
pub use error::ApiError;
pub use fetch::DataFormat;
pub use router::{router, AppState};
pub use serve::{serve, ServeError, Server};
