//! `featureViews.fetchFeatureValues` on the wire: reading the request (`dataKey`,
//! `dataFormat`) and writing one entity's latest row as `keyValues` or `protoStruct`
//! (SPEC "Online serving"). The lookup itself belongs to the `FeatureServing` backend.

use std::fmt;

use fsdemo_core::{FeatureRow, FeatureSpec, FeatureValue};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::body::parse_json;
use crate::error::ApiError;

/// The name under which the snapshot time is served, next to the features.
pub const FEATURE_TIMESTAMP: &str = "feature_timestamp";

/// `FeatureViewDataFormat`: how the response carries the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataFormat {
    /// `KEY_VALUE`: a list of `{"name", "value": {"int64Value" | "doubleValue"}}`; also
    /// what `FEATURE_VIEW_DATA_FORMAT_UNSPECIFIED` (0) means.
    #[default]
    KeyValue,
    /// `PROTO_STRUCT`: one JSON object, feature name to number (null for NULL).
    ProtoStruct,
}

impl DataFormat {
    /// The enum name Google's REST API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::KeyValue => "KEY_VALUE",
            DataFormat::ProtoStruct => "PROTO_STRUCT",
        }
    }
}

impl Serialize for DataFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Accepts the enum by name or by number, as proto3 JSON allows.
impl<'de> Deserialize<'de> for DataFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FormatVisitor;

        impl Visitor<'_> for FormatVisitor {
            type Value = DataFormat;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("KEY_VALUE, PROTO_STRUCT or their numbers 1, 2")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<DataFormat, E> {
                match name {
                    "KEY_VALUE" | "FEATURE_VIEW_DATA_FORMAT_UNSPECIFIED" => {
                        Ok(DataFormat::KeyValue)
                    }
                    "PROTO_STRUCT" => Ok(DataFormat::ProtoStruct),
                    _ => Err(E::invalid_value(de::Unexpected::Str(name), &self)),
                }
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<DataFormat, E> {
                match number {
                    0 | 1 => Ok(DataFormat::KeyValue),
                    2 => Ok(DataFormat::ProtoStruct),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(number), &self)),
                }
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<DataFormat, E> {
                Err(E::invalid_value(de::Unexpected::Signed(number), &self))
            }
        }

        deserializer.deserialize_any(FormatVisitor)
    }
}

/// A parsed fetch request: whose row, in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchRequest {
    /// The entity (`customer_id`) from `dataKey.key`.
    pub entity_id: i64,
    /// The requested `dataFormat`.
    pub format: DataFormat,
}

/// `FetchFeatureValuesRequest` as it arrives.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFetchRequest {
    data_key: Option<FeatureViewDataKey>,
    data_format: Option<DataFormat>,
}

/// `FeatureViewDataKey`: a single `key`, or a `compositeKey` with one part per id column.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FeatureViewDataKey {
    key: Option<EntityKey>,
    composite_key: Option<CompositeKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompositeKey {
    parts: Vec<EntityKey>,
}

/// An entity id written as a string (`"1501"`, as Google's clients send it) or a number.
struct EntityKey(i64);

impl<'de> Deserialize<'de> for EntityKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = EntityKey;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer customer id such as \"1501\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EntityKey, E> {
                let id =
                    text.parse().map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))?;
                Ok(EntityKey(id))
            }

            fn visit_i64<E: de::Error>(self, id: i64) -> Result<EntityKey, E> {
                Ok(EntityKey(id))
            }

            fn visit_u64<E: de::Error>(self, id: u64) -> Result<EntityKey, E> {
                let id = i64::try_from(id)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(id), &self))?;
                Ok(EntityKey(id))
            }
        }

        deserializer.deserialize_any(KeyVisitor)
    }
}

impl FetchRequest {
    /// Reads a `FetchFeatureValuesRequest` body; a missing or malformed key is a 400 that
    /// names `dataKey`, `dataKey.key` or `dataFormat`.
    pub(crate) fn parse(body: &[u8]) -> Result<FetchRequest, ApiError> {
        let raw: RawFetchRequest = parse_json(body)?;

        let data_key = raw.data_key.ok_or_else(|| {
            ApiError::InvalidArgument(
                "dataKey is required, e.g. {\"dataKey\": {\"key\": \"1501\"}}".into(),
            )
        })?;

        let entity_id = match (data_key.key, data_key.composite_key) {
            (Some(EntityKey(id)), None) => id,
            (None, Some(composite)) => single_part(composite.parts)?,
            (Some(_), Some(_)) => {
                let message = "dataKey takes either key or compositeKey, not both";
                return Err(ApiError::InvalidArgument(message.into()));
            }
            (None, None) => {
                let message = "dataKey.key is required: the customer id, e.g. \"1501\"";
                return Err(ApiError::InvalidArgument(message.into()));
            }
        };

        Ok(FetchRequest { entity_id, format: raw.data_format.unwrap_or_default() })
    }
}

