//! The in-memory online store: each view is an immutable map behind an `Arc`, swapped
//! whole on publish, so a reader holds one consistent map for as long as it reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use fsdemo_core::FeatureRow;

use super::{decide, newest_per_entity, Decision, OnlineStore, OnlineStoreError, PublishReport};

type ViewRows = Arc<BTreeMap<i64, FeatureRow>>;

/// An online store in process memory, for tests and throwaway demos.
///
/// Limitation: a publish copies the whole view before swapping it in, so memory peaks at
/// twice the view, and the data is gone when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    views: RwLock<HashMap<String, ViewRows>>,
    /// Serialises publishes so two concurrent syncs cannot lose each other's rows.
    publishing: Mutex<()>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self, view: &str) -> ViewRows {
        let views = self.views.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        views.get(view).cloned().unwrap_or_default()
    }

    fn swap(&self, view: &str, rows: ViewRows) {
        let mut views = self.views.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        views.insert(view.to_string(), rows);
    }
}

impl OnlineStore for MemoryStore {
    fn publish(
        &self,
        view: &str,
        rows: Vec<FeatureRow>,
    ) -> Result<PublishReport, OnlineStoreError> {
        let _publishing = self.publishing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = self.snapshot(view);

        let mut next = (*current).clone();
        let mut report = PublishReport::default();
        for row in newest_per_entity(rows) {
            let decision = decide(current.get(&row.entity_id), &row);
            report.count(decision);
            if decision == Decision::Write {
                next.insert(row.entity_id, row);
            }
        }

        // Readers holding the old Arc keep reading it; new readers get the new one.
        if report.written > 0 {
            self.swap(view, Arc::new(next));
        }
        Ok(report)
    }

    fn get(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, OnlineStoreError> {
        Ok(self.snapshot(view).get(&entity_id).cloned())
    }

    fn get_many(
        &self,
        view: &str,
        entity_ids: &[i64],
    ) -> Result<Vec<Option<FeatureRow>>, OnlineStoreError> {
        let rows = self.snapshot(view);
        Ok(entity_ids.iter().map(|id| rows.get(id).cloned()).collect())
    }

    fn count(&self, view: &str) -> Result<u64, OnlineStoreError> {
        Ok(self.snapshot(view).len() as u64)
    }

    fn entity_ids(&self, view: &str, limit: usize) -> Result<Vec<i64>, OnlineStoreError> {
        Ok(self.snapshot(view).keys().take(limit).copied().collect())
    }

    fn clear(&self, view: &str) -> Result<u64, OnlineStoreError> {
        let _publishing = self.publishing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let removed = self.snapshot(view).len() as u64;
        self.swap(view, ViewRows::default());
        Ok(removed)
    }
}
