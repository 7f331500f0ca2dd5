//! A local model registry and endpoint state, shaped like Vertex AI's: a `Model` with
//! numbered versions, an `Endpoint` with one `DeployedModel` taking 100% of the traffic.
//! Each resource is one JSON file under the registry directory, replaced atomically:
//!
//! ```text
//! <dir>/models/<model>.json                      Model and its versions
//! <dir>/models/<model>/versions/<n>/model.bst    the artifact, copied at upload
//! <dir>/models/<model>/versions/<n>/model_meta.json
//! <dir>/endpoints/<endpoint>.json                Endpoint, its DeployedModel and generation
//! ```
//!
//! [`upload`](Registry::upload) lives in `upload.rs`, [`deploy`](Registry::deploy) in
//! `deploy.rs`, and the serving side's [`DeployedModelLoader`] in `loader.rs`.
//!
//! Limitation: one writer at a time. Two concurrent uploads or deploys may lose one
//! update (the last rename wins); Vertex AI serialises these operations server side, and a
//! shared local registry would need a lock file.

mod deploy;
mod loader;
mod upload;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use fsdemo_core::ResourceNames;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::TrainingError;
use crate::metrics::Metrics;

pub use deploy::DeployReport;
pub use loader::{DeployedModelLoader, ServingModel};
pub use upload::UploadReport;

/// A registered model and all its versions (one file per model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// `projects/P/locations/L/models/M`.
    pub name: String,
    /// The model id.
    pub display_name: String,
    /// From `training.model.description`.
    pub description: String,
    /// Versions, oldest first; version ids are `1`, `2`, ...
    pub versions: Vec<ModelVersion>,
}

/// One uploaded artifact of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelVersion {
    /// `1`, `2`, ...
    pub version_id: String,
    /// The registry's own copy of the artifact directory.
    pub artifact_uri: String,
    /// The directory it was uploaded from.
    pub source_uri: String,
    /// Lowercase hex SHA-256 of `model.bst`; the same hash is never registered twice.
    pub sha256: String,
    /// The metrics recorded when the model was trained.
    pub metrics: Metrics,
    /// When the version was registered, RFC 3339 UTC.
    pub version_create_time: String,
}

/// An endpoint and what is deployed on it (one file per endpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// `projects/P/locations/L/endpoints/E`.
    pub name: String,
    /// The endpoint id.
    pub display_name: String,
    /// From `training.endpoint.description`.
    pub description: String,
    /// Created, RFC 3339 UTC.
    pub create_time: String,
    /// Last deployment, RFC 3339 UTC.
    pub update_time: String,
    /// Goes up by one on every deployment that changes the endpoint; serving reloads its
    /// model when it sees a new generation.
    pub generation: u64,
    /// The deployed models; this registry keeps exactly one after a deploy.
    pub deployed_models: Vec<DeployedModel>,
    /// Percent of traffic per deployed model id.
    pub traffic_split: BTreeMap<String, u32>,
}

impl Endpoint {
    /// The deployed model taking traffic, if any.
    pub fn serving(&self) -> Option<&DeployedModel> {
        let id = self.traffic_split.iter().max_by_key(|(_, share)| **share).map(|(id, _)| id)?;
        self.deployed_models.iter().find(|deployed| &deployed.id == id)
    }
}

/// A model version deployed on an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedModel {
    /// Numeric id, unique within the endpoint (the generation that deployed it); returned
    /// as `deployedModelId` by predict.
    pub id: String,
    /// The model's full name, `projects/P/locations/L/models/M`.
    pub model: String,
    /// The deployed version id.
    pub model_version_id: String,
    /// The version's artifact directory.
    pub artifact_uri: String,
    /// SHA-256 of the version's `model.bst`, checked again when serving loads it.
    pub sha256: String,
    /// When it was deployed, RFC 3339 UTC.
    pub create_time: String,
}

