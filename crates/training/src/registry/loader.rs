//! The serving side of the registry: given an endpoint's full name, returns the model
//! deployed on it, and notices a newer deployment without a restart.
//!
//! How a new deployment is noticed: every deploy replaces the endpoint file by rename and
//! raises its `generation`. [`DeployedModelLoader::current`] compares the file's metadata
//! (modification time, length and, on Unix, inode; a rename always brings a new inode)
//! with the last check, and only when it changed re-reads the file; only a new
//! `generation` loads the model again. A call with nothing changed costs one `stat`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracing::info;

use super::{endpoint_path, read_json, Endpoint, RegistryError};
use crate::artifact;
use crate::error::TrainingError;
use crate::model::LinearModel;

/// The model an endpoint serves, with what predict reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServingModel {
    /// The endpoint's full name.
    pub endpoint: String,
    /// The `DeployedModel` id, returned as `deployedModelId`.
    pub deployed_model_id: String,
    /// The model's full name.
    pub model_name: String,
    /// The deployed version id.
    pub model_version_id: String,
    /// The endpoint generation this was loaded from.
    pub generation: u64,
    /// The model itself; `model.predict(&inputs)` gives the probability.
    pub model: LinearModel,
}

/// Loads and caches the model deployed on one endpoint; share it behind an `Arc`.
#[derive(Debug)]
pub struct DeployedModelLoader {
    registry: PathBuf,
    endpoint_name: String,
    endpoint_path: PathBuf,
    cached: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    fingerprint: Fingerprint,
    model: Arc<ServingModel>,
}

/// What the endpoint file looked like at the last check.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl DeployedModelLoader {
    /// A loader for `endpoint_name` (`projects/P/locations/L/endpoints/E`) in the registry
    /// at `registry`. Nothing is read until [`current`](Self::current).
    pub fn new(
        registry: impl Into<PathBuf>,
        endpoint_name: &str,
    ) -> Result<DeployedModelLoader, RegistryError> {
        let parts: Vec<&str> = endpoint_name.split('/').collect();
        let valid = matches!(parts.as_slice(), ["projects", p, "locations", l, "endpoints", e]
            if !p.is_empty() && !l.is_empty() && !e.is_empty());
        if !valid {
            return Err(RegistryError::BadEndpointName { name: endpoint_name.into() });
        }

        let registry = registry.into();
        let endpoint_path = endpoint_path(&registry, parts[5]);
        Ok(DeployedModelLoader {
            registry,
            endpoint_name: endpoint_name.into(),
            endpoint_path,
            cached: Mutex::new(None),
        })
    }

    /// The model deployed now: the cached one while the endpoint is unchanged, else the
    /// newly deployed one, loaded and checked against its sha256.
    pub fn current(&self) -> Result<Arc<ServingModel>, RegistryError> {
        let mut cached = self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let fingerprint = fingerprint(&self.endpoint_path);

        if let (Some(seen), Some(now)) = (cached.as_ref(), fingerprint.as_ref()) {
            if &seen.fingerprint == now {
                return Ok(seen.model.clone());
            }
        }

        let endpoint = self.read_endpoint()?;
        let fingerprint = fingerprint.unwrap_or(Fingerprint { modified: None, len: 0, inode: 0 });
        if let Some(seen) = cached.as_mut().filter(|c| c.model.generation == endpoint.generation) {
            seen.fingerprint = fingerprint;
            return Ok(seen.model.clone());
        }

        let model = Arc::new(self.load_deployed(&endpoint)?);
        info!(
            endpoint = %model.endpoint,
            deployed_model = %model.deployed_model_id,
            model = %model.model_name,
            version = %model.model_version_id,
            generation = model.generation,
            "serving model loaded"
        );
        *cached = Some(Cached { fingerprint, model: model.clone() });
        Ok(model)
    }

    fn read_endpoint(&self) -> Result<Endpoint, RegistryError> {
        let endpoint: Option<Endpoint> = read_json("serve", &self.endpoint_path)?;
        let endpoint = endpoint.ok_or_else(|| self.nothing_deployed())?;
        super::check_name("serve", &self.endpoint_path, Some(&endpoint.name), &self.endpoint_name)?;
        Ok(endpoint)
    }

    fn load_deployed(&self, endpoint: &Endpoint) -> Result<ServingModel, RegistryError> {
        let deployed = endpoint.serving().ok_or_else(|| self.nothing_deployed())?;
        let dir = Path::new(&deployed.artifact_uri);
        let artifact_error =
            |source| RegistryError::Artifact { step: "serve", dir: dir.into(), source };

        // `load` checks model.bst against its own meta; check the meta against the deploy.
        let model = artifact::load(dir).map_err(artifact_error)?;
        let meta = artifact::read_meta(dir).map_err(artifact_error)?;
        if meta.sha256 != deployed.sha256 {
            return Err(artifact_error(TrainingError::HashMismatch {
                path: dir.join(artifact::MODEL_FILE),
                expected: deployed.sha256.clone(),
                actual: meta.sha256,
            }));
        }

        Ok(ServingModel {
            endpoint: endpoint.name.clone(),
            deployed_model_id: deployed.id.clone(),
            model_name: deployed.model.clone(),
            model_version_id: deployed.model_version_id.clone(),
            generation: endpoint.generation,
            model,
        })
    }

    fn nothing_deployed(&self) -> RegistryError {
        RegistryError::NothingDeployed {
            endpoint: self.endpoint_name.clone(),
            registry: self.registry.clone(),
        }
    }
}

/// The endpoint file's metadata, or `None` when it cannot be read.
fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint { modified: metadata.modified().ok(), len: metadata.len(), inode })
}
