//! `endpoints.predict` on the wire, as Vertex AI's prebuilt XGBoost container serves it:
//! reading `{"instances": [[f1, ..., f6], ...]}` with every value checked, and writing
//! `{"predictions": [...], "deployedModelId": "..."}`. The model is the `Predicting`
//! backend's business.

use std::fmt;

use fsdemo_core::MODEL_INPUTS;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::body::parse_json;
use crate::error::ApiError;

/// `PredictRequest` as it arrives. `parameters` is accepted and ignored: the XGBoost
/// container takes none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPredictRequest {
    instances: Option<Vec<Instance>>,
    #[allow(dead_code)]
    parameters: Option<IgnoredAny>,
}

/// One instance: exactly the six model inputs, each a finite number.
struct Instance([f64; 6]);

impl<'de> Deserialize<'de> for Instance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(InstanceVisitor)
    }
}

struct InstanceVisitor;

impl<'de> Visitor<'de> for InstanceVisitor {
    type Value = Instance;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} numbers: {}", MODEL_INPUTS.len(), MODEL_INPUTS.join(", "))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Instance, A::Error> {
        let mut values = [0.0; 6];
        let mut count = 0;

        // Count past six so the message can say how many values there were.
        while count < values.len() {
            let Some(value) = seq.next_element::<FiniteNumber>()? else { break };
            values[count] = value.0;
            count += 1;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }

        if count != values.len() {
            return Err(de::Error::invalid_length(count, &self));
        }
        Ok(Instance(values))
    }
}

/// A JSON number that fits a finite f64 (serde_json already refuses NaN and infinity
/// literals; this also refuses a number too large to represent).
struct FiniteNumber(f64);

impl<'de> Deserialize<'de> for FiniteNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !value.is_finite() {
            return Err(de::Error::invalid_value(de::Unexpected::Float(value), &"a finite number"));
        }
        Ok(FiniteNumber(value))
    }
}

/// Reads a predict body into the instances; an empty or missing list, or any instance
/// that is not six finite numbers, is a 400 naming `instances` or `instances[i]`.
pub(crate) fn parse_instances(body: &[u8]) -> Result<Vec<[f64; 6]>, ApiError> {
    let raw: RawPredictRequest = parse_json(body)?;

    let instances = raw.instances.ok_or_else(|| {
        ApiError::InvalidArgument(format!(
            "instances is required: a list of [{}] lists",
            MODEL_INPUTS.join(", ")
        ))
    })?;

    if instances.is_empty() {
        let message = "instances is empty: give at least one instance";
        return Err(ApiError::InvalidArgument(message.into()));
    }
    Ok(instances.into_iter().map(|Instance(values)| values).collect())
}

/// `PredictResponse` as the XGBoost container writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PredictResponse<'a> {
    pub predictions: &'a [f64],
    pub deployed_model_id: &'a str,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(body: &str) -> String {
        parse_instances(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn instances_are_read_in_order() {
        let body = json!({"instances": [[1, 2, 40.5, 20.25, 3, 4], [0, 0, 0, 0, 3650, 0]]});

        let instances = parse_instances(body.to_string().as_bytes()).unwrap();

        assert_eq!(instances, vec![[1.0, 2.0, 40.5, 20.25, 3.0, 4.0], [0., 0., 0., 0., 3650., 0.]]);
    }

    #[test]
    fn wrong_length_names_the_instance() {
        let body = r#"{"instances": [[1,2,3,4,5,6], [1,2,3,4,5,6], [1,2,3,4,5,6], [1,2,3,4,5]]}"#;

        let message = error(body);

        assert!(message.contains("'instances[3]'"), "{message}");
        assert!(message.contains("invalid length 5"), "{message}");
        assert!(error(r#"{"instances": [[1,2,3,4,5,6,7]]}"#).contains("invalid length 7"));
    }

    #[test]
    fn non_numbers_and_non_finite_values_are_refused() {
        assert!(error(r#"{"instances": [[1,2,"x",4,5,6]]}"#).contains("instances[0][2]"));
        assert!(error(r#"{"instances": [[1,2,null,4,5,6]]}"#).contains("instances[0][2]"));
        assert!(error(r#"{"instances": [[1,2,1e999,4,5,6]]}"#).contains("Invalid"));
        assert!(error(r#"{"instances": [[1,2,NaN,4,5,6]]}"#).contains("Invalid JSON payload"));
        assert!(error(r#"{"instances": [{"orders_7d": 1}]}"#).contains("instances[0]"));
    }

    #[test]
    fn missing_or_empty_instances_are_refused() {
        assert!(error("{}").contains("instances is required"));
        assert!(error(r#"{"instances": []}"#).contains("instances is empty"));
        assert!(error(r#"{"instances": null}"#).contains("instances is required"));
        assert!(error(r#"{"instance": [[1,2,3,4,5,6]]}"#).contains("unknown field"));
    }

    #[test]
    fn parameters_are_accepted_and_ignored() {
        let body = r#"{"instances": [[1,2,3,4,5,6]], "parameters": {"x": 1}}"#;

        assert_eq!(parse_instances(body.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn response_uses_vertex_names() {
        let response = PredictResponse { predictions: &[0.25], deployed_model_id: "7" };

        let value = serde_json::to_value(&response).unwrap();

        assert_eq!(value, json!({"predictions": [0.25], "deployedModelId": "7"}));
    }
}
