//! The typed configuration: three YAML files in `configs/`, each holding named sections,
//! read into structs that reject unknown keys, with `--set section.key=value` overrides
//! applied before the structs are built. The doc comment of every field below is the
//! configuration reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use crate::features::{FeatureSpec, MODEL_INPUTS};
use crate::names::ResourceNames;

/// Which file holds which sections.
const FILES: [(&str, &[&str]); 3] = [
    ("env.yaml", &["project", "data", "serving", "gcp"]),
    ("featurestore.yaml", &["featurestore"]),
    ("training.yaml", &["training"]),
];

/// A configuration problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("config: cannot read {path}: {source} (pass --config-dir to pick the configs folder)")]
    Read { path: PathBuf, source: std::io::Error },
    /// A file is not valid YAML, or a key has the wrong type or is unknown.
    #[error("config: {}: {}{message}", path.display(), key_label(key))]
    Invalid { path: PathBuf, key: String, message: String },
    /// A `--set` override is malformed or names no known section.
    #[error("config: --set {assignment}: {message}")]
    Override { assignment: String, message: String },
}

/// "key `x`: " before an error's message, or nothing when the error is not about one key
/// (a YAML syntax error).
fn key_label(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// The whole configuration, one field per section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Where the demo runs and what its resources are called (`env.yaml`).
    pub project: ProjectConfig,
    /// The input data and the time frame of the tables (`env.yaml`).
    pub data: DataConfig,
    /// The local service (`env.yaml`).
    pub serving: ServingConfig,
    /// Settings only the gcp profile reads (`env.yaml`).
    pub gcp: GcpConfig,
    /// The feature store resources (`featurestore.yaml`).
    pub featurestore: FeatureStoreConfig,
    /// The model, its registry entry and its endpoint (`training.yaml`).
    pub training: TrainingConfig,
}

/// Which backend runs the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Embedded DuckDB, an embedded online store and a local service.
    Local,
    /// BigQuery and Vertex AI.
    Gcp,
}

/// `project:` in `env.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// `local` (default) or `gcp`.
    pub profile: Profile,
    /// The project id: the GCP project, or `local` for resource names of the local profile.
    pub id: String,
    /// The Vertex AI region (`us-central1`), or `local`.
    pub location: String,
    /// The dataset that holds the derived tables (a DuckDB schema locally).
    pub dataset: String,
    /// The project that holds the theLook tables (`bigquery-public-data` on BigQuery).
    pub source_project: String,
    /// The dataset that holds the theLook tables (a DuckDB schema locally).
    pub source_dataset: String,
}

/// `data:` in `env.yaml`: the knobs of SPEC "Time frame" plus where the data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A folder with a theLook export (CSV or CSV.gz per table). Empty: the demo generates
    /// a synthetic export under the workdir.
    pub source: Option<PathBuf>,
    /// Users in a generated export.
    pub generate_users: u32,
    /// Seed of a generated export; the same seed writes the same files.
    pub generate_seed: u64,
    /// The horizon `H` as a timestamp, `now` for the current time, or empty for the newest
    /// `orders.created_at`.
    pub horizon: Option<String>,
    /// The newest snapshot day (`YYYY-MM-DD`); empty for the day of the horizon.
    pub snapshot_end: Option<String>,
    /// How many daily snapshots, counting back from `snapshot_end`.
    pub snapshot_days: u32,
    /// Cadence of label days, counting back from the newest label day.
    pub label_every_days: u32,
    /// The label window: "orders again within this many days".
    pub label_window_days: u32,
    /// Order statuses that do not count as orders, for features and labels alike.
    pub exclude_statuses: Vec<String>,
    /// The most memory the local warehouse (DuckDB) may use, e.g. `1.5GB`; past it DuckDB
    /// spills to disk. Empty: DuckDB's default, 80% of the machine's memory.
    #[serde(default)]
    pub duckdb_memory_limit: Option<String>,
}

