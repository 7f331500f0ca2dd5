//! How a fake handler reads and rejects a request: the parsed request ([`Req`]), the
//! answer it gives ([`Answer`]), Google's error ([`ApiError`]) and field checks that name
//! the exact field a client got wrong (`featureOnlineStore.bigtable.autoScaling`), so a
//! client bug fails its test with a message that says what to fix.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{json, Map, Value};

/// One request as a handler sees it: method, raw path, decoded query, body.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    /// The path as sent, still percent-encoded (Cloud Storage object names hold `%2F`).
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

impl Req {
    /// The body as JSON; an empty or non-JSON body is a 400.
    pub fn json(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            ApiError::invalid(format!("the request body is not JSON ({error}); send a JSON object"))
        })
    }

    /// The body as a JSON object; `what` names it in errors.
    pub fn json_object(&self, what: &str) -> Result<Map<String, Value>, ApiError> {
        match self.json()? {
            Value::Object(map) => Ok(map),
            other => Err(ApiError::invalid(format!("{what}: expected a JSON object, got {other}"))),
        }
    }

    /// Rejects any query parameter outside `allowed`.
    pub fn query_only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.query.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(ApiError::invalid(format!(
                "unknown query parameter `{key}`; this method takes {}",
                list(allowed)
            ))),
            None => Ok(()),
        }
    }

    /// A query parameter.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// A required query parameter.
    pub fn q_required(&self, key: &str) -> Result<&str, ApiError> {
        self.q(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("query parameter `{key}` is required")))
    }

    /// A boolean query parameter (`true`/`false`), false when absent.
    pub fn q_bool(&self, key: &str) -> Result<bool, ApiError> {
        match self.q(key) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => {
                Err(ApiError::invalid(format!("query parameter `{key}`: {other:?} is not a bool")))
            }
        }
    }
}

/// What a handler answers on success.
#[derive(Debug)]
pub(crate) enum Answer {
    /// 200 with a JSON body.
    Json(Value),
    /// 204 with no body (BigQuery and Cloud Storage deletes).
    Empty,
    /// 200 with raw bytes (Cloud Storage `alt=media`).
    Bytes(Vec<u8>, String),
    /// Another status with a JSON body in a shape other than Google's API error (the
    /// OAuth token endpoint's `{"error": "invalid_grant", ...}`).
    Status(u16, Value),
}

/// Google's error: an HTTP code, the canonical status and a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub status: String,
    pub message: String,
    /// BigQuery's and Cloud Storage's `errors[].reason`.
    pub reason: &'static str,
}

impl ApiError {
    pub fn new(code: u16, status: &str, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, status: status.to_string(), message: message.into(), reason }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(400, "INVALID_ARGUMENT", "invalid", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, "NOT_FOUND", "notFound", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        ApiError::new(409, "ALREADY_EXISTS", "duplicate", message)
    }

    pub fn precondition(message: impl Into<String>) -> Self {
        ApiError::new(400, "FAILED_PRECONDITION", "failedPrecondition", message)
    }

    pub fn denied(message: impl Into<String>) -> Self {
        ApiError::new(403, "PERMISSION_DENIED", "accessDenied", message)
    }

    /// The JSON body Google sends with an error.
    pub fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
        }})
    }
}

/// `value` as an object; `path` names it.
pub(crate) fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid(format!("{path}: expected an object, got {value}")))
}

/// Rejects a field of `obj` outside `allowed`, naming it and what is allowed.
pub(crate) fn only(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), ApiError> {
    match obj.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(ApiError::invalid(format!(
            "unknown field `{path}.{key}`; the REST reference has {}",
            list(allowed)
        ))),
        None => Ok(()),
    }
}

/// A required, non-empty string field.
pub(crate) fn req_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a str, ApiError> {
    opt_str(obj, path, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("`{path}.{key}` is required")))
}

/// An optional string field; any other type is a 400.
pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => {
            Err(ApiError::invalid(format!("`{path}.{key}` must be a string, got {other}")))
        }
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<bool>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => {
            Err(ApiError::invalid(format!("`{path}.{key}` must be a bool, got {other}")))
        }
    }
}

