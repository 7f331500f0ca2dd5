//! The model: upload under a sha256 path, deploy with all the traffic, reuse on a rerun,
//! a new version replaces the old deployment, and predict through `VertexClient`.

use fsdemo_gcp::EnsureOutcome;

use crate::common::{calls, env, save_model};

#[tokio::test]
async fn upload_and_deploy_then_reuse_then_a_new_version_replaces() {
    let env = env(&[]).await;
    env.fake.set_operation_polls(2);
    let dir = tempfile::tempdir().unwrap();
    let trained = save_model(&env.config, dir.path(), 0.0);
    let sha256 = fsdemo_training::artifact::read_meta(dir.path()).unwrap().sha256;

    let upload = env.gcp.upload_model(dir.path()).await.unwrap();

    assert_eq!((upload.outcome, upload.bucket), (EnsureOutcome::Created, EnsureOutcome::Created));
    assert_eq!(upload.version_id, "1");
    assert_eq!(
        upload.artifact_uri,
        format!("gs://demo-project-fsdemo/models/repurchase_14d/{sha256}/")
    );
    let stored = env
        .fake
        .object("demo-project-fsdemo", &format!("models/repurchase_14d/{sha256}/model.bst"));
    assert_eq!(stored.unwrap(), std::fs::read(dir.path().join("model.bst")).unwrap());
    let request = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.models.upload")
        .unwrap();
    let body = request.body.unwrap();
    assert_eq!(body["modelId"], "repurchase_14d");
    assert_eq!(body["model"]["containerSpec"]["imageUri"], env.config.gcp.serving_container_image);
    assert_eq!(body["model"]["labels"]["sha256"], sha256[..63]);

    env.fake.clear_requests();
    let again = env.gcp.upload_model(dir.path()).await.unwrap();

    assert_eq!((again.outcome, again.version_id.as_str()), (EnsureOutcome::Reused, "1"));
    assert_eq!(calls(&env), ["aiplatform.models.listVersions"], "a reused version uploads nothing");

    let deploy = env.gcp.deploy().await.unwrap();

    assert_eq!(
        (deploy.outcome, deploy.endpoint_outcome),
        (EnsureOutcome::Created, EnsureOutcome::Created)
    );
    assert_eq!(
        deploy.endpoint,
        "projects/demo-project/locations/us-central1/endpoints/repurchase-endpoint"
    );
    let request = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.endpoints.deployModel")
        .unwrap();
    let body = request.body.unwrap();
    assert_eq!(body["trafficSplit"]["0"], 100);
    assert_eq!(
        body["deployedModel"]["dedicatedResources"]["machineSpec"]["machineType"],
        "n1-standard-2"
    );
    assert!(body["deployedModel"]["model"].as_str().unwrap().ends_with("/models/repurchase_14d@1"));

    env.fake.clear_requests();
    let redeploy = env.gcp.deploy().await.unwrap();

    assert_eq!(
        (redeploy.outcome, redeploy.endpoint_outcome),
        (EnsureOutcome::Reused, EnsureOutcome::Reused)
    );
    assert_eq!(redeploy.deployed_model_id, deploy.deployed_model_id);
    assert!(calls(&env).iter().all(|m| !m.contains("deployModel")), "{:?}", calls(&env));

    let instances = [[1.0, 3.0, 90.0, 30.0, 5.0, 3.0], [0.0, 0.0, 0.0, 0.0, 3650.0, 0.0]];
    let client = env.gcp.prediction_client().await.unwrap();
    let prediction = client.predict(&deploy.endpoint, &instances).await.unwrap();

    assert_eq!(prediction.deployed_model_id, deploy.deployed_model_id);
    let request =
        env.fake.requests().into_iter().rfind(|r| r.method_id.ends_with("predict")).unwrap();
    assert_eq!(request.bearer_token.as_deref(), Some(crate::common::TOKEN));
    for (got, instance) in prediction.predictions.iter().zip(&instances) {
        assert!((got - trained.model.predict(instance)).abs() < 1e-12, "{got}");
    }

    let newer = tempfile::tempdir().unwrap();
    save_model(&env.config, newer.path(), 25.0);
    let second = env.gcp.upload_model(newer.path()).await.unwrap();
    let replaced = env.gcp.deploy().await.unwrap();

    assert_eq!((second.outcome, second.version_id.as_str()), (EnsureOutcome::Created, "2"));
    let upload = env
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.method_id == "aiplatform.models.upload")
        .unwrap();
    assert!(upload.body.unwrap()["parentModel"]
        .as_str()
        .unwrap()
        .ends_with("/models/repurchase_14d"));
    assert_eq!(replaced.outcome, EnsureOutcome::Replaced);
    assert_eq!(replaced.model_version_id, "2");
    assert_eq!(replaced.undeployed, std::slice::from_ref(&deploy.deployed_model_id));
    let prediction = client.predict(&deploy.endpoint, &instances).await.unwrap();
    assert_eq!(prediction.deployed_model_id, replaced.deployed_model_id);
}

#[tokio::test]
async fn deploy_before_upload_says_to_upload_first() {
    let env = env(&[]).await;

    let error = env.gcp.deploy().await.unwrap_err().to_string();

    assert!(
        error.contains("projects/demo-project/locations/us-central1/models/repurchase_14d"),
        "{error}"
    );
    assert!(error.contains("run the model upload first"), "{error}");
}

#[tokio::test]
async fn a_tampered_artifact_is_refused_before_any_upload() {
    let env = env(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    save_model(&env.config, dir.path(), 0.0);
    std::fs::write(dir.path().join("model.bst"), b"{}").unwrap();

    let error = env.gcp.upload_model(dir.path()).await.unwrap_err().to_string();

    assert!(error.starts_with("upload model: the model artifact in"), "{error}");
    assert!(env.fake.requests().is_empty());
}
