//! The model artifact: `model.bst`, an XGBoost JSON model (`gblinear` booster, objective
//! `binary:logistic`) that Vertex AI's prebuilt XGBoost 2.1 container loads as it is, and
//! `model_meta.json` beside it with the feature order, the fill rule, the metrics and the
//! file's sha256. Also reads `model.bst` back for our own serving.
//!
//! XGBoost's `gblinear` stores `weights = [w_0, .., w_{n-1}, bias]` (one output group) and
//! predicts `sigmoid(w · x + bias + logit(base_score))`; XGBoost 2.x keeps `base_score` in
//! probability space, so `base_score = 0.5` adds a margin of exactly 0.
//!
//! Limitation: only XGBoost's JSON text is read back. A model saved by XGBoost itself under
//! a `.bst` or `.ubj` name is UBJSON (binary); save it with a `.json` name to serve it here.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use fsdemo_core::config::TrainingConfig;
use fsdemo_core::features::fill_value;
use fsdemo_core::MODEL_INPUTS;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::info;

use crate::atomic::{sha256_hex, write_atomic};
use crate::error::TrainingError;
use crate::fit::TrainedModel;
use crate::metrics::Metrics;
use crate::model::LinearModel;

/// The model file name Vertex AI's prebuilt XGBoost container looks for.
pub const MODEL_FILE: &str = "model.bst";

/// The description written beside the model.
pub const META_FILE: &str = "model_meta.json";

/// The XGBoost version written into `model.bst`; any 2.1.x reads it.
const XGBOOST_VERSION: [u32; 3] = [2, 1, 0];

/// What `model_meta.json` records about a saved model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The model file, `model.bst`.
    pub model_file: String,
    /// The file's format, for humans.
    pub format: String,
    /// The input order the model reads (`MODEL_INPUTS`). Callers must send exactly this.
    pub feature_order: Vec<String>,
    /// How missing inputs were filled, per input, by `fsdemo_core::features::model_input`.
    pub fill_rule: Vec<String>,
    /// The raw-input weights by feature, and the bias, for reading the model.
    pub weights: BTreeMap<String, f64>,
    /// The intercept on the log-odds scale.
    pub bias: f64,
    /// Train and test metrics.
    pub metrics: Metrics,
    /// The settings the model was trained with.
    pub training: TrainingConfig,
    /// Lowercase hex SHA-256 of `model.bst`.
    pub sha256: String,
    /// When the model was saved, RFC 3339 UTC.
    pub create_time: String,
}

/// Where a model was saved and its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactInfo {
    /// The artifact directory.
    pub dir: PathBuf,
    /// `dir/model.bst`.
    pub model_path: PathBuf,
    /// Lowercase hex SHA-256 of `model.bst`.
    pub sha256: String,
}

