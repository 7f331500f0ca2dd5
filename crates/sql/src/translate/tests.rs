//! The translation as text: each rewrite, the shipped files, and the refusals. That the
//! translated text means what BigQuery's means is checked by running it on DuckDB, in the
//! data crate's tests.

use super::*;
use crate::split::split_statements;

const PROJECTS: &[&str] = &["local", "bigquery-public-data"];

/// Translates a one-statement text.
fn duck(sql: &str) -> String {
    try_duck(sql).unwrap().sql
}

fn try_duck(sql: &str) -> Result<DuckStatement, SqlError> {
    let statements = split_statements("t.sql", sql).unwrap();
    to_duckdb("t.sql", &statements[0], PROJECTS)
}

fn error(sql: &str) -> String {
    try_duck(sql).unwrap_err().to_string()
}

#[test]
fn backquoted_three_part_names_become_quoted_schema_and_table() {
    let sql = duck("SELECT o.user_id FROM `bigquery-public-data.thelook.orders` AS o");

    assert_eq!(sql, "SELECT o.user_id FROM \"thelook\".\"orders\" AS o");
}

#[test]
fn create_table_reports_the_table_in_both_namings() {
    let statement = try_duck("CREATE OR REPLACE TABLE `local.fsdemo.t` AS SELECT 1 AS x").unwrap();

    let creates = statement.creates.unwrap();
    assert_eq!(creates.bigquery, "local.fsdemo.t");
    assert_eq!(creates.duckdb(), "\"fsdemo\".\"t\"");
    assert!(statement.sql.starts_with("CREATE OR REPLACE TABLE \"fsdemo\".\"t\" AS"));
}

#[test]
fn the_tables_a_statement_reads_are_listed_without_the_one_it_creates() {
    let statement = try_duck(
        "CREATE OR REPLACE TABLE `local.fsdemo.t` AS \
         WITH w AS (SELECT * FROM `bigquery-public-data.thelook.orders`) \
         SELECT * FROM w JOIN `local.fsdemo.u` AS u ON TRUE \
         JOIN `bigquery-public-data.thelook.orders` AS again ON TRUE",
    )
    .unwrap();

    assert_eq!(statement.reads, ["bigquery-public-data.thelook.orders", "local.fsdemo.u"]);
}

#[test]
fn except_becomes_exclude() {
    let sql = duck("SELECT f.* EXCEPT (customer_id, x) FROM t AS f");

    assert_eq!(sql, "SELECT f.* EXCLUDE (customer_id, x) FROM t AS f");
}

#[test]
fn unnest_alias_names_the_column_too() {
    let sql = duck("SELECT day FROM f, UNNEST(GENERATE_ARRAY(0, 6, 2)) AS day");

    assert!(sql.ends_with("UNNEST(generate_series(0, 6, 2)) AS day (day)"), "{sql}");
}

#[test]
fn types_and_safe_cast_take_duckdb_names() {
    let sql = duck(
        "SELECT CAST(a AS INT64), CAST(b AS FLOAT64), SAFE_CAST(c AS STRING), CAST(d AS BOOL)",
    );

    assert_eq!(
        sql,
        "SELECT CAST(a AS BIGINT), CAST(b AS DOUBLE), TRY_CAST(c AS VARCHAR), CAST(d AS BOOLEAN)"
    );
}

