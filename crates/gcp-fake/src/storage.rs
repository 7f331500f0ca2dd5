//! The fake Cloud Storage JSON API: buckets (insert, get, delete) and objects (media
//! upload, get with `alt=media`, list, delete), kept in memory.

use axum::http::Method;
use serde_json::{json, Value};

use crate::check::{decode, labels, only, opt_str, req_str, Answer, ApiError, Req};
use crate::state::{now, Service, State, PROJECT_NUMBER};

pub(crate) fn handle(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    let upload = req.path.strip_prefix("/upload/storage/v1/");
    let rest = req.path.strip_prefix("/storage/v1/");
    // Object names are one percent-encoded segment (`models%2Fx%2Fmodel.bst`): a raw `/`
    // inside a name splits it and matches no method, as on Google.
    let parts: Vec<&str> = match (upload, rest) {
        (Some(path), _) | (None, Some(path)) => path.split('/').collect(),
        _ => return Err(unknown(req)),
    };

    match (&req.method, upload.is_some(), parts.as_slice()) {
        (&Method::POST, false, ["b"]) => insert_bucket(state, req),
        (&Method::GET, false, ["b", bucket]) => {
            state.enter(Service::Storage, "storage.buckets.get")?;
            req.query_only(&[])?;
            let found = state.storage.buckets.get(*bucket).cloned();
            found.map(Answer::Json).ok_or_else(|| bucket_missing(bucket))
        }
        (&Method::DELETE, false, ["b", bucket]) => delete_bucket(state, req, bucket),
        (&Method::POST, true, ["b", bucket, "o"]) => upload_object(state, req, bucket),
        (&Method::GET, false, ["b", bucket, "o"]) => list_objects(state, req, bucket),
        (&Method::GET, false, ["b", bucket, "o", object]) => {
            get_object(state, req, bucket, &decode(object))
        }
        (&Method::DELETE, false, ["b", bucket, "o", object]) => {
            state.enter(Service::Storage, "storage.objects.delete")?;
            req.query_only(&[])?;
            let key = (bucket.to_string(), decode(object));
            match state.storage.objects.remove(&key) {
                Some(_) => Ok(Answer::Empty),
                None => Err(object_missing(bucket, &key.1)),
            }
        }
        _ => Err(unknown(req)),
    }
}

/// POST /storage/v1/b?project={project}
/// body Bucket {name, location, storageClass, labels, iamConfiguration}
/// -> Bucket {kind, id, name, location, projectNumber, timeCreated}; 409 if it exists.
fn insert_bucket(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    state.enter(Service::Storage, "storage.buckets.insert")?;
    req.query_only(&["project"])?;
    req.q_required("project")?;
    let body = req.json_object("Bucket")?;
    only(&body, "Bucket", &["name", "location", "storageClass", "labels", "iamConfiguration"])?;
    labels(&body, "Bucket")?;
    let name = req_str(&body, "Bucket", "name")?;
    let location = opt_str(&body, "Bucket", "location")?.unwrap_or("US");

    let valid = (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid {
        return Err(ApiError::invalid(format!("Invalid bucket name: '{name}'")));
    }
    if state.storage.buckets.contains_key(name) {
        return Err(ApiError::new(
            409,
            "ALREADY_EXISTS",
            "conflict",
            "Your previous request to create the named bucket succeeded and you already own it.",
        ));
    }

    let bucket = json!({
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "location": location.to_ascii_uppercase(),
        "projectNumber": PROJECT_NUMBER,
        "storageClass": "STANDARD",
        "timeCreated": now(),
    });
    state.storage.buckets.insert(name.to_string(), bucket.clone());
    Ok(Answer::Json(bucket))
}

/// DELETE /storage/v1/b/{bucket} -> 204; 409 while it holds objects.
fn delete_bucket(state: &mut State, req: &Req, bucket: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Storage, "storage.buckets.delete")?;
    req.query_only(&[])?;
    if !state.storage.buckets.contains_key(bucket) {
        return Err(bucket_missing(bucket));
    }
    if state.storage.objects.keys().any(|(b, _)| b == bucket) {
        return Err(ApiError::new(
            409,
            "FAILED_PRECONDITION",
            "conflict",
            "The bucket you tried to delete is not empty.",
        ));
    }
    state.storage.buckets.remove(bucket);
    Ok(Answer::Empty)
}

/// POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name={objectName}
/// body: the object's bytes, Content-Type the object's type
/// -> Object {kind, id, name, bucket, size: uint64 string, contentType, timeCreated}
fn upload_object(state: &mut State, req: &Req, bucket: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Storage, "storage.objects.insert")?;
    req.query_only(&["uploadType", "name", "ifGenerationMatch"])?;
    if req.q("uploadType") != Some("media") {
        return Err(ApiError::invalid(
            "`uploadType` must be `media` for a single-request upload of bytes",
        ));
    }
    let name = req.q_required("name")?.to_string();
    if !state.storage.buckets.contains_key(bucket) {
        return Err(bucket_missing(bucket));
    }

    let content_type = req.content_type.clone().unwrap_or("application/octet-stream".into());
    let metadata = json!({
        "kind": "storage#object",
        "id": format!("{bucket}/{name}/1"),
        "name": name,
        "bucket": bucket,
        "size": req.body.len().to_string(),
        "contentType": content_type,
        "timeCreated": now(),
    });
    let key = (bucket.to_string(), name);
    state.storage.objects.insert(key, (req.body.clone(), metadata.clone()));
    Ok(Answer::Json(metadata))
}

/// GET /storage/v1/b/{bucket}/o?prefix&pageToken&maxResults
/// -> {kind: "storage#objects", items: [Object], nextPageToken}
fn list_objects(state: &mut State, req: &Req, bucket: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Storage, "storage.objects.list")?;
    req.query_only(&["prefix", "pageToken", "maxResults"])?;
    if !state.storage.buckets.contains_key(bucket) {
        return Err(bucket_missing(bucket));
    }

    let prefix = req.q("prefix").unwrap_or_default();
    let size: usize = req.q("maxResults").and_then(|m| m.parse().ok()).unwrap_or(1000);
    let start: usize = req.q("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let all: Vec<Value> = state
        .storage
        .objects
        .iter()
        .filter(|((b, name), _)| b == bucket && name.starts_with(prefix))
        .map(|(_, (_, metadata))| metadata.clone())
        .collect();

    let end = (start + size.max(1)).min(all.len());
    let mut answer = json!({"kind": "storage#objects"});
    if start < end {
        answer["items"] = json!(all[start..end]);
    }
    if end < all.len() {
        answer["nextPageToken"] = json!(end.to_string());
    }
    Ok(Answer::Json(answer))
}

/// GET /storage/v1/b/{bucket}/o/{object} -> Object; with `alt=media` the bytes.
fn get_object(state: &mut State, req: &Req, bucket: &str, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Storage, "storage.objects.get")?;
    req.query_only(&["alt"])?;
    let key = (bucket.to_string(), name.to_string());
    let (bytes, metadata) =
        state.storage.objects.get(&key).ok_or_else(|| object_missing(bucket, name))?;
    match req.q("alt") {
        None | Some("json") => Ok(Answer::Json(metadata.clone())),
        Some("media") => {
            let content_type =
                metadata["contentType"].as_str().unwrap_or("application/octet-stream");
            Ok(Answer::Bytes(bytes.clone(), content_type.to_string()))
        }
        Some(other) => Err(ApiError::invalid(format!("`alt` {other:?}: expected json or media"))),
    }
}

fn bucket_missing(bucket: &str) -> ApiError {
    ApiError::not_found(format!("The specified bucket does not exist: {bucket}"))
}

fn object_missing(bucket: &str, name: &str) -> ApiError {
    ApiError::not_found(format!("No such object: {bucket}/{name}"))
}

fn unknown(req: &Req) -> ApiError {
    ApiError::invalid(format!(
        "{} {} matches no Cloud Storage JSON API method (an object name must be one \
         percent-encoded path segment)",
        req.method, req.path
    ))
}
