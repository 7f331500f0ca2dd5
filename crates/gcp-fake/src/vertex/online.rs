//! The fake feature view sync and online fetch. A sync reads the feature group's BigQuery
//! source through the [`QueryEngine`](crate::QueryEngine) when it finishes (on a later
//! poll of its `FeatureViewSync`) and publishes one row per entity; `fetchFeatureValues`
//! answers from those rows in the SPEC's `KEY_VALUE` and `PROTO_STRUCT` shapes.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::featurestore::missing;
use crate::check::{only, opt_obj, Answer, ApiError, Req};
use crate::state::{now, OnlineRows, Service, State, Sync};

/// The name the snapshot time is served under, next to the features.
const FEATURE_TIMESTAMP: &str = "feature_timestamp";

/// POST /v1/{featureView}:sync body {} -> {featureViewSync: "{featureView}/featureViewSyncs/{id}"}
pub(super) fn sync(state: &mut State, req: &Req, view: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViews.sync")?;
    req.query_only(&[])?;
    let body = req.json_object("SyncFeatureViewRequest")?;
    only(&body, "SyncFeatureViewRequest", &[])?;
    if !state.vertex.views.contains_key(view) {
        return Err(missing(view));
    }

    let name = format!("{view}/featureViewSyncs/{}", state.id());
    let resource = json!({"name": name, "createTime": now(), "runTime": {"startTime": now()}});
    let sync = Sync { resource, view: view.to_string(), polls_left: state.knobs.sync_polls };
    state.vertex.syncs.insert(name.clone(), sync);
    if state.knobs.sync_polls == 0 {
        finish_sync(state, &name);
    }
    Ok(Answer::Json(json!({"featureViewSync": name})))
}

/// GET /v1/{featureViewSync} -> FeatureViewSync {name, createTime, runTime: {startTime,
/// endTime once done}, finalStatus: Status, syncSummary: {rowSynced, totalSlot}}
pub(super) fn get_sync(state: &mut State, req: &Req, name: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViewSyncs.get")?;
    req.query_only(&[])?;
    let sync = state.vertex.syncs.get_mut(name).ok_or_else(|| missing(name))?;
    if sync.resource["runTime"].get("endTime").is_none() {
        sync.polls_left = sync.polls_left.saturating_sub(1);
        if sync.polls_left == 0 {
            finish_sync(state, name);
        }
    }
    Ok(Answer::Json(state.vertex.syncs[name].resource.clone()))
}

/// Reads the source, publishes it all or nothing, and marks the sync finished.
fn finish_sync(state: &mut State, name: &str) {
    let view = state.vertex.syncs[name].view.clone();
    let result = read_source(state, &view);

    let sync = state.vertex.syncs.get_mut(name).expect("the sync exists");
    sync.resource["runTime"]["endTime"] = json!(now());
    match result {
        Ok(rows) => {
            let count = rows.rows.len();
            sync.resource["finalStatus"] = json!({});
            sync.resource["syncSummary"] =
                json!({"rowSynced": count.to_string(), "totalSlot": "0"});
            state.vertex.online.insert(view, rows);
        }
        Err(message) => {
            sync.resource["finalStatus"] = json!({"code": 3, "message": message});
        }
    }
}

/// The newest row per entity of the view's feature group source, as the view serves it.
fn read_source(state: &State, view: &str) -> Result<OnlineRows, String> {
    let resource = &state.vertex.views[view];
    let group_ref = &resource["featureRegistrySource"]["featureGroups"][0];
    let group_id = group_ref["featureGroupId"].as_str().unwrap_or_default();
    let parent = view.split("/featureOnlineStores/").next().unwrap_or_default();
    let group_name = format!("{parent}/featureGroups/{group_id}");
    let group =
        state.vertex.groups.get(&group_name).ok_or(format!("{group_name} no longer exists"))?;

    let big_query = &group["bigQuery"];
    let uri = big_query["bigQuerySource"]["inputUri"].as_str().unwrap_or_default();
    let table = uri.trim_start_matches("bq://");
    let entity = big_query["entityIdColumns"][0].as_str().unwrap_or("entity_id");
    let timestamp =
        big_query["timeSeries"]["timestampColumn"].as_str().unwrap_or(FEATURE_TIMESTAMP);
    let dense = big_query["dense"].as_bool().unwrap_or(false);

    // Dense: the whole newest row. Not dense: per column, the newest non-null value, which
    // needs every row.
    let sql = if dense {
        format!(
            "SELECT * EXCEPT(rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {entity} ORDER BY \
             {timestamp} DESC) AS rn FROM `{table}`) WHERE rn = 1"
        )
    } else {
        format!("SELECT * FROM `{table}` ORDER BY {entity}, {timestamp} DESC")
    };
    let output = state.engine.execute(&sql)?;

    let column = |name: &str| {
        output
            .columns
            .iter()
            .position(|(c, _)| c == name)
            .ok_or(format!("column {name} is not in {table}"))
    };
    let entity_at = column(entity)?;
    let timestamp_at = column(timestamp)?;
    let feature_ids: Vec<String> = group_ref["featureIds"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut features = Vec::new();
    for id in &feature_ids {
        features.push((id.clone(), output.columns[column(id)?].1.clone()));
    }

    let mut rows: BTreeMap<String, (Vec<Option<String>>, Option<i64>)> = BTreeMap::new();
    for row in &output.rows {
        let Some(key) = row[entity_at].clone() else { continue };
        let micros = row[timestamp_at].as_deref().and_then(micros);
        let values: Vec<Option<String>> =
            features.iter().map(|(id, _)| row[column(id).unwrap_or(0)].clone()).collect();
        match rows.get_mut(&key) {
            // Rows arrive newest first: an older row only fills what is still NULL.
            Some((kept, _)) if !dense => {
                for (slot, value) in kept.iter_mut().zip(values) {
                    if slot.is_none() {
                        *slot = value;
                    }
                }
            }
            Some(_) => {}
            None => {
                rows.insert(key, (values, micros));
            }
        }
    }
    Ok(OnlineRows { features, rows })
}

/// A TIMESTAMP cell as microseconds: an integer (useInt64Timestamp) or float seconds.
fn micros(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| text.parse::<f64>().ok().map(|s| (s * 1e6).round() as i64))
}

