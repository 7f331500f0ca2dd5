//! The one place a call goes out: a [`Call`] names the step, the REST method, the resource
//! and the URL; [`Gcp::send`] adds the bearer token, sends it, and turns every error answer
//! into a [`GcpError`] that says what to grant, enable or create.

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tracing::debug;

use fsdemo_serving::ClientError;

use crate::error::GcpError;
use crate::{iam, Gcp};

/// A request body.
#[derive(Debug)]
pub(crate) enum Body {
    None,
    Json(Value),
    /// Raw bytes with their content type (Cloud Storage media uploads).
    Bytes(Vec<u8>, &'static str),
}

/// One REST call and what it is for.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// The demo step, first in every error.
    pub step: &'a str,
    /// The REST method, e.g. `aiplatform.featureOnlineStores.create`; picks the permission.
    pub method_id: &'static str,
    /// The full name of the resource the call reads or changes.
    pub resource: &'a str,
    pub method: Method,
    pub url: String,
    pub body: Body,
}

impl<'a> Call<'a> {
    pub fn get(step: &'a str, method_id: &'static str, resource: &'a str, url: String) -> Self {
        Call { step, method_id, resource, method: Method::GET, url, body: Body::None }
    }

    pub fn post(
        step: &'a str,
        method_id: &'static str,
        resource: &'a str,
        url: String,
        body: Value,
    ) -> Self {
        Call { step, method_id, resource, method: Method::POST, url, body: Body::Json(body) }
    }

    pub fn delete(step: &'a str, method_id: &'static str, resource: &'a str, url: String) -> Self {
        Call { step, method_id, resource, method: Method::DELETE, url, body: Body::None }
    }
}

/// Google's error JSON, read leniently: BigQuery and Cloud Storage add `errors[].reason`,
/// Vertex AI adds `details[].reason`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorInner,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorInner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    errors: Vec<Value>,
    #[serde(default)]
    details: Vec<Value>,
}

impl ErrorInner {
    /// Whether any `reason` says the API is disabled.
    fn service_disabled(&self) -> bool {
        let reasons = self.errors.iter().chain(&self.details).filter_map(|e| e["reason"].as_str());
        let by_reason =
            reasons.into_iter().any(|r| r == "SERVICE_DISABLED" || r == "accessNotConfigured");
        by_reason
            || self.message.contains("SERVICE_DISABLED")
            || self.message.contains("has not been used in project")
    }
}

impl Gcp {
    /// Sends `call` and reads the 2xx body as JSON (`null` when empty).
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Value, GcpError> {
        let token = self.tokens.token().await.map_err(|error| match error {
            GcpError::Credentials { detail, .. } => {
                GcpError::Credentials { step: call.step.to_string(), detail }
            }
            other => other,
        })?;

        let mut request = self.http.request(call.method.clone(), &call.url).bearer_auth(token);
        request = match call.body {
            Body::None => request,
            Body::Json(ref json) => request.json(json),
            Body::Bytes(ref bytes, content_type) => {
                request.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes.clone())
            }
        };

        let transport = |source| GcpError::Transport {
            step: call.step.to_string(),
            method: call.method.to_string(),
            url: call.url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        debug!(method = %call.method, url = %call.url, status = status.as_u16(), "gcp call");

        if !status.is_success() {
            return Err(self.api_error(&call, status, &bytes));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|error| GcpError::Decode {
            step: call.step.to_string(),
            url: call.url.clone(),
            detail: error.to_string(),
        })
    }

