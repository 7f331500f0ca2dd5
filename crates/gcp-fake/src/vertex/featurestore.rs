//! The fake Vertex AI Feature Store resources: `FeatureOnlineStore`, `FeatureGroup`,
//! `Feature` and `FeatureView` (create, get, delete, and patch of a view's sync cron).
//! Creates and deletes are long-running operations; the resource appears or disappears
//! when the operation finishes.

use serde_json::{json, Map, Value};

use crate::check::{
    feature_store_id, labels, object, only, opt_bool, opt_i32, opt_obj, opt_str, req_obj, req_str,
    str_list, Answer, ApiError, Req,
};
use crate::state::{now, Service, State, PROJECT_NUMBER};

/// GET /v1/{name} of a store, group, feature or view -> the resource; 404 if absent.
pub(super) fn get(
    state: &mut State,
    req: &Req,
    collection: &str,
    name: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, &format!("aiplatform.{collection}.get"))?;
    req.query_only(&[])?;
    let vertex = &state.vertex;
    let map = match collection {
        "featureOnlineStores" => &vertex.stores,
        "featureGroups" => &vertex.groups,
        "features" => &vertex.features,
        _ => &vertex.views,
    };
    map.get(name).cloned().map(Answer::Json).ok_or_else(|| missing(name))
}

/// POST /v1/{parent}/featureOnlineStores?featureOnlineStoreId={id}
/// body FeatureOnlineStore {bigtable: {autoScaling: {minNodeCount, maxNodeCount,
/// cpuUtilizationTarget}} | optimized: {}, labels, dedicatedServingEndpoint, encryptionSpec}
/// -> Operation; the store then has state STABLE and, when Optimized,
///    dedicatedServingEndpoint.publicEndpointDomainName.
pub(super) fn create_store(state: &mut State, req: &Req, parent: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureOnlineStores.create")?;
    req.query_only(&["featureOnlineStoreId"])?;
    let id = req.q_required("featureOnlineStoreId")?;
    feature_store_id("featureOnlineStoreId", id)?;
    let body = req.json_object("FeatureOnlineStore")?;
    let path = "FeatureOnlineStore";
    only(
        &body,
        path,
        &["bigtable", "optimized", "labels", "dedicatedServingEndpoint", "encryptionSpec"],
    )?;
    labels(&body, path)?;

    let mut resource = body.clone();
    match (opt_obj(&body, path, "bigtable")?, opt_obj(&body, path, "optimized")?) {
        (Some(bigtable), None) => check_bigtable(bigtable)?,
        (None, Some(optimized)) => {
            only(optimized, "FeatureOnlineStore.optimized", &[])?;
            let domain = state.vertex_host.clone();
            resource.insert(
                "dedicatedServingEndpoint".into(),
                json!({"publicEndpointDomainName": domain}),
            );
        }
        _ => {
            return Err(ApiError::invalid(
                "FeatureOnlineStore needs exactly one of `bigtable` or `optimized`",
            ))
        }
    }

    let name = format!("{parent}/featureOnlineStores/{id}");
    exists_check(&state.vertex.stores, &name)?;
    stamp(&mut resource, &name);
    resource.insert("state".into(), json!("STABLE"));
    let created = Value::Object(resource);
    let operation = state.start_operation(
        name.clone(),
        "CreateFeatureOnlineStoreOperationMetadata",
        Box::new(move |s| {
            s.vertex.stores.insert(name.clone(), created.clone());
            Ok(created)
        }),
    );
    Ok(Answer::Json(operation))
}

fn check_bigtable(bigtable: &Map<String, Value>) -> Result<(), ApiError> {
    let path = "FeatureOnlineStore.bigtable";
    only(
        bigtable,
        path,
        &["autoScaling", "enableDirectBigtableAccess", "bigtableMetadata", "zone"],
    )?;
    let scaling = req_obj(bigtable, path, "autoScaling")?;
    let path = "FeatureOnlineStore.bigtable.autoScaling";
    only(scaling, path, &["minNodeCount", "maxNodeCount", "cpuUtilizationTarget"])?;

    let min = opt_i32(scaling, path, "minNodeCount")?.unwrap_or(0);
    let max = opt_i32(scaling, path, "maxNodeCount")?.unwrap_or(0);
    if min < 1 || max < min || max > 10 * min {
        return Err(ApiError::invalid(format!(
            "`{path}`: minNodeCount {min} and maxNodeCount {max}: need 1 <= min <= max <= 10 * min"
        )));
    }
    if let Some(target) = opt_i32(scaling, path, "cpuUtilizationTarget")? {
        if !(10..=80).contains(&target) {
            return Err(ApiError::invalid(format!(
                "`{path}.cpuUtilizationTarget` {target}: 10 to 80"
            )));
        }
    }
    Ok(())
}

