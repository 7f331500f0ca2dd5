//! Feature definitions and values: the row shape that the offline tables, the online store
//! and the model all agree on, and the single fill rule that turns a row into model input.

use serde::{Deserialize, Serialize};

/// The model's inputs, in the order the model reads them (SPEC "Model and prediction").
pub const MODEL_INPUTS: [&str; 6] = [
    "orders_7d",
    "orders_30d",
    "revenue_30d",
    "avg_order_value_30d",
    "days_since_last_order",
    "distinct_products_30d",
];

/// The value that fills a missing `days_since_last_order`: ten years, longer than any
/// history the demo sees, so "never ordered" reads as "ordered very long ago".
pub const NEVER_ORDERED_DAYS: f64 = 3650.0;

/// The storage type of one feature, named as BigQuery names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FeatureType {
    /// A 64-bit integer (`INT64`), served as `int64Value`.
    Int64,
    /// A 64-bit float (`FLOAT64`), served as `doubleValue`.
    Float64,
}

/// One feature as `configs/featurestore.yaml` defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Column name in `features_customer`, and the `Feature` id in the feature group.
    pub name: String,
    /// Storage type: `INT64` or `FLOAT64`.
    #[serde(rename = "type")]
    pub value_type: FeatureType,
    /// What the feature means, copied into the `Feature` resource's description.
    #[serde(default)]
    pub description: String,
}

/// One feature value. A NULL is `None` around it, never a NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum FeatureValue {
    /// An `INT64` value.
    Int64(i64),
    /// A `FLOAT64` value.
    Float64(f64),
}

impl FeatureValue {
    /// The value as a float, the form the model reads.
    pub fn as_f64(self) -> f64 {
        match self {
            FeatureValue::Int64(v) => v as f64,
            FeatureValue::Float64(v) => v,
        }
    }
}

/// One `features_customer` row: an entity, the snapshot time and the values, in the order
/// of the feature list it was read with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// The entity id (`customer_id`).
    pub entity_id: i64,
    /// The snapshot time `T`, in microseconds since the Unix epoch (UTC).
    pub feature_timestamp: i64,
    /// One value per feature of the schema, `None` for NULL.
    pub values: Vec<Option<FeatureValue>>,
}

impl FeatureRow {
    /// The value of feature `name`, looked up through `schema`; `None` when NULL or absent.
    pub fn get(&self, schema: &[FeatureSpec], name: &str) -> Option<FeatureValue> {
        let index = schema.iter().position(|spec| spec.name == name)?;
        self.values.get(index).copied().flatten()
    }
}

/// Turns feature values into the model's input vector, filling missing values.
///
/// This is the one fill rule, used by training and by serving alike:
/// - a missing count (`orders_7d`, `orders_30d`, `distinct_products_30d`) is 0: no
///   countable orders were seen;
/// - a missing `revenue_30d` or `avg_order_value_30d` is 0.0: nothing was spent in the
///   window (the average is NULL exactly when `orders_30d` is 0);
/// - a missing `days_since_last_order` is [`NEVER_ORDERED_DAYS`]: no countable order ever.
///
/// `lookup` returns a feature's value by name (`None` for NULL or a missing row), so the
/// same function serves an offline row, an online response and a training row.
pub fn model_input(lookup: impl Fn(&str) -> Option<f64>) -> [f64; 6] {
    MODEL_INPUTS.map(|name| {
        let value = lookup(name).filter(|v| v.is_finite());
        value.unwrap_or_else(|| fill_value(name))
    })
}

/// The value [`model_input`] puts in place of a missing feature `name`.
pub fn fill_value(name: &str) -> f64 {
    match name {
        "days_since_last_order" => NEVER_ORDERED_DAYS,
        _ => 0.0,
    }
}

/// The model input for a [`FeatureRow`] read with `schema`.
pub fn row_input(schema: &[FeatureSpec], row: &FeatureRow) -> [f64; 6] {
    model_input(|name| row.get(schema, name).map(FeatureValue::as_f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<FeatureSpec> {
        MODEL_INPUTS
            .iter()
            .map(|name| FeatureSpec {
                name: name.to_string(),
                value_type: if name.contains("revenue") || name.contains("avg") {
                    FeatureType::Float64
                } else {
                    FeatureType::Int64
                },
                description: String::new(),
            })
            .collect()
    }

    #[test]
    fn fill_rule_fills_each_missing_feature_by_its_kind() {
        let row = FeatureRow {
            entity_id: 7,
            feature_timestamp: 0,
            values: vec![
                Some(FeatureValue::Int64(1)),
                Some(FeatureValue::Int64(2)),
                Some(FeatureValue::Float64(40.0)),
                None,
                None,
                Some(FeatureValue::Int64(3)),
            ],
        };

        let input = row_input(&schema(), &row);

        assert_eq!(input, [1.0, 2.0, 40.0, 0.0, NEVER_ORDERED_DAYS, 3.0]);
    }

    #[test]
    fn model_input_follows_model_order_not_schema_order() {
        let mut reversed = schema();
        reversed.reverse();
        let row = FeatureRow {
            entity_id: 7,
            feature_timestamp: 0,
            values: (1..=6).map(|v| Some(FeatureValue::Int64(v))).collect(),
        };

        let input = row_input(&reversed, &row);

        assert_eq!(input, [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
    }

    #[test]
    fn nan_is_treated_as_missing_not_passed_to_the_model() {
        let input = model_input(|name| (name == "revenue_30d").then_some(f64::NAN));

        assert!(input.iter().all(|v| v.is_finite()));
    }
}