    /// Sends a get: `Ok(None)` when the resource does not exist.
    pub(crate) async fn lookup(&self, call: Call<'_>) -> Result<Option<Value>, GcpError> {
        match self.send(call).await {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Turns an error answer into the variant that says what to do.
    fn api_error(&self, call: &Call<'_>, status: StatusCode, body: &[u8]) -> GcpError {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let inner = parsed.error;
        let message = if inner.message.is_empty() {
            String::from_utf8_lossy(body).chars().take(300).collect()
        } else {
            inner.message.clone()
        };
        let status_name =
            if inner.status.is_empty() { status.to_string() } else { inner.status.clone() };
        let answer = Answer {
            code: status.as_u16(),
            status: status_name,
            message,
            service_disabled: inner.service_disabled(),
        };
        self.classify(call.step, call.method_id, call.resource, &call.method, &call.url, answer)
    }

    /// The same for an error `fsdemo_serving::VertexClient` reported.
    pub(crate) fn client_error(
        &self,
        step: &str,
        method_id: &'static str,
        resource: &str,
        error: ClientError,
    ) -> GcpError {
        match error {
            ClientError::Api { method, url, code, status, message } => {
                let service_disabled = message.contains("SERVICE_DISABLED")
                    || message.contains("has not been used in project");
                let answer = Answer { code, status, message, service_disabled };
                self.classify(step, method_id, resource, &method, &url, answer)
            }
            ClientError::Transport { method, url, source } => {
                GcpError::Transport { step: step.into(), method: method.to_string(), url, source }
            }
            ClientError::Build(source) => GcpError::Transport {
                step: step.into(),
                method: "-".into(),
                url: "-".into(),
                source,
            },
            ClientError::Decode { url, detail, .. } => {
                GcpError::Decode { step: step.into(), url, detail }
            }
        }
    }

    fn classify(
        &self,
        step: &str,
        method_id: &'static str,
        resource: &str,
        method: &Method,
        url: &str,
        answer: Answer,
    ) -> GcpError {
        let Answer { code, status, message, service_disabled } = answer;
        let step = step.to_string();
        let resource = resource.to_string();
        let project = self.config.project.id.clone();

        match code {
            401 => GcpError::Unauthenticated { step, resource, message },
            403 if service_disabled => {
                GcpError::ApiDisabled { step, resource, api: api_of(method_id).into(), project }
            }
            403 => {
                let permission = iam::permission(method_id);
                let role = iam::role(permission);
                GcpError::PermissionDenied { step, resource, permission, role, project, message }
            }
            404 => GcpError::NotFound { step, resource, message, fix: not_found_fix(method_id) },
            code => GcpError::Api {
                step,
                resource,
                call: format!("{method} {url}"),
                code,
                status,
                message,
            },
        }
    }
}

/// The parts of an error answer the classification reads.
struct Answer {
    code: u16,
    status: String,
    message: String,
    service_disabled: bool,
}

/// The API a REST method belongs to, as `gcloud services enable` names it.
fn api_of(method_id: &str) -> &'static str {
    match method_id.split('.').next().unwrap_or_default() {
        "bigquery" => "bigquery.googleapis.com",
        "storage" => "storage.googleapis.com",
        "cloudresourcemanager" => "cloudresourcemanager.googleapis.com",
        "serviceusage" => "serviceusage.googleapis.com",
        _ => "aiplatform.googleapis.com",
    }
}

/// What to do about a missing resource, by API.
fn not_found_fix(method_id: &str) -> String {
    match api_of(method_id) {
        "bigquery.googleapis.com" => {
            "check project.id and project.dataset, or run the step that creates it first".into()
        }
        "storage.googleapis.com" => "check gcp.bucket, or run the model upload first".into(),
        "cloudresourcemanager.googleapis.com" => "check project.id".into(),
        _ => "check project.id and project.location (the Vertex AI region), or run the step that \
              creates it first"
            .into(),
    }
}

/// Percent-encodes one URL component (a path segment or a query value).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `url?k=v&...`, values percent-encoded.
pub(crate) fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if query.is_empty() {
        return url.to_string();
    }
    format!("{url}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_one_encoded_segment() {
        assert_eq!(encode("models/ab/model.bst"), "models%2Fab%2Fmodel.bst");
        assert_eq!(with_query("http://x/o", &[("name", "a b")]), "http://x/o?name=a%20b");
    }

    #[test]
    fn disabled_api_is_told_apart_from_a_missing_permission() {
        let disabled: ErrorBody = serde_json::from_str(
            r#"{"error": {"message": "x", "details": [{"reason": "SERVICE_DISABLED"}]}}"#,
        )
        .unwrap();
        let denied: ErrorBody =
            serde_json::from_str(r#"{"error": {"message": "Permission denied"}}"#).unwrap();

        assert!(disabled.error.service_disabled());
        assert!(!denied.error.service_disabled());
    }
}
