//! The online store: per feature view, the one newest row of each entity, published by a
//! sync all at once and read one entity (or a few) at a time.
//!
//! The trait is the contract (tests/it/online_contract.rs runs one suite against every
//! implementation); [`memory`] and [`redb_store`] are the two backends. The replace rule of
//! SPEC "Online serving" is written once, in [`decide`].

pub mod memory;
pub mod redb_store;

use std::path::PathBuf;

use fsdemo_core::{FeatureRow, FeatureValue};
use serde::Serialize;

pub use memory::MemoryStore;
pub use redb_store::RedbStore;

/// An online store problem, naming the step, the feature view and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OnlineStoreError {
    /// The store's file could not be opened.
    #[error("online store: open {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// A read or write of the store failed.
    #[error("online store: {step} {view}: {message}")]
    Storage { step: &'static str, view: String, message: String },
    /// A stored row cannot be decoded.
    #[error(
        "online store: read {view} entity {entity_id}: stored row is corrupt ({message}); \
         run a sync to rewrite it"
    )]
    Corrupt { view: String, entity_id: i64, message: String },
}

/// What one [`OnlineStore::publish`] did, row by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Rows stored: new entities, and rows with a same-or-newer timestamp that differ.
    pub written: u64,
    /// Rows equal to what was stored; nothing changed.
    pub unchanged: u64,
    /// Rows older than the stored one; the stored row was kept.
    pub kept_newer: u64,
}

/// The online store of every feature view.
///
/// Every method is safe to call from many threads. A reader never waits for a publish and
/// sees either the state before it or after it, never a mix, never an empty view.
pub trait OnlineStore: Send + Sync {
    /// Merges one sync's `rows` into `view` in one atomic step, by [`decide`].
    ///
    /// `rows` may hold an entity twice; the newer row counts (the later one on a tie).
    /// Entities stored but absent from `rows` are kept, as Vertex AI's Bigtable online
    /// serving keeps records deleted from the BigQuery source until the feature view is
    /// deleted (`featurestore create --recreate` is the local equivalent).
    fn publish(&self, view: &str, rows: Vec<FeatureRow>)
        -> Result<PublishReport, OnlineStoreError>;

    /// The stored row of `entity_id` in `view`; `None` if there is none.
    fn get(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, OnlineStoreError>;

    /// The rows of `entity_ids`, in order, all read from one consistent state.
    fn get_many(
        &self,
        view: &str,
        entity_ids: &[i64],
    ) -> Result<Vec<Option<FeatureRow>>, OnlineStoreError>;

    /// How many entities `view` holds (0 for a view never published).
    fn count(&self, view: &str) -> Result<u64, OnlineStoreError>;

    /// Up to `limit` entity ids of `view`, smallest first (for sampling requests).
    fn entity_ids(&self, view: &str, limit: usize) -> Result<Vec<i64>, OnlineStoreError>;

    /// Removes every row of `view` (after the view was replaced); returns how many.
    fn clear(&self, view: &str) -> Result<u64, OnlineStoreError>;
}

/// What to do with one incoming row given the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Store the incoming row.
    Write,
    /// The incoming row equals the stored one.
    Unchanged,
    /// The stored row is newer; keep it.
    KeepNewer,
}

/// The SPEC rule: a stored row is replaced when the incoming `feature_timestamp` is the
/// same or newer (so a rebuilt day lands), an older row never wins, and an equal row
/// changes nothing.
pub fn decide(stored: Option<&FeatureRow>, incoming: &FeatureRow) -> Decision {
    match stored {
        None => Decision::Write,
        Some(stored) if incoming.feature_timestamp < stored.feature_timestamp => {
            Decision::KeepNewer
        }
        Some(stored) if same_row(stored, incoming) => Decision::Unchanged,
        Some(_) => Decision::Write,
    }
}

/// Keeps one row per entity: the newest, the later one on a tie.
pub(crate) fn newest_per_entity(rows: Vec<FeatureRow>) -> Vec<FeatureRow> {
    let mut newest: std::collections::HashMap<i64, FeatureRow> = Default::default();
    for row in rows {
        match newest.get(&row.entity_id) {
            Some(kept) if kept.feature_timestamp > row.feature_timestamp => {}
            _ => {
                newest.insert(row.entity_id, row);
            }
        }
    }
    newest.into_values().collect()
}

impl PublishReport {
    /// Counts one decision.
    pub(crate) fn count(&mut self, decision: Decision) {
        match decision {
            Decision::Write => self.written += 1,
            Decision::Unchanged => self.unchanged += 1,
            Decision::KeepNewer => self.kept_newer += 1,
        }
    }
}

/// Row equality that holds for floats bit by bit, so a re-run is "unchanged" exactly.
fn same_row(a: &FeatureRow, b: &FeatureRow) -> bool {
    let same_value = |x: &Option<FeatureValue>, y: &Option<FeatureValue>| match (x, y) {
        (Some(FeatureValue::Float64(x)), Some(FeatureValue::Float64(y))) => {
            x.to_bits() == y.to_bits()
        }
        _ => x == y,
    };
    a.entity_id == b.entity_id
        && a.feature_timestamp == b.feature_timestamp
        && a.values.len() == b.values.len()
        && a.values.iter().zip(&b.values).all(|(x, y)| same_value(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: i64, v: i64) -> FeatureRow {
        FeatureRow {
            entity_id: 1,
            feature_timestamp: ts,
            values: vec![Some(FeatureValue::Int64(v))],
        }
    }

    #[test]
    fn same_timestamp_with_new_values_is_written_so_a_rebuilt_day_lands() {
        assert_eq!(decide(Some(&row(10, 1)), &row(10, 2)), Decision::Write);
        assert_eq!(decide(Some(&row(10, 1)), &row(10, 1)), Decision::Unchanged);
        assert_eq!(decide(Some(&row(10, 1)), &row(9, 5)), Decision::KeepNewer);
        assert_eq!(decide(None, &row(9, 5)), Decision::Write);
    }

    #[test]
    fn newest_per_entity_keeps_the_newest_and_the_later_on_a_tie() {
        let rows = vec![row(10, 1), row(12, 2), row(11, 3), row(12, 4)];

        let kept = newest_per_entity(rows);

        assert_eq!(kept, vec![row(12, 4)]);
    }
}
