//! What every stage of the pipeline shares, and nothing that needs a database or a network:
//! the typed configuration, the feature definitions with the one fill rule used by training
//! and serving, and Vertex AI resource names.

pub mod config;
pub mod features;
pub mod names;
pub mod time;
pub mod vertex;

pub use config::{Config, ConfigError};
pub use features::{FeatureRow, FeatureSpec, FeatureType, FeatureValue, MODEL_INPUTS};
pub use names::ResourceNames;
