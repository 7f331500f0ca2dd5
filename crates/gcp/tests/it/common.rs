//! Shared setup: the fakes with a canned engine that knows theLook's source tables and the
//! features table, a configuration pointed at them, and a client with a fixed token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fsdemo_core::Config;
use fsdemo_gcp::{Gcp, StaticToken};
use fsdemo_gcp_fake::{CannedEngine, FakeGcp, QueryOutput};
use fsdemo_training::{TrainedModel, TrainingRow};

/// The token every test client sends and every fake requires.
pub const TOKEN: &str = "test-token";

pub const ORDERS: &str = "bigquery-public-data.thelook_ecommerce.orders";
pub const FEATURES: &str = "demo-project.fsdemo.features_customer";
pub const LABELS: &str = "demo-project.fsdemo.labels_customer";
pub const TRAIN: &str = "demo-project.fsdemo.train_dataset";

/// A running fake, its engine and a client for it.
pub struct Env {
    pub fake: FakeGcp,
    pub engine: Arc<CannedEngine>,
    pub config: Config,
    pub gcp: Gcp,
}

/// Starts the fakes and builds a client; `overrides` are extra `--set` values.
pub async fn env(overrides: &[&str]) -> Env {
    let engine = Arc::new(CannedEngine::new());
    engine.ddl_rows(FEATURES, 500).ddl_rows(LABELS, 300).ddl_rows(TRAIN, 300);
    engine.answer(&format!("FROM `{FEATURES}`)"), latest_features());

    let fake = FakeGcp::start(engine.clone()).await.expect("fakes start");
    fake.require_token(TOKEN);
    fake.add_table(ORDERS, 1_000);
    fake.add_table("bigquery-public-data.thelook_ecommerce.order_items", 3_000);
    let config = config(&fake, overrides);
    let gcp = client(&config);
    Env { fake, engine, config, gcp }
}

/// The shipped configuration for the gcp profile, every URL on a fake.
pub fn config(fake: &FakeGcp, overrides: &[&str]) -> Config {
    let mut all: Vec<String> = [
        "project.profile=gcp",
        "project.id=demo-project",
        "project.location=us-central1",
        "gcp.poll_interval_ms=2",
        "gcp.operation_timeout_secs=10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(fake.set_overrides());
    all.extend(overrides.iter().map(|s| s.to_string()));
    Config::load(&configs_dir(), &all).expect("the shipped configs load")
}

/// A client with the test token.
pub fn client(config: &Config) -> Gcp {
    let tokens = Arc::new(StaticToken::new(TOKEN, "the test"));
    Gcp::with_token_source(config, tokens)
        .expect("config is usable")
        .with_timing(Duration::from_millis(2), Duration::from_secs(10))
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// What the sync's newest-row-per-customer query returns: 1501 with a NULL average.
pub fn latest_features() -> QueryOutput {
    let s = |v: &str| Some(v.to_string());
    QueryOutput::rows(
        &[
            ("customer_id", "INT64"),
            ("feature_timestamp", "TIMESTAMP"),
            ("orders_7d", "INT64"),
            ("orders_30d", "INT64"),
            ("revenue_30d", "FLOAT64"),
            ("avg_order_value_30d", "FLOAT64"),
            ("days_since_last_order", "INT64"),
            ("distinct_products_30d", "INT64"),
        ],
        vec![
            vec![s("1501"), s("1709769600000000"), s("1"), s("0"), s("0.0"), None, s("12"), s("0")],
            vec![
                s("1502"),
                s("1709769600000000"),
                s("2"),
                s("3"),
                s("120.5"),
                s("40.1666"),
                s("1"),
                s("4"),
            ],
        ],
    )
}

/// Creates the dataset and the features table, as the pipeline's first steps do.
pub async fn build_tables(env: &Env) {
    env.gcp.ensure_dataset().await.expect("dataset");
    let sql = format!("CREATE OR REPLACE TABLE `{FEATURES}` AS SELECT * FROM `{ORDERS}`");
    env.gcp.run_statement("build features_customer", &sql, Some(FEATURES)).await.expect("features");
}

/// Trains a small model on synthetic rows and saves it to `dir`; `shift` changes it.
pub fn save_model(config: &Config, dir: &Path, shift: f64) -> TrainedModel {
    let day = 86_400_000_000_i64;
    let rows: Vec<TrainingRow> = (0..1_200_i64)
        .map(|i| {
            let orders = (i % 5) as f64;
            let label = (i * 7919 % 10) < (orders as i64 * 2 + 1);
            TrainingRow {
                label_timestamp: (i % 12) * 7 * day,
                label,
                inputs: [
                    orders.min(2.0),
                    orders,
                    orders * 30.0 + shift,
                    30.0,
                    10.0 * (5.0 - orders),
                    orders,
                ],
            }
        })
        .collect();
    let trained = fsdemo_training::train(&rows, &config.training).expect("trains");
    fsdemo_training::save(&trained, dir).expect("saves");
    trained
}

/// The method ids the fakes recorded, without the polls.
pub fn calls(env: &Env) -> Vec<String> {
    env.fake
        .method_ids()
        .into_iter()
        .filter(|m| {
            !m.ends_with("operations.get")
                && m != "bigquery.jobs.get"
                && m != "aiplatform.featureViewSyncs.get"
        })
        .collect()
}
