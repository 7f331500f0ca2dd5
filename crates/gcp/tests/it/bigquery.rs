//! BigQuery: the dataset, statements as jobs that finish on a later poll, dry runs with
//! the not-estimable case, paged query results and the location rules.

use fsdemo_gcp::{DryRunOutcome, EnsureOutcome, GcpError, Statement};
use fsdemo_gcp_fake::QueryOutput;

use crate::common::{env, FEATURES, LABELS, ORDERS, TRAIN};

#[tokio::test]
async fn dataset_is_created_once_then_reused() {
    let env = env(&[]).await;

    let first = env.gcp.ensure_dataset().await.unwrap();
    let second = env.gcp.ensure_dataset().await.unwrap();

    assert_eq!((first.outcome, second.outcome), (EnsureOutcome::Created, EnsureOutcome::Reused));
    assert_eq!(first.name, "demo-project.fsdemo");
    assert_eq!(
        env.fake.method_ids(),
        ["bigquery.datasets.get", "bigquery.datasets.insert", "bigquery.datasets.get"]
    );
    let insert = &env.fake.requests()[1];
    let body = insert.body.as_ref().unwrap();
    assert_eq!(body["location"], "US");
    assert_eq!(body["datasetReference"]["datasetId"], "fsdemo");
    assert_eq!(insert.bearer_token.as_deref(), Some(crate::common::TOKEN));
}

#[tokio::test]
async fn dry_runs_estimate_what_they_can_and_name_the_step_for_the_rest() {
    let env = env(&[]).await;
    env.gcp.ensure_dataset().await.unwrap();
    let features = format!("CREATE OR REPLACE TABLE `{FEATURES}` AS SELECT * FROM `{ORDERS}`");
    let labels = format!("CREATE OR REPLACE TABLE `{LABELS}` AS SELECT * FROM `{ORDERS}`");
    let train = format!(
        "CREATE OR REPLACE TABLE `{TRAIN}` AS SELECT * FROM `{LABELS}` \
         JOIN `{FEATURES}` USING (customer_id)"
    );
    let statements = [
        Statement { step: "build features_customer", sql: &features, creates: Some(FEATURES) },
        Statement { step: "build labels_customer", sql: &labels, creates: Some(LABELS) },
        Statement { step: "build train_dataset", sql: &train, creates: Some(TRAIN) },
    ];

    let runs = env.gcp.dry_run_all(&statements).await.unwrap();

    let DryRunOutcome::Estimated { bytes_processed, usd } = runs[0].outcome else {
        panic!("{runs:?}")
    };
    assert_eq!(bytes_processed, 1_000 * 64);
    assert!((usd - bytes_processed as f64 / 1024f64.powi(4) * 6.25).abs() < 1e-12);
    assert_eq!(
        runs[2].outcome,
        DryRunOutcome::NotEstimable {
            missing: LABELS.to_string(),
            created_by: Some("build labels_customer".into()),
        }
    );
    assert!(runs[2].summary().contains("not estimable before step `build labels_customer` runs"));
    let inserts: Vec<_> =
        env.fake.requests().into_iter().filter(|r| r.method_id == "bigquery.jobs.insert").collect();
    assert_eq!(inserts.len(), 3);
    assert!(inserts.iter().all(|r| r.body.as_ref().unwrap()["configuration"]["dryRun"] == true));
    assert!(env.engine.executed().is_empty(), "a dry run must not execute SQL");
}

#[tokio::test]
async fn a_dry_run_before_the_dataset_exists_is_not_estimable() {
    let env = env(&[]).await;
    let sql = format!("SELECT * FROM `{FEATURES}`");

    let run = env.gcp.dry_run("read features", &sql).await.unwrap();

    assert_eq!(
        run.outcome,
        DryRunOutcome::NotEstimable { missing: FEATURES.into(), created_by: None }
    );
}

