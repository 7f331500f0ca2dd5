//! One contract suite for every [`OnlineStore`]: each test is generic over the trait and
//! instantiated per backend below, so a new backend (Redis, Bigtable) passes the same tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fsdemo_core::{FeatureRow, FeatureValue};
use fsdemo_featurestore::{MemoryStore, OnlineStore, PublishReport, RedbStore};

const VIEW: &str = "projects/local/locations/local/featureOnlineStores/s/featureViews/v";

/// A row whose every value is `version`, so a mix of versions inside a row shows.
fn row(entity_id: i64, ts: i64, version: i64) -> FeatureRow {
    FeatureRow {
        entity_id,
        feature_timestamp: ts,
        values: vec![
            Some(FeatureValue::Int64(version)),
            Some(FeatureValue::Float64(version as f64 + 0.5)),
            None,
        ],
    }
}

fn report(written: u64, unchanged: u64, kept_newer: u64) -> PublishReport {
    PublishReport { written, unchanged, kept_newer }
}

fn publish_then_get_returns_the_row_with_nulls_kept<S: OnlineStore>(store: S) {
    let stored = store.publish(VIEW, vec![row(1, 10, 1), row(2, 10, 2)]).unwrap();

    assert_eq!(stored, report(2, 0, 0));
    assert_eq!(store.get(VIEW, 2).unwrap(), Some(row(2, 10, 2)));
    assert_eq!(store.get(VIEW, 2).unwrap().unwrap().values[2], None);
    assert_eq!(store.get(VIEW, 3).unwrap(), None);
    assert_eq!(store.count(VIEW).unwrap(), 2);
}

fn unknown_view_reads_as_empty<S: OnlineStore>(store: S) {
    assert_eq!(store.get("nope", 1).unwrap(), None);
    assert_eq!(store.count("nope").unwrap(), 0);
    assert!(store.entity_ids("nope", 5).unwrap().is_empty());
    assert_eq!(store.get_many("nope", &[1, 2]).unwrap(), vec![None, None]);
}

fn rerun_with_unchanged_input_changes_nothing<S: OnlineStore>(store: S) {
    let rows = vec![row(1, 10, 1), row(2, 10, 2)];
    store.publish(VIEW, rows.clone()).unwrap();

    let again = store.publish(VIEW, rows).unwrap();

    assert_eq!(again, report(0, 2, 0));
    assert_eq!(store.get(VIEW, 1).unwrap(), Some(row(1, 10, 1)));
}

fn same_timestamp_replaces_and_older_never_wins<S: OnlineStore>(store: S) {
    store.publish(VIEW, vec![row(1, 10, 1), row(2, 10, 1)]).unwrap();

    let merged = store.publish(VIEW, vec![row(1, 10, 7), row(2, 9, 8), row(3, 1, 9)]).unwrap();

    assert_eq!(merged, report(2, 0, 1));
    assert_eq!(store.get(VIEW, 1).unwrap(), Some(row(1, 10, 7)), "a rebuilt day must land");
    assert_eq!(store.get(VIEW, 2).unwrap(), Some(row(2, 10, 1)), "an older row won");
    assert_eq!(store.get(VIEW, 3).unwrap(), Some(row(3, 1, 9)));
}

fn entity_absent_from_a_sync_is_kept<S: OnlineStore>(store: S) {
    store.publish(VIEW, vec![row(1, 10, 1), row(2, 10, 1)]).unwrap();

    store.publish(VIEW, vec![row(1, 11, 2)]).unwrap();

    assert_eq!(store.count(VIEW).unwrap(), 2);
    assert_eq!(store.get(VIEW, 2).unwrap(), Some(row(2, 10, 1)));
}

fn duplicate_entity_in_one_publish_keeps_the_newest<S: OnlineStore>(store: S) {
    let stored = store.publish(VIEW, vec![row(1, 12, 2), row(1, 10, 1)]).unwrap();

    assert_eq!(stored, report(1, 0, 0));
    assert_eq!(store.get(VIEW, 1).unwrap(), Some(row(1, 12, 2)));
}

fn views_are_separate_and_clear_empties_one<S: OnlineStore>(store: S) {
    store.publish(VIEW, vec![row(1, 10, 1)]).unwrap();
    store.publish("other", vec![row(1, 10, 5), row(2, 10, 5)]).unwrap();

    let removed = store.clear("other").unwrap();

    assert_eq!(removed, 2);
    assert_eq!(store.count("other").unwrap(), 0);
    assert_eq!(store.get(VIEW, 1).unwrap(), Some(row(1, 10, 1)));
}