/// `serving:` in `env.yaml`: the local service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingConfig {
    /// Address the local service listens on.
    pub host: String,
    /// Port the local service listens on.
    pub port: u16,
}

/// `gcp:` in `env.yaml`: read only by `--profile gcp` (the `fsdemo-gcp` crate).
///
/// Keys added after the first release have defaults, so an older `env.yaml` still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// BigQuery dataset location; the public theLook data lives in `US`, and BigQuery cannot
    /// join across locations, so with `project.source_project: bigquery-public-data` any other
    /// value is refused before the first call.
    pub bigquery_location: String,
    /// Cloud Storage bucket for `model.bst`; empty means `<project>-fsdemo`. A missing bucket
    /// is created in `project.location`, the region the model is served from.
    pub bucket: Option<String>,
    /// Online serving: `bigtable` (default) or `optimized`.
    pub online_serving: String,
    /// Bigtable online serving: the fewest nodes autoscaling keeps (default 1).
    #[serde(default = "one")]
    pub bigtable_min_nodes: u32,
    /// Bigtable online serving: the most nodes autoscaling adds (default 1; at most ten times
    /// `bigtable_min_nodes`).
    #[serde(default = "one")]
    pub bigtable_max_nodes: u32,
    /// Give the `FeatureView` its own service account (`SERVICE_AGENT_TYPE_FEATURE_VIEW`)
    /// instead of the project's Vertex AI service agent; the run then prints the BigQuery
    /// grant that account needs on the dataset (default false).
    #[serde(default)]
    pub feature_view_service_account: bool,
    /// Vertex AI's prebuilt XGBoost serving container image.
    pub serving_container_image: String,
    /// Machine type of the deployed model.
    pub machine_type: String,
    /// BigQuery on-demand price in USD per TiB processed, for dry-run cost estimates
    /// (default 6.25, the US multi-region list price).
    #[serde(default = "default_price_per_tib")]
    pub bigquery_usd_per_tib: f64,
    /// Base URL of the BigQuery REST API (tests point it at a fake).
    pub bigquery_url: String,
    /// Base URL of the Cloud Storage JSON API; uploads go to `{storage_url}/upload/storage/v1`.
    pub storage_url: String,
    /// Base URL of Vertex AI; `{region}` is replaced with `project.location`.
    pub aiplatform_url: String,
    /// Base URL of the Resource Manager API (project lookup and `testIamPermissions`).
    #[serde(default = "default_resourcemanager_url")]
    pub resourcemanager_url: String,
    /// Base URL of the Service Usage API (which APIs are enabled).
    #[serde(default = "default_serviceusage_url")]
    pub serviceusage_url: String,
    /// How long to wait for a long-running operation, in seconds.
    pub operation_timeout_secs: u64,
    /// How often a long-running operation, a BigQuery job or a feature view sync is polled,
    /// in milliseconds (default 5000; tests set a few milliseconds).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
}

fn one() -> u32 {
    1
}

fn default_price_per_tib() -> f64 {
    6.25
}

fn default_resourcemanager_url() -> String {
    "https://cloudresourcemanager.googleapis.com".into()
}

fn default_serviceusage_url() -> String {
    "https://serviceusage.googleapis.com".into()
}

fn default_poll_interval_ms() -> u64 {
    5000
}

/// `featurestore:` in `featurestore.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureStoreConfig {
    /// The `FeatureOnlineStore`.
    pub online_store: ResourceConfig,
    /// The `FeatureGroup` over the features table.
    pub feature_group: FeatureGroupConfig,
    /// The `Feature`s of the group, in column order.
    pub features: Vec<FeatureSpec>,
    /// The `FeatureView` that serves the group.
    pub feature_view: FeatureViewConfig,
}

/// A resource id and its description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The resource id, the last part of its full name.
    pub id: String,
    /// A human description, stored on the resource.
    #[serde(default)]
    pub description: String,
}