/// The entity id of a composite key, which must have exactly one part (`customer_id`).
fn single_part(parts: Vec<EntityKey>) -> Result<i64, ApiError> {
    match parts.as_slice() {
        [EntityKey(id)] => Ok(*id),
        _ => Err(ApiError::InvalidArgument(format!(
            "dataKey.compositeKey.parts has {} parts; this feature view has one id column \
             (customer_id)",
            parts.len()
        ))),
    }
}

/// `FetchFeatureValuesResponse`: serializes as `{"keyValues": ...}` or `{"protoStruct": ...}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FetchResponse<'a> {
    KeyValues(KeyValueList<'a>),
    ProtoStruct(ProtoStruct<'a>),
}

#[derive(Serialize)]
pub(crate) struct KeyValueList<'a> {
    features: Vec<KeyValue<'a>>,
}

/// One `{"name", "value"}` pair; a NULL feature has no `value` at all.
#[derive(Serialize)]
struct KeyValue<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<WireValue>,
}

/// A `FeatureValue` in proto3 JSON: int64 as a string, double as a number.
#[derive(Serialize)]
enum WireValue {
    #[serde(rename = "int64Value", serialize_with = "int64_as_string")]
    Int64(i64),
    #[serde(rename = "doubleValue")]
    Double(f64),
}

fn int64_as_string<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl WireValue {
    /// The wire form of a stored value; a non-finite float is served as NULL, never NaN.
    fn from_value(value: Option<FeatureValue>) -> Option<WireValue> {
        match value? {
            FeatureValue::Int64(v) => Some(WireValue::Int64(v)),
            FeatureValue::Float64(v) if v.is_finite() => Some(WireValue::Double(v)),
            FeatureValue::Float64(_) => None,
        }
    }
}

/// The `protoStruct` object: feature name to number, null for NULL.
pub(crate) struct ProtoStruct<'a> {
    schema: &'a [FeatureSpec],
    row: &'a FeatureRow,
}

impl Serialize for ProtoStruct<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.schema.len() + 1))?;
        for (spec, value) in self.schema.iter().zip(&self.row.values) {
            match WireValue::from_value(*value) {
                Some(WireValue::Int64(v)) => map.serialize_entry(&spec.name, &v)?,
                Some(WireValue::Double(v)) => map.serialize_entry(&spec.name, &v)?,
                None => map.serialize_entry(&spec.name, &())?,
            }
        }
        map.serialize_entry(FEATURE_TIMESTAMP, &self.row.feature_timestamp)?;
        map.end()
    }
}

impl<'a> FetchResponse<'a> {
    /// The response for `row`, read with `schema`, in `format`.
    ///
    /// A row whose value count differs from the schema's is a fault of the store, so it
    /// is an internal error rather than a silently shifted answer.
    pub(crate) fn new(
        format: DataFormat,
        schema: &'a [FeatureSpec],
        row: &'a FeatureRow,
    ) -> Result<Self, ApiError> {
        if row.values.len() != schema.len() {
            return Err(ApiError::Internal(format!(
                "row of entity {} has {} values but the feature view has {} features",
                row.entity_id,
                row.values.len(),
                schema.len()
            )));
        }

        Ok(match format {
            DataFormat::KeyValue => FetchResponse::KeyValues(key_values(schema, row)),
            DataFormat::ProtoStruct => FetchResponse::ProtoStruct(ProtoStruct { schema, row }),
        })
    }
}

/// The `keyValues` list: the features in schema order, then `feature_timestamp`.
fn key_values<'a>(schema: &'a [FeatureSpec], row: &FeatureRow) -> KeyValueList<'a> {
    let mut features = Vec::with_capacity(schema.len() + 1);
    for (spec, value) in schema.iter().zip(&row.values) {
        features.push(KeyValue { name: &spec.name, value: WireValue::from_value(*value) });
    }

    let timestamp = Some(WireValue::Int64(row.feature_timestamp));
    features.push(KeyValue { name: FEATURE_TIMESTAMP, value: timestamp });
    KeyValueList { features }
}

#[cfg(test)]
mod tests {
    use fsdemo_core::FeatureType;
    use serde_json::json;

    use super::*;

    fn schema() -> Vec<FeatureSpec> {
        let spec = |name: &str, value_type| FeatureSpec {
            name: name.into(),
            value_type,
            description: String::new(),
        };
        vec![
            spec("orders_7d", FeatureType::Int64),
            spec("revenue_30d", FeatureType::Float64),
            spec("avg_order_value_30d", FeatureType::Float64),
        ]
    }

    fn row() -> FeatureRow {
        FeatureRow {
            entity_id: 1501,
            feature_timestamp: 1_709_769_600_000_000,
            values: vec![Some(FeatureValue::Int64(1)), Some(FeatureValue::Float64(40.0)), None],
        }
    }

