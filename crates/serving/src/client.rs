//! A small client for the Vertex AI REST methods the demo calls: fetchFeatureValues,
//! featureViews.sync, featureViewSyncs.get and endpoints.predict. The same code talks to
//! the local service (`http://127.0.0.1:PORT`) and to Vertex AI
//! (`https://{region}-aiplatform.googleapis.com` with a bearer token); it does not fetch
//! tokens itself.

use std::time::Duration;

use fsdemo_core::features::model_input;
use fsdemo_core::vertex::{FeatureViewSync, GoogleError};
use fsdemo_core::FeatureValue;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::Prediction;
use crate::fetch::{DataFormat, FEATURE_TIMESTAMP};

/// How long one call may take before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A failed call. Each variant names the method and URL (which holds the resource name).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be built (TLS setup).
    #[error("could not build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// The request did not complete: connection refused, timeout, TLS.
    #[error("{method} {url} failed: {source} (is the service running at this address?)")]
    Transport {
        /// The HTTP method.
        method: Method,
        /// The full URL.
        url: String,
        /// What reqwest reported.
        source: reqwest::Error,
    },
    /// The service answered with an error; `status` and `message` come from Google's
    /// error JSON when the body has it.
    #[error("{method} {url} returned HTTP {code} {status}: {message}")]
    Api {
        /// The HTTP method.
        method: Method,
        /// The full URL.
        url: String,
        /// The HTTP status code.
        code: u16,
        /// Google's canonical status, e.g. `NOT_FOUND`.
        status: String,
        /// The service's message.
        message: String,
    },
    /// The service answered 2xx with a body of an unexpected shape.
    #[error("{method} {url} returned a body this client cannot read: {detail}")]
    Decode {
        /// The HTTP method.
        method: Method,
        /// The full URL.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
}

impl ClientError {
    /// The HTTP status of an error answer, if the service answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the service said the resource or key does not exist.
    pub fn is_not_found(&self) -> bool {
        self.http_status() == Some(404)
    }
}

/// One entity's features as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedFeatures {
    /// Each feature in the order the service sent it, `None` for NULL; without
    /// `feature_timestamp`.
    pub features: Vec<(String, Option<FeatureValue>)>,
    /// The snapshot time in microseconds since the epoch, when the service sent one.
    pub feature_timestamp: Option<i64>,
}

impl FetchedFeatures {
    /// The value of feature `name`; `None` when NULL or not sent.
    pub fn get(&self, name: &str) -> Option<FeatureValue> {
        let (_, value) = self.features.iter().find(|(feature, _)| feature == name)?;
        *value
    }

    /// The model's input vector, missing values filled by the one fill rule.
    pub fn model_input(&self) -> [f64; 6] {
        model_input(|name| self.get(name).map(FeatureValue::as_f64))
    }
}

/// A client for one base URL, optionally sending a bearer token.
#[derive(Debug, Clone)]
pub struct VertexClient {
    http: reqwest::Client,
    base_url: String,
    bearer_token: Option<String>,
}

impl VertexClient {
    /// A client for `base_url`, e.g. `http://127.0.0.1:8080`; paths are `/v1/{name}:verb`.
    pub fn new(base_url: impl Into<String>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ClientError::Build)?;

