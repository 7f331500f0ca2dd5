//! Typed reads of the built tables for the stages after the build: the feature view's
//! newest rows (a sync, `verify`), the training rows, and any one-statement BigQuery query
//! (run through the same translation as the step files).

use duckdb::types::ValueRef;
use fsdemo_core::{FeatureRow, FeatureSpec, FeatureType, FeatureValue};
use fsdemo_sql::{queries, split_statements, to_duckdb};

use crate::error::DataError;
use crate::warehouse::{micros, Rows, Warehouse};

/// One `train_dataset` row: the label and the snapshot the point-in-time join chose.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledRow {
    /// The customer.
    pub customer_id: i64,
    /// The label time `L`, UTC microseconds.
    pub label_timestamp: i64,
    /// `label_repurchase_14d = 1`.
    pub label: bool,
    /// The chosen snapshot's time; `None` when no snapshot was at or before `L`.
    pub feature_timestamp: Option<i64>,
    /// The snapshot's values, in the order of the feature list read with; all `None`
    /// without a snapshot.
    pub values: Vec<Option<FeatureValue>>,
}

impl LabeledRow {
    /// The value of feature `name` through `schema`; `None` when NULL.
    pub fn get(&self, schema: &[FeatureSpec], name: &str) -> Option<FeatureValue> {
        let index = schema.iter().position(|spec| spec.name == name)?;
        self.values.get(index).copied().flatten()
    }
}

/// Translates one BigQuery statement for this warehouse.
pub fn translate_query(label: &str, sql: &str, projects: &[&str]) -> Result<String, DataError> {
    let statements = split_statements(label, sql)?;
    let statement = statements.first().ok_or_else(|| DataError::Warehouse {
        step: label.into(),
        target: "query".into(),
        message: "the query is empty".into(),
    })?;
    Ok(to_duckdb(label, statement, projects)?.sql)
}

/// Runs a one-statement BigQuery query and reads the whole (small) result.
pub fn select_bigquery(
    warehouse: &Warehouse,
    label: &str,
    sql: &str,
    projects: &[&str],
) -> Result<Rows, DataError> {
    let duck = translate_query(label, sql, projects)?;
    warehouse.select(label, &duck)
}

/// The newest row per entity of `table` (`project.dataset.table`), with `features` as
/// values in order, optionally only for `entity_ids`.
pub fn newest_rows(
    warehouse: &Warehouse,
    table: &str,
    entity: &str,
    timestamp: &str,
    features: &[FeatureSpec],
    entity_ids: Option<&[i64]>,
    projects: &[&str],
) -> Result<Vec<FeatureRow>, DataError> {
    let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let sql = queries::newest_rows(table, entity, timestamp, &names, entity_ids)?;
    let duck = translate_query("newest rows", &sql, projects)?;

    let fail = |e| DataError::duckdb("read the newest rows of", table, e);
    let mut statement = warehouse.conn().prepare(&duck).map_err(fail)?;
    let rows = statement
        .query_map([], |row| {
            let entity_id: i64 = row.get(0)?;
            let feature_timestamp = timestamp_at(row, 1)?.unwrap_or(i64::MIN);
            let values = feature_values(row, 2, features)?;
            Ok(FeatureRow { entity_id, feature_timestamp, values })
        })
        .map_err(fail)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(fail)
}

/// Every `train_dataset` row of `table`, with `features` in order, oldest label first.
pub fn training_rows(
    warehouse: &Warehouse,
    table: &str,
    features: &[FeatureSpec],
    projects: &[&str],
) -> Result<Vec<LabeledRow>, DataError> {
    let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let sql = queries::training_rows(table, &names)?;
    let duck = translate_query("training rows", &sql, projects)?;

    let fail = |e| DataError::duckdb("read the training rows of", table, e);
    let mut statement = warehouse.conn().prepare(&duck).map_err(fail)?;
    let rows = statement
        .query_map([], |row| {
            Ok(LabeledRow {
                customer_id: row.get(0)?,
                label_timestamp: timestamp_at(row, 1)?.unwrap_or(i64::MIN),
                label: row.get::<_, i64>(2)? == 1,
                feature_timestamp: timestamp_at(row, 3)?,
                values: feature_values(row, 4, features)?,
            })
        })
        .map_err(fail)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(fail)
}

/// A timestamp column as UTC microseconds; `None` for NULL.
fn timestamp_at(row: &duckdb::Row<'_>, index: usize) -> duckdb::Result<Option<i64>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        ValueRef::Timestamp(unit, value) => Ok(Some(micros(unit, value))),
        other => Err(duckdb::Error::FromSqlConversionFailure(
            index,
            other.data_type(),
            "expected a TIMESTAMP".into(),
        )),
    }
}

/// The feature columns from `first` on, typed by `features`; a NaN is read as NULL.
fn feature_values(
    row: &duckdb::Row<'_>,
    first: usize,
    features: &[FeatureSpec],
) -> duckdb::Result<Vec<Option<FeatureValue>>> {
    let mut values = Vec::with_capacity(features.len());
    for (offset, spec) in features.iter().enumerate() {
        let value = match spec.value_type {
            FeatureType::Int64 => {
                row.get::<_, Option<i64>>(first + offset)?.map(FeatureValue::Int64)
            }
            FeatureType::Float64 => row
                .get::<_, Option<f64>>(first + offset)?
                .filter(|v| v.is_finite())
                .map(FeatureValue::Float64),
        };
        values.push(value);
    }
    Ok(values)
}