#[tokio::test]
async fn statements_wait_for_their_job_and_report_rows() {
    let env = env(&[]).await;
    env.fake.set_job_polls(3);
    env.gcp.ensure_dataset().await.unwrap();
    let sql = format!("CREATE OR REPLACE TABLE `{FEATURES}` AS SELECT * FROM `{ORDERS}`");

    let report =
        env.gcp.run_statement("build features_customer", &sql, Some(FEATURES)).await.unwrap();

    assert_eq!(report.rows, Some(500));
    assert_eq!(report.bytes_processed, 500 * 64);
    assert_eq!(report.location, "US");
    let methods = env.fake.method_ids();
    assert_eq!(methods.iter().filter(|m| *m == "bigquery.jobs.get").count(), 3, "{methods:?}");
    assert_eq!(methods.last().unwrap(), "bigquery.tables.get");
    let insert =
        env.fake.requests().into_iter().find(|r| r.method_id == "bigquery.jobs.insert").unwrap();
    let body = insert.body.unwrap();
    assert_eq!(body["configuration"]["query"]["useLegacySql"], false);
    assert_eq!(body["jobReference"]["location"], "US");
    assert!(env
        .fake
        .requests()
        .iter()
        .filter(|r| r.method_id == "bigquery.jobs.get")
        .all(|r| r.query == "location=US"));
}

#[tokio::test]
async fn query_follows_page_tokens() {
    let env = env(&[]).await;
    env.fake.set_page_size(2);
    let rows = (1..=5).map(|i| vec![Some(i.to_string())]).collect();
    env.engine.answer("SELECT customer_id", QueryOutput::rows(&[("customer_id", "INT64")], rows));

    let result = env.gcp.query(&format!("SELECT customer_id FROM `{ORDERS}`")).await.unwrap();

    assert_eq!(result.columns, [("customer_id".to_string(), "INT64".to_string())]);
    assert_eq!(result.rows.len(), 5);
    let pages: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method_id == "bigquery.jobs.getQueryResults")
        .collect();
    assert!(pages.iter().all(|r| r.query.contains("formatOptions.useInt64Timestamp=true")));
    assert_eq!(pages.len(), 3);
    assert!(pages[0].query.contains("maxResults=10000") && !pages[0].query.contains("pageToken"));
    assert!(pages[1].query.contains("pageToken=2") && pages[2].query.contains("pageToken=4"));
}

#[tokio::test]
async fn a_failed_job_names_the_step_and_bigquerys_message() {
    let env = env(&[]).await;

    let error = env.gcp.query(&format!("SELECT nothing FROM `{ORDERS}`")).await.unwrap_err();

    let GcpError::Job { ref step, ref reason, ref message, .. } = error else { panic!("{error}") };
    assert_eq!((step.as_str(), reason.as_str()), ("query", "invalidQuery"));
    assert!(message.contains("SELECT nothing"), "{error}");
}

#[tokio::test]
async fn a_non_us_location_with_public_data_fails_before_any_call() {
    let env = env(&["gcp.bigquery_location=EU", "project.location=europe-west4"]).await;

    let error = env.gcp.ensure_dataset().await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::LocationMismatch { .. }), "{text}");
    assert!(
        text.contains("\"EU\"")
            && text.contains("US multi-region")
            && text.contains("europe-west4"),
        "{text}"
    );
    assert!(text.contains("bigquery-public-data.thelook_ecommerce"), "{text}");
    assert!(env.fake.requests().is_empty());
}

#[tokio::test]
async fn an_existing_dataset_in_another_location_is_refused() {
    let env = env(&[]).await;
    let elsewhere = crate::common::config(
        &env.fake,
        &[
            "gcp.bigquery_location=EU",
            "project.location=europe-west4",
            "project.source_project=my-copy",
        ],
    );
    crate::common::client(&elsewhere).ensure_dataset().await.unwrap();

    let error = env.gcp.ensure_dataset().await.unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, GcpError::LocationMismatch { .. }), "{text}");
    assert!(text.contains("exists in location EU") && text.contains("\"US\""), "{text}");
}

#[tokio::test]
async fn a_409_on_dataset_insert_is_reuse() {
    let env = env(&[]).await;
    env.fake.fail_times("bigquery.datasets.insert", fsdemo_gcp_fake::Fault::AlreadyExists, 1);

    let report = env.gcp.ensure_dataset().await.unwrap();

    assert_eq!(report.outcome, EnsureOutcome::Reused);
}
