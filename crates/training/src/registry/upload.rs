//! `upload`: registers a saved artifact as the next version of a `Model`, copying it into
//! the registry so a later training run cannot change a registered version.

use std::fs;
use std::path::Path;

use fsdemo_core::config::ResourceConfig;
use tracing::info;

use super::{now, write_json, Model, ModelVersion, Outcome, Registry, RegistryError};
use crate::artifact::{self, META_FILE, MODEL_FILE};
use crate::atomic::{sha256_hex, write_atomic};

/// What an upload did.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadReport {
    /// The model's full name, `projects/P/locations/L/models/M`.
    pub model: String,
    /// The version the artifact is registered as.
    pub version: ModelVersion,
    /// `Created` for a new version, `Reused` when the same `model.bst` was already there.
    pub outcome: Outcome,
}

impl Registry {
    /// Registers the artifact in `artifact_dir` (`model.bst` + `model_meta.json`) as a
    /// version of `model`. Uploading a `model.bst` with the same sha256 again returns the
    /// existing version instead of adding one.
    pub fn upload(
        &self,
        model: &ResourceConfig,
        artifact_dir: &Path,
    ) -> Result<UploadReport, RegistryError> {
        let model_name = self.names.model(&model.id);
        let artifact_error = |source| RegistryError::Artifact {
            step: "upload",
            dir: artifact_dir.to_path_buf(),
            source,
        };

        // `load` checks the hash, the feature order and the format before anything is kept.
        artifact::load(artifact_dir).map_err(artifact_error)?;
        let meta = artifact::read_meta(artifact_dir).map_err(artifact_error)?;
        let mut record = self.model(&model.id)?.unwrap_or_else(|| Model {
            name: model_name.clone(),
            display_name: model.id.clone(),
            description: model.description.clone(),
            versions: Vec::new(),
        });

        if let Some(existing) = record.versions.iter().find(|v| v.sha256 == meta.sha256) {
            info!(model = %model_name, version = %existing.version_id, "model version reused");
            let version = existing.clone();
            return Ok(UploadReport { model: model_name, version, outcome: Outcome::Reused });
        }

        // Copy the files before writing the record: a crash leaves an unused directory,
        // never a version without its files.
        let version_id = next_version_id(&record);
        let version_dir = self.version_dir(&model.id, &version_id);
        for file in [MODEL_FILE, META_FILE] {
            copy_file("upload", &artifact_dir.join(file), &version_dir.join(file))?;
        }

        let version = ModelVersion {
            version_id,
            artifact_uri: absolute(&version_dir),
            source_uri: absolute(artifact_dir),
            sha256: meta.sha256,
            metrics: meta.metrics,
            version_create_time: now(),
        };
        record.versions.push(version.clone());
        write_json("upload", &self.model_path(&model.id), &record)?;

        info!(
            model = %model_name,
            version = %version.version_id,
            versions = record.versions.len(),
            artifact = %version.artifact_uri,
            "model version created"
        );
        Ok(UploadReport { model: model_name, version, outcome: Outcome::Created })
    }
}

fn next_version_id(model: &Model) -> String {
    let newest = model.versions.iter().filter_map(|v| v.version_id.parse::<u64>().ok()).max();
    (newest.unwrap_or(0) + 1).to_string()
}

/// Copies one file, checking that the copy has the same bytes it was read with.
fn copy_file(step: &'static str, from: &Path, to: &Path) -> Result<(), RegistryError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| RegistryError::Io { step, action, path, source }
    };
    let bytes = fs::read(from).map_err(io("read", from))?;
    write_atomic(to, &bytes).map_err(io("write", to))?;

    let copied = fs::read(to).map_err(io("read", to))?;
    if sha256_hex(&copied) != sha256_hex(&bytes) {
        let source = std::io::Error::other("the copy differs from the original");
        return Err(RegistryError::Io { step, action: "copy", path: to.into(), source });
    }
    Ok(())
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}
