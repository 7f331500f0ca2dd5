//! What the report shows, as plain data the run has already computed: [`ReportData`].
//!
//! The binary fills it from the run's records (step records, `FeatureViewSync` records,
//! `model_meta.json`, the verify results, the bench output) and saves it as
//! `report_data.json` next to the page, so every type here is serde data with no logic.
//! Each section is optional: a run that skipped a step leaves its section `None`, and the
//! page says which command produces it. Timestamps are UTC microseconds since the Unix
//! epoch, as in `features_customer`; rates are fractions in `[0, 1]`, never percentages.

use serde::{Deserialize, Serialize};

/// Everything one report page shows, already computed by the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The profile the run used.
    pub profile: Profile,
    /// When the data was gathered, RFC 3339 UTC.
    pub generated_at: String,
    /// The run's working directory, as the user passed it.
    pub workdir: String,
    /// Section 1: the pipeline's steps, in the order they ran.
    #[serde(default)]
    pub pipeline: Option<Pipeline>,
    /// Section 2: one customer's orders, snapshots and label rows.
    #[serde(default)]
    pub point_in_time: Option<PointInTime>,
    /// Section 2: how many training rows a naive join would have leaked, over the dataset.
    #[serde(default)]
    pub leakage: Option<Leakage>,
    /// Section 3: online values against the newest offline rows (`fsdemo featurestore verify`).
    #[serde(default)]
    pub verify: Option<Verify>,
    /// Section 3: served predictions against the model applied offline.
    #[serde(default)]
    pub predictions: Option<Predictions>,
    /// Section 4: the model's metrics, curves and weights.
    #[serde(default)]
    pub model: Option<Model>,
    /// Section 5: label rate per label day and each feature's distribution.
    #[serde(default)]
    pub data: Option<DataProfile>,
    /// Section 6: online latency and throughput (`fsdemo bench online`).
    #[serde(default)]
    pub bench: Option<Bench>,
}

/// Which backends the run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// DuckDB for the tables and the local Vertex AI stand-ins.
    Local,
    /// BigQuery and Vertex AI in a Google Cloud project.
    Gcp,
}

impl Profile {
    /// The profile's name as `configs/env.yaml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Local => "local",
            Profile::Gcp => "gcp",
        }
    }
}

/// The pipeline's steps and where they were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The steps in the order they ran.
    pub steps: Vec<Step>,
    /// Where these records came from, e.g. `.fsdemo/steps.json`.
    pub source: String,
}

/// One step of the run: tables, feature store resources, sync, model or endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// A short name, e.g. `build features_customer`.
    pub name: String,
    /// How the step ended.
    pub status: StepStatus,
    /// Wall time of the step in milliseconds (0 when skipped).
    pub duration_ms: u64,
    /// The resources the step created or touched, by full name.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// One line for a person: row counts, the error, why it was skipped.
    #[serde(default)]
    pub detail: String,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// It ran and succeeded.
    Ok,
    /// It ran and failed; `detail` says why.
    Failed,
    /// It did not run (not needed, or an earlier step failed).
    Skipped,
    /// Its output already existed unchanged and was kept.
    Reused,
}

/// One resource a step created or touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The Vertex AI or BigQuery kind: `FeatureOnlineStore`, `FeatureView`, `Table`, ...
    pub kind: String,
    /// The full name: `projects/P/locations/L/featureOnlineStores/S` or `project.dataset.t`.
    pub full_name: String,
    /// What the step did to it.
    pub outcome: Outcome,
}

/// What a step did to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did not exist and was made.
    Created,
    /// It existed as wanted and was left alone.
    Reused,
    /// It existed and was changed in place.
    Updated,
    /// It existed and was dropped and made again.
    Replaced,
}

/// One customer's history, made to show the point-in-time rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointInTime {
    /// The customer (`orders.user_id`).
    pub customer_id: i64,
    /// Why this customer: `--customer-id`, or what made the automatic pick interesting.
    pub why_chosen: String,
    /// The customer's orders, oldest first, every status.
    pub orders: Vec<Order>,
    /// The customer's rows in `features_customer`, oldest first. `values` may be empty
    /// for snapshots no label row or naive row refers to; the page only draws those.
    pub snapshots: Vec<Snapshot>,
    /// The label rows to show, oldest first, with the snapshot `train_dataset` joined.
    /// Keep this to a handful around the customer's orders: the page draws every row.
    pub labels: Vec<LabelRow>,
    /// The same label rows joined naively (latest snapshot regardless of time).
    pub naive: Vec<NaiveRow>,
    /// Where these rows came from, e.g. the tables and the customer filter.
    pub source: String,
}