#[test]
fn double_quoted_strings_stay_strings() {
    assert_eq!(duck(r#"SELECT "Cancelled""#), "SELECT 'Cancelled'");
}

#[test]
fn timestamp_diff_counts_elapsed_units_with_arguments_swapped() {
    let sql = duck("SELECT TIMESTAMP_DIFF(t, last_order_at, DAY)");

    assert_eq!(sql, "SELECT date_sub('day', last_order_at, t)");
}

#[test]
fn date_diff_counts_boundaries_with_arguments_swapped() {
    assert_eq!(duck("SELECT DATE_DIFF(a, b, DAY)"), "SELECT date_diff('day', b, a)");
}

#[test]
fn date_arithmetic_stays_a_date_and_timestamp_arithmetic_a_timestamp() {
    assert_eq!(
        duck("SELECT DATE_SUB(d, INTERVAL (180 - 1) DAY)"),
        "SELECT CAST((d) - INTERVAL (180 - 1) DAY AS DATE)"
    );
    assert_eq!(duck("SELECT TIMESTAMP_ADD(t, INTERVAL 14 DAY)"), "SELECT ((t) + INTERVAL 14 DAY)");
}

#[test]
fn interval_of_a_column_is_parenthesised() {
    assert_eq!(
        duck("SELECT DATE_SUB(d, INTERVAL step DAY)"),
        "SELECT CAST((d) - INTERVAL (step) DAY AS DATE)"
    );
}

#[test]
fn safe_divide_and_if_and_countif() {
    assert_eq!(duck("SELECT SAFE_DIVIDE(a, b)"), "SELECT ((a) / NULLIF(b, 0))");
    assert_eq!(duck("SELECT IF(a > 1, 'x', 'y')"), "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END");
    assert_eq!(duck("SELECT COUNTIF(a > 1) FROM t"), "SELECT COALESCE(count_if(a > 1), 0) FROM t");
}

#[test]
fn countif_keeps_its_window() {
    let sql = duck("SELECT COUNTIF(a) OVER (PARTITION BY b) FROM t");

    assert_eq!(sql, "SELECT COALESCE(count_if(a) OVER (PARTITION BY b), 0) FROM t");
}

#[test]
fn least_is_null_when_any_argument_is() {
    let sql = duck("SELECT LEAST(a, b)");

    assert_eq!(sql, "SELECT CASE WHEN (a) IS NULL OR (b) IS NULL THEN NULL ELSE least(a, b) END");
}

#[test]
fn date_and_timestamp_constructors_become_casts() {
    assert_eq!(
        duck("SELECT DATE(t), TIMESTAMP(d)"),
        "SELECT CAST(t AS DATE), CAST(d AS TIMESTAMP)"
    );
    assert_eq!(
        duck("SELECT GENERATE_DATE_ARRAY(a, b)"),
        "SELECT CAST(generate_series(CAST(a AS DATE), CAST(b AS DATE), INTERVAL 1 DAY) AS DATE[])"
    );
}

#[test]
fn shipped_files_translate_without_backquotes_or_bigquery_names() {
    let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let config = fsdemo_core::Config::load(&config_dir, &[]).unwrap();
    let params = crate::Params::from_config(&config, chrono::Utc::now()).unwrap();

    for step in crate::STEPS {
        let text = params.render(step.file, step.text).unwrap();
        for statement in split_statements(step.file, &text).unwrap() {
            let sql = to_duckdb(step.file, &statement, PROJECTS).unwrap().sql;
            for bigquery_only in
                ["`", "INT64", "SAFE_DIVIDE", "COUNTIF", "TIMESTAMP_DIFF", "EXCEPT"]
            {
                assert!(!sql.contains(bigquery_only), "{}: {bigquery_only} in {sql}", step.file);
            }
        }
    }
}

#[test]
fn unknown_function_names_the_function_file_and_line() {
    let err = error("SELECT\n  a,\n  ARRAY_AGG(b)\nFROM t");

    assert!(err.contains("t.sql:3") && err.contains("function ARRAY_AGG"), "{err}");
}

#[test]
fn line_numbers_count_from_the_file_not_the_statement() {
    let text = "SELECT 1;\n\n\nSELECT\n  APPROX_QUANTILES(x, 4) FROM t";
    let statements = split_statements("t.sql", text).unwrap();

    let err = to_duckdb("t.sql", &statements[1], PROJECTS).unwrap_err().to_string();

    assert!(err.contains("t.sql:5"), "{err}");
}

#[test]
fn constructs_off_the_allow_list_are_refused_by_name() {
    let cases = [
        ("SELECT x FROM t, UNNEST(t.list) AS x WITH OFFSET", "WITH OFFSET"),
        ("SELECT DATE_DIFF(a, b, WEEK)", "WEEK"),
        ("SELECT x FROM `other-project.d.t`", "other-project"),
        ("INSERT INTO t VALUES (1)", "statement `INSERT"),
        ("SELECT STRUCT(1 AS a)", "not translated"),
        ("SELECT DATE(t, 'Europe/Berlin')", "time zone"),
        ("SELECT COUNT(DISTINCT IF(a, 1, 0)) FROM t", ""),
        ("SELECT SAFE_DIVIDE(a) FROM t", "arguments"),
    ];

    for (sql, needle) in cases {
        match try_duck(sql) {
            Err(error @ SqlError::Unsupported { .. }) => {
                let message = error.to_string();
                assert!(message.contains(needle), "{sql}: {message}");
            }
            Ok(translated) if needle.is_empty() => {
                // IF inside an aggregate is a plain call: translated, not refused.
                assert!(translated.sql.contains("CASE WHEN"), "{}", translated.sql);
            }
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }
}
