//! The fake Vertex AI model registry and endpoints: `models.upload` (a new model or a new
//! version), `models.get`, `models.listVersions`, `models.delete`, endpoints (create, get,
//! delete, deployModel, undeployModel) and `endpoints.predict`, which loads the deployed
//! version's `model.bst` from the fake Cloud Storage and evaluates it as the prebuilt
//! XGBoost container would.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::featurestore::missing;
use crate::check::{
    labels, object, only, opt_i32, opt_obj, opt_str, req_obj, req_str, Answer, ApiError, Req,
};
use crate::state::{now, Effect, Service, State};

/// The file Vertex AI's prebuilt XGBoost container loads from `artifactUri`.
const MODEL_FILE: &str = "model.bst";

/// POST /v1/{parent}/models:upload
/// body {parentModel | modelId, model: Model {displayName, description, versionDescription,
/// artifactUri, containerSpec: {imageUri, ...}, labels, versionAliases}, serviceAccount}
/// -> Operation; response UploadModelResponse {model, modelVersionId}
pub(super) fn upload(state: &mut State, req: &Req, parent: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.models.upload")?;
    req.query_only(&[])?;
    let body = req.json_object("UploadModelRequest")?;
    only(&body, "UploadModelRequest", &["parentModel", "modelId", "model", "serviceAccount"])?;
    let model = req_obj(&body, "UploadModelRequest", "model")?;
    check_model(state, model)?;

    let parent_model = opt_str(&body, "UploadModelRequest", "parentModel")?;
    let model_id = opt_str(&body, "UploadModelRequest", "modelId")?;
    let name = match (parent_model, model_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "set `parentModel` (a new version) or `modelId` (a new model), not both",
            ))
        }
        (Some(parent_model), None) => {
            if !state.vertex.models.contains_key(parent_model) {
                return Err(missing(parent_model));
            }
            parent_model.to_string()
        }
        (None, id) => {
            let id = id.map(str::to_string).unwrap_or_else(|| state.id().to_string());
            let valid = id.len() <= 63
                && !id.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                return Err(ApiError::invalid(format!(
                    "`modelId` {id:?}: up to 63 of [a-z0-9_-], not starting with a digit or -"
                )));
            }
            let name = format!("{parent}/models/{id}");
            if state.vertex.models.contains_key(&name) {
                return Err(ApiError::already_exists(format!(
                    "{name} already exists; upload a version with parentModel"
                )));
            }
            name
        }
    };

    let mut version = model.clone();
    let operation_on = name.clone();
    let operation = state.start_operation(
        operation_on,
        "UploadModelOperationMetadata",
        Box::new(move |s| {
            let versions = s.vertex.models.entry(name.clone()).or_default();
            let version_id = (versions.len() + 1).to_string();
            version.insert("name".into(), json!(name));
            version.insert("versionId".into(), json!(version_id));
            let mut aliases: Vec<Value> = version
                .get("versionAliases")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if versions.is_empty() {
                aliases.insert(0, json!("default"));
            }
            version.insert("versionAliases".into(), json!(aliases));
            for key in ["createTime", "updateTime", "versionCreateTime", "versionUpdateTime"] {
                version.insert(key.into(), json!(now()));
            }
            version
                .insert("supportedDeploymentResourcesTypes".into(), json!(["DEDICATED_RESOURCES"]));
            versions.push(Value::Object(version));
            Ok(json!({
                "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
                "model": name,
                "modelVersionId": version_id,
            }))
        }),
    );
    Ok(Answer::Json(operation))
}