/// `featurestore.feature_group:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureGroupConfig {
    /// The resource id.
    pub id: String,
    /// A human description.
    #[serde(default)]
    pub description: String,
    /// The source table in the project's dataset.
    pub source_table: String,
    /// The entity id column.
    pub entity_id_column: String,
    /// The snapshot time column.
    pub timestamp_column: String,
}

/// `featurestore.feature_view:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureViewConfig {
    /// The resource id.
    pub id: String,
    /// A human description.
    #[serde(default)]
    pub description: String,
    /// The sync schedule as a cron line (five fields, UTC), e.g. `0 */6 * * *`.
    pub cron: String,
}

/// `training:` in `training.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// How many of the newest label days are held out as the test split.
    pub test_label_days: u32,
    /// L2 regularisation strength of the logistic regression.
    pub l2: f64,
    /// Most optimiser iterations.
    pub max_iterations: u64,
    /// The probability at or above which a prediction counts as positive (for accuracy).
    pub threshold: f64,
    /// The `Model` in the model registry.
    pub model: ResourceConfig,
    /// The `Endpoint` the model is deployed to.
    pub endpoint: ResourceConfig,
}

impl Config {
    /// Reads the three files from `dir` and applies `overrides` (`section.key=value`).
    pub fn load(dir: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let mut files: BTreeMap<&str, (PathBuf, Mapping)> = BTreeMap::new();
        for (file, _) in FILES {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            let mapping = parse_mapping(&path, &text)?;
            files.insert(file, (path, mapping));
        }

        for assignment in overrides {
            let (key, value) = parse_override(assignment)?;
            let section = key.first().map(String::as_str).unwrap_or_default();
            let file = FILES
                .iter()
                .find(|(_, sections)| sections.contains(&section))
                .map(|(file, _)| *file)
                .ok_or_else(|| ConfigError::Override {
                    assignment: assignment.clone(),
                    message: format!("no section `{section}`; sections are {}", section_list()),
                })?;
            let (_, mapping) = files.get_mut(file).expect("every file was read");
            set_path(mapping, &key, value);
        }

        let mut merged = Mapping::new();
        for (file, sections) in FILES {
            let (path, mapping) = &files[file];
            for (key, _) in mapping.iter() {
                let name = key.as_str().unwrap_or_default();
                if !sections.contains(&name) {
                    return Err(ConfigError::Invalid {
                        path: path.clone(),
                        key: name.to_string(),
                        message: format!("unknown section; {file} holds {}", sections.join(", ")),
                    });
                }
            }
            for section in sections.iter() {
                let value = mapping.get(*section).cloned().ok_or_else(|| ConfigError::Invalid {
                    path: path.clone(),
                    key: section.to_string(),
                    message: "missing section".into(),
                })?;
                let checked: Value = typed_section(path, section, value.clone())
                    .map_err(|error| blame_override(error, overrides))?;
                merged.insert(Value::from(*section), checked);
            }
        }

        let config: Config =
            serde_norway::from_value(Value::Mapping(merged)).map_err(|e| ConfigError::Invalid {
                path: dir.to_path_buf(),
                key: String::new(),
                message: e.to_string(),
            })?;
        config.validate(dir)?;
        Ok(config)
    }

    /// Resource names for the configured project and location.
    pub fn names(&self) -> ResourceNames {
        ResourceNames::new(&self.project.id, &self.project.location)
    }

