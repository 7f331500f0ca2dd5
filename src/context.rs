//! What every command starts from: the loaded configuration, the profile, and the layout
//! of the workdir (`.fsdemo/` by default), where the local profile keeps everything.
//!
//! ```text
//! .fsdemo/
//!   export/                  generated theLook export (when data.source is empty)
//!   warehouse.duckdb         the local BigQuery: source and derived tables
//!   featurestore/            registry.json, syncs.json, online.redb
//!   model/                   model.bst, model_meta.json, evaluation.json (the last training)
//!   registry/                Model versions and Endpoints
//!   service.pid, service.log the background local service
//!   runs/                    what the last demo and commands recorded, for the report
//!   report/report.html       the report
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fsdemo_core::config::Profile;
use fsdemo_core::Config;

use crate::cli::{Global, ProfileArg};

/// The configuration and the workdir of one invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// The loaded configuration, overrides and `--profile` applied.
    pub config: Config,
    /// Paths inside the workdir.
    pub paths: Paths,
    /// The global options as given, to start the service with the same ones.
    pub forwarded: Vec<String>,
}

/// Every file and folder the local profile writes.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workdir itself.
    pub workdir: PathBuf,
    /// The generated export.
    pub export: PathBuf,
    /// The DuckDB warehouse.
    pub warehouse: PathBuf,
    /// The feature store's registry, sync records and online store.
    pub featurestore: PathBuf,
    /// The redb online store.
    pub online_store: PathBuf,
    /// The last trained model's artifact folder.
    pub model: PathBuf,
    /// The local model registry.
    pub registry: PathBuf,
    /// The background service's pid file.
    pub service_pid: PathBuf,
    /// The background service's log.
    pub service_log: PathBuf,
    /// Records of runs, read by the report.
    pub runs: PathBuf,
    /// The report folder.
    pub report: PathBuf,
}

impl Paths {
    /// The layout under `workdir`.
    pub fn new(workdir: &Path) -> Paths {
        let at = |name: &str| workdir.join(name);
        Paths {
            workdir: workdir.into(),
            export: at("export"),
            warehouse: at(fsdemo_data::WAREHOUSE_FILE),
            featurestore: at("featurestore"),
            online_store: at("featurestore/online.redb"),
            model: at("model"),
            registry: at("registry"),
            service_pid: at("service.pid"),
            service_log: at("service.log"),
            runs: at("runs"),
            report: at("report"),
        }
    }
}

impl Context {
    /// Loads the configuration named by the global options.
    pub fn load(global: &Global) -> anyhow::Result<Context> {
        let mut config =
            Config::load(&global.config_dir, &global.overrides).with_context(|| {
                format!("load the configuration from {}", global.config_dir.display())
            })?;
        if let Some(profile) = global.profile {
            config.project.profile = match profile {
                ProfileArg::Local => Profile::Local,
                ProfileArg::Gcp => Profile::Gcp,
            };
        }

        let workdir =
            std::path::absolute(&global.workdir).unwrap_or_else(|_| global.workdir.clone());
        let config_dir =
            std::path::absolute(&global.config_dir).unwrap_or_else(|_| global.config_dir.clone());
        let mut forwarded = vec![
            "--config-dir".to_string(),
            config_dir.display().to_string(),
            "--workdir".to_string(),
            workdir.display().to_string(),
        ];
        for assignment in &global.overrides {
            forwarded.extend(["--set".to_string(), assignment.clone()]);
        }
        Ok(Context { config, paths: Paths::new(&workdir), forwarded })
    }

    /// Whether this run uses the gcp profile.
    pub fn is_gcp(&self) -> bool {
        self.config.project.profile == Profile::Gcp
    }

    /// The feature view's full name.
    pub fn feature_view_name(&self) -> String {
        let fs = &self.config.featurestore;
        self.config.names().feature_view(&fs.online_store.id, &fs.feature_view.id)
    }

    /// The endpoint's full name.
    pub fn endpoint_name(&self) -> String {
        self.config.names().endpoint(&self.config.training.endpoint.id)
    }

    /// The feature group's source table, `project.dataset.table`.
    pub fn features_table(&self) -> String {
        let project = &self.config.project;
        self.config
            .names()
            .table(&project.dataset, &self.config.featurestore.feature_group.source_table)
    }

    /// A table of the dataset, `project.dataset.table`.
    pub fn table(&self, table: &str) -> String {
        self.config.names().table(&self.config.project.dataset, table)
    }
}