/// One order of the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// `orders.order_id`.
    pub order_id: i64,
    /// `orders.created_at`.
    pub created_at_micros: i64,
    /// The order value: the sum of `sale_price` over its items.
    pub value: f64,
    /// `orders.status` as recorded (`Complete`, `Cancelled`, ...).
    pub status: String,
    /// Whether the status counts for features and labels (not excluded).
    pub countable: bool,
}

/// One `features_customer` row of the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The snapshot time `T`.
    pub feature_timestamp_micros: i64,
    /// The feature values, in model input order; `None` for NULL.
    #[serde(default)]
    pub values: Vec<NamedValue>,
}

/// One feature's value; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedValue {
    /// The feature name, e.g. `orders_30d`.
    pub name: String,
    /// The value, `None` for NULL.
    pub value: Option<f64>,
}

/// One `train_dataset` row of the customer: a label and the snapshot joined to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRow {
    /// The label time `L`.
    pub label_timestamp_micros: i64,
    /// The label window in days (14): `[L, L + window)`.
    pub window_days: u32,
    /// `label_repurchase_14d`.
    pub label: bool,
    /// The `feature_timestamp` the point-in-time join took; `None` when no snapshot
    /// existed at or before `L` (the features are NULL).
    pub used_snapshot_micros: Option<i64>,
}

/// What a naive join (latest features regardless of time) gives one label row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaiveRow {
    /// The label time `L` of the row, matching a [`LabelRow`].
    pub label_timestamp_micros: i64,
    /// The snapshot the naive join took: the customer's newest.
    pub naive_snapshot_micros: i64,
    /// The countable orders with `L <= created_at < naive snapshot`: orders after the
    /// label time that the naive features already count.
    pub future_order_ids: Vec<i64>,
}

/// The naive join's leak over the whole training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Rows in `train_dataset`.
    pub train_rows: u64,
    /// Rows whose naive snapshot counts at least one countable order at or after `L`.
    pub rows_leaking_with_naive_join: u64,
    /// Where the counts came from, e.g. the query that counted them.
    pub source: String,
}

/// The `verify` comparison: online values against the newest offline rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verify {
    /// The `FeatureView` read, by full name.
    pub feature_view: String,
    /// The offline table compared against, e.g. `local.fsdemo.features_customer`.
    pub offline_table: String,
    /// Customers sampled.
    pub sampled: u64,
    /// Customers whose every feature and `feature_timestamp` matched.
    pub matched: u64,
    /// Every value that differed.
    #[serde(default)]
    pub mismatches: Vec<Mismatch>,
    /// A few customers' values side by side, to show what was compared.
    #[serde(default)]
    pub sample_rows: Vec<VerifyRow>,
    /// Where the results came from, e.g. `.fsdemo/verify.json`.
    pub source: String,
}

/// One value that differed between online and offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The customer.
    pub customer_id: i64,
    /// The feature, or `feature_timestamp`.
    pub feature: String,
    /// The served value; `None` for a missing value or an unknown customer.
    pub online: Option<f64>,
    /// The offline value; `None` for NULL.
    pub offline: Option<f64>,
}

/// One customer's online and offline values side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRow {
    /// The customer.
    pub customer_id: i64,
    /// The served `feature_timestamp`; `None` when the customer was not served.
    pub online_timestamp_micros: Option<i64>,
    /// The newest offline `feature_timestamp`.
    pub offline_timestamp_micros: Option<i64>,
    /// Each feature's two values, in model input order.
    pub values: Vec<PairedValue>,
}

/// One feature's online and offline value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedValue {
    /// The feature name.
    pub name: String,
    /// The served value; `None` when served without a value.
    pub online: Option<f64>,
    /// The offline value; `None` for NULL.
    pub offline: Option<f64>,
}

/// Served predictions next to the same model applied to the offline rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// The `Endpoint` that served, by full name.
    pub endpoint: String,
    /// The largest difference the run accepted as agreement (f32 rounding).
    pub tolerance: f64,
    /// One row per predicted customer.
    pub rows: Vec<PredictionCheck>,
    /// Where the predictions came from.
    pub source: String,
}

/// One customer's served and offline prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionCheck {
    /// The customer.
    pub customer_id: i64,
    /// The probability the endpoint returned for the online features.
    pub served: f64,
    /// The probability of the same model on the newest offline row.
    pub offline: f64,
    /// The `deployedModelId` the endpoint answered with.
    pub deployed_model_id: String,
}