        let base_url = base_url.into().trim_end_matches('/').to_string();
        Ok(VertexClient { http, base_url, bearer_token: None })
    }

    /// A client for Vertex AI's regional endpoint, `https://{region}-aiplatform.googleapis.com`.
    ///
    /// Limitation: a feature view in an Optimized online store is served from the store's
    /// own public endpoint domain; pass that domain to [`VertexClient::new`] instead.
    pub fn for_region(region: &str) -> Result<Self, ClientError> {
        Self::new(format!("https://{region}-aiplatform.googleapis.com"))
    }

    /// The same client sending `Authorization: Bearer {token}` on every call.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Fetches the latest features of entity `key` from feature view `view` (full name).
    ///
    /// Limitation: only `int64Value` and `doubleValue` are read, the two types this
    /// demo's features have; any other value type reads as NULL. `PROTO_STRUCT` carries no
    /// types, so a number written without a fraction (`1`) comes back as `Int64`, one with
    /// a fraction or exponent (`40.0`) as `Float64`.
    pub async fn fetch_feature_values(
        &self,
        view: &str,
        key: &str,
        format: DataFormat,
    ) -> Result<FetchedFeatures, ClientError> {
        let url = self.url(view, Some("fetchFeatureValues"));
        let body = FetchBody { data_key: DataKeyBody { key }, data_format: format };

        let response: RawFetchResponse = self.call(Method::POST, url.clone(), Some(&body)).await?;

        response.into_features().map_err(|detail| ClientError::Decode {
            method: Method::POST,
            url,
            detail,
        })
    }

    /// Predicts with the model deployed to `endpoint` (full name), one probability per
    /// instance.
    pub async fn predict(
        &self,
        endpoint: &str,
        instances: &[[f64; 6]],
    ) -> Result<Prediction, ClientError> {
        let url = self.url(endpoint, Some("predict"));
        let body = PredictBody { instances };

        let response: RawPredictResponse = self.call(Method::POST, url, Some(&body)).await?;

        Ok(Prediction {
            predictions: response.predictions,
            deployed_model_id: response.deployed_model_id,
        })
    }

    /// Starts a sync of feature view `view` and returns the sync's full name.
    pub async fn start_sync(&self, view: &str) -> Result<String, ClientError> {
        let url = self.url(view, Some("sync"));

        let response: RawSyncResponse = self.call(Method::POST, url, Some(&EmptyBody {})).await?;

        Ok(response.feature_view_sync)
    }

    /// Reads the `FeatureViewSync` with full name `sync`.
    pub async fn get_sync(&self, sync: &str) -> Result<FeatureViewSync, ClientError> {
        let url = self.url(sync, None);
        self.call::<FeatureViewSync, EmptyBody>(Method::GET, url, None).await
    }

    /// Up to `limit` entity ids of feature view `view`, from the local service's
    /// `GET /local/v1/{view}/entityIds` (Vertex AI has no such listing).
    pub async fn entity_ids(&self, view: &str, limit: usize) -> Result<Vec<i64>, ClientError> {
        let url = format!(
            "{}/local/v1/{}/entityIds?limit={limit}",
            self.base_url,
            view.trim_start_matches('/')
        );

        let response: RawEntityIds =
            self.call::<_, EmptyBody>(Method::GET, url.clone(), None).await?;

        response.entity_ids.iter().map(|id| id.parse()).collect::<Result<_, _>>().map_err(|_| {
            ClientError::Decode {
                method: Method::GET,
                url,
                detail: "an entity id is not an integer".into(),
            }
        })
    }

    /// Whether the service answers `GET /healthz` with 200 within a second.
    pub async fn healthy(&self) -> bool {
        let url = format!("{}/healthz", self.base_url);
        let request = self.http.get(url).timeout(Duration::from_secs(1));
        request.send().await.is_ok_and(|response| response.status().is_success())
    }

    /// `{base}/v1/{name}` or `{base}/v1/{name}:{verb}`.
    fn url(&self, name: &str, verb: Option<&str>) -> String {
        let name = name.trim_start_matches('/');
        match verb {
            Some(verb) => format!("{}/v1/{name}:{verb}", self.base_url),
            None => format!("{}/v1/{name}", self.base_url),
        }
    }

    /// Sends one call and reads a 2xx body as `T`, or the error body as a [`ClientError`].
    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        url: String,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token);
        }

        let transport =
            |source| ClientError::Transport { method: method.clone(), url: url.clone(), source };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;

        if !status.is_success() {
            return Err(api_error(method, url, status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|error| ClientError::Decode {
            method,
            url,
            detail: error.to_string(),
        })
    }
}

