//! The feature store: first run creates, second reuses, a changed cron is patched,
//! `recreate` replaces; syncs that finish on a later poll; online fetches through
//! `fsdemo_serving::VertexClient` with the bearer token.

use fsdemo_core::FeatureValue;
use fsdemo_gcp::{EnsureOutcome, GcpError};
use fsdemo_gcp_fake::Fault;
use fsdemo_serving::DataFormat;

use crate::common::{build_tables, calls, env, TOKEN};

const STORE: &str = "projects/demo-project/locations/us-central1/featureOnlineStores/fsdemo_store";
const GROUP: &str = "projects/demo-project/locations/us-central1/featureGroups/customer_features";
const VIEW: &str = concat!(
    "projects/demo-project/locations/us-central1/featureOnlineStores/fsdemo_store",
    "/featureViews/customer_view"
);

#[tokio::test]
async fn first_run_creates_second_reuses_and_recreate_replaces() {
    let env = env(&[]).await;
    env.fake.set_operation_polls(3);
    build_tables(&env).await;
    env.fake.clear_requests();

    let first = env.gcp.ensure_feature_store(false).await.unwrap();

    let kinds: Vec<(&str, &str, EnsureOutcome)> =
        first.iter().map(|r| (r.kind.as_str(), r.name.as_str(), r.outcome)).collect();
    assert_eq!(kinds.len(), 9, "store, group, six features, view: {kinds:?}");
    assert_eq!(kinds[0], ("FeatureOnlineStore", STORE, EnsureOutcome::Created));
    assert_eq!(kinds[1], ("FeatureGroup", GROUP, EnsureOutcome::Created));
    assert_eq!(
        kinds[2],
        ("Feature", &*format!("{GROUP}/features/orders_7d"), EnsureOutcome::Created)
    );
    assert_eq!(kinds[8], ("FeatureView", VIEW, EnsureOutcome::Created));
    let polls = env.fake.method_ids().iter().filter(|m| *m == "aiplatform.operations.get").count();
    assert_eq!(polls, 9 * 3, "each of the nine operations finishes on its third poll");

    let requests = env.fake.requests();
    let body = |method: &str| {
        requests.iter().find(|r| r.method_id == method).unwrap().body.clone().unwrap()
    };
    let store = body("aiplatform.featureOnlineStores.create");
    assert_eq!(store["bigtable"]["autoScaling"]["minNodeCount"], 1);
    assert_eq!(store["bigtable"]["autoScaling"]["maxNodeCount"], 1);
    let group = body("aiplatform.featureGroups.create");
    assert_eq!(group["bigQuery"]["dense"], true, "serving must return the whole latest row");
    assert_eq!(
        group["bigQuery"]["bigQuerySource"]["inputUri"],
        "bq://demo-project.fsdemo.features_customer"
    );
    assert_eq!(group["bigQuery"]["entityIdColumns"], serde_json::json!(["customer_id"]));
    assert_eq!(group["bigQuery"]["timeSeries"]["timestampColumn"], "feature_timestamp");
    let view = body("aiplatform.featureViews.create");
    assert_eq!(
        view["featureRegistrySource"]["featureGroups"][0]["featureIds"][5],
        "distinct_products_30d"
    );
    assert_eq!(view["syncConfig"]["cron"], "TZ=UTC 0 3 * * *");

    env.fake.clear_requests();
    let second = env.gcp.ensure_feature_store(false).await.unwrap();

    assert!(second.iter().all(|r| r.outcome == EnsureOutcome::Reused), "{second:?}");
    assert!(
        calls(&env).iter().all(|m| m.ends_with(".get")),
        "a rerun only reads: {:?}",
        calls(&env)
    );

    let recreated = env.gcp.ensure_feature_store(true).await.unwrap();

    assert!(recreated.iter().all(|r| r.outcome == EnsureOutcome::Replaced), "{recreated:?}");
    let resources = env.fake.vertex_resources();
    assert!(resources.contains(&VIEW.to_string()) && resources.len() == 9, "{resources:?}");
}

#[tokio::test]
async fn a_changed_cron_is_patched_in_place() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    let changed =
        crate::common::config(&env.fake, &["featurestore.feature_view.cron=*/30 * * * *"]);

    let reports = crate::common::client(&changed).ensure_feature_store(false).await.unwrap();

    assert_eq!(reports.last().unwrap().outcome, EnsureOutcome::Updated);
    let patch = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.featureViews.patch")
        .unwrap();
    assert_eq!(patch.query, "updateMask=syncConfig.cron");
    assert_eq!(patch.body.unwrap()["syncConfig"]["cron"], "TZ=UTC */30 * * * *");
}

#[tokio::test]
async fn a_409_on_create_is_reuse() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.fake.fail_times("aiplatform.featureViews.create", Fault::AlreadyExists, 1);

    let reports = env.gcp.ensure_feature_store(false).await.unwrap();

    assert_eq!(reports.last().unwrap().outcome, EnsureOutcome::Reused);
    assert_eq!(reports[0].outcome, EnsureOutcome::Created);
}

