//! The router without a socket: every route, and every way a caller can get it wrong,
//! answered with Google's error JSON and the right status.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::fakes::{self, BROKEN_VIEW, DEPLOYED_MODEL_ID, EMPTY_ENDPOINT, ENDPOINT, VIEW};

/// Sends one request and returns the status and the body as JSON (`Value::Null` if the
/// body is not JSON, which every assertion on an error then catches).
async fn send(
    app: &Router,
    method: Method,
    path: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();

    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    send(app, Method::POST, path, body.to_string()).await
}

fn fetch_path(view: &str) -> String {
    format!("/v1/{view}:fetchFeatureValues")
}

/// Asserts a Google error body with `status`, whose message contains every `needle`.
fn assert_google_error(answer: &(StatusCode, Value), status: StatusCode, needles: &[&str]) {
    let (code, body) = answer;
    assert_eq!(*code, status, "{body}");
    assert_eq!(body["error"]["code"], status.as_u16(), "{body}");
    assert!(body["error"]["status"].is_string(), "{body}");

    let message = body["error"]["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[tokio::test]
async fn fetch_key_value_returns_the_whole_row_with_nulls_as_no_value() {
    let app = fsdemo_serving::router(fakes::state());
    let body = json!({"dataKey": {"key": "7"}, "dataFormat": "KEY_VALUE"});

    let (status, answer) = post(&app, &fetch_path(VIEW), body).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    let expected = json!({"keyValues": {"features": [
        {"name": "orders_7d", "value": {"int64Value": "0"}},
        {"name": "orders_30d", "value": {"int64Value": "0"}},
        {"name": "revenue_30d", "value": {"doubleValue": 0.0}},
        {"name": "avg_order_value_30d"},
        {"name": "days_since_last_order"},
        {"name": "distinct_products_30d", "value": {"int64Value": "0"}},
        {"name": "feature_timestamp", "value": {"int64Value": fakes::SNAPSHOT.to_string()}},
    ]}});
    assert_eq!(answer, expected);
}

#[tokio::test]
async fn fetch_proto_struct_by_name_or_number() {
    let app = fsdemo_serving::router(fakes::state());

    for format in [json!("PROTO_STRUCT"), json!(2)] {
        let body = json!({"dataKey": {"key": "1501"}, "dataFormat": format});

        let (status, answer) = post(&app, &fetch_path(VIEW), body).await;

        assert_eq!(status, StatusCode::OK, "{answer}");
        let fields = &answer["protoStruct"];
        assert_eq!(fields["orders_7d"], 1);
        assert_eq!(fields["revenue_30d"], 40.0);
        assert_eq!(fields["feature_timestamp"], fakes::SNAPSHOT);
    }
}

#[tokio::test]
async fn string_and_number_keys_fetch_the_same_customer() {
    let app = fsdemo_serving::router(fakes::state());

    let text = post(&app, &fetch_path(VIEW), json!({"dataKey": {"key": "1501"}})).await;
    let number = post(&app, &fetch_path(VIEW), json!({"dataKey": {"key": 1501}})).await;

    assert_eq!(text.0, StatusCode::OK);
    assert_eq!(text, number);
}

#[tokio::test]
async fn bodies_that_are_not_requests_are_400_naming_the_field() {
    let app = fsdemo_serving::router(fakes::state());
    let path = fetch_path(VIEW);

    let not_json = send(&app, Method::POST, &path, "{\"dataKey\": ").await;
    assert_google_error(&not_json, StatusCode::BAD_REQUEST, &["Invalid JSON payload"]);

    let empty_body = send(&app, Method::POST, &path, "").await;
    assert_google_error(&empty_body, StatusCode::BAD_REQUEST, &["JSON object"]);

    let cases = [
        (json!({}), "dataKey"),
        (json!({"dataKey": {}}), "dataKey.key"),
        (json!({"dataKey": ["1501"]}), "dataKey"),
        (json!({"dataKey": {"key": {"id": 1501}}}), "dataKey.key"),
        (json!({"dataKey": {"key": [1501]}}), "dataKey.key"),
        (json!({"dataKey": {"key": "1501"}, "dataFormat": "XML"}), "dataFormat"),
    ];
    for (body, field) in cases {
        let answer = post(&app, &path, body).await;
        assert_google_error(&answer, StatusCode::BAD_REQUEST, &[field]);
        assert_eq!(answer.1["error"]["status"], "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn keys_that_are_not_integer_ids_are_400() {
    let app = fsdemo_serving::router(fakes::state());

    for key in ["abc", "1.5", "", " 1501", "99999999999999999999"] {
        let answer = post(&app, &fetch_path(VIEW), json!({"dataKey": {"key": key}})).await;

        assert_google_error(&answer, StatusCode::BAD_REQUEST, &["dataKey.key"]);
    }
}

#[tokio::test]
async fn unknown_view_is_404_naming_the_view() {
    let app = fsdemo_serving::router(fakes::state());
    let view = "projects/p/locations/local/featureOnlineStores/s/featureViews/nope";

    let answer = post(&app, &fetch_path(view), json!({"dataKey": {"key": "1501"}})).await;

    assert_google_error(&answer, StatusCode::NOT_FOUND, &[view]);
    assert_eq!(answer.1["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn malformed_view_name_is_404_showing_the_expected_form() {
    let app = fsdemo_serving::router(fakes::state());

    let answer = post(&app, "/v1/projects/p/featureViews/v:fetchFeatureValues", json!({})).await;

    assert_google_error(&answer, StatusCode::NOT_FOUND, &["featureView", "featureOnlineStores"]);
}

#[tokio::test]
async fn unknown_customer_is_404_naming_the_view_and_the_key() {
    let app = fsdemo_serving::router(fakes::state());

    let answer = post(&app, &fetch_path(VIEW), json!({"dataKey": {"key": "424242"}})).await;

    assert_google_error(&answer, StatusCode::NOT_FOUND, &[VIEW, "424242"]);
    assert_eq!(answer.1["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn unknown_verbs_and_paths_are_404_and_wrong_methods_405() {
    let app = fsdemo_serving::router(fakes::state());

    let verb = post(&app, &format!("/v1/{VIEW}:explode"), json!({})).await;
    assert_google_error(&verb, StatusCode::NOT_FOUND, &[":explode"]);

    let path = send(&app, Method::GET, "/v2/anything", "").await;
    assert_google_error(&path, StatusCode::NOT_FOUND, &[]);

    let get_fetch = send(&app, Method::GET, &fetch_path(VIEW), "").await;
    assert_google_error(&get_fetch, StatusCode::METHOD_NOT_ALLOWED, &["POST"]);

    let delete = send(&app, Method::DELETE, &fetch_path(VIEW), "").await;
    assert_google_error(&delete, StatusCode::METHOD_NOT_ALLOWED, &[]);

    let post_health = send(&app, Method::POST, "/healthz", "").await;
    assert_google_error(&post_health, StatusCode::METHOD_NOT_ALLOWED, &[]);

    let post_no_verb = post(&app, &format!("/v1/{VIEW}"), json!({})).await;
    assert_google_error(&post_no_verb, StatusCode::METHOD_NOT_ALLOWED, &[":fetchFeatureValues"]);
}

#[tokio::test]
async fn oversized_body_is_413_in_googles_shape_not_axums_text() {
    let app = fsdemo_serving::router(fakes::state());
    let huge = format!("{{\"dataKey\": {{\"key\": \"1\"}}, \"pad\": \"{}\"}}", "x".repeat(3 << 20));

    let answer = send(&app, Method::POST, &fetch_path(VIEW), huge).await;

    assert_google_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, &[]);
}

#[tokio::test]
async fn internal_fault_is_a_generic_500_and_the_service_keeps_serving() {
    let app = fsdemo_serving::router(fakes::state());
    let body = json!({"dataKey": {"key": "1501"}});

    let broken = post(&app, &fetch_path(BROKEN_VIEW), body.clone()).await;
    let after = post(&app, &fetch_path(VIEW), body).await;

    assert_google_error(&broken, StatusCode::INTERNAL_SERVER_ERROR, &["Internal error"]);
    let message = broken.1["error"]["message"].as_str().unwrap();
    assert!(!message.contains("checksum"), "detail leaked: {message}");
    assert_eq!(after.0, StatusCode::OK);
}

#[tokio::test]
async fn sync_returns_a_name_that_get_reads_back() {
    let app = fsdemo_serving::router(fakes::state());

    let (status, started) = post(&app, &format!("/v1/{VIEW}:sync"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let name = started["featureViewSync"].as_str().unwrap().to_string();
    assert!(name.starts_with(&format!("{VIEW}/featureViewSyncs/")), "{name}");

    let (status, sync) = send(&app, Method::GET, &format!("/v1/{name}"), "").await;
    assert_eq!(status, StatusCode::OK, "{sync}");
    assert_eq!(sync["name"], name.as_str());
    assert_eq!(sync["syncSummary"]["rowSynced"], "2");
}

#[tokio::test]
async fn sync_of_unknown_view_or_unknown_sync_is_404() {
    let app = fsdemo_serving::router(fakes::state());
    let other = "projects/p/locations/local/featureOnlineStores/s/featureViews/other";

    let start = send(&app, Method::POST, &format!("/v1/{other}:sync"), "").await;
    assert_google_error(&start, StatusCode::NOT_FOUND, &[other]);

    let get = send(&app, Method::GET, &format!("/v1/{VIEW}/featureViewSyncs/99"), "").await;
    assert_google_error(&get, StatusCode::NOT_FOUND, &["featureViewSyncs/99"]);

    let get_view = send(&app, Method::GET, &format!("/v1/{VIEW}"), "").await;
    assert_google_error(&get_view, StatusCode::NOT_FOUND, &[]);
}

#[tokio::test]
async fn predict_answers_one_probability_per_instance() {
    let app = fsdemo_serving::router(fakes::state());
    let body = json!({"instances": [[1, 1, 40.0, 40.0, 3, 2], [0, 3, 90.5, 30.1, 1, 4]]});

    let (status, answer) = post(&app, &format!("/v1/{ENDPOINT}:predict"), body).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"predictions": [0.5, 0.75], "deployedModelId": DEPLOYED_MODEL_ID}));
}

#[tokio::test]
async fn large_predict_batches_take_the_blocking_pool_and_still_answer() {
    let app = fsdemo_serving::router(fakes::state());
    let instances: Vec<[f64; 6]> = (0..500).map(|_| [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]).collect();

    let (status, answer) =
        post(&app, &format!("/v1/{ENDPOINT}:predict"), json!({"instances": instances})).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["predictions"].as_array().unwrap().len(), 500);
}

#[tokio::test]
async fn bad_instances_are_400_naming_the_instance() {
    let app = fsdemo_serving::router(fakes::state());
    let path = format!("/v1/{ENDPOINT}:predict");
    let good = json!([1, 1, 1, 1, 1, 1]);

    let short = json!({"instances": [good, good, good, [1, 2, 3, 4, 5]]});
    assert_google_error(
        &post(&app, &path, short).await,
        StatusCode::BAD_REQUEST,
        &["instances[3]"],
    );

    let text = json!({"instances": [good, [1, "2", 3, 4, 5, 6]]});
    assert_google_error(&post(&app, &path, text).await, StatusCode::BAD_REQUEST, &["instances[1]"]);

    let nan = send(&app, Method::POST, &path, r#"{"instances": [[NaN,1,1,1,1,1]]}"#).await;
    assert_google_error(&nan, StatusCode::BAD_REQUEST, &[]);

    let inf = send(&app, Method::POST, &path, r#"{"instances": [[1e400,1,1,1,1,1]]}"#).await;
    assert_google_error(&inf, StatusCode::BAD_REQUEST, &[]);

    let empty = post(&app, &path, json!({"instances": []})).await;
    assert_google_error(&empty, StatusCode::BAD_REQUEST, &["instances"]);

    let missing = post(&app, &path, json!({})).await;
    assert_google_error(&missing, StatusCode::BAD_REQUEST, &["instances"]);
}

#[tokio::test]
async fn predict_without_a_model_or_endpoint_is_a_callers_error() {
    let app = fsdemo_serving::router(fakes::state());
    let body = json!({"instances": [[1, 1, 1, 1, 1, 1]]});
    let unknown = "projects/p/locations/local/endpoints/nope";

    let empty = post(&app, &format!("/v1/{EMPTY_ENDPOINT}:predict"), body.clone()).await;
    assert_google_error(&empty, StatusCode::BAD_REQUEST, &[EMPTY_ENDPOINT]);
    assert_eq!(empty.1["error"]["status"], "FAILED_PRECONDITION");

    let missing = post(&app, &format!("/v1/{unknown}:predict"), body).await;
    assert_google_error(&missing, StatusCode::NOT_FOUND, &[unknown]);
}

#[tokio::test]
async fn healthz_is_ok() {
    let app = fsdemo_serving::router(fakes::state());

    let request = Request::get("/healthz").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn local_entity_ids_lists_served_keys_and_refuses_unknown_views() {
    let app = fsdemo_serving::router(fakes::state());

    let listed = send(&app, Method::GET, &format!("/local/v1/{VIEW}/entityIds?limit=1"), "").await;
    let unknown = send(&app, Method::GET, &format!("/local/v1/{BROKEN_VIEW}x/entityIds"), "").await;
    let bad_limit =
        send(&app, Method::GET, &format!("/local/v1/{VIEW}/entityIds?limit=-1"), "").await;
    let bad_path = send(&app, Method::GET, &format!("/local/v1/{VIEW}/other"), "").await;

    assert_eq!(listed, (StatusCode::OK, json!({"entityIds": ["7"]})));
    assert_google_error(&unknown, StatusCode::NOT_FOUND, &["not found"]);
    assert_google_error(&bad_limit, StatusCode::BAD_REQUEST, &["limit"]);
    assert_google_error(&bad_path, StatusCode::NOT_FOUND, &["entityIds"]);
}