/// The trained model as evaluated out of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The `Model` resource, by full name.
    pub model: String,
    /// The probability at or above which a prediction counts as positive for accuracy.
    pub threshold: f64,
    /// Metrics on the older label days the model was fitted on.
    pub train: SplitSummary,
    /// Metrics on the held-out newest label days.
    pub test: SplitSummary,
    /// The test ROC curve, from (0, 0) to (1, 1).
    pub roc_curve: Vec<RocPoint>,
    /// The test precision-recall curve, by increasing recall.
    pub pr_curve: Vec<PrPoint>,
    /// Test rows by decile of predicted probability.
    pub calibration: Vec<CalibrationBin>,
    /// One weight per model input, in model input order.
    pub weights: Vec<Weight>,
    /// The intercept, on the log-odds scale.
    pub bias: f64,
    /// Where the numbers came from, e.g. `.fsdemo/model/model_meta.json`.
    pub source: String,
}

/// The metrics of one split, as `model_meta.json` records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// The label days the split covers.
    pub label_days: DayRange,
    /// Rows in the split.
    pub rows: u64,
    /// Rows with label 1.
    pub positives: u64,
    /// `positives / rows`.
    pub positive_rate: f64,
    /// Area under the ROC curve; `None` with a single class.
    pub roc_auc: Option<f64>,
    /// Average precision; `None` without positives.
    pub pr_auc: Option<f64>,
    /// Mean log loss.
    pub log_loss: f64,
    /// Share of rows whose thresholded prediction equals the label.
    pub accuracy: f64,
    /// The accuracy of always answering "no": `1 - positive_rate`.
    pub baseline_accuracy: f64,
}

/// A run of label days, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRange {
    /// The first label day.
    pub first: String,
    /// The last label day.
    pub last: String,
    /// Distinct label days.
    pub days: u32,
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// False positive rate.
    pub fpr: f64,
    /// True positive rate (recall).
    pub tpr: f64,
}

/// One point of a precision-recall curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrPoint {
    /// Recall.
    pub recall: f64,
    /// Precision.
    pub precision: f64,
}

/// Test rows whose predicted probability falls in one decile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// The mean predicted probability of the rows.
    pub predicted_mean: f64,
    /// The share of the rows with label 1.
    pub observed_rate: f64,
    /// Rows in the bin.
    pub rows: u64,
}

/// One model input's weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    /// The feature name.
    pub feature: String,
    /// The weight on the raw input: log-odds per unit of the feature.
    pub weight: f64,
    /// The weight times the feature's training standard deviation: log-odds per standard
    /// deviation, the number to compare across features. `None` when not recorded.
    #[serde(default)]
    pub per_std_dev: Option<f64>,
}

/// The training data at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataProfile {
    /// One entry per label day, oldest first.
    pub label_rate_by_day: Vec<LabelDay>,
    /// One distribution per model input, in model input order.
    pub features: Vec<FeatureDistribution>,
    /// Where the numbers came from: the tables and which snapshot the distributions use.
    pub source: String,
}

/// The labels of one label day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelDay {
    /// The label day, `YYYY-MM-DD`.
    pub day: String,
    /// Label rows that day.
    pub rows: u64,
    /// Share of them with label 1.
    pub positive_rate: f64,
}

/// One feature's distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDistribution {
    /// The feature name.
    pub name: String,
    /// Rows counted, NULLs included.
    pub rows: u64,
    /// Share of the rows where the feature is NULL.
    pub null_rate: f64,
    /// Histogram of the non-NULL values, by increasing `lo`.
    pub bins: Vec<HistogramBin>,
}

/// One histogram bin: values in `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramBin {
    /// Lower bound, inclusive.
    pub lo: f64,
    /// Upper bound, exclusive (inclusive for the last bin).
    pub hi: f64,
    /// Rows in the bin.
    pub count: u64,
}

/// The results of `fsdemo bench online`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bench {
    /// `fetchFeatureValues` alone.
    pub fetch: Latency,
    /// Fetch then predict, as a caller serving a decision would.
    #[serde(default)]
    pub full_path: Option<Latency>,
    /// Seconds the timed `FeatureViewSync` took.
    #[serde(default)]
    pub sync_secs: Option<f64>,
    /// Rows the timed sync published.
    #[serde(default)]
    pub sync_rows: Option<u64>,
    /// Where the numbers came from, e.g. `.fsdemo/bench_online.json`.
    pub source: String,
}

/// Latency percentiles and throughput of one request path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Requests timed.
    pub requests: u64,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile latency in milliseconds.
    pub p90_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// Slowest request in milliseconds.
    pub max_ms: f64,
    /// Requests completed per second over the run.
    pub requests_per_sec: f64,
}
