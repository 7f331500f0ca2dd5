//! Queries the program builds rather than reads from `sql/`, in the same BigQuery
//! Standard SQL as the step files, so they run on BigQuery as written and on DuckDB
//! through the same translation.

use crate::error::SqlError;

/// The newest row per entity of `table` (`project.dataset.table`): the entity column, the
/// timestamp column and `features`, in that order, optionally only for `entity_ids`.
///
/// "Newest" is the greatest timestamp, the rule of SPEC "Online serving"; a feature view
/// sync publishes these rows, and `featurestore verify` compares them with what is served.
pub fn newest_rows(
    table: &str,
    entity: &str,
    timestamp: &str,
    features: &[&str],
    entity_ids: Option<&[i64]>,
) -> Result<String, SqlError> {
    for column in [entity, timestamp].iter().chain(features) {
        column_name(column)?;
    }
    table_name(table)?;

    let columns: Vec<String> =
        [entity, timestamp].iter().chain(features).map(|c| format!("f.{c}")).collect();
    let only = match entity_ids {
        Some([]) => "\nWHERE FALSE".to_string(),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("\nWHERE f.{entity} IN ({})", list.join(", "))
        }
        None => String::new(),
    };

    Ok(format!(
        "SELECT {columns}\n\
         FROM `{table}` AS f\n\
         JOIN (\n  SELECT {entity}, MAX({timestamp}) AS newest\n  FROM `{table}`\n  \
         GROUP BY {entity}\n) AS n\n  ON n.{entity} = f.{entity} AND n.newest = f.{timestamp}\
         {only}",
        columns = columns.join(", "),
    ))
}

/// Every `train_dataset` row: the customer, the label time and label, the snapshot time
/// the point-in-time join chose (NULL when none) and `features`, oldest label first.
pub fn training_rows(table: &str, features: &[&str]) -> Result<String, SqlError> {
    table_name(table)?;
    for column in features {
        column_name(column)?;
    }
    let mut columns =
        vec!["customer_id", "label_timestamp", "label_repurchase_14d", "feature_timestamp"];
    columns.extend_from_slice(features);
    Ok(format!(
        "SELECT {}\nFROM `{table}`\nORDER BY label_timestamp, customer_id",
        columns.join(", ")
    ))
}

/// The report's queries over the built tables of `dataset` (`project.dataset`), for one
/// customer's story and the dataset-wide leakage count.
pub mod report {
    /// A customer worth showing: at least three countable orders, all inside the snapshot
    /// window (so the timeline is readable), the most positive labels first, then the most
    /// orders, smallest id on ties.
    pub fn interesting_customer(dataset: &str) -> String {
        format!(
            "SELECT l.customer_id\n\
             FROM `{dataset}.labels_customer` AS l\n\
             JOIN (\n  SELECT customer_id, COUNT(*) AS orders, MIN(created_at) AS first_order\n  \
             FROM `{dataset}.orders_prepared`\n  WHERE countable\n  GROUP BY customer_id\n\
             ) AS o ON o.customer_id = l.customer_id\n\
             CROSS JOIN `{dataset}.time_frame` AS frame\n\
             WHERE o.orders >= 3 AND o.first_order >= TIMESTAMP(frame.first_snapshot_day)\n\
             GROUP BY l.customer_id, o.orders\n\
             HAVING SUM(l.label_repurchase_14d) > 0\n\
             ORDER BY SUM(l.label_repurchase_14d) DESC, o.orders DESC, l.customer_id\n\
             LIMIT 1"
        )
    }

    /// Every order of `customer`, oldest first.
    pub fn orders(dataset: &str, customer: i64) -> String {
        format!(
            "SELECT order_id, created_at, order_value, status, countable\n\
             FROM `{dataset}.orders_prepared`\n\
             WHERE customer_id = {customer}\n\
             ORDER BY created_at, order_id"
        )
    }

    /// Every snapshot of `customer` with `features`, oldest first.
    pub fn snapshots(dataset: &str, customer: i64, features: &[&str]) -> String {
        format!(
            "SELECT feature_timestamp, {}\n\
             FROM `{dataset}.features_customer`\n\
             WHERE customer_id = {customer}\n\
             ORDER BY feature_timestamp",
            features.join(", ")
        )
    }