/// DELETE /v1/{name}?force=bool -> Operation; without force a store with views fails
/// FAILED_PRECONDITION; with force its views go too.
pub(super) fn delete_store(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureOnlineStores.delete")?;
    req.query_only(&["force"])?;
    if !state.vertex.stores.contains_key(name) {
        return Err(missing(name));
    }
    let prefix = format!("{name}/featureViews/");
    if !req.q_bool("force")? && state.vertex.views.keys().any(|v| v.starts_with(&prefix)) {
        return Err(ApiError::precondition(format!(
            "{name} has feature views; delete them or set force"
        )));
    }

    let name = name.to_string();
    let operation = state.start_operation(
        name.clone(),
        "DeleteOperationMetadata",
        Box::new(move |s| {
            s.vertex.views.retain(|view, _| !view.starts_with(&prefix));
            s.vertex.stores.remove(&name);
            Ok(json!({"@type": "type.googleapis.com/google.protobuf.Empty"}))
        }),
    );
    Ok(Answer::Json(operation))
}

/// POST /v1/{parent}/featureGroups?featureGroupId={id}
/// body FeatureGroup {description, labels, bigQuery: {bigQuerySource: {inputUri:
/// "bq://p.d.t"}, entityIdColumns: [string], timeSeries: {timestampColumn}, dense,
/// staticDataSource}} -> Operation
pub(super) fn create_group(state: &mut State, req: &Req, parent: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureGroups.create")?;
    req.query_only(&["featureGroupId"])?;
    let id = req.q_required("featureGroupId")?;
    feature_store_id("featureGroupId", id)?;
    let body = req.json_object("FeatureGroup")?;
    only(&body, "FeatureGroup", &["description", "labels", "bigQuery"])?;
    opt_str(&body, "FeatureGroup", "description")?;
    labels(&body, "FeatureGroup")?;

    let path = "FeatureGroup.bigQuery";
    let big_query = req_obj(&body, "FeatureGroup", "bigQuery")?;
    only(
        big_query,
        path,
        &["bigQuerySource", "entityIdColumns", "timeSeries", "dense", "staticDataSource"],
    )?;
    let source = req_obj(big_query, path, "bigQuerySource")?;
    only(source, "FeatureGroup.bigQuery.bigQuerySource", &["inputUri"])?;
    let uri = req_str(source, "FeatureGroup.bigQuery.bigQuerySource", "inputUri")?;
    let table =
        uri.strip_prefix("bq://").filter(|t| t.split('.').count() == 3).ok_or_else(|| {
            ApiError::invalid(format!(
                "`{path}.bigQuerySource.inputUri` {uri:?}: expected bq://project.dataset.table"
            ))
        })?;
    str_list(big_query, path, "entityIdColumns")?;
    if let Some(series) = opt_obj(big_query, path, "timeSeries")? {
        only(series, "FeatureGroup.bigQuery.timeSeries", &["timestampColumn"])?;
        opt_str(series, "FeatureGroup.bigQuery.timeSeries", "timestampColumn")?;
    }
    opt_bool(big_query, path, "dense")?;
    opt_bool(big_query, path, "staticDataSource")?;
    if !state.bigquery.tables.contains_key(table) {
        return Err(ApiError::invalid(format!(
            "`{path}.bigQuerySource.inputUri`: table {table} does not exist"
        )));
    }

    let name = format!("{parent}/featureGroups/{id}");
    exists_check(&state.vertex.groups, &name)?;
    let mut resource = body.clone();
    stamp(&mut resource, &name);
    let created = Value::Object(resource);
    let operation = state.start_operation(
        name.clone(),
        "CreateFeatureGroupOperationMetadata",
        Box::new(move |s| {
            s.vertex.groups.insert(name.clone(), created.clone());
            Ok(created)
        }),
    );
    Ok(Answer::Json(operation))
}

/// DELETE /v1/{name}?force=bool -> Operation; a group with features needs force.
pub(super) fn delete_group(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureGroups.delete")?;
    req.query_only(&["force"])?;
    if !state.vertex.groups.contains_key(name) {
        return Err(missing(name));
    }
    let prefix = format!("{name}/features/");
    if !req.q_bool("force")? && state.vertex.features.keys().any(|f| f.starts_with(&prefix)) {
        return Err(ApiError::precondition(format!(
            "{name} has features; delete them or set force"
        )));
    }

    let name = name.to_string();
    let operation = state.start_operation(
        name.clone(),
        "DeleteOperationMetadata",
        Box::new(move |s| {
            s.vertex.features.retain(|feature, _| !feature.starts_with(&prefix));
            s.vertex.groups.remove(&name);
            Ok(json!({"@type": "type.googleapis.com/google.protobuf.Empty"}))
        }),
    );
    Ok(Answer::Json(operation))
}

