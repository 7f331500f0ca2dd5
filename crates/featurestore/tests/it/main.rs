//! Integration tests of the feature store crate: the online store contract run against
//! every backend, syncs over a fake source, and the scheduler on a paused clock.

mod online_contract;
mod schedule;
mod sync;

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use fsdemo_core::{Config, FeatureRow, FeatureSpec, FeatureValue};
use fsdemo_featurestore::{FeatureGroup, FeatureView, Registry, SourceError, SyncSource};

/// The shipped configs' view and group, registered in `dir`.
pub fn view_and_group(dir: &Path) -> (FeatureView, FeatureGroup) {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let config = Config::load(&configs, &[]).unwrap();
    let mut registry = Registry::open(dir).unwrap();
    registry.ensure(&config.featurestore, &config.names(), &config.project.dataset, false).unwrap();
    let (view, group) = registry.feature_view_with_group("customer_view").unwrap();
    (view.clone(), group.clone())
}

/// A row of the shipped view (six features) whose counts are all `value`.
pub fn customer_row(entity_id: i64, ts: i64, value: i64) -> FeatureRow {
    let int = Some(FeatureValue::Int64(value));
    let float = Some(FeatureValue::Float64(value as f64));
    FeatureRow { entity_id, feature_timestamp: ts, values: vec![int, int, float, None, int, int] }
}

/// A source that answers what the test sets, optionally waiting for a go-ahead first.
#[derive(Default)]
pub struct FakeSource {
    answer: Mutex<Option<Result<Vec<FeatureRow>, String>>>,
    gate: Mutex<Option<Receiver<()>>>,
    pub reads: Mutex<u32>,
}

impl FakeSource {
    pub fn answering(rows: Vec<FeatureRow>) -> Arc<FakeSource> {
        let source = FakeSource::default();
        source.set(Ok(rows));
        Arc::new(source)
    }

    pub fn set(&self, answer: Result<Vec<FeatureRow>, String>) {
        *self.answer.lock().unwrap() = Some(answer);
    }

    /// Makes the next read wait until the returned sender sends.
    pub fn hold(&self) -> Sender<()> {
        let (go, gate) = std::sync::mpsc::channel();
        *self.gate.lock().unwrap() = Some(gate);
        go
    }
}

impl SyncSource for FakeSource {
    fn newest_rows(
        &self,
        _group: &FeatureGroup,
        _features: &[FeatureSpec],
    ) -> Result<Vec<FeatureRow>, SourceError> {
        if let Some(gate) = self.gate.lock().unwrap().take() {
            gate.recv().ok();
        }
        *self.reads.lock().unwrap() += 1;
        let answer = self.answer.lock().unwrap().clone().unwrap_or(Ok(Vec::new()));
        answer.map_err(SourceError::from)
    }
}
