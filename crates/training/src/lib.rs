//! The model stage: turns `train_dataset` rows (already filled by the shared fill rule) into
//! a logistic regression, measures it out of time, writes it as an XGBoost `gblinear` model
//! that Vertex AI's prebuilt XGBoost container can serve, and keeps a local model registry
//! with endpoints. Reading the rows (DuckDB or BigQuery) is left to the caller.
//!
//! Modules, in pipeline order: [`dataset`] (rows and the out-of-time split), [`fit`] (the
//! regression), [`metrics`], [`model`] (the raw-input linear model), [`artifact`]
//! (`model.bst` and `model_meta.json`), [`curves`] (ROC, PR and calibration for the report),
//! [`registry`] (`Model`, `Endpoint`, `DeployedModel`).

pub mod artifact;
mod atomic;
pub mod curves;
pub mod dataset;
pub mod error;
pub mod fit;
pub mod metrics;
pub mod model;
pub mod registry;

pub use artifact::{load, save, ArtifactInfo, ModelMeta, META_FILE, MODEL_FILE};
pub use curves::{CalibrationBin, Curves};
pub use dataset::{split_out_of_time, DayRange, Split, TrainingRow};
pub use error::TrainingError;
pub use fit::{train, TrainedModel};
pub use metrics::{Metrics, SplitMetrics};
pub use model::LinearModel;
pub use registry::{
    DeployReport, DeployedModel, DeployedModelLoader, Endpoint, Model, ModelVersion, Outcome,
    Registry, RegistryError, ServingModel, UploadReport,
};
