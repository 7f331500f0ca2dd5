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
    let parts: Vec<&str> = table.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.contains('`')) {
        return Err(SqlError::Param {
            key: "featurestore.feature_group.source_table",
            value: table.into(),
            need: "a table name project.dataset.table",
        });
    }

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
    fn no_ids_selects_nothing_and_bad_names_are_refused() {
        let none = newest_rows("p.d.t", "id", "ts", &[], Some(&[])).unwrap();
        let bad = newest_rows("p.d.t", "id", "ts", &["a; DROP"], None).unwrap_err();
        let table = newest_rows("d.t", "id", "ts", &[], None).unwrap_err();

        assert!(none.ends_with("WHERE FALSE"));
        assert!(bad.to_string().contains("featurestore.features"));
        assert!(table.to_string().contains("project.dataset.table"));
    }
}