fn entity_ids_are_limited_and_sorted<S: OnlineStore>(store: S) {
    store.publish(VIEW, (0..10).rev().map(|id| row(id, 1, 1)).collect()).unwrap();

    assert_eq!(store.entity_ids(VIEW, 3).unwrap(), vec![0, 1, 2]);
    assert_eq!(store.entity_ids(VIEW, 100).unwrap().len(), 10);
}

/// Readers hammer `get` and `get_many` while big publishes run: every row is always there,
/// no row mixes versions, and one `get_many` never mixes two publishes.
fn readers_never_see_a_missing_row_or_a_mix_during_publish<S: OnlineStore + 'static>(store: S) {
    const ENTITIES: i64 = 20_000;
    const PUBLISHES: i64 = 4;
    let store = Arc::new(store);
    store.publish(VIEW, (0..ENTITIES).map(|id| row(id, 1, 1)).collect()).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut reads, mut next) = (0u64, 0i64);
            let probe = [0, ENTITIES / 2, ENTITIES - 1];
            while !done.load(Ordering::Acquire) || reads < 100 {
                next = (next * 7919 + 13) % ENTITIES;
                let one = store.get(VIEW, next).unwrap().expect("a row went missing");
                let version = one.values[0];
                assert_eq!(one, row(next, one.feature_timestamp, version_of(version)));

                let many = store.get_many(VIEW, &probe).unwrap();
                let versions: Vec<_> = many.iter().map(|r| r.as_ref().unwrap().values[0]).collect();
                assert!(versions.windows(2).all(|w| w[0] == w[1]), "mixed publishes: {versions:?}");
                reads += 1;
            }
            reads
        })
    };

    for version in 2..=PUBLISHES + 1 {
        let rows = (0..ENTITIES).map(|id| row(id, version, version)).collect();
        assert_eq!(store.publish(VIEW, rows).unwrap().written, ENTITIES as u64);
    }
    done.store(true, Ordering::Release);

    let reads = reader.join().expect("the reader saw a broken state");
    assert!(reads >= 100);
    assert_eq!(store.get(VIEW, 5).unwrap(), Some(row(5, PUBLISHES + 1, PUBLISHES + 1)));
}

fn version_of(value: Option<FeatureValue>) -> i64 {
    match value {
        Some(FeatureValue::Int64(v)) => v,
        other => panic!("not a version: {other:?}"),
    }
}

/// Instantiates every contract test for one backend, built by `$make`.
macro_rules! contract {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[test]
            fn publish_then_get_returns_the_row_with_nulls_kept() {
                let (_dir, store) = $make;
                super::publish_then_get_returns_the_row_with_nulls_kept(store);
            }
            #[test]
            fn unknown_view_reads_as_empty() {
                let (_dir, store) = $make;
                super::unknown_view_reads_as_empty(store);
            }
            #[test]
            fn rerun_with_unchanged_input_changes_nothing() {
                let (_dir, store) = $make;
                super::rerun_with_unchanged_input_changes_nothing(store);
            }
            #[test]
            fn same_timestamp_replaces_and_older_never_wins() {
                let (_dir, store) = $make;
                super::same_timestamp_replaces_and_older_never_wins(store);
            }
            #[test]
            fn entity_absent_from_a_sync_is_kept() {
                let (_dir, store) = $make;
                super::entity_absent_from_a_sync_is_kept(store);
            }
            #[test]
            fn duplicate_entity_in_one_publish_keeps_the_newest() {
                let (_dir, store) = $make;
                super::duplicate_entity_in_one_publish_keeps_the_newest(store);
            }
            #[test]
            fn views_are_separate_and_clear_empties_one() {
                let (_dir, store) = $make;
                super::views_are_separate_and_clear_empties_one(store);
            }
            #[test]
            fn entity_ids_are_limited_and_sorted() {
                let (_dir, store) = $make;
                super::entity_ids_are_limited_and_sorted(store);
            }
            #[test]
            fn readers_never_see_a_missing_row_or_a_mix_during_publish() {
                let (_dir, store) = $make;
                super::readers_never_see_a_missing_row_or_a_mix_during_publish(store);
            }
        }
    };
}

contract!(memory, ((), MemoryStore::new()));
contract!(redb, {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("online.redb")).unwrap();
    (dir, store)
});

#[test]
fn redb_rows_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("online.redb");
    RedbStore::open(&path).unwrap().publish(VIEW, vec![row(1, 10, 3)]).unwrap();

    let reopened = RedbStore::open(&path).unwrap();

    assert_eq!(reopened.get(VIEW, 1).unwrap(), Some(row(1, 10, 3)));
}