/// POST /v1/{featureView}:fetchFeatureValues
/// body {dataKey: {key} | {compositeKey: {parts}}, dataFormat: KEY_VALUE | PROTO_STRUCT}
/// -> {keyValues: {features: [{name, value: {int64Value | doubleValue}}]}} or
///    {protoStruct: {name: value}}; a NULL feature has no value; unknown key -> 404.
pub(super) fn fetch(state: &mut State, req: &Req, view: &str) -> Result<Answer, ApiError> {
    state.enter(Service::Vertex, "aiplatform.featureViews.fetchFeatureValues")?;
    req.query_only(&[])?;
    let body = req.json_object("FetchFeatureValuesRequest")?;
    only(&body, "FetchFeatureValuesRequest", &["dataKey", "dataFormat"])?;
    let key = data_key(&body)?;
    let format = match body.get("dataFormat") {
        None => "KEY_VALUE",
        Some(Value::String(f))
            if ["KEY_VALUE", "PROTO_STRUCT", "FEATURE_VIEW_DATA_FORMAT_UNSPECIFIED"]
                .contains(&f.as_str()) =>
        {
            f
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`dataFormat` {other}: KEY_VALUE or PROTO_STRUCT"
            )))
        }
    };

    if !state.vertex.views.contains_key(view) {
        return Err(missing(view));
    }
    let online =
        state.vertex.online.get(view).ok_or_else(|| {
            ApiError::not_found(format!("{view} has no synced data yet; run a sync"))
        })?;
    let (values, timestamp) = online
        .rows
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("entity {key} is not found in {view}.")))?;

    let typed: Vec<(&str, Option<Value>)> = online
        .features
        .iter()
        .zip(values)
        .map(|((name, kind), value)| {
            (name.as_str(), value.as_deref().and_then(|v| typed_value(kind, v)))
        })
        .collect();
    Ok(Answer::Json(match format {
        "PROTO_STRUCT" => proto_struct(&typed, *timestamp),
        _ => key_values(&typed, *timestamp),
    }))
}

/// `dataKey.key` (string or number) or a one-part `dataKey.compositeKey`.
fn data_key(body: &Map<String, Value>) -> Result<String, ApiError> {
    let data_key = opt_obj(body, "FetchFeatureValuesRequest", "dataKey")?
        .ok_or_else(|| ApiError::invalid("`dataKey` is required"))?;
    only(data_key, "dataKey", &["key", "compositeKey"])?;
    let text = |value: &Value| match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (data_key.get("key"), data_key.get("compositeKey")) {
        (Some(key), None) => text(key)
            .ok_or_else(|| ApiError::invalid(format!("`dataKey.key` {key}: expected an id"))),
        (None, Some(composite)) => match composite["parts"].as_array().map(Vec::as_slice) {
            Some([part]) => text(part)
                .ok_or_else(|| ApiError::invalid("`dataKey.compositeKey.parts[0]` is empty")),
            _ => Err(ApiError::invalid(
                "`dataKey.compositeKey.parts` must have one part per id column (1)",
            )),
        },
        _ => Err(ApiError::invalid("`dataKey` takes exactly one of `key` or `compositeKey`")),
    }
}

/// A BigQuery cell as the `FeatureValue` a fetch returns.
fn typed_value(kind: &str, text: &str) -> Option<Value> {
    match kind {
        "INT64" | "INTEGER" => {
            text.parse::<i64>().ok().map(|v| json!({"int64Value": v.to_string()}))
        }
        "FLOAT64" | "FLOAT" | "NUMERIC" => {
            text.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| json!({"doubleValue": v}))
        }
        "BOOL" | "BOOLEAN" => Some(json!({"boolValue": text == "true"})),
        _ => Some(json!({"stringValue": text})),
    }
}

fn key_values(typed: &[(&str, Option<Value>)], timestamp: Option<i64>) -> Value {
    let mut features: Vec<Value> = typed
        .iter()
        .map(|(name, value)| match value {
            Some(value) => json!({"name": name, "value": value}),
            None => json!({"name": name}),
        })
        .collect();
    if let Some(micros) = timestamp {
        features
            .push(json!({"name": FEATURE_TIMESTAMP, "value": {"int64Value": micros.to_string()}}));
    }
    json!({"keyValues": {"features": features}})
}

fn proto_struct(typed: &[(&str, Option<Value>)], timestamp: Option<i64>) -> Value {
    let mut fields = Map::new();
    for (name, value) in typed {
        let plain = match value.as_ref().and_then(Value::as_object).and_then(|v| v.iter().next()) {
            Some((kind, v)) if kind == "int64Value" => v
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .map(Value::from)
                .unwrap_or(Value::Null),
            Some((_, v)) => v.clone(),
            None => Value::Null,
        };
        fields.insert(name.to_string(), plain);
    }
    if let Some(micros) = timestamp {
        fields.insert(FEATURE_TIMESTAMP.into(), json!(micros));
    }
    json!({"protoStruct": fields})
}