/// The `model` of an upload: a display name, a container image and an artifact directory
/// that holds `model.bst`.
fn check_model(state: &State, model: &Map<String, Value>) -> Result<(), ApiError> {
    let path = "UploadModelRequest.model";
    let allowed = [
        "displayName",
        "description",
        "versionDescription",
        "versionAliases",
        "artifactUri",
        "containerSpec",
        "labels",
        "encryptionSpec",
    ];
    only(model, path, &allowed)?;
    labels(model, path)?;
    req_str(model, path, "displayName")?;
    let container = req_obj(model, path, "containerSpec")?;
    only(
        container,
        "UploadModelRequest.model.containerSpec",
        &["imageUri", "command", "args", "env", "ports", "predictRoute", "healthRoute"],
    )?;
    req_str(container, "UploadModelRequest.model.containerSpec", "imageUri")?;

    let uri = req_str(model, path, "artifactUri")?;
    let (bucket, prefix) = gcs_dir(uri).ok_or_else(|| {
        ApiError::invalid(format!("`{path}.artifactUri` {uri:?}: expected gs://bucket/directory/"))
    })?;
    let object = (bucket.to_string(), format!("{prefix}{MODEL_FILE}"));
    if !state.storage.objects.contains_key(&object) {
        return Err(ApiError::invalid(format!(
            "`{path}.artifactUri`: gs://{}/{} does not exist; the XGBoost container needs \
             model.bst there",
            object.0, object.1
        )));
    }
    Ok(())
}

/// `gs://bucket/dir/` as (`bucket`, `dir/`).
fn gcs_dir(uri: &str) -> Option<(&str, String)> {
    let rest = uri.strip_prefix("gs://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
    (!bucket.is_empty()).then_some((bucket, prefix))
}

/// GET /v1/{name=models/*} -> Model (the default version).
pub(super) fn get_model(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.models.get")?;
    req.query_only(&[])?;
    let versions = state.vertex.models.get(name).ok_or_else(|| missing(name))?;
    let default = versions
        .iter()
        .find(|v| v["versionAliases"].as_array().is_some_and(|a| a.contains(&json!("default"))));
    Ok(Answer::Json(default.or(versions.first()).cloned().unwrap_or_default()))
}

/// GET /v1/{name=models/*}:listVersions?pageToken -> {models: [Model], nextPageToken}
pub(super) fn list_versions(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.models.listVersions")?;
    req.query_only(&["pageToken", "pageSize", "filter", "orderBy"])?;
    let versions = state.vertex.models.get(name).ok_or_else(|| missing(name))?;
    Ok(Answer::Json(json!({"models": versions})))
}

/// DELETE /v1/{name=models/*} -> Operation; FAILED_PRECONDITION while any version is deployed.
pub(super) fn delete_model(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.models.delete")?;
    req.query_only(&[])?;
    if !state.vertex.models.contains_key(name) {
        return Err(missing(name));
    }
    let deployed = state.vertex.endpoints.values().any(|endpoint| {
        deployed_models(endpoint).iter().any(|d| d["model"].as_str() == Some(name))
    });
    if deployed {
        return Err(ApiError::precondition(format!(
            "{name} is deployed to an endpoint; undeploy it first"
        )));
    }

    let name = name.to_string();
    let operation = state.start_operation(
        name.clone(),
        "DeleteOperationMetadata",
        Box::new(move |s| {
            s.vertex.models.remove(&name);
            Ok(json!({"@type": "type.googleapis.com/google.protobuf.Empty"}))
        }),
    );
    Ok(Answer::Json(operation))
}

/// POST /v1/{parent}/endpoints?endpointId={id}
/// body Endpoint {displayName, description, labels} -> Operation
pub(super) fn create_endpoint(
    state: &mut State,
    req: &Req,
    parent: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.create")?;
    req.query_only(&["endpointId"])?;
    let id = req.q_required("endpointId")?;
    check_endpoint_id(id)?;
    let body = req.json_object("Endpoint")?;
    only(&body, "Endpoint", &["displayName", "description", "labels", "encryptionSpec"])?;
    labels(&body, "Endpoint")?;
    req_str(&body, "Endpoint", "displayName")?;

    let name = format!("{parent}/endpoints/{id}");
    if state.vertex.endpoints.contains_key(&name) {
        return Err(ApiError::already_exists(format!("{name} already exists.")));
    }
    let mut resource = body.clone();
    resource.insert("name".into(), json!(name));
    resource.insert("createTime".into(), json!(now()));
    resource.insert("updateTime".into(), json!(now()));
    let created = Value::Object(resource);
    let operation = state.start_operation(
        name.clone(),
        "CreateEndpointOperationMetadata",
        Box::new(move |s| {
            s.vertex.endpoints.insert(name.clone(), created.clone());
            Ok(created)
        }),
    );
    Ok(Answer::Json(operation))
}

/// `endpointId`: up to 63 of `[a-z0-9-]` starting with a letter and not ending in `-`, or
/// up to 9 digits without a leading zero.
fn check_endpoint_id(id: &str) -> Result<(), ApiError> {
    let lettered = id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let numeric = id.len() <= 9 && !id.starts_with('0') && id.chars().all(|c| c.is_ascii_digit());
    if lettered || numeric {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "`endpointId` {id:?}: up to 63 characters of [a-z0-9-] starting with a letter, or up \
         to 9 digits"
    )))
}

