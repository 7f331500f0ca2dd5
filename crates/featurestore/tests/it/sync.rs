//! Feature view syncs over a fake source: records, failures, one sync per view, restarts.

use std::sync::Arc;

use fsdemo_core::FeatureValue;
use fsdemo_featurestore::{MemoryStore, OnlineStore, SyncError, SyncRunner};

use crate::{customer_row, view_and_group, FakeSource};

#[test]
fn run_publishes_rows_and_records_success() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let store = Arc::new(MemoryStore::new());
    let source = FakeSource::answering((1..=3).map(|id| customer_row(id, 10, 1)).collect());
    let runner = SyncRunner::open(dir.path(), store.clone(), source).unwrap();

    let sync = runner.run(&view, &group).unwrap();

    assert!(sync.succeeded(), "{sync:?}");
    assert_eq!(sync.rows_synced(), Some(3));
    assert!(sync.name.starts_with(&format!("{}/featureViewSyncs/", view.name)), "{}", sync.name);
    assert_eq!(store.count(&view.name).unwrap(), 3);
    assert_eq!(runner.get(&sync.name), Some(sync.clone()));
    assert_eq!(runner.list(&view.name), vec![sync]);
}

#[test]
fn record_is_found_by_name_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let store = Arc::new(MemoryStore::new());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1)]);
    let sync = SyncRunner::open(dir.path(), store.clone(), source.clone())
        .unwrap()
        .run(&view, &group)
        .unwrap();

    let restarted = SyncRunner::open(dir.path(), store, source).unwrap();

    assert_eq!(restarted.get(&sync.name), Some(sync));
}

#[test]
fn failing_source_is_recorded_and_the_store_keeps_serving_the_previous_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let store = Arc::new(MemoryStore::new());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1)]);
    let runner = SyncRunner::open(dir.path(), store.clone(), source.clone()).unwrap();
    runner.run(&view, &group).unwrap();

    source.set(Err("Catalog Error: Table features_customer does not exist".into()));
    let sync = runner.run(&view, &group).unwrap();

    assert!(sync.is_done() && !sync.succeeded(), "{sync:?}");
    let status = sync.final_status.unwrap();
    assert_eq!(status.code, 9);
    assert!(status.message.contains("features_customer does not exist"), "{}", status.message);
    assert!(status.message.contains(&view.name), "{}", status.message);
    assert_eq!(store.get(&view.name, 1).unwrap(), Some(customer_row(1, 10, 1)));
}

#[test]
fn second_start_while_one_runs_is_refused_naming_the_running_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1)]);
    let go = source.hold();
    let runner = SyncRunner::open(dir.path(), Arc::new(MemoryStore::new()), source).unwrap();

    let first = runner.start(&view, &group).unwrap();
    let second = runner.start(&view, &group).unwrap_err();

    match &second {
        SyncError::AlreadyRunning { running, .. } => assert_eq!(running, &first.sync().name),
        other => panic!("expected AlreadyRunning, got {other}"),
    }
    assert_eq!(runner.running(&view.name).map(|s| s.name), Some(first.sync().name.clone()));
    assert!(!runner.get(&first.sync().name).unwrap().is_done());
    go.send(()).unwrap();
    assert!(first.wait().succeeded());
    assert!(runner.running(&view.name).is_none());
    assert!(runner.run(&view, &group).unwrap().succeeded(), "the view stayed locked");
}

#[test]
fn rows_of_the_wrong_shape_fail_the_sync_naming_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let mut short = customer_row(1, 10, 1);
    short.values.pop();
    let store = Arc::new(MemoryStore::new());
    let runner =
        SyncRunner::open(dir.path(), store.clone(), FakeSource::answering(vec![short])).unwrap();

    let sync = runner.run(&view, &group).unwrap();

    let message = sync.final_status.unwrap().message;
    assert!(
        message.contains("5 values for 6 features") && message.contains(&view.name),
        "{message}"
    );
    assert_eq!(store.count(&view.name).unwrap(), 0, "a failed sync published rows");
}

#[test]
fn nan_from_the_source_is_stored_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let mut row = customer_row(1, 10, 1);
    row.values[3] = Some(FeatureValue::Float64(f64::NAN));
    let store = Arc::new(MemoryStore::new());
    let runner =
        SyncRunner::open(dir.path(), store.clone(), FakeSource::answering(vec![row])).unwrap();

    assert!(runner.run(&view, &group).unwrap().succeeded());

    assert_eq!(store.get(&view.name, 1).unwrap().unwrap().values[3], None);
}

#[test]
fn sync_left_running_by_a_dead_process_is_closed_as_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let name =
        "projects/local/locations/local/featureOnlineStores/s/featureViews/v/featureViewSyncs/1";
    let json = format!(
        r#"{{"featureViewSyncs": [{{"name": "{name}", "createTime": "2024-03-08T03:00:00Z",
            "runTime": {{"startTime": "2024-03-08T03:00:00Z"}}}}]}}"#
    );
    std::fs::write(dir.path().join("syncs.json"), json).unwrap();
    let source = FakeSource::answering(Vec::new());

    let runner = SyncRunner::open(dir.path(), Arc::new(MemoryStore::new()), source).unwrap();

    let sync = runner.get(name).unwrap();
    assert!(sync.is_done() && !sync.succeeded());
    assert_eq!(sync.final_status.unwrap().code, 10);
}

#[test]
fn sync_ids_are_unique_and_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (view, group) = view_and_group(dir.path());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1)]);
    let runner = SyncRunner::open(dir.path(), Arc::new(MemoryStore::new()), source).unwrap();

    let names: Vec<String> = (0..3).map(|_| runner.run(&view, &group).unwrap().name).collect();

    let listed: Vec<String> = runner.list(&view.name).into_iter().map(|s| s.name).collect();
    assert_eq!(listed, names.iter().rev().cloned().collect::<Vec<_>>());
}
