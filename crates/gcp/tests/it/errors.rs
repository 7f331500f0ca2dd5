//! Error paths: each failure names the step, the resource's full name and what to do.

use std::time::Duration;

use fsdemo_gcp::{Gcp, GcpError, StaticToken};
use fsdemo_gcp_fake::Fault;

use crate::common::{build_tables, env, FEATURES, ORDERS};

#[tokio::test]
async fn a_403_names_the_permission_and_the_role() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.fake.fail("aiplatform.featureOnlineStores.create", Fault::PermissionDenied);

    let error = env.gcp.ensure_feature_store(false).await.unwrap_err();

    let GcpError::PermissionDenied { permission, role, ref resource, .. } = error else {
        panic!("{error}")
    };
    assert_eq!(permission, "aiplatform.featureOnlineStores.create");
    assert_eq!(role, "roles/aiplatform.user");
    assert_eq!(
        resource,
        "projects/demo-project/locations/us-central1/featureOnlineStores/fsdemo_store"
    );
    let text = error.to_string();
    assert!(
        text.starts_with("ensure feature store: permission aiplatform.featureOnlineStores.create"),
        "{text}"
    );
    assert!(text.contains("on project demo-project"), "{text}");
}

#[tokio::test]
async fn a_404_names_the_missing_resource() {
    let env = env(&[]).await;
    env.gcp.ensure_dataset().await.unwrap();
    env.fake.fail("bigquery.tables.get", Fault::NotFound);
    let sql = format!("CREATE OR REPLACE TABLE `{FEATURES}` AS SELECT * FROM `{ORDERS}`");

    let error =
        env.gcp.run_statement("build features_customer", &sql, Some(FEATURES)).await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::NotFound { .. }), "{text}");
    assert!(
        text.starts_with(&format!("build features_customer: {FEATURES} does not exist")),
        "{text}"
    );
}

#[tokio::test]
async fn syncing_a_view_that_does_not_exist_names_the_view() {
    let env = env(&[]).await;

    let error = env.gcp.sync(true).await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::NotFound { .. }), "{text}");
    assert!(
        text.contains(&env.gcp.feature_view_name()) && text.contains("project.location"),
        "{text}"
    );
}

#[tokio::test]
async fn an_operation_that_never_finishes_hits_the_deadline() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.fake.set_operation_polls(u32::MAX);
    let gcp = env.gcp.clone().with_timing(Duration::from_millis(5), Duration::from_millis(200));

    let started = std::time::Instant::now();
    let error = gcp.ensure_feature_store(false).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(5));
    let text = error.to_string();
    let GcpError::Timeout { ref operation, ref resource, .. } = error else { panic!("{text}") };
    assert!(operation.starts_with(&format!("{resource}/operations/")), "{text}");
    assert!(text.contains("gcp.operation_timeout_secs") && text.contains("fsdemo_store"), "{text}");
    let polls = env.fake.method_ids().iter().filter(|m| *m == "aiplatform.operations.get").count();
    assert!(polls > 5, "polled {polls} times");
}

#[tokio::test]
async fn a_disabled_api_says_how_to_enable_it() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.fake.disable_service("aiplatform.googleapis.com");

    let error = env.gcp.ensure_feature_store(false).await.unwrap_err().to_string();

    assert!(
        error.contains("gcloud services enable aiplatform.googleapis.com --project demo-project"),
        "{error}"
    );
}

#[tokio::test]
async fn rejected_credentials_say_how_to_log_in() {
    let env = env(&[]).await;
    let tokens = std::sync::Arc::new(StaticToken::new("stale", "the test"));
    let gcp = Gcp::with_token_source(&env.config, tokens).unwrap();

    let error = gcp.ensure_dataset().await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::Unauthenticated { .. }), "{text}");
    assert!(text.contains("gcloud auth application-default login"), "{text}");
}

#[tokio::test]
async fn a_local_project_id_is_refused_with_the_key_to_set() {
    let env = env(&[]).await;
    let config = crate::common::config(&env.fake, &["project.id=local"]);
    let tokens = std::sync::Arc::new(StaticToken::new("t", "the test"));

    let error = Gcp::with_token_source(&config, tokens).unwrap_err().to_string();

    assert!(error.contains("project.id") && error.contains("--set project.id="), "{error}");
}

#[tokio::test]
async fn connect_takes_the_token_from_the_environment() {
    let env = env(&[]).await;
    // Set before connect reads it, so no Application Default Credentials lookup (and no
    // metadata server request) happens.
    std::env::set_var(fsdemo_gcp::TOKEN_ENV, crate::common::TOKEN);

    let gcp = Gcp::connect(&env.config).await.unwrap();

    assert_eq!(gcp.access_token().await.unwrap(), crate::common::TOKEN);
    let report = gcp.ensure_dataset().await.unwrap();
    assert_eq!(report.outcome, fsdemo_gcp::EnsureOutcome::Created);
    let lines = gcp.doctor().await;
    let credentials = lines.iter().find(|l| l.check == "credentials").unwrap();
    assert!(
        credentials.ok && credentials.detail.contains("FSDEMO_GCP_ACCESS_TOKEN"),
        "{credentials:?}"
    );
}