/// GET /v1/{name=endpoints/*} -> Endpoint {name, displayName, deployedModels: [DeployedModel
/// {id, model, modelVersionId, displayName, dedicatedResources, createTime}], trafficSplit}
pub(super) fn get_endpoint(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.get")?;
    req.query_only(&[])?;
    state.vertex.endpoints.get(name).cloned().map(Answer::Json).ok_or_else(|| missing(name))
}

/// DELETE /v1/{name=endpoints/*} -> Operation; FAILED_PRECONDITION while models are deployed.
pub(super) fn delete_endpoint(
    state: &mut State,
    req: &Req,
    name: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.delete")?;
    req.query_only(&[])?;
    let endpoint = state.vertex.endpoints.get(name).ok_or_else(|| missing(name))?;
    if !deployed_models(endpoint).is_empty() {
        return Err(ApiError::precondition(format!(
            "{name} has deployed models; undeploy them first"
        )));
    }
    let name = name.to_string();
    let operation = state.start_operation(
        name.clone(),
        "DeleteOperationMetadata",
        Box::new(move |s| {
            s.vertex.endpoints.remove(&name);
            Ok(json!({"@type": "type.googleapis.com/google.protobuf.Empty"}))
        }),
    );
    Ok(Answer::Json(operation))
}

/// POST /v1/{endpoint}:deployModel
/// body {deployedModel: {model: "models/M[@version]", displayName, dedicatedResources:
/// {machineSpec: {machineType}, minReplicaCount, maxReplicaCount}}, trafficSplit: {"0": 100}}
/// -> Operation; response DeployModelResponse {deployedModel}. Key "0" is the new model.
pub(super) fn deploy(state: &mut State, req: &Req, endpoint: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.deployModel")?;
    req.query_only(&[])?;
    let body = req.json_object("DeployModelRequest")?;
    only(&body, "DeployModelRequest", &["deployedModel", "trafficSplit"])?;
    let path = "DeployModelRequest.deployedModel";
    let deployed = req_obj(&body, "DeployModelRequest", "deployedModel")?;
    only(
        deployed,
        path,
        &[
            "model",
            "displayName",
            "dedicatedResources",
            "automaticResources",
            "disableContainerLogging",
            "enableAccessLogging",
        ],
    )?;
    let model_ref = req_str(deployed, path, "model")?;
    let (model, version) = model_ref.split_once('@').unwrap_or((model_ref, ""));
    let versions = state.vertex.models.get(model).ok_or_else(|| missing(model))?;
    let version = match version {
        "" => versions.first(),
        v => versions.iter().find(|m| m["versionId"] == v),
    };
    let version_id = version.ok_or_else(|| missing(model_ref))?["versionId"].clone();
    check_resources(deployed)?;

    let endpoint_json = state.vertex.endpoints.get(endpoint).ok_or_else(|| missing(endpoint))?;
    let split = parse_split(&body, endpoint_json, true)?;

    let id = state.id().to_string();
    let mut record = deployed.clone();
    record.insert("id".into(), json!(id));
    record.insert("model".into(), json!(model));
    record.insert("modelVersionId".into(), version_id);
    record.insert("createTime".into(), json!(now()));
    let record = Value::Object(record);
    let endpoint_name = endpoint.to_string();
    let effect: Effect = Box::new(move |s| {
        let endpoint =
            s.vertex.endpoints.get_mut(&endpoint_name).ok_or_else(|| missing(&endpoint_name))?;
        let first = deployed_models(endpoint).is_empty();
        let mut models = deployed_models(endpoint);
        models.push(record.clone());
        endpoint["deployedModels"] = json!(models);
        let traffic = match split {
            Some(split) => split
                .into_iter()
                .map(|(key, share)| (if key == "0" { id.clone() } else { key }, share))
                .collect(),
            None if first => BTreeMap::from([(id.clone(), 100)]),
            None => traffic(endpoint),
        };
        endpoint["trafficSplit"] = json!(traffic);
        Ok(json!({
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse",
            "deployedModel": record,
        }))
    });
    let operation =
        state.start_operation(endpoint.to_string(), "DeployModelOperationMetadata", effect);
    Ok(Answer::Json(operation))
}

