//! In-memory stand-ins for the feature store and the model, with one resource of each
//! kind that fails, so tests can reach every answer the service gives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fsdemo_core::vertex::{FeatureViewSync, Interval, Status, SyncSummary};
use fsdemo_core::{FeatureRow, FeatureSpec, FeatureType, FeatureValue, MODEL_INPUTS};
use fsdemo_serving::{AppState, BackendError, FeatureServing, Predicting, Prediction};

pub const VIEW: &str = "projects/p/locations/local/featureOnlineStores/s/featureViews/customer";
/// A view whose reads fail inside the store.
pub const BROKEN_VIEW: &str =
    "projects/p/locations/local/featureOnlineStores/s/featureViews/broken";
pub const ENDPOINT: &str = "projects/p/locations/local/endpoints/repurchase";
/// An endpoint with no model deployed.
pub const EMPTY_ENDPOINT: &str = "projects/p/locations/local/endpoints/empty";
pub const DEPLOYED_MODEL_ID: &str = "fake-model-1";
/// The snapshot time of every fake row: 2024-03-07 00:00:00 UTC in microseconds.
pub const SNAPSHOT: i64 = 1_709_769_600_000_000;

/// The model inputs as the feature schema, with the SPEC's types.
pub fn schema() -> Arc<[FeatureSpec]> {
    let spec = |name: &&str| FeatureSpec {
        name: name.to_string(),
        value_type: if name.contains("revenue") || name.contains("avg") {
            FeatureType::Float64
        } else {
            FeatureType::Int64
        },
        description: String::new(),
    };
    MODEL_INPUTS.iter().map(spec).collect()
}

/// Customer 1501 ordered once for 40.0; customer 7 has not ordered in 30 days (NULLs).
fn rows() -> HashMap<i64, FeatureRow> {
    use FeatureValue::{Float64, Int64};

    let active = FeatureRow {
        entity_id: 1501,
        feature_timestamp: SNAPSHOT,
        values: vec![
            Some(Int64(1)),
            Some(Int64(1)),
            Some(Float64(40.0)),
            Some(Float64(40.0)),
            Some(Int64(3)),
            Some(Int64(2)),
        ],
    };
    let lapsed = FeatureRow {
        entity_id: 7,
        feature_timestamp: SNAPSHOT,
        values: vec![
            Some(Int64(0)),
            Some(Int64(0)),
            Some(Float64(0.0)),
            None,
            None,
            Some(Int64(0)),
        ],
    };
    HashMap::from([(1501, active), (7, lapsed)])
}

#[derive(Default)]
pub struct FakeStore {
    syncs: Mutex<HashMap<String, FeatureViewSync>>,
}

impl FeatureServing for FakeStore {
    fn feature_view(&self, view: &str) -> Result<Option<Arc<[FeatureSpec]>>, BackendError> {
        Ok((view == VIEW || view == BROKEN_VIEW).then(schema))
    }

    fn fetch_latest(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, BackendError> {
        if view == BROKEN_VIEW {
            return Err(BackendError::internal("redb: page checksum mismatch"));
        }
        Ok(rows().remove(&entity_id))
    }

    fn start_sync(&self, view: &str) -> Result<FeatureViewSync, BackendError> {
        if view != VIEW {
            return Err(BackendError::NotFound(format!("FeatureView {view} not found")));
        }

        let mut syncs = self.syncs.lock().unwrap();
        let name = format!("{view}/featureViewSyncs/{}", syncs.len() + 1);
        let sync = FeatureViewSync {
            name: name.clone(),
            create_time: "2024-03-08T00:00:00Z".into(),
            run_time: Some(Interval {
                start_time: "2024-03-08T00:00:00Z".into(),
                end_time: Some("2024-03-08T00:00:01Z".into()),
            }),
            final_status: Some(Status::default()),
            sync_summary: Some(SyncSummary { row_synced: "2".into(), total_slot: "0".into() }),
        };
        syncs.insert(name, sync.clone());
        Ok(sync)
    }

    fn get_sync(&self, sync: &str) -> Result<Option<FeatureViewSync>, BackendError> {
        Ok(self.syncs.lock().unwrap().get(sync).cloned())
    }

    fn entity_ids(&self, view: &str, limit: usize) -> Result<Option<Vec<i64>>, BackendError> {
        let mut ids: Vec<i64> = rows().into_keys().collect();
        ids.sort();
        ids.truncate(limit);
        Ok((view == VIEW).then_some(ids))
    }
}

/// A "model" whose probability is orders_30d / (orders_30d + 1), easy to check by hand.
pub struct FakeModel;

impl Predicting for FakeModel {
    fn predict(&self, endpoint: &str, instances: &[[f64; 6]]) -> Result<Prediction, BackendError> {
        match endpoint {
            ENDPOINT => Ok(Prediction {
                predictions: instances.iter().map(|x| x[1] / (x[1] + 1.0)).collect(),
                deployed_model_id: DEPLOYED_MODEL_ID.into(),
            }),
            EMPTY_ENDPOINT => Err(BackendError::FailedPrecondition(format!(
                "Endpoint {endpoint} has no deployed model; run `fsdemo deploy` first"
            ))),
            _ => Err(BackendError::NotFound(format!("Endpoint {endpoint} not found"))),
        }
    }
}

pub fn state() -> AppState {
    AppState::new(Arc::new(FakeStore::default()), Arc::new(FakeModel))
}