/// POST /v1/{parent=featureGroups/*}/features?featureId={id}
/// body Feature {description, labels, versionColumnName} (valueType is for the legacy
/// Feature Store only) -> Operation
pub(super) fn create_feature(
    state: &mut State,
    req: &Req,
    group: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.features.create")?;
    req.query_only(&["featureId"])?;
    let id = req.q_required("featureId")?;
    feature_store_id("featureId", id)?;
    let body = req.json_object("Feature")?;
    if body.contains_key("valueType") {
        return Err(ApiError::invalid(
            "`Feature.valueType` applies to Vertex AI Feature Store (Legacy) only; a feature of a \
             BigQuery feature group takes its type from the column",
        ));
    }
    only(&body, "Feature", &["description", "labels", "versionColumnName", "pointOfContact"])?;
    labels(&body, "Feature")?;
    if !state.vertex.groups.contains_key(group) {
        return Err(missing(group));
    }

    let name = format!("{group}/features/{id}");
    exists_check(&state.vertex.features, &name)?;
    let mut resource = body.clone();
    stamp(&mut resource, &name);
    let version_column = opt_str(&body, "Feature", "versionColumnName")?.unwrap_or(id).to_string();
    resource.insert("versionColumnName".into(), json!(version_column));
    let created = Value::Object(resource);
    let operation = state.start_operation(
        name.clone(),
        "CreateFeatureOperationMetadata",
        Box::new(move |s| {
            s.vertex.features.insert(name.clone(), created.clone());
            Ok(created)
        }),
    );
    Ok(Answer::Json(operation))
}

/// POST /v1/{parent=featureOnlineStores/*}/featureViews?featureViewId={id}&runSyncImmediately
/// body FeatureView {featureRegistrySource: {featureGroups: [{featureGroupId, featureIds}],
/// projectNumber} | bigQuerySource, syncConfig: {cron}, labels, serviceAgentType,
/// indexConfig, optimizedConfig} -> Operation; with SERVICE_AGENT_TYPE_FEATURE_VIEW the view
/// gets a serviceAccountEmail.
pub(super) fn create_view(
    state: &mut State,
    req: &Req,
    parent: &str,
    store: &str,
) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViews.create")?;
    req.query_only(&["featureViewId", "runSyncImmediately"])?;
    let id = req.q_required("featureViewId")?;
    feature_store_id("featureViewId", id)?;
    let body = req.json_object("FeatureView")?;
    let allowed = [
        "featureRegistrySource",
        "bigQuerySource",
        "syncConfig",
        "labels",
        "serviceAgentType",
        "indexConfig",
        "optimizedConfig",
    ];
    only(&body, "FeatureView", &allowed)?;
    labels(&body, "FeatureView")?;
    if !state.vertex.stores.contains_key(store) {
        return Err(missing(store));
    }

    check_registry_source(state, &body, parent)?;
    if let Some(sync) = opt_obj(&body, "FeatureView", "syncConfig")? {
        check_sync_config(sync)?;
    }
    let agent = opt_str(&body, "FeatureView", "serviceAgentType")?;
    let valid_agents = [
        "SERVICE_AGENT_TYPE_PROJECT",
        "SERVICE_AGENT_TYPE_FEATURE_VIEW",
        "SERVICE_AGENT_TYPE_UNSPECIFIED",
    ];
    if let Some(agent) = agent.filter(|a| !valid_agents.contains(a)) {
        return Err(ApiError::invalid(format!(
            "`FeatureView.serviceAgentType` {agent:?}: one of {valid_agents:?}"
        )));
    }

    let name = format!("{store}/featureViews/{id}");
    exists_check(&state.vertex.views, &name)?;
    let mut resource = body.clone();
    stamp(&mut resource, &name);
    if agent == Some("SERVICE_AGENT_TYPE_FEATURE_VIEW") {
        let email = format!(
            "service-{PROJECT_NUMBER}-fv-{id}@gcp-sa-aiplatform-fv.iam.gserviceaccount.com"
        )
        .replace('_', "-");
        resource.insert("serviceAccountEmail".into(), json!(email));
    }
    let created = Value::Object(resource);
    let operation = state.start_operation(
        name.clone(),
        "CreateFeatureViewOperationMetadata",
        Box::new(move |s| {
            s.vertex.views.insert(name.clone(), created.clone());
            Ok(created)
        }),
    );
    Ok(Answer::Json(operation))
}