/// An optional object field.
pub(crate) fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => object(value, &format!("{path}.{key}")).map(Some),
    }
}

/// A required object field.
pub(crate) fn req_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    opt_obj(obj, path, key)?.ok_or_else(|| ApiError::invalid(format!("`{path}.{key}` is required")))
}

/// An optional int32 field, sent as a JSON number.
pub(crate) fn opt_i32(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<i64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(other) => {
            Err(ApiError::invalid(format!("`{path}.{key}` must be an integer, got {other}")))
        }
    }
}

/// A required list of non-empty strings.
pub(crate) fn str_list(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::invalid(format!("`{path}.{key}` must be a non-empty list of strings"));
    let items = obj.get(key).and_then(Value::as_array).ok_or_else(bad)?;
    let strings: Vec<String> = items.iter().filter_map(Value::as_str).map(str::to_string).collect();
    if strings.is_empty() || strings.len() != items.len() || strings.iter().any(String::is_empty) {
        return Err(bad());
    }
    Ok(strings)
}

/// Checks `labels`: a map of strings, keys and values at most 63 characters of
/// `[a-z0-9_-]`, keys starting with a letter.
pub(crate) fn labels(obj: &Map<String, Value>, path: &str) -> Result<(), ApiError> {
    let Some(labels) = opt_obj(obj, path, "labels")? else { return Ok(()) };
    for (key, value) in labels {
        let value = value
            .as_str()
            .ok_or_else(|| ApiError::invalid(format!("`{path}.labels.{key}` must be a string")))?;
        let ok = |s: &str| {
            s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        if !ok(key) || !key.starts_with(|c: char| c.is_ascii_lowercase()) || !ok(value) {
            return Err(ApiError::invalid(format!(
                "`{path}.labels`: {key:?}: {value:?} breaks the label rules (at most 63 characters \
                 of lowercase letters, digits, `_` and `-`; keys start with a letter)"
            )));
        }
    }
    Ok(())
}

/// Checks a Vertex AI feature store id: `[a-z][a-z0-9_]{0,59}`.
pub(crate) fn feature_store_id(param: &str, id: &str) -> Result<(), ApiError> {
    let valid = id.len() <= 60
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "`{param}` {id:?} is invalid: up to 60 characters of [a-z0-9_], starting with a letter"
    )))
}

/// Names a list of allowed fields for an error message.
pub(crate) fn list(items: &[&str]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// Percent-decodes a path segment (`models%2Fabc%2Fmodel.bst` -> `models/abc/model.bst`).
pub(crate) fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `/prefix/a/b/c:verb` into its segments after `prefix` and the verb.
pub(crate) fn segments<'a>(path: &'a str, prefix: &str) -> Option<(Vec<&'a str>, Option<&'a str>)> {
    let rest = path.strip_prefix(prefix)?;
    let mut segments: Vec<&str> = rest.split('/').collect();
    let last = segments.pop()?;
    let (last, verb) = match last.split_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (last, None),
    };
    segments.push(last);
    Some((segments, verb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let body = json!({"bigtable": {}, "descripton": "x"});

        let error =
            only(body.as_object().unwrap(), "featureOnlineStore", &["bigtable"]).unwrap_err();

        assert!(error.message.contains("`featureOnlineStore.descripton`"), "{}", error.message);
    }

    #[test]
    fn segments_split_the_verb_off_the_last_part() {
        let (parts, verb) = segments("/v1/projects/p/x:sync", "/v1/").unwrap();

        assert_eq!(parts, ["projects", "p", "x"]);
        assert_eq!(verb, Some("sync"));
        assert_eq!(decode("models%2Fa%2Fmodel.bst"), "models/a/model.bst");
    }

    #[test]
    fn labels_follow_googles_rules() {
        let good = json!({"labels": {"sha256": "ab12"}});
        let long = json!({"labels": {"sha256": "a".repeat(64)}});

        assert!(labels(good.as_object().unwrap(), "model").is_ok());
        assert!(labels(long.as_object().unwrap(), "model").is_err());
    }
}
