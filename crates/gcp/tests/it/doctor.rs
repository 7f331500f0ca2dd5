//! doctor (all ok, a denied permission, a failing testIamPermissions, a disabled API) and
//! teardown (deletes everything, then says already gone).

use fsdemo_gcp::TeardownOutcome;
use fsdemo_gcp_fake::Fault;

use crate::common::{build_tables, env, save_model};

#[tokio::test]
async fn doctor_is_all_ok_on_a_ready_project() {
    let env = env(&[]).await;

    let lines = env.gcp.doctor().await;

    assert!(lines.iter().all(|l| l.ok), "{lines:#?}");
    let checks: Vec<&str> = lines.iter().map(|l| l.check.as_str()).collect();
    assert!(
        checks.contains(&"API aiplatform.googleapis.com")
            && checks.contains(&"permissions for feature store"),
        "{checks:?}"
    );
    assert!(
        checks.contains(&"bucket gs://demo-project-fsdemo") && checks.contains(&"locations"),
        "{checks:?}"
    );
    let test = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id.ends_with("testIamPermissions"))
        .unwrap();
    let asked = test.body.unwrap()["permissions"].as_array().unwrap().len();
    assert!(asked > 30 && asked <= 100, "{asked}");
}

#[tokio::test]
async fn doctor_names_what_to_grant_and_what_to_enable() {
    let env = env(&[]).await;
    env.fake.deny_permission("aiplatform.featureOnlineStores.create");
    env.fake.deny_permission("bigquery.jobs.create");
    env.fake.disable_service("aiplatform.googleapis.com");

    let lines = env.gcp.doctor().await;

    let line = |check: &str| {
        lines.iter().find(|l| l.check == check).unwrap_or_else(|| panic!("{check}: {lines:#?}"))
    };
    let store = line("permissions for feature store");
    assert!(
        !store.ok && store.detail.contains("aiplatform.featureOnlineStores.create"),
        "{store:?}"
    );
    assert!(store.detail.contains("grant roles/aiplatform.user"), "{store:?}");
    let tables = line("permissions for BigQuery tables");
    assert!(!tables.ok && tables.detail.contains("roles/bigquery.jobUser"), "{tables:?}");
    let api = line("API aiplatform.googleapis.com");
    assert!(
        !api.ok && api.detail.contains("gcloud services enable aiplatform.googleapis.com"),
        "{api:?}"
    );
    assert!(line("API bigquery.googleapis.com").ok && line("credentials").ok);
}

#[tokio::test]
async fn doctor_survives_a_403_on_test_iam_permissions() {
    let env = env(&[]).await;
    env.fake.fail("cloudresourcemanager.projects.testIamPermissions", Fault::PermissionDenied);

    let lines = env.gcp.doctor().await;

    let permissions = lines.iter().find(|l| l.check == "permissions").expect("a permissions line");
    assert!(!permissions.ok, "{permissions:?}");
    assert!(
        lines.iter().any(|l| l.check == "bucket gs://demo-project-fsdemo" && l.ok),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn doctor_reports_the_location_rule() {
    let env = env(&["gcp.bigquery_location=EU", "project.location=europe-west4"]).await;

    let lines = env.gcp.doctor().await;

    let locations = lines.iter().find(|l| l.check == "locations").unwrap();
    assert!(!locations.ok && locations.detail.contains("US multi-region"), "{locations:?}");
}

#[tokio::test]
async fn teardown_deletes_everything_then_finds_it_gone() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_model(&env.config, dir.path(), 0.0);
    env.gcp.upload_model(dir.path()).await.unwrap();
    env.gcp.deploy().await.unwrap();

    let kept = env.gcp.teardown(false).await.unwrap();

    let outcomes: Vec<(&str, TeardownOutcome)> =
        kept.iter().map(|l| (l.kind.as_str(), l.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            ("Endpoint", TeardownOutcome::Deleted),
            ("Model", TeardownOutcome::Deleted),
            ("FeatureView", TeardownOutcome::Deleted),
            ("FeatureGroup", TeardownOutcome::Deleted),
            ("FeatureOnlineStore", TeardownOutcome::Deleted),
            ("Dataset", TeardownOutcome::Kept),
            ("Bucket", TeardownOutcome::Kept),
        ]
    );
    assert!(env.fake.vertex_resources().is_empty(), "{:?}", env.fake.vertex_resources());
    assert!(env.fake.method_ids().contains(&"aiplatform.endpoints.undeployModel".to_string()));
    let group = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.featureGroups.delete")
        .unwrap();
    assert_eq!(group.query, "force=true");

    let again = env.gcp.teardown(true).await.unwrap();

    let gone: Vec<TeardownOutcome> = again.iter().map(|l| l.outcome).collect();
    assert_eq!(&gone[..5], [TeardownOutcome::AlreadyGone; 5]);
    assert_eq!(&gone[5..], [TeardownOutcome::Deleted; 2], "{again:?}");
    assert!(again[0].to_string().ends_with("already gone"), "{}", again[0]);
    assert!(env.fake.object("demo-project-fsdemo", "anything").is_none());

    let third = env.gcp.teardown(true).await.unwrap();
    assert!(third.iter().all(|l| l.outcome == TeardownOutcome::AlreadyGone), "{third:?}");
}