    /// Every label of `customer` with the snapshot the point-in-time join chose, and the
    /// newest snapshot, which a naive join would have used.
    pub fn labels(dataset: &str, customer: i64) -> String {
        format!(
            "SELECT t.label_timestamp, t.label_repurchase_14d, t.feature_timestamp,\n  \
             (SELECT MAX(feature_timestamp) FROM `{dataset}.features_customer`\n   \
             WHERE customer_id = {customer}) AS newest_snapshot\n\
             FROM `{dataset}.train_dataset` AS t\n\
             WHERE t.customer_id = {customer}\n\
             ORDER BY t.label_timestamp"
        )
    }

    /// Training rows, and those whose customer's newest snapshot (what a naive join takes)
    /// already counts a countable order made at or after the label time: a leak.
    pub fn leakage(dataset: &str) -> String {
        format!(
            "WITH\n  \
             newest AS (\n    SELECT customer_id, MAX(feature_timestamp) AS newest\n    \
             FROM `{dataset}.features_customer`\n    GROUP BY customer_id\n  ),\n  \
             leaked AS (\n    SELECT DISTINCT t.customer_id, t.label_timestamp\n    \
             FROM `{dataset}.train_dataset` AS t\n    \
             JOIN newest AS n ON n.customer_id = t.customer_id\n    \
             JOIN `{dataset}.orders_prepared` AS o\n      ON o.customer_id = t.customer_id\n      \
             AND o.countable\n      AND o.created_at >= t.label_timestamp\n      \
             AND o.created_at < n.newest\n  )\n\
             SELECT\n  (SELECT COUNT(*) FROM `{dataset}.train_dataset`) AS train_rows,\n  \
             (SELECT COUNT(*) FROM leaked) AS leaking_rows"
        )
    }
}

/// Checks a table name is `project.dataset.table`.
fn table_name(table: &str) -> Result<(), SqlError> {
    let parts: Vec<&str> = table.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && !p.contains('`')) {
        return Ok(());
    }
    Err(SqlError::Param {
        key: "project.dataset",
        value: table.into(),
        need: "a table name project.dataset.table",
    })
}

/// Checks a column name is a plain identifier.
fn column_name(name: &str) -> Result<(), SqlError> {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        return Ok(());
    }
    Err(SqlError::Param {
        key: "featurestore.features",
        value: name.into(),
        need: "a column name of letters, digits and `_`",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::split_statements;
    use crate::translate::to_duckdb;

    #[test]
    fn newest_rows_translates_for_duckdb() {
        let sql =
            newest_rows("local.fsdemo.f", "customer_id", "ts", &["a", "b"], Some(&[7, 9])).unwrap();

        let statements = split_statements("newest", &sql).unwrap();
        let duck = to_duckdb("newest", &statements[0], &["local"]).unwrap().sql;

        assert!(sql.contains("FROM `local.fsdemo.f` AS f"), "{sql}");
        assert!(duck.contains("FROM \"fsdemo\".\"f\" AS f"), "{duck}");
        assert!(duck.contains("WHERE f.customer_id IN (7, 9)"), "{duck}");
        assert!(duck.starts_with("SELECT f.customer_id, f.ts, f.a, f.b"), "{duck}");
    }

    #[test]
    fn report_queries_translate_for_duckdb() {
        let dataset = "local.fsdemo";
        let queries = [
            report::interesting_customer(dataset),
            report::orders(dataset, 7),
            report::snapshots(dataset, 7, &["orders_7d", "revenue_30d"]),
            report::labels(dataset, 7),
            report::leakage(dataset),
        ];

        for sql in queries {
            let statements = split_statements("report", &sql).unwrap();
            let duck = to_duckdb("report", &statements[0], &["local"]).unwrap().sql;
            assert!(duck.contains("\"fsdemo\".") && !duck.contains('`'), "{duck}");
        }
    }

    #[test]
    fn no_ids_selects_nothing_and_bad_names_are_refused() {
        let none = newest_rows("p.d.t", "id", "ts", &[], Some(&[])).unwrap();
        let bad = newest_rows("p.d.t", "id", "ts", &["a; DROP"], None).unwrap_err();
        let table = newest_rows("d.t", "id", "ts", &[], None).unwrap_err();

        assert!(none.ends_with("WHERE FALSE"));
        assert!(bad.to_string().contains("featurestore.features"));
        assert!(table.to_string().contains("project.dataset.table"));
    }
}
