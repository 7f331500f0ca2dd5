//! Upload, deploy and the serving loader against a temporary registry directory.

use std::path::Path;
use std::sync::Arc;

use fsdemo_core::config::TrainingConfig;
use fsdemo_core::ResourceNames;

use super::*;
use crate::artifact::save;
use crate::fit::tests::{config, synthetic_rows};
use crate::fit::train;

fn registry(root: &Path) -> Registry {
    Registry::open(root.join("registry"), ResourceNames::new("demo", "local"))
}

/// Trains and saves a model into `dir`; `l2` makes different artifacts.
fn artifact(dir: &Path, l2: f64) -> String {
    let config = TrainingConfig { l2, ..config() };
    save(&train(&synthetic_rows(1_000), &config).unwrap(), dir).unwrap().sha256
}

#[test]
fn upload_creates_version_one_then_reuses_it_for_the_same_artifact() {
    let root = tempfile::tempdir().unwrap();
    let registry = registry(root.path());
    let artifact_dir = root.path().join("artifact");
    let sha = artifact(&artifact_dir, 1.0);

    let first = registry.upload(&config().model, &artifact_dir).unwrap();
    let again = registry.upload(&config().model, &artifact_dir).unwrap();

    assert_eq!(first.model, "projects/demo/locations/local/models/repurchase_14d");
    assert_eq!((first.outcome, first.version.version_id.as_str()), (Outcome::Created, "1"));
    assert_eq!(first.version.sha256, sha);
    assert_eq!(again.outcome, Outcome::Reused);
    assert_eq!(registry.model("repurchase_14d").unwrap().unwrap().versions.len(), 1);
}

/// Regression: a version must not point at the training output directory, or the next
/// training run would silently change what version 1 serves.
#[test]
fn retraining_into_the_same_directory_adds_version_two_and_keeps_version_one() {
    let root = tempfile::tempdir().unwrap();
    let registry = registry(root.path());
    let artifact_dir = root.path().join("artifact");
    let first_sha = artifact(&artifact_dir, 1.0);
    let first = registry.upload(&config().model, &artifact_dir).unwrap().version;

    artifact(&artifact_dir, 50.0);
    let second = registry.upload(&config().model, &artifact_dir).unwrap();

    assert_eq!((second.outcome, second.version.version_id.as_str()), (Outcome::Created, "2"));
    let kept = crate::artifact::read_meta(Path::new(&first.artifact_uri)).unwrap();
    assert_eq!(kept.sha256, first_sha);
    crate::artifact::load(Path::new(&first.artifact_uri)).unwrap();
}

#[test]
fn deploy_creates_the_endpoint_then_reuses_then_replaces() {
    let root = tempfile::tempdir().unwrap();
    let registry = registry(root.path());
    let artifact_dir = root.path().join("artifact");
    artifact(&artifact_dir, 1.0);
    registry.upload(&config().model, &artifact_dir).unwrap();
    let endpoint = config().endpoint;

    let first = registry.deploy(&endpoint, "repurchase_14d").unwrap();
    let same = registry.deploy(&endpoint, "repurchase_14d").unwrap();
    artifact(&artifact_dir, 50.0);
    registry.upload(&config().model, &artifact_dir).unwrap();
    let newer = registry.deploy(&endpoint, "repurchase_14d").unwrap();

    assert_eq!((first.endpoint_outcome, first.outcome), (Outcome::Created, Outcome::Created));
    assert_eq!(first.endpoint.name, "projects/demo/locations/local/endpoints/repurchase_endpoint");
    assert_eq!((same.outcome, same.endpoint.generation), (Outcome::Reused, 1));
    assert_eq!((newer.endpoint_outcome, newer.outcome), (Outcome::Reused, Outcome::Replaced));
    assert_eq!(newer.replaced, vec![first.deployed_model.clone()]);
    assert_eq!(newer.deployed_model.model_version_id, "2");
    assert_eq!(newer.endpoint.deployed_models.len(), 1);
    assert_eq!(newer.endpoint.traffic_split.get(&newer.deployed_model.id), Some(&100));
    assert_ne!(newer.deployed_model.id, first.deployed_model.id);
}

#[test]
fn deploy_before_upload_says_to_upload_first() {
    let root = tempfile::tempdir().unwrap();

    let error = registry(root.path()).deploy(&config().endpoint, "repurchase_14d").unwrap_err();

    assert!(matches!(error, RegistryError::ModelNotFound { .. }));
    assert!(error.to_string().contains("run the upload step"), "{error}");
}

#[test]
fn loader_notices_a_new_deployment_without_restart() {
    let root = tempfile::tempdir().unwrap();
    let registry = registry(root.path());
    let artifact_dir = root.path().join("artifact");
    artifact(&artifact_dir, 1.0);
    registry.upload(&config().model, &artifact_dir).unwrap();
    let first = registry.deploy(&config().endpoint, "repurchase_14d").unwrap();
    let loader = DeployedModelLoader::new(registry.root(), &first.endpoint.name).unwrap();

    let before = loader.current().unwrap();
    let cached = loader.current().unwrap();
    artifact(&artifact_dir, 50.0);
    registry.upload(&config().model, &artifact_dir).unwrap();
    registry.deploy(&config().endpoint, "repurchase_14d").unwrap();
    let after = loader.current().unwrap();

    assert!(Arc::ptr_eq(&before, &cached), "an unchanged endpoint is not reloaded");
    assert_eq!((before.model_version_id.as_str(), before.deployed_model_id.as_str()), ("1", "1"));
    assert_eq!((after.model_version_id.as_str(), after.generation), ("2", 2));
    assert_ne!(before.model, after.model);
}

#[test]
fn loader_reports_missing_endpoints_and_bad_names() {
    let root = tempfile::tempdir().unwrap();
    let name = "projects/demo/locations/local/endpoints/nowhere";

    let missing = DeployedModelLoader::new(root.path(), name).unwrap().current().unwrap_err();
    let bad = DeployedModelLoader::new(root.path(), "endpoints/nowhere").unwrap_err();

    assert!(matches!(missing, RegistryError::NothingDeployed { .. }), "{missing}");
    assert!(matches!(bad, RegistryError::BadEndpointName { .. }), "{bad}");
}

#[test]
fn loader_refuses_an_endpoint_of_another_project() {
    let root = tempfile::tempdir().unwrap();
    let registry = registry(root.path());
    let artifact_dir = root.path().join("artifact");
    artifact(&artifact_dir, 1.0);
    registry.upload(&config().model, &artifact_dir).unwrap();
    registry.deploy(&config().endpoint, "repurchase_14d").unwrap();
    let other = "projects/other/locations/local/endpoints/repurchase_endpoint";

    let error = DeployedModelLoader::new(registry.root(), other).unwrap().current().unwrap_err();

    assert!(matches!(error, RegistryError::WrongResource { .. }), "{error}");
}