#[tokio::test]
async fn sync_finishes_on_a_later_poll_and_fetch_serves_the_latest_rows() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    env.fake.set_sync_polls(4);
    env.fake.clear_requests();

    let sync = env.gcp.sync(true).await.unwrap();

    assert!(sync.succeeded(), "{sync:?}");
    assert_eq!(sync.rows_synced(), Some(2));
    assert!(sync.name.starts_with(&format!("{VIEW}/featureViewSyncs/")));
    let gets =
        env.fake.method_ids().iter().filter(|m| *m == "aiplatform.featureViewSyncs.get").count();
    assert!(gets >= 4, "the sync ends on its fourth poll, got {gets}");
    let sql = env.engine.executed().into_iter().find(|s| s.contains("ROW_NUMBER()")).unwrap();
    assert!(sql.contains("PARTITION BY customer_id ORDER BY feature_timestamp DESC"), "{sql}");

    let client = env.gcp.online_client().await.unwrap();
    let fetched = client
        .fetch_feature_values(&env.gcp.feature_view_name(), "1501", DataFormat::KeyValue)
        .await
        .unwrap();

    assert_eq!(fetched.get("orders_7d"), Some(FeatureValue::Int64(1)));
    assert_eq!(fetched.get("avg_order_value_30d"), None, "a NULL stays NULL");
    assert_eq!(fetched.feature_timestamp, Some(1_709_769_600_000_000));
    let proto = client
        .fetch_feature_values(&env.gcp.feature_view_name(), "1502", DataFormat::ProtoStruct)
        .await
        .unwrap();
    assert_eq!(proto.get("revenue_30d"), Some(FeatureValue::Float64(120.5)));
    let fetch = env
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.method_id.ends_with("fetchFeatureValues"))
        .unwrap();
    assert_eq!(fetch.bearer_token.as_deref(), Some(TOKEN));

    let unknown =
        client.fetch_feature_values(&env.gcp.feature_view_name(), "9", DataFormat::KeyValue).await;
    assert!(unknown.unwrap_err().is_not_found());
}

#[tokio::test]
async fn sync_without_wait_returns_the_running_sync() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    env.fake.set_sync_polls(5);

    let sync = env.gcp.sync(false).await.unwrap();

    assert!(!sync.is_done(), "{sync:?}");
}

#[tokio::test]
async fn a_failed_sync_names_the_source_table() {
    let env = env(&["featurestore.feature_group.source_table=features_v2"]).await;
    env.gcp.ensure_dataset().await.unwrap();
    let table = "demo-project.fsdemo.features_v2";
    let sql = format!("CREATE OR REPLACE TABLE `{table}` AS SELECT 1 AS customer_id");
    env.gcp.run_statement("build features_v2", &sql, Some(table)).await.unwrap();
    env.gcp.ensure_feature_store(false).await.unwrap();

    let error = env.gcp.sync(true).await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::Sync { code: 3, .. }), "{text}");
    assert!(text.contains("bq://demo-project.fsdemo.features_v2"), "{text}");
}

#[tokio::test]
async fn a_403_while_polling_a_sync_names_the_permission() {
    let env = env(&[]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    env.fake.fail_times("aiplatform.featureViewSyncs.get", Fault::PermissionDenied, 1);

    let error = env.gcp.sync(true).await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::PermissionDenied { .. }), "{text}");
    assert!(
        text.contains("aiplatform.featureViewSyncs.get") && text.contains("roles/aiplatform.user"),
        "{text}"
    );
}

#[tokio::test]
async fn optimized_serving_fetches_from_the_stores_public_endpoint() {
    let env = env(&["gcp.online_serving=optimized"]).await;
    build_tables(&env).await;
    env.gcp.ensure_feature_store(false).await.unwrap();
    env.gcp.sync(true).await.unwrap();

    let base = env.gcp.online_base_url().await.unwrap();

    assert_eq!(base, env.fake.urls().aiplatform, "the fake serves the store's endpoint domain");
    let store = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.featureOnlineStores.create")
        .unwrap();
    assert_eq!(store.body.unwrap()["optimized"], serde_json::json!({}));
    let client = env.gcp.online_client().await.unwrap();
    let fetched = client
        .fetch_feature_values(&env.gcp.feature_view_name(), "1502", DataFormat::KeyValue)
        .await
        .unwrap();
    assert_eq!(fetched.get("orders_30d"), Some(FeatureValue::Int64(3)));
}

#[tokio::test]
async fn a_feature_view_service_account_comes_with_its_grant() {
    let env = env(&["gcp.feature_view_service_account=true"]).await;
    build_tables(&env).await;

    env.gcp.ensure_feature_store(false).await.unwrap();
    let grant = env.gcp.feature_view_grant().await.unwrap().unwrap();

    assert!(
        grant.contains("roles/bigquery.dataViewer") && grant.contains("demo-project.fsdemo"),
        "{grant}"
    );
    assert!(grant.contains("serviceAccount:service-"), "{grant}");
    let view = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method_id == "aiplatform.featureViews.create")
        .unwrap();
    assert_eq!(view.body.unwrap()["serviceAgentType"], "SERVICE_AGENT_TYPE_FEATURE_VIEW");
}