/// Every group and feature a view names must exist in the view's project and location.
fn check_registry_source(
    state: &State,
    body: &Map<String, Value>,
    parent: &str,
) -> Result<(), ApiError> {
    let path = "FeatureView.featureRegistrySource";
    let source = req_obj(body, "FeatureView", "featureRegistrySource")?;
    only(source, path, &["featureGroups", "projectNumber"])?;
    let groups = source.get("featureGroups").and_then(Value::as_array).filter(|g| !g.is_empty());
    let groups =
        groups.ok_or_else(|| ApiError::invalid(format!("`{path}.featureGroups` is required")))?;

    for (i, group) in groups.iter().enumerate() {
        let path = format!("{path}.featureGroups[{i}]");
        let group = object(group, &path)?;
        only(group, &path, &["featureGroupId", "featureIds"])?;
        let group_id = req_str(group, &path, "featureGroupId")?;
        let group_name = format!("{parent}/featureGroups/{group_id}");
        if !state.vertex.groups.contains_key(&group_name) {
            return Err(ApiError::invalid(format!(
                "`{path}.featureGroupId`: {group_name} does not exist"
            )));
        }
        for feature in str_list(group, &path, "featureIds")? {
            let feature_name = format!("{group_name}/features/{feature}");
            if !state.vertex.features.contains_key(&feature_name) {
                return Err(ApiError::invalid(format!(
                    "`{path}.featureIds`: {feature_name} does not exist"
                )));
            }
        }
    }
    Ok(())
}

/// `syncConfig.cron`: five cron fields, optionally after `CRON_TZ=Zone ` or `TZ=Zone `.
fn check_sync_config(sync: &Map<String, Value>) -> Result<(), ApiError> {
    only(sync, "FeatureView.syncConfig", &["cron", "continuous"])?;
    let Some(cron) = opt_str(sync, "FeatureView.syncConfig", "cron")? else { return Ok(()) };
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let fields = match fields.split_first() {
        Some((first, rest)) if first.starts_with("CRON_TZ=") || first.starts_with("TZ=") => rest,
        _ => fields.as_slice(),
    };
    if fields.len() != 5 {
        return Err(ApiError::invalid(format!(
            "`FeatureView.syncConfig.cron` {cron:?}: expected five cron fields, optionally \
             after TZ=Zone"
        )));
    }
    Ok(())
}

/// PATCH /v1/{name}?updateMask=syncConfig.cron body FeatureView {syncConfig: {cron}}
/// -> Operation; only the fields in updateMask change.
pub(super) fn patch_view(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViews.patch")?;
    req.query_only(&["updateMask"])?;
    let mask = req.q_required("updateMask")?;
    let allowed = ["syncConfig", "syncConfig.cron", "labels"];
    if let Some(path) = mask.split(',').find(|p| !allowed.contains(p)) {
        return Err(ApiError::invalid(format!(
            "`updateMask` path {path:?} cannot be updated; use {allowed:?}"
        )));
    }
    let body = req.json_object("FeatureView")?;
    only(&body, "FeatureView", &["syncConfig", "labels"])?;
    let sync = req_obj(&body, "FeatureView", "syncConfig")?;
    check_sync_config(sync)?;
    if !state.vertex.views.contains_key(name) {
        return Err(missing(name));
    }

    let name = name.to_string();
    let sync = Value::Object(sync.clone());
    let operation = state.start_operation(
        name.clone(),
        "UpdateFeatureViewOperationMetadata",
        Box::new(move |s| {
            let view = s.vertex.views.get_mut(&name).ok_or_else(|| missing(&name))?;
            view["syncConfig"] = sync;
            view["updateTime"] = json!(now());
            Ok(view.clone())
        }),
    );
    Ok(Answer::Json(operation))
}

/// DELETE /v1/{name} -> Operation.
pub(super) fn delete_view(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViews.delete")?;
    req.query_only(&[])?;
    if !state.vertex.views.contains_key(name) {
        return Err(missing(name));
    }
    let name = name.to_string();
    let operation = state.start_operation(
        name.clone(),
        "DeleteOperationMetadata",
        Box::new(move |s| {
            s.vertex.views.remove(&name);
            s.vertex.online.remove(&name);
            Ok(json!({"@type": "type.googleapis.com/google.protobuf.Empty"}))
        }),
    );
    Ok(Answer::Json(operation))
}

/// A create of an existing resource is 409 ALREADY_EXISTS.
fn exists_check(
    map: &std::collections::BTreeMap<String, Value>,
    name: &str,
) -> Result<(), ApiError> {
    match map.contains_key(name) {
        true => Err(ApiError::already_exists(format!("{name} already exists."))),
        false => Ok(()),
    }
}

/// Sets the output-only fields every resource has.
fn stamp(resource: &mut Map<String, Value>, name: &str) {
    resource.insert("name".into(), json!(name));
    resource.insert("createTime".into(), json!(now()));
    resource.insert("updateTime".into(), json!(now()));
    resource.insert("etag".into(), json!("fake-etag"));
}

pub(super) fn missing(name: &str) -> ApiError {
    ApiError::not_found(format!("{name} is not found."))
}
