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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use axum::body::Body;
    use axum::http::Request;
    use fsdemo_core::{Config, FeatureValue};
    use fsdemo_featurestore::{FeatureGroup, RedbStore, SourceError, SyncSource};
    use fsdemo_serving::{router, AppState};
    use tower::ServiceExt;

    use super::*;

    const CUSTOMERS: i64 = 20_000;

    /// Rows of every customer whose counts all equal `version`; each read takes its time.
    struct VersionedSource {
        version: std::sync::atomic::AtomicI64,
    }

    impl SyncSource for VersionedSource {
        fn newest_rows(
            &self,
            _group: &FeatureGroup,
            _features: &[FeatureSpec],
        ) -> Result<Vec<FeatureRow>, SourceError> {
            let v = self.version.load(Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            let int = Some(FeatureValue::Int64(v));
            let float = Some(FeatureValue::Float64(v as f64));
            Ok((0..CUSTOMERS)
                .map(|id| FeatureRow {
                    entity_id: id,
                    feature_timestamp: v,
                    values: vec![int, int, float, float, int, int],
                })
                .collect())
        }
    }

    async fn fetch(app: &axum::Router, view: &str, id: i64) -> serde_json::Value {
        let request = Request::post(format!("/v1/{view}:fetchFeatureValues"))
            .body(Body::from(format!(r#"{{"dataKey": {{"key": "{id}"}}}}"#)))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "customer {id} went missing during a sync");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A fetch loop over HTTP while syncs publish new rows: every answer is a whole row of
    /// one sync, never a 404, never values of two syncs in one row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fetches_during_a_sync_never_see_a_missing_or_mixed_row() {
        let dir = tempfile::tempdir().unwrap();
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let config = Config::load(&configs, &[]).unwrap();
        let mut registry = Registry::open(dir.path()).unwrap();
        registry.ensure(&config.featurestore, &config.names(), "fsdemo", false).unwrap();
        let (view, group) = registry.feature_view_with_group("customer_view").unwrap();
        let (view, group) = (view.clone(), group.clone());
        let store: Arc<dyn OnlineStore> =
            Arc::new(RedbStore::open(&dir.path().join("o.redb")).unwrap());
        let source = Arc::new(VersionedSource { version: 1.into() });
        let runner = SyncRunner::open(dir.path(), store.clone(), source.clone()).unwrap();
        runner.run(&view, &group).unwrap();
        let features = LocalFeatures::new(&registry, store, runner.clone());
        let models = LocalModels::new(dir.path().join("registry"), config.names());
        let app = router(AppState::new(Arc::new(features), Arc::new(models)));

        let done = Arc::new(AtomicBool::new(false));
        let syncs = {
            let (runner, done, source) = (runner.clone(), done.clone(), source.clone());
            tokio::task::spawn_blocking(move || {
                for version in 2..=4 {
                    source.version.store(version, Ordering::SeqCst);
                    assert!(runner.run(&view, &group).unwrap().succeeded());
                }
                done.store(true, Ordering::SeqCst);
            })
        };

        let view_name = config.names().feature_view("fsdemo_store", "customer_view");
        let (mut fetches, mut id) = (0u64, 0i64);
        while !done.load(Ordering::SeqCst) || fetches < 200 {
            id = (id * 7919 + 13) % CUSTOMERS;
            let body = fetch(&app, &view_name, id).await;
            let values: Vec<String> = body["keyValues"]["features"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["name"] != "feature_timestamp")
                .map(|f| {
                    let value = &f["value"];
                    value.get("int64Value").map_or_else(
                        || value["doubleValue"].to_string(),
                        |v| v.as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let first = values[0].trim_end_matches(".0").to_string();
            assert!(
                values.iter().all(|v| v.trim_end_matches(".0") == first),
                "mixed row: {values:?}"
            );
            fetches += 1;
        }
        syncs.await.unwrap();
        assert!(fetches >= 200);
    }
}