/// Writes `model.bst` and then `model_meta.json` into `dir` (created if missing), each
/// replaced atomically.
pub fn save(trained: &TrainedModel, dir: &Path) -> Result<ArtifactInfo, TrainingError> {
    let model_path = dir.join(MODEL_FILE);
    let model_bytes = xgboost_json(&trained.model);
    write_atomic(&model_path, &model_bytes).map_err(io("save", "write", &model_path))?;
    let sha256 = sha256_hex(&model_bytes);

    let meta = ModelMeta {
        model_file: MODEL_FILE.into(),
        format: "XGBoost JSON, gblinear booster, objective binary:logistic".into(),
        feature_order: MODEL_INPUTS.iter().map(|name| name.to_string()).collect(),
        fill_rule: fill_rule(),
        weights: MODEL_INPUTS.iter().map(|n| n.to_string()).zip(trained.model.weights).collect(),
        bias: trained.model.bias,
        metrics: trained.metrics.clone(),
        training: trained.config.clone(),
        sha256: sha256.clone(),
        create_time: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let meta_path = dir.join(META_FILE);
    let meta_bytes = serde_json::to_vec_pretty(&meta).expect("model meta serialises");
    write_atomic(&meta_path, &meta_bytes).map_err(io("save", "write", &meta_path))?;

    info!(path = %model_path.display(), sha256 = %sha256, "saved model artifact");
    Ok(ArtifactInfo { dir: dir.to_path_buf(), model_path, sha256 })
}

/// Reads the model in `dir`, after checking `model.bst` against the sha256 and feature
/// order recorded in `model_meta.json`.
pub fn load(dir: &Path) -> Result<LinearModel, TrainingError> {
    let meta = read_meta(dir)?;
    let model_path = dir.join(MODEL_FILE);
    let bytes = fs::read(&model_path).map_err(io("load", "read", &model_path))?;

    let actual = sha256_hex(&bytes);
    if actual != meta.sha256 {
        let expected = meta.sha256;
        return Err(TrainingError::HashMismatch { path: model_path, expected, actual });
    }
    if meta.feature_order != MODEL_INPUTS {
        let reason = format!(
            "it was trained on inputs {:?}, this build sends {:?}; train it again",
            meta.feature_order, MODEL_INPUTS
        );
        return Err(TrainingError::BadModel { path: model_path, reason });
    }

    parse_xgboost_json(&bytes, &model_path)
}

/// Reads `model_meta.json` from an artifact directory.
pub fn read_meta(dir: &Path) -> Result<ModelMeta, TrainingError> {
    let path = dir.join(META_FILE);
    let bytes = fs::read(&path).map_err(io("load", "read", &path))?;
    serde_json::from_slice(&bytes).map_err(|error| TrainingError::BadModel {
        path,
        reason: format!("model_meta.json does not parse ({error}); save the model again"),
    })
}

/// Reads one XGBoost JSON model file (ours, or a `gblinear` JSON saved by XGBoost itself).
pub fn read_model_file(path: &Path) -> Result<LinearModel, TrainingError> {
    let bytes = fs::read(path).map_err(io("load", "read", path))?;
    parse_xgboost_json(&bytes, path)
}

/// Reads XGBoost JSON model bytes fetched from elsewhere (a Cloud Storage object);
/// `origin` only names them in errors.
pub fn parse_model_bytes(bytes: &[u8], origin: &Path) -> Result<LinearModel, TrainingError> {
    parse_xgboost_json(bytes, origin)
}

/// The `model.bst` bytes for `model`, in XGBoost's JSON schema.
pub fn xgboost_json(model: &LinearModel) -> Vec<u8> {
    let mut weights: Vec<f32> = model.weights.iter().map(|&w| w as f32).collect();
    weights.push(model.bias as f32);

    let file = XgbFile {
        learner: Learner {
            attributes: BTreeMap::new(),
            // Left empty: with names set, XGBoost rejects the unnamed rows Vertex AI sends.
            feature_names: Vec::new(),
            feature_types: Vec::new(),
            gradient_booster: serde_json::json!({
                "name": "gblinear",
                "model": {"boosted_rounds": 1, "weights": weights},
            }),
            learner_model_param: LearnerModelParam {
                base_score: "5E-1".into(),
                boost_from_average: "0".into(),
                num_class: "0".into(),
                num_feature: MODEL_INPUTS.len().to_string(),
                num_target: "1".into(),
            },
            objective: Objective {
                name: "binary:logistic".into(),
                reg_loss_param: Some(serde_json::json!({"scale_pos_weight": "1"})),
            },
        },
        version: XGBOOST_VERSION,
    };
    serde_json::to_vec(&file).expect("xgboost model serialises")
}

/// Parses XGBoost JSON into a [`LinearModel`], folding `logit(base_score)` into the bias.
fn parse_xgboost_json(bytes: &[u8], path: &Path) -> Result<LinearModel, TrainingError> {
    let bad = |reason: String| TrainingError::BadModel { path: path.to_path_buf(), reason };
    if bytes.first() == Some(&b'{') && bytes.get(1).is_some_and(|b| *b != b'"' && *b != b' ') {
        return Err(bad("it looks like UBJSON; save it with XGBoost under a .json name".into()));
    }
    let file: XgbFile = serde_json::from_slice(bytes)
        .map_err(|error| bad(format!("not XGBoost JSON ({error})")))?;
    let learner = file.learner;

    let booster = learner.gradient_booster.get("name").and_then(Value::as_str);
    if booster != Some("gblinear") {
        return Err(bad(format!("booster is {booster:?}, not \"gblinear\"")));
    }
    if learner.objective.name != "binary:logistic" {
        return Err(bad(format!("objective is {:?}", learner.objective.name)));
    }

    let param = &learner.learner_model_param;
    let num_feature: usize = param.num_feature.parse().unwrap_or(0);
    let weights: Vec<f64> = learner.gradient_booster["model"]["weights"]
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if num_feature != MODEL_INPUTS.len() || weights.len() != MODEL_INPUTS.len() + 1 {
        let found = format!("num_feature {num_feature} and {} weights", weights.len());
        return Err(bad(format!("expected 6 features and 7 weights, found {found}")));
    }

    let base_score: f64 = param.base_score.parse().map_err(|_| bad("base_score".into()))?;
    if !(base_score > 0.0 && base_score < 1.0) {
        return Err(bad(format!("base_score {base_score} is not a probability")));
    }
    let base_margin = (base_score / (1.0 - base_score)).ln();
    let raw: [f64; 6] = std::array::from_fn(|j| weights[j]);
    Ok(LinearModel::new(raw, weights[6] + base_margin))
}

/// One line per input: what a missing value becomes, taken from the shared fill rule.
fn fill_rule() -> Vec<String> {
    MODEL_INPUTS
        .iter()
        .map(|name| format!("{name}: NULL, missing row or NaN -> {}", fill_value(name)))
        .collect()
}

fn io<'a>(
    step: &'static str,
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> TrainingError + 'a {
    move |source| TrainingError::Io { step, action, path: path.to_path_buf(), source }
}

