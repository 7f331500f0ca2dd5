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
    /// The global options a user must repeat to reach this workdir and service again (the
    /// non-default ones), for the commands the demo suggests.
    pub repeat: Vec<String>,
}

/// The global flags that differ from the defaults and matter after the demo: the workdir,
/// the config folder, the profile and the overrides other than `data.*`.
fn repeated_flags(global: &Global) -> Vec<String> {
    let mut flags = Vec::new();
    if global.config_dir != Path::new(crate::cli::DEFAULT_CONFIG_DIR) {
        flags.extend(["--config-dir".to_string(), global.config_dir.display().to_string()]);
    }
    if global.workdir != Path::new(crate::cli::DEFAULT_WORKDIR) {
        flags.extend(["--workdir".to_string(), global.workdir.display().to_string()]);
    }
    if let Some(ProfileArg::Gcp) = global.profile {
        flags.extend(["--profile".to_string(), "gcp".to_string()]);
    }
    for assignment in global.overrides.iter().filter(|a| !a.starts_with("data.")) {
        flags.extend(["--set".to_string(), assignment.clone()]);
    }
    flags
}

/// Quotes a word for a POSIX shell when it holds anything but plain characters.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
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
        let repeat = repeated_flags(global);
        Ok(Context { config, paths: Paths::new(&workdir), forwarded, repeat })
    }

    /// A command line a user can paste to run `args` on this workdir and service, e.g.
    /// `scripts/fsdemo.sh --workdir /tmp/w online-predict --customer-id 1`.
    pub fn suggest(&self, args: &str) -> String {
        let mut line = vec!["scripts/fsdemo.sh".to_string()];
        line.extend(self.repeat.iter().map(|flag| shell_quote(flag)));
        line.push(args.to_string());
        line.join(" ")
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn repeat(args: &[&str]) -> Vec<String> {
        let cli = Cli::parse_from(["fsdemo"].iter().chain(args).chain(&["doctor"]));
        repeated_flags(&cli.global)
    }

    #[test]
    fn defaults_need_no_flags_again() {
        assert!(repeat(&[]).is_empty());
        assert!(repeat(&["--workdir", ".fsdemo", "--config-dir", "configs"]).is_empty());
    }

    #[test]
    fn the_workdir_the_profile_and_serving_overrides_are_repeated_but_not_the_data_source() {
        let flags = repeat(&[
            "--workdir",
            "/tmp/w 2",
            "--profile",
            "gcp",
            "--set",
            "data.source=/x",
            "--set",
            "serving.port=8822",
        ]);

        assert_eq!(
            flags,
            ["--workdir", "/tmp/w 2", "--profile", "gcp", "--set", "serving.port=8822"]
        );
    }

    #[test]
    fn words_with_spaces_or_quotes_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("serving.port=8822"), "serving.port=8822");
        assert_eq!(shell_quote("/tmp/w 2"), "'/tmp/w 2'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
