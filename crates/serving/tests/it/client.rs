//! The client against the service on a real loopback socket: each method's happy path,
//! the 404 and 400 paths as typed errors, a refused connection, and a graceful stop.

use std::net::SocketAddr;

use fsdemo_core::FeatureValue;
use fsdemo_serving::{ClientError, DataFormat, Server, VertexClient};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fakes::{self, DEPLOYED_MODEL_ID, ENDPOINT, SNAPSHOT, VIEW};

/// A running service on `127.0.0.1:0`, stopped by dropping or sending on `stop`.
struct Running {
    client: VertexClient,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), fsdemo_serving::ServeError>>,
}

async fn start() -> Running {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Server::bind(addr, fakes::state()).await.unwrap();
    let client = VertexClient::new(server.base_url()).unwrap();

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        stopped.await.ok();
    }));
    Running { client, stop, task }
}

#[tokio::test]
async fn fetch_reads_both_formats_alike() {
    let service = start().await;

    let key_value =
        service.client.fetch_feature_values(VIEW, "1501", DataFormat::KeyValue).await.unwrap();
    let proto_struct =
        service.client.fetch_feature_values(VIEW, "1501", DataFormat::ProtoStruct).await.unwrap();

    assert_eq!(key_value.get("orders_7d"), Some(FeatureValue::Int64(1)));
    assert_eq!(key_value.get("revenue_30d"), Some(FeatureValue::Float64(40.0)));
    assert_eq!(key_value.feature_timestamp, Some(SNAPSHOT));
    assert_eq!(key_value.model_input(), proto_struct.model_input());
    assert_eq!(proto_struct.feature_timestamp, Some(SNAPSHOT));
}

#[tokio::test]
async fn fetched_nulls_are_filled_by_the_shared_rule() {
    let service = start().await;

    let fetched = service.client.fetch_feature_values(VIEW, "7", DataFormat::KeyValue).await;

    let fetched = fetched.unwrap();
    assert_eq!(fetched.get("days_since_last_order"), None);
    assert_eq!(fetched.model_input()[4], fsdemo_core::features::NEVER_ORDERED_DAYS);
}

#[tokio::test]
async fn unknown_customer_is_a_not_found_error_naming_the_key() {
    let service = start().await;

    let error = service
        .client
        .fetch_feature_values(VIEW, "424242", DataFormat::KeyValue)
        .await
        .unwrap_err();

    assert!(error.is_not_found(), "{error}");
    let ClientError::Api { status, message, url, .. } = &error else { panic!("{error:?}") };
    assert_eq!(status, "NOT_FOUND");
    assert!(message.contains("424242") && message.contains(VIEW), "{message}");
    assert!(url.ends_with(&format!("/v1/{VIEW}:fetchFeatureValues")), "{url}");
}

#[tokio::test]
async fn bad_key_is_a_400_error() {
    let service = start().await;

    let error =
        service.client.fetch_feature_values(VIEW, "abc", DataFormat::KeyValue).await.unwrap_err();

    assert_eq!(error.http_status(), Some(400), "{error}");
    assert!(error.to_string().contains("dataKey.key"), "{error}");
}

#[tokio::test]
async fn predict_returns_probabilities_and_the_deployed_model() {
    let service = start().await;

    let prediction =
        service.client.predict(ENDPOINT, &[[1.0, 3.0, 90.0, 30.0, 2.0, 4.0]]).await.unwrap();

    assert_eq!(prediction.predictions, vec![0.75]);
    assert_eq!(prediction.deployed_model_id, DEPLOYED_MODEL_ID);
}

#[tokio::test]
async fn sync_started_by_the_client_can_be_read_back() {
    let service = start().await;

    let name = service.client.start_sync(VIEW).await.unwrap();
    let sync = service.client.get_sync(&name).await.unwrap();

    assert_eq!(sync.name, name);
    assert!(sync.succeeded());
    assert_eq!(sync.rows_synced(), Some(2));
}

#[tokio::test]
async fn refused_connection_is_a_transport_error_naming_the_url() {
    // Bind and drop a listener to get a port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = VertexClient::new(format!("http://127.0.0.1:{port}")).unwrap();

    let error = client.get_sync(&format!("{VIEW}/featureViewSyncs/1")).await.unwrap_err();

    assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}/v1/")), "{error}");
}

#[tokio::test]
async fn service_stops_gracefully_when_asked() {
    let service = start().await;
    service.client.start_sync(VIEW).await.unwrap();

    service.stop.send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), service.task).await;

    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}

#[tokio::test]
async fn entity_ids_and_health_come_from_the_running_service() {
    let service = start().await;

    let ids = service.client.entity_ids(VIEW, 10).await.unwrap();
    let healthy = service.client.healthy().await;
    let _ = service.stop.send(());
    service.task.await.unwrap().unwrap();
    let gone = service.client.healthy().await;

    assert_eq!(ids, vec![7, 1501]);
    assert!(healthy && !gone);
}