fn check_resources(deployed: &Map<String, Value>) -> Result<(), ApiError> {
    let path = "DeployModelRequest.deployedModel.dedicatedResources";
    let resources = opt_obj(deployed, "DeployModelRequest.deployedModel", "dedicatedResources")?
        .ok_or_else(|| {
            ApiError::invalid(format!("`{path}` is required for a custom-container model"))
        })?;
    only(
        resources,
        path,
        &["machineSpec", "minReplicaCount", "maxReplicaCount", "autoscalingMetricSpecs"],
    )?;
    let spec = req_obj(resources, path, "machineSpec")?;
    only(
        spec,
        &format!("{path}.machineSpec"),
        &["machineType", "acceleratorType", "acceleratorCount"],
    )?;
    req_str(spec, &format!("{path}.machineSpec"), "machineType")?;
    let min = opt_i32(resources, path, "minReplicaCount")?.unwrap_or(0);
    let max = opt_i32(resources, path, "maxReplicaCount")?.unwrap_or(min);
    if min < 1 || max < min {
        return Err(ApiError::invalid(format!(
            "`{path}`: minReplicaCount {min}, maxReplicaCount {max}: need 1 <= min <= max"
        )));
    }
    Ok(())
}

/// `trafficSplit`: percentages summing to 100 over existing deployed model ids (and "0",
/// the model being deployed, when `new_key` is allowed).
fn parse_split(
    body: &Map<String, Value>,
    endpoint: &Value,
    new_key: bool,
) -> Result<Option<BTreeMap<String, u64>>, ApiError> {
    let Some(split) = body.get("trafficSplit") else { return Ok(None) };
    let split = object(split, "trafficSplit")?;
    let ids: Vec<String> = deployed_models(endpoint)
        .iter()
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    let mut parsed = BTreeMap::new();
    for (key, value) in split {
        let share = value.as_u64().ok_or_else(|| {
            ApiError::invalid(format!("`trafficSplit.{key}` must be an integer percentage"))
        })?;
        if !(ids.contains(key) || (new_key && key == "0")) {
            return Err(ApiError::invalid(format!(
                "`trafficSplit` names {key:?}, which is not deployed here"
            )));
        }
        parsed.insert(key.clone(), share);
    }
    if parsed.values().sum::<u64>() != 100 {
        return Err(ApiError::invalid("`trafficSplit` percentages must sum to 100"));
    }
    Ok(Some(parsed))
}

/// POST /v1/{endpoint}:undeployModel body {deployedModelId, trafficSplit} -> Operation
pub(super) fn undeploy(state: &mut State, req: &Req, endpoint: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.undeployModel")?;
    req.query_only(&[])?;
    let body = req.json_object("UndeployModelRequest")?;
    only(&body, "UndeployModelRequest", &["deployedModelId", "trafficSplit"])?;
    let id = req_str(&body, "UndeployModelRequest", "deployedModelId")?.to_string();
    let endpoint_json = state.vertex.endpoints.get(endpoint).ok_or_else(|| missing(endpoint))?;
    if !deployed_models(endpoint_json).iter().any(|d| d["id"] == id.as_str()) {
        return Err(ApiError::not_found(format!("DeployedModel {id} is not found in {endpoint}.")));
    }

    let split = parse_split(&body, endpoint_json, false)?;
    let others = deployed_models(endpoint_json).len() > 1;
    if split.is_none() && others && traffic(endpoint_json).get(&id).copied().unwrap_or(0) > 0 {
        return Err(ApiError::precondition(format!(
            "DeployedModel {id} takes traffic; send a trafficSplit for the remaining models"
        )));
    }

    let endpoint_name = endpoint.to_string();
    let effect: Effect = Box::new(move |s| {
        let endpoint =
            s.vertex.endpoints.get_mut(&endpoint_name).ok_or_else(|| missing(&endpoint_name))?;
        let models: Vec<Value> =
            deployed_models(endpoint).into_iter().filter(|d| d["id"] != id.as_str()).collect();
        let mut traffic = split.unwrap_or_else(|| traffic(endpoint));
        traffic.remove(&id);
        endpoint["deployedModels"] = json!(models);
        endpoint["trafficSplit"] = json!(traffic);
        Ok(json!({"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelResponse"}))
    });
    let operation =
        state.start_operation(endpoint.to_string(), "UndeployModelOperationMetadata", effect);
    Ok(Answer::Json(operation))
}

