//! The local service's backends: the feature store ([`LocalFeatures`]: the registry's
//! views, the redb online store, the sync runner) and the models ([`LocalModels`]: the
//! local registry's endpoints, each served by its deployed model, reloaded when a deploy
//! changes it).
//!
//! The registry is read once at start: `featurestore create` restarts a running service
//! when it changes anything.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fsdemo_core::vertex::FeatureViewSync;
use fsdemo_core::{FeatureRow, FeatureSpec, ResourceNames};
use fsdemo_featurestore::{
    FeatureGroup, FeatureView, OnlineStore, Registry, SyncError, SyncRunner,
};
use fsdemo_serving::{BackendError, FeatureServing, Predicting, Prediction};
use fsdemo_training::registry::{DeployedModelLoader, RegistryError};

/// One served feature view.
struct Served {
    view: FeatureView,
    group: FeatureGroup,
    schema: Arc<[FeatureSpec]>,
}

/// The feature store as the service serves it.
pub struct LocalFeatures {
    views: HashMap<String, Served>,
    store: Arc<dyn OnlineStore>,
    runner: SyncRunner,
}

impl LocalFeatures {
    /// Serves every view of `registry` from `store`, syncing through `runner`.
    pub fn new(
        registry: &Registry,
        store: Arc<dyn OnlineStore>,
        runner: SyncRunner,
    ) -> LocalFeatures {
        let views = registry
            .feature_views()
            .iter()
            .filter_map(|view| {
                let group = registry.feature_group(&view.feature_group)?.clone();
                let schema: Arc<[FeatureSpec]> = view.features.clone().into();
                Some((view.name.clone(), Served { view: view.clone(), group, schema }))
            })
            .collect();
        LocalFeatures { views, store, runner }
    }

    fn served(&self, view: &str) -> Result<&Served, BackendError> {
        self.views.get(view).ok_or_else(|| {
            BackendError::NotFound(format!(
                "FeatureView {view} not found; run `fsdemo featurestore create`"
            ))
        })
    }
}

impl FeatureServing for LocalFeatures {
    fn feature_view(&self, view: &str) -> Result<Option<Arc<[FeatureSpec]>>, BackendError> {
        Ok(self.views.get(view).map(|served| served.schema.clone()))
    }

    fn fetch_latest(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, BackendError> {
        self.store.get(view, entity_id).map_err(BackendError::internal)
    }

    fn start_sync(&self, view: &str) -> Result<FeatureViewSync, BackendError> {
        let served = self.served(view)?;
        match self.runner.start(&served.view, &served.group) {
            Ok(handle) => Ok(handle.sync().clone()),
            Err(error @ SyncError::AlreadyRunning { .. }) => {
                Err(BackendError::FailedPrecondition(error.to_string()))
            }
            Err(error) => Err(BackendError::internal(error)),
        }
    }

    fn get_sync(&self, sync: &str) -> Result<Option<FeatureViewSync>, BackendError> {
        Ok(self.runner.get(sync))
    }

    fn entity_ids(&self, view: &str, limit: usize) -> Result<Option<Vec<i64>>, BackendError> {
        if !self.views.contains_key(view) {
            return Ok(None);
        }
        self.store.entity_ids(view, limit).map(Some).map_err(BackendError::internal)
    }
}

/// The endpoints of the local model registry.
pub struct LocalModels {
    registry: PathBuf,
    names: ResourceNames,
    loaders: Mutex<HashMap<String, Arc<DeployedModelLoader>>>,
}

impl LocalModels {
    /// Serves the endpoints of the registry at `registry`, named for `names`.
    pub fn new(registry: PathBuf, names: ResourceNames) -> LocalModels {
        LocalModels { registry, names, loaders: Mutex::new(HashMap::new()) }
    }

    /// The loader of `endpoint`, made on first use; a name of another project or location
    /// is not found.
    fn loader(&self, endpoint: &str) -> Result<Arc<DeployedModelLoader>, BackendError> {
        let mut loaders = self.loaders.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(loader) = loaders.get(endpoint) {
            return Ok(loader.clone());
        }
        let prefix = format!("{}/endpoints/", self.names.parent());
        if !endpoint.starts_with(&prefix) {
            return Err(BackendError::NotFound(format!(
                "Endpoint {endpoint} not found; this service serves endpoints under {prefix}"
            )));
        }
        let loader = DeployedModelLoader::new(&self.registry, endpoint)
            .map_err(|e| BackendError::NotFound(e.to_string()))?;
        let loader = Arc::new(loader);
        loaders.insert(endpoint.to_string(), loader.clone());
        Ok(loader)
    }
}

impl Predicting for LocalModels {
    fn predict(&self, endpoint: &str, instances: &[[f64; 6]]) -> Result<Prediction, BackendError> {
        let serving = self.loader(endpoint)?.current().map_err(|error| match error {
            RegistryError::NothingDeployed { .. } => BackendError::NotFound(format!(
                "Endpoint {endpoint} has no deployed model; run `fsdemo endpoint deploy`"
            )),
            other => BackendError::internal(other),
        })?;

        let predictions = instances.iter().map(|inputs| serving.model.predict(inputs)).collect();
        Ok(Prediction { predictions, deployed_model_id: serving.deployed_model_id.clone() })
    }
}