/// XGBoost's JSON model file, the parts this crate writes and reads.
#[derive(Debug, Serialize, Deserialize)]
struct XgbFile {
    learner: Learner,
    version: [u32; 3],
}

#[derive(Debug, Serialize, Deserialize)]
struct Learner {
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    feature_names: Vec<String>,
    #[serde(default)]
    feature_types: Vec<String>,
    /// `{"name": "gblinear", "model": {"boosted_rounds": n, "weights": [...]}}`.
    gradient_booster: Value,
    learner_model_param: LearnerModelParam,
    objective: Objective,
}

/// XGBoost writes every parameter as a string.
#[derive(Debug, Serialize, Deserialize)]
struct LearnerModelParam {
    base_score: String,
    #[serde(default)]
    boost_from_average: String,
    #[serde(default)]
    num_class: String,
    num_feature: String,
    #[serde(default)]
    num_target: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Objective {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reg_loss_param: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{tests::config, tests::synthetic_rows, train};

    #[test]
    fn saved_model_loads_back_with_identical_predictions() {
        let dir = tempfile::tempdir().unwrap();
        let trained = train(&synthetic_rows(2_000), &config()).unwrap();

        let info = save(&trained, dir.path()).unwrap();
        let loaded = load(dir.path()).unwrap();

        assert_eq!(loaded, trained.model);
        assert_eq!(read_meta(dir.path()).unwrap().sha256, info.sha256);
    }

    #[test]
    fn model_file_follows_xgboost_gblinear_layout() {
        let model = LinearModel::new([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], -7.0);

        let json: Value = serde_json::from_slice(&xgboost_json(&model)).unwrap();

        let learner = &json["learner"];
        assert_eq!(learner["gradient_booster"]["name"], "gblinear");
        assert_eq!(
            learner["gradient_booster"]["model"]["weights"],
            serde_json::json!([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -7.0])
        );
        assert_eq!(learner["objective"]["name"], "binary:logistic");
        assert_eq!(learner["learner_model_param"]["num_feature"], "6");
        assert_eq!(json["version"], serde_json::json!([2, 1, 0]));
    }

    #[test]
    fn tampered_model_is_refused_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        save(&train(&synthetic_rows(500), &config()).unwrap(), dir.path()).unwrap();
        let other = xgboost_json(&LinearModel::new([0.0; 6], 1.0));
        fs::write(dir.path().join(MODEL_FILE), other).unwrap();

        let error = load(dir.path()).unwrap_err();

        assert!(matches!(error, TrainingError::HashMismatch { .. }), "{error}");
    }

    #[test]
    fn base_score_other_than_one_half_moves_the_bias() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let text = String::from_utf8(xgboost_json(&LinearModel::new([0.0; 6], 0.0))).unwrap();
        fs::write(&path, text.replace("\"5E-1\"", "\"0.75\"")).unwrap();

        let model = read_model_file(&path).unwrap();

        assert!((model.predict(&[0.0; 6]) - 0.75).abs() < 1e-6);
    }

    #[test]
    fn a_tree_model_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let text = String::from_utf8(xgboost_json(&LinearModel::new([0.0; 6], 0.0))).unwrap();
        fs::write(&path, text.replace("gblinear", "gbtree")).unwrap();

        let error = read_model_file(&path).unwrap_err();

        assert!(error.to_string().contains("gbtree"), "{error}");
    }
}
