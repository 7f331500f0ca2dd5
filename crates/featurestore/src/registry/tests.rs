//! Unit tests of the registry: create, reuse, update, replace, persistence.

use std::path::Path;

use fsdemo_core::Config;

use super::*;

fn config() -> Config {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    Config::load(&dir, &[]).unwrap()
}

fn names() -> ResourceNames {
    ResourceNames::new("local", "local")
}

fn outcomes(reports: &[EnsureReport], kind: &str) -> Vec<EnsureOutcome> {
    reports.iter().filter(|r| r.kind == kind).map(|r| r.outcome).collect()
}

#[test]
fn first_ensure_creates_every_resource_with_full_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let mut registry = Registry::open(dir.path()).unwrap();

    let reports = registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    assert!(reports.iter().all(|r| r.outcome == EnsureOutcome::Created), "{reports:?}");
    assert_eq!(reports.len(), 3 + config.featurestore.features.len());
    let view = registry.feature_view("customer_view").unwrap();
    assert_eq!(
        view.name,
        "projects/local/locations/local/featureOnlineStores/fsdemo_store/featureViews/customer_view"
    );
    assert_eq!(
        view.online_store(),
        "projects/local/locations/local/featureOnlineStores/fsdemo_store"
    );
    let (_, group) = registry.feature_view_with_group(&view.name).unwrap();
    assert_eq!(group.source_table, "local.fsdemo.features_customer");
    assert_eq!(group.entity_id_column, "customer_id");
}

#[test]
fn second_ensure_reuses_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let mut registry = Registry::open(dir.path()).unwrap();
    registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();
    let before = std::fs::read(registry.path()).unwrap();

    let mut reopened = Registry::open(dir.path()).unwrap();
    let reports = reopened.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    assert!(reports.iter().all(|r| r.outcome == EnsureOutcome::Reused), "{reports:?}");
    assert_eq!(std::fs::read(reopened.path()).unwrap(), before, "a reuse rewrote the file");
    assert_eq!(reopened.feature_views(), registry.feature_views());
}

#[test]
fn changed_cron_updates_in_place_and_keeps_create_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    let mut registry = Registry::open(dir.path()).unwrap();
    registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();
    let created = registry.feature_views()[0].create_time.clone();

    config.featurestore.feature_view.cron = "*/5 * * * *".into();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let reports = registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    assert_eq!(outcomes(&reports, "FeatureView"), [EnsureOutcome::Updated]);
    let view = &registry.feature_views()[0];
    assert_eq!(view.sync_cron, "*/5 * * * *");
    assert_eq!(view.create_time, created);
    assert_ne!(view.update_time, created);
}

#[test]
fn changed_type_or_source_replaces_and_dropped_feature_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    let mut registry = Registry::open(dir.path()).unwrap();
    registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    config.featurestore.features[0].value_type = FeatureType::Float64;
    let dropped = config.featurestore.features.pop().unwrap();
    config.featurestore.feature_group.source_table = "features_v2".into();
    let reports = registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    assert_eq!(outcomes(&reports, "FeatureGroup"), [EnsureOutcome::Replaced]);
    assert_eq!(outcomes(&reports, "FeatureView"), [EnsureOutcome::Replaced]);
    let features = outcomes(&reports, "Feature");
    assert_eq!(features.iter().filter(|o| **o == EnsureOutcome::Replaced).count(), 1);
    assert_eq!(features.iter().filter(|o| **o == EnsureOutcome::Deleted).count(), 1);
    assert!(registry.features().iter().all(|f| !f.name.ends_with(&dropped.name)));
}

#[test]
fn recreate_replaces_everything() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let mut registry = Registry::open(dir.path()).unwrap();
    registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();

    let reports = registry.ensure(&config.featurestore, &names(), "fsdemo", true).unwrap();

    assert!(reports.iter().all(|r| r.outcome == EnsureOutcome::Replaced), "{reports:?}");
}

#[test]
fn bad_cron_is_rejected_naming_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.featurestore.feature_view.cron = "every day".into();
    let mut registry = Registry::open(dir.path()).unwrap();

    let err = registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap_err();

    let text = err.to_string();
    assert!(
        text.contains("featureViews/customer_view") && text.contains("featurestore.yaml"),
        "{text}"
    );
    assert!(!registry.path().exists());
}

#[test]
fn corrupt_file_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(REGISTRY_FILE), "{\"featureViews\": [").unwrap();

    let err = Registry::open(dir.path()).unwrap_err().to_string();

    assert!(err.contains("registry.json") && err.contains("move the file away"), "{err}");
}

#[test]
fn plan_says_what_ensure_will_do_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let mut registry = Registry::open(dir.path()).unwrap();

    let planned = registry.plan(&config.featurestore, &names(), "fsdemo", false).unwrap();

    assert!(!registry.path().exists(), "plan wrote the registry file");
    assert!(registry.feature_views().is_empty());
    let done = registry.ensure(&config.featurestore, &names(), "fsdemo", false).unwrap();
    let kinds =
        |r: &[EnsureReport]| r.iter().map(|r| (r.name.clone(), r.outcome)).collect::<Vec<_>>();
    assert_eq!(kinds(&planned), kinds(&done));
    let again = registry.plan(&config.featurestore, &names(), "fsdemo", true).unwrap();
    assert!(again.iter().all(|r| r.outcome == EnsureOutcome::Replaced));
    assert_eq!(registry.feature_views().len(), 1);
}