/// POST /v1/{endpoint}:predict body {instances: [[f1..f6]], parameters}
/// -> {predictions: [p], deployedModelId, model, modelDisplayName, modelVersionId}
pub(super) fn predict(state: &mut State, req: &Req, endpoint: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.endpoints.predict")?;
    req.query_only(&[])?;
    let body = req.json_object("PredictRequest")?;
    only(&body, "PredictRequest", &["instances", "parameters"])?;
    let instances = body.get("instances").and_then(Value::as_array).filter(|i| !i.is_empty());
    let instances =
        instances.ok_or_else(|| ApiError::invalid("`instances` must be a non-empty list"))?;
    let mut rows = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        let values: Option<Vec<f64>> =
            instance.as_array().map(|v| v.iter().filter_map(Value::as_f64).collect());
        match values {
            Some(values) if values.len() == 6 && instance.as_array().map(Vec::len) == Some(6) => {
                rows.push(std::array::from_fn::<f64, 6, _>(|j| values[j]))
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "`instances[{i}]` must be a list of 6 numbers, got {instance}"
                )))
            }
        }
    }

    let endpoint_json = state.vertex.endpoints.get(endpoint).ok_or_else(|| missing(endpoint))?;
    let traffic = traffic(endpoint_json);
    let serving = traffic.iter().max_by_key(|(_, share)| **share).map(|(id, _)| id.clone());
    let deployed =
        deployed_models(endpoint_json).into_iter().find(|d| d["id"].as_str() == serving.as_deref());
    let deployed = deployed
        .ok_or_else(|| ApiError::precondition(format!("{endpoint} has no deployed model")))?;
    let model = deployed["model"].as_str().unwrap_or_default().to_string();
    let version = state.vertex.models.get(&model).and_then(|versions| {
        versions.iter().find(|v| v["versionId"] == deployed["modelVersionId"]).cloned()
    });
    let version =
        version.ok_or_else(|| ApiError::precondition(format!("{model} no longer exists")))?;

    let uri = version["artifactUri"].as_str().unwrap_or_default();
    let (bucket, prefix) =
        gcs_dir(uri).ok_or_else(|| ApiError::precondition(format!("bad artifactUri {uri}")))?;
    let object = format!("{prefix}{MODEL_FILE}");
    let bytes =
        state.storage.objects.get(&(bucket.to_string(), object.clone())).map(|(b, _)| b.clone());
    let bytes =
        bytes.ok_or_else(|| ApiError::precondition(format!("gs://{bucket}/{object} is gone")))?;
    let origin = format!("gs://{bucket}/{object}");
    let linear = fsdemo_training::artifact::parse_model_bytes(&bytes, Path::new(&origin)).map_err(
        |error| ApiError::precondition(format!("the container cannot load the model: {error}")),
    )?;

    let predictions: Vec<f64> = rows.iter().map(|row| linear.predict(row)).collect();
    Ok(Answer::Json(json!({
        "predictions": predictions,
        "deployedModelId": deployed["id"],
        "model": model,
        "modelDisplayName": version["displayName"],
        "modelVersionId": version["versionId"],
    })))
}

fn deployed_models(endpoint: &Value) -> Vec<Value> {
    endpoint["deployedModels"].as_array().cloned().unwrap_or_default()
}

fn traffic(endpoint: &Value) -> BTreeMap<String, u64> {
    endpoint["trafficSplit"]
        .as_object()
        .map(|split| split.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
        .unwrap_or_default()
}