/// The error of a non-2xx answer, read from Google's error JSON when the body is one.
fn api_error(method: Method, url: String, status: StatusCode, body: &[u8]) -> ClientError {
    let code = status.as_u16();
    match serde_json::from_slice::<GoogleError>(body) {
        Ok(google) => ClientError::Api {
            method,
            url,
            code,
            status: google.error.status,
            message: google.error.message,
        },
        Err(_) => {
            // Not Google's shape (a proxy, a load balancer): show the start of the body.
            let text = String::from_utf8_lossy(body);
            let message: String = text.chars().take(300).collect();
            let status = status.canonical_reason().unwrap_or("error").to_string();
            ClientError::Api { method, url, code, status, message }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FetchBody<'a> {
    data_key: DataKeyBody<'a>,
    data_format: DataFormat,
}

#[derive(Serialize)]
struct DataKeyBody<'a> {
    key: &'a str,
}

#[derive(Serialize)]
struct PredictBody<'a> {
    instances: &'a [[f64; 6]],
}

#[derive(Serialize)]
struct EmptyBody {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPredictResponse {
    predictions: Vec<f64>,
    #[serde(default)]
    deployed_model_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntityIds {
    #[serde(default)]
    entity_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSyncResponse {
    feature_view_sync: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFetchResponse {
    key_values: Option<RawKeyValues>,
    proto_struct: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct RawKeyValues {
    #[serde(default)]
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
struct RawFeature {
    name: String,
    value: Option<RawValue>,
}

/// A `FeatureValue`; other fields (`metadata`, other value types) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawValue {
    int64_value: Option<Int64Json>,
    double_value: Option<f64>,
}

/// An int64 in proto3 JSON: a string, though a number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Int64Json {
    Text(String),
    Number(i64),
}

impl Int64Json {
    fn parse(&self, name: &str) -> Result<i64, String> {
        match self {
            Int64Json::Text(text) => {
                text.parse().map_err(|_| format!("{name}: int64Value {text:?} is not an integer"))
            }
            Int64Json::Number(number) => Ok(*number),
        }
    }
}

impl RawFetchResponse {
    /// The features of either format; an answer with neither is a decode error.
    fn into_features(self) -> Result<FetchedFeatures, String> {
        match (self.key_values, self.proto_struct) {
            (Some(key_values), _) => key_value_features(key_values),
            (None, Some(fields)) => proto_struct_features(fields),
            (None, None) => Err("neither keyValues nor protoStruct in the answer".into()),
        }
    }
}

/// A `feature_timestamp` value as microseconds; a float form is truncated to whole micros.
fn timestamp_micros(value: FeatureValue) -> i64 {
    match value {
        FeatureValue::Int64(micros) => micros,
        FeatureValue::Float64(micros) => micros as i64,
    }
}

fn key_value_features(key_values: RawKeyValues) -> Result<FetchedFeatures, String> {
    let mut fetched = FetchedFeatures { features: Vec::new(), feature_timestamp: None };

    for feature in key_values.features {
        let value = match feature.value {
            Some(RawValue { int64_value: Some(v), .. }) => {
                Some(FeatureValue::Int64(v.parse(&feature.name)?))
            }
            Some(RawValue { double_value: Some(v), .. }) => Some(FeatureValue::Float64(v)),
            _ => None,
        };

        if feature.name == FEATURE_TIMESTAMP {
            fetched.feature_timestamp = value.map(timestamp_micros);
        } else {
            fetched.features.push((feature.name, value));
        }
    }
    Ok(fetched)
}

fn proto_struct_features(
    fields: serde_json::Map<String, Value>,
) -> Result<FetchedFeatures, String> {
    let mut fetched = FetchedFeatures { features: Vec::new(), feature_timestamp: None };

    for (name, field) in fields {
        let value = match &field {
            Value::Null => None,
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(v), _) => Some(FeatureValue::Int64(v)),
                (None, Some(v)) => Some(FeatureValue::Float64(v)),
                (None, None) => return Err(format!("{name}: {n} is out of range")),
            },
            other => return Err(format!("{name}: expected a number or null, got {other}")),
        };

        if name == FEATURE_TIMESTAMP {
            fetched.feature_timestamp = value.map(timestamp_micros);
        } else {
            fetched.features.push((name, value));
        }
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode(body: Value) -> Result<FetchedFeatures, String> {
        serde_json::from_value::<RawFetchResponse>(body).unwrap().into_features()
    }

    #[test]
    fn key_values_are_typed_and_nulls_kept() {
        let body = json!({"keyValues": {"features": [
            {"name": "orders_7d", "value": {"int64Value": "1"}},
            {"name": "revenue_30d", "value": {"doubleValue": 40.0, "metadata": {}}},
            {"name": "avg_order_value_30d"},
            {"name": "feature_timestamp", "value": {"int64Value": "1709769600000000"}},
        ]}});

        let fetched = decode(body).unwrap();

        assert_eq!(fetched.get("orders_7d"), Some(FeatureValue::Int64(1)));
        assert_eq!(fetched.get("revenue_30d"), Some(FeatureValue::Float64(40.0)));
        assert_eq!(fetched.get("avg_order_value_30d"), None);
        assert_eq!(fetched.features.len(), 3);
        assert_eq!(fetched.feature_timestamp, Some(1_709_769_600_000_000));
    }

    #[test]
    fn proto_struct_reads_numbers_and_nulls() {
        let body = json!({"protoStruct": {
            "orders_7d": 1, "revenue_30d": 40.5, "avg_order_value_30d": null,
            "feature_timestamp": 1_709_769_600_000_000_i64,
        }});

        let fetched = decode(body).unwrap();

        assert_eq!(fetched.get("orders_7d"), Some(FeatureValue::Int64(1)));
        assert_eq!(fetched.get("revenue_30d"), Some(FeatureValue::Float64(40.5)));
        assert_eq!(fetched.get("avg_order_value_30d"), None);
        assert_eq!(fetched.feature_timestamp, Some(1_709_769_600_000_000));
    }

    #[test]
    fn garbage_values_are_decode_errors_not_nulls() {
        let bad_int = json!({"keyValues": {"features": [
            {"name": "orders_7d", "value": {"int64Value": "one"}},
        ]}});

        assert!(decode(bad_int).unwrap_err().contains("orders_7d"));
        assert!(decode(json!({"protoStruct": {"orders_7d": "1"}})).is_err());
        assert!(decode(json!({})).is_err());
    }

    #[test]
    fn model_input_fills_missing_values_by_the_shared_rule() {
        let fetched = FetchedFeatures {
            features: vec![("orders_30d".into(), Some(FeatureValue::Int64(2)))],
            feature_timestamp: None,
        };

        let input = fetched.model_input();

        assert_eq!(input, [0.0, 2.0, 0.0, 0.0, fsdemo_core::features::NEVER_ORDERED_DAYS, 0.0]);
    }

    #[test]
    fn urls_follow_the_v1_name_verb_shape() {
        let client = VertexClient::new("http://127.0.0.1:9/").unwrap();

        assert_eq!(
            client.url("projects/p/x", Some("sync")),
            "http://127.0.0.1:9/v1/projects/p/x:sync"
        );
        assert_eq!(client.url("/projects/p/x", None), "http://127.0.0.1:9/v1/projects/p/x");
        assert_eq!(
            VertexClient::for_region("us-central1").unwrap().base_url(),
            "https://us-central1-aiplatform.googleapis.com"
        );
    }

    #[test]
    fn non_google_error_bodies_still_say_what_came_back() {
        let error = api_error(
            Method::GET,
            "http://x/v1/y".into(),
            StatusCode::BAD_GATEWAY,
            b"<html>upstream down</html>",
        );

        assert_eq!(error.http_status(), Some(502));
        assert!(error.to_string().contains("upstream down"), "{error}");
    }
}