    fn parse(body: serde_json::Value) -> Result<FetchRequest, String> {
        FetchRequest::parse(body.to_string().as_bytes()).map_err(|error| error.to_string())
    }

    #[test]
    fn string_and_number_keys_name_the_same_customer() {
        let text = parse(json!({"dataKey": {"key": "1501"}})).unwrap();
        let number = parse(json!({"dataKey": {"key": 1501}})).unwrap();
        let composite = parse(json!({"dataKey": {"compositeKey": {"parts": ["1501"]}}})).unwrap();

        assert_eq!(text, FetchRequest { entity_id: 1501, format: DataFormat::KeyValue });
        assert_eq!(number, text);
        assert_eq!(composite, text);
    }

    #[test]
    fn format_is_read_by_name_or_number() {
        let cases = [
            (json!("KEY_VALUE"), DataFormat::KeyValue),
            (json!("PROTO_STRUCT"), DataFormat::ProtoStruct),
            (json!("FEATURE_VIEW_DATA_FORMAT_UNSPECIFIED"), DataFormat::KeyValue),
            (json!(0), DataFormat::KeyValue),
            (json!(1), DataFormat::KeyValue),
            (json!(2), DataFormat::ProtoStruct),
        ];

        for (format, expected) in cases {
            let request = parse(json!({"dataKey": {"key": "1"}, "dataFormat": format})).unwrap();
            assert_eq!(request.format, expected, "dataFormat {format}");
        }
    }

    #[test]
    fn bad_keys_name_the_field() {
        for key in [json!("abc"), json!("1.5"), json!(""), json!(1.5), json!(null), json!([1])] {
            let message = parse(json!({"dataKey": {"key": key}})).unwrap_err();
            assert!(message.contains("dataKey.key"), "key {key}: {message}");
        }
    }

    #[test]
    fn bad_data_keys_and_formats_name_the_field() {
        let cases = [
            (json!({}), "dataKey"),
            (json!({"dataKey": {}}), "dataKey.key"),
            (json!({"dataKey": []}), "dataKey"),
            (json!({"dataKey": "1501"}), "dataKey"),
            (json!({"dataKey": {"key": "1", "compositeKey": {"parts": ["1"]}}}), "dataKey"),
            (json!({"dataKey": {"compositeKey": {"parts": ["1", "2"]}}}), "parts"),
            (json!({"dataKey": {"key": "1"}, "dataFormat": "CSV"}), "dataFormat"),
            (json!({"dataKey": {"key": "1"}, "dataFormat": 7}), "dataFormat"),
            (json!({"datakey": {"key": "1"}}), "datakey"),
        ];

        for (body, field) in cases {
            let message = parse(body.clone()).unwrap_err();
            assert!(message.contains(field), "{body}: {message}");
        }
    }

    #[test]
    fn key_value_response_types_values_and_omits_nulls() {
        let schema = schema();
        let row = row();

        let response = FetchResponse::new(DataFormat::KeyValue, &schema, &row).unwrap();

        let expected = json!({"keyValues": {"features": [
            {"name": "orders_7d", "value": {"int64Value": "1"}},
            {"name": "revenue_30d", "value": {"doubleValue": 40.0}},
            {"name": "avg_order_value_30d"},
            {"name": "feature_timestamp", "value": {"int64Value": "1709769600000000"}},
        ]}});
        assert_eq!(serde_json::to_value(&response).unwrap(), expected);
    }

    #[test]
    fn proto_struct_response_uses_null_for_null() {
        let schema = schema();
        let row = row();

        let response = FetchResponse::new(DataFormat::ProtoStruct, &schema, &row).unwrap();

        let expected = json!({"protoStruct": {
            "orders_7d": 1, "revenue_30d": 40.0, "avg_order_value_30d": null,
            "feature_timestamp": 1_709_769_600_000_000_i64,
        }});
        assert_eq!(serde_json::to_value(&response).unwrap(), expected);
    }

    #[test]
    fn nan_is_served_as_null_not_nan() {
        let schema = schema();
        let mut row = row();
        row.values[1] = Some(FeatureValue::Float64(f64::NAN));

        let response = FetchResponse::new(DataFormat::KeyValue, &schema, &row).unwrap();

        let text = serde_json::to_string(&response).unwrap();
        assert!(text.contains(r#"{"name":"revenue_30d"}"#), "{text}");
    }

    #[test]
    fn row_that_does_not_fit_the_schema_is_an_internal_error() {
        let schema = schema();
        let mut row = row();
        row.values.pop();

        let result = FetchResponse::new(DataFormat::KeyValue, &schema, &row);

        assert!(matches!(result, Err(ApiError::Internal(_))));
    }
}