    /// Checks what types alone cannot: the model's inputs are all defined as features.
    fn validate(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = dir.join("featurestore.yaml");
        for input in MODEL_INPUTS {
            if !self.featurestore.features.iter().any(|f| f.name == input) {
                return Err(ConfigError::Invalid {
                    path,
                    key: "featurestore.features".into(),
                    message: format!("the model reads `{input}`, which is not defined"),
                });
            }
        }
        if self.data.snapshot_days == 0 || self.data.label_every_days == 0 {
            return Err(ConfigError::Invalid {
                path: dir.join("env.yaml"),
                key: "data.snapshot_days / data.label_every_days".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// An error about a key a `--set` wrote names that `--set`, not the file it landed in.
fn blame_override(error: ConfigError, overrides: &[String]) -> ConfigError {
    let ConfigError::Invalid { key, message, .. } = &error else { return error };
    let set_it = overrides.iter().find(|assignment| {
        let set_key = assignment.split_once('=').map_or(assignment.as_str(), |(k, _)| k).trim();
        key == set_key || key.starts_with(&format!("{set_key}."))
    });
    match set_it {
        Some(assignment) => ConfigError::Override {
            assignment: assignment.clone(),
            message: format!("key `{key}`: {message}"),
        },
        None => error,
    }
}

/// Deserialises one section into its struct to get errors that name the key, then hands
/// back the value for the merged read.
fn typed_section(path: &Path, section: &str, value: Value) -> Result<Value, ConfigError> {
    fn check<T: DeserializeOwned>(
        path: &Path,
        section: &str,
        value: &Value,
    ) -> Result<(), ConfigError> {
        serde_path_to_error::deserialize::<_, T>(value.clone()).map(|_| ()).map_err(|e| {
            let inner = e.path().to_string();
            let key = if inner == "." { section.to_string() } else { format!("{section}.{inner}") };
            ConfigError::Invalid { path: path.to_path_buf(), key, message: e.inner().to_string() }
        })
    }
    match section {
        "project" => check::<ProjectConfig>(path, section, &value)?,
        "data" => check::<DataConfig>(path, section, &value)?,
        "serving" => check::<ServingConfig>(path, section, &value)?,
        "gcp" => check::<GcpConfig>(path, section, &value)?,
        "featurestore" => check::<FeatureStoreConfig>(path, section, &value)?,
        "training" => check::<TrainingConfig>(path, section, &value)?,
        _ => unreachable!("FILES lists every section"),
    }
    Ok(value)
}

fn parse_mapping(path: &Path, text: &str) -> Result<Mapping, ConfigError> {
    let value: Value = serde_norway::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: String::new(),
        message: e.to_string(),
    })?;
    match value {
        Value::Mapping(mapping) => Ok(mapping),
        Value::Null => Ok(Mapping::new()),
        _ => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: String::new(),
            message: "expected a mapping of sections".into(),
        }),
    }
}

/// Splits `a.b.c=value` into its key path and a YAML-parsed value (`30` is a number,
/// `[a, b]` a list, an empty value is null).
fn parse_override(assignment: &str) -> Result<(Vec<String>, Value), ConfigError> {
    let bad = |message: &str| ConfigError::Override {
        assignment: assignment.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = assignment.split_once('=').ok_or_else(|| bad("expected section.key=value"))?;
    let path: Vec<String> = key.trim().split('.').map(str::to_string).collect();
    if path.len() < 2 || path.iter().any(String::is_empty) {
        return Err(bad("the key must be section.key, e.g. data.snapshot_days"));
    }
    let value = if raw.trim().is_empty() {
        Value::Null
    } else {
        serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
    };
    Ok((path, value))
}

fn set_path(mapping: &mut Mapping, path: &[String], value: Value) {
    let (first, rest) = path.split_first().expect("paths have at least two parts");
    let key = Value::from(first.as_str());
    if rest.is_empty() {
        mapping.insert(key, value);
        return;
    }
    let entry = mapping.entry(key).or_insert_with(|| Value::Mapping(Mapping::new()));
    if !entry.is_mapping() {
        *entry = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(inner) = entry {
        set_path(inner, rest, value);
    }
}

fn section_list() -> String {
    FILES.iter().flat_map(|(_, sections)| sections.iter().copied()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
    }

    fn copy_configs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (file, _) in FILES {
            std::fs::copy(configs_dir().join(file), dir.path().join(file)).unwrap();
        }
        dir
    }

    #[test]
    fn shipped_configs_load() {
        let config = Config::load(&configs_dir(), &[]).unwrap();

        assert_eq!(config.data.label_window_days, 14);
        assert_eq!(config.data.exclude_statuses, ["Cancelled", "Returned"]);
        assert_eq!(config.project.profile, Profile::Local);
    }

    #[test]
    fn set_overrides_a_value_with_its_type() {
        let overrides = ["data.snapshot_days=30".to_string(), "data.source=/tmp/x".to_string()];

        let config = Config::load(&configs_dir(), &overrides).unwrap();

        assert_eq!(config.data.snapshot_days, 30);
        assert_eq!(config.data.source, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn set_reaches_nested_keys_in_other_files() {
        let overrides = ["featurestore.feature_view.cron=*/5 * * * *".to_string()];

        let config = Config::load(&configs_dir(), &overrides).unwrap();

        assert_eq!(config.featurestore.feature_view.cron, "*/5 * * * *");
    }

    #[test]
    fn unknown_key_in_a_file_names_file_and_key() {
        let dir = copy_configs();
        let path = dir.path().join("env.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap().replace("snapshot_days:", "snapshot_dayz:");
        std::fs::write(&path, text).unwrap();

        let err = Config::load(dir.path(), &[]).unwrap_err().to_string();

        assert!(err.contains("env.yaml"), "{err}");
        assert!(err.contains("data.snapshot_dayz") && err.contains("unknown field"), "{err}");
    }

    #[test]
    fn unknown_or_mistyped_key_in_set_names_the_set_not_the_file() {
        let unknown = ["data.snapshot_dayz=3".to_string()];
        let mistyped = ["serving.port=eighty".to_string()];

        let unknown = Config::load(&configs_dir(), &unknown).unwrap_err().to_string();
        let mistyped = Config::load(&configs_dir(), &mistyped).unwrap_err().to_string();

        assert!(unknown.starts_with("config: --set data.snapshot_dayz=3: key"), "{unknown}");
        assert!(unknown.contains("unknown field") && !unknown.contains("env.yaml"), "{unknown}");
        assert!(mistyped.starts_with("config: --set serving.port=eighty: key"), "{mistyped}");
    }

    #[test]
    fn wrong_type_names_the_nested_key() {
        let dir = copy_configs();
        let path = dir.path().join("training.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("test_label_days: 4", "test_label_days: many");
        std::fs::write(&path, text).unwrap();

        let err = Config::load(dir.path(), &[]).unwrap_err().to_string();

        assert!(err.contains("training.yaml") && err.contains("training.test_label_days"), "{err}");
    }

    #[test]
    fn a_yaml_syntax_error_names_the_file_and_line_without_an_empty_key() {
        let dir = copy_configs();
        std::fs::write(dir.path().join("env.yaml"), "project:\n  id: [unclosed\n").unwrap();

        let err = Config::load(dir.path(), &[]).unwrap_err().to_string();

        assert!(err.contains("env.yaml") && err.contains("line"), "{err}");
        assert!(!err.contains("key ``"), "{err}");
    }

    #[test]
    fn unknown_section_in_set_lists_sections() {
        let err = Config::load(&configs_dir(), &["nope.x=1".to_string()]).unwrap_err().to_string();

        assert!(err.contains("no section `nope`") && err.contains("featurestore"), "{err}");
    }

    #[test]
    fn missing_model_input_is_rejected() {
        let dir = copy_configs();
        let path = dir.path().join("featurestore.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap().replace("name: orders_7d", "name: orders_8d");
        std::fs::write(&path, text).unwrap();

        let err = Config::load(dir.path(), &[]).unwrap_err().to_string();

        assert!(err.contains("orders_7d"), "{err}");
    }
}