/// What an operation did to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The resource did not exist and was created.
    Created,
    /// An identical resource existed and was used as it is.
    Reused,
    /// The resource replaced an earlier one.
    Replaced,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry file could not be read or written.
    #[error("{step}: cannot {action} {path}; check that the registry directory is writable")]
    Io {
        /// `upload`, `deploy` or `serve`.
        step: &'static str,
        /// `read`, `write`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A registry file is not valid JSON of its resource.
    #[error("{step}: registry file {path} does not parse; restore it, or delete it to start over")]
    Corrupt {
        /// The operation.
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// A registry file holds a resource of another project or location.
    #[error("{step}: {path} holds {found}, not {expected}; use another registry directory")]
    WrongResource {
        /// The operation.
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// The name in the file.
        found: String,
        /// The name asked for.
        expected: String,
    },

    /// The artifact cannot be registered or served.
    #[error("{step}: the model artifact in {dir} cannot be used; train and save it again")]
    Artifact {
        /// `upload` or `serve`.
        step: &'static str,
        /// The artifact directory.
        dir: PathBuf,
        /// What is wrong with it.
        #[source]
        source: TrainingError,
    },

    /// Deploy found no version to deploy.
    #[error("deploy: model {model} has no version in {registry}; run the upload step first")]
    ModelNotFound {
        /// The model's full name.
        model: String,
        /// The registry directory.
        registry: PathBuf,
    },

    /// Serving asked for an endpoint the registry does not have, or one with nothing on it.
    #[error("serve: endpoint {endpoint} has no deployed model in {registry}; run the deploy step")]
    NothingDeployed {
        /// The endpoint's full name.
        endpoint: String,
        /// The registry directory.
        registry: PathBuf,
    },

    /// An endpoint name that is not `projects/P/locations/L/endpoints/E`.
    #[error("serve: {name} is not an endpoint name like projects/P/locations/L/endpoints/E")]
    BadEndpointName {
        /// The name given.
        name: String,
    },
}

/// The local registry rooted at one directory, naming resources for one project/location.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
    names: ResourceNames,
}

impl Registry {
    /// A registry in `root` (created on first write) for `names`' project and location.
    pub fn open(root: impl Into<PathBuf>, names: ResourceNames) -> Registry {
        Registry { root: root.into(), names }
    }

    /// The registry directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The model `model_id`, if it was ever uploaded.
    pub fn model(&self, model_id: &str) -> Result<Option<Model>, RegistryError> {
        let expected = self.names.model(model_id);
        let model: Option<Model> = read_json("read", &self.model_path(model_id))?;
        check_name("read", &self.model_path(model_id), model.as_ref().map(|m| &m.name), &expected)?;
        Ok(model)
    }

    /// The endpoint `endpoint_id`, if it was ever deployed to.
    pub fn endpoint(&self, endpoint_id: &str) -> Result<Option<Endpoint>, RegistryError> {
        let path = endpoint_path(&self.root, endpoint_id);
        let endpoint: Option<Endpoint> = read_json("read", &path)?;
        let expected = self.names.endpoint(endpoint_id);
        check_name("read", &path, endpoint.as_ref().map(|e| &e.name), &expected)?;
        Ok(endpoint)
    }

    fn model_path(&self, model_id: &str) -> PathBuf {
        self.root.join("models").join(format!("{model_id}.json"))
    }

    fn version_dir(&self, model_id: &str, version_id: &str) -> PathBuf {
        self.root.join("models").join(model_id).join("versions").join(version_id)
    }
}

/// `<root>/endpoints/<id>.json`.
fn endpoint_path(root: &Path, endpoint_id: &str) -> PathBuf {
    root.join("endpoints").join(format!("{endpoint_id}.json"))
}

/// Reads a registry file; `None` when it does not exist.
fn read_json<T: DeserializeOwned>(
    step: &'static str,
    path: &Path,
) -> Result<Option<T>, RegistryError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::Io { step, action: "read", path: path.into(), source })
        }
    };
    let value = serde_json::from_slice(&bytes).map_err(|source| RegistryError::Corrupt {
        step,
        path: path.into(),
        source,
    })?;
    Ok(Some(value))
}

/// Replaces a registry file atomically.
fn write_json<T: Serialize>(
    step: &'static str,
    path: &Path,
    value: &T,
) -> Result<(), RegistryError> {
    let bytes = serde_json::to_vec_pretty(value).expect("registry resources serialise");
    write_atomic(path, &bytes).map_err(|source| RegistryError::Io {
        step,
        action: "write",
        path: path.into(),
        source,
    })
}

fn check_name(
    step: &'static str,
    path: &Path,
    found: Option<&String>,
    expected: &str,
) -> Result<(), RegistryError> {
    match found {
        Some(found) if found != expected => Err(RegistryError::WrongResource {
            step,
            path: path.into(),
            found: found.clone(),
            expected: expected.into(),
        }),
        _ => Ok(()),
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests;
