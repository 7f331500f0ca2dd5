//! What a run records for later commands and the report: small JSON files under
//! `<workdir>/runs/`, one per kind (`build.json`, `train.json`, `verify.json`, ...), each
//! replaced whole by the command that owns it.

use std::path::Path;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One resource a step created or reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The kind, e.g. `Table`, `FeatureView`, `Model`.
    pub kind: String,
    /// Its full name.
    pub name: String,
    /// `created`, `reused`, `updated`, `replaced`, `deleted`, ...
    pub outcome: String,
}

impl Resource {
    /// A resource line.
    pub fn new(kind: &str, name: impl Into<String>, outcome: impl Into<String>) -> Resource {
        Resource { kind: kind.into(), name: name.into(), outcome: outcome.into() }
    }
}

/// The lowercase hex SHA-256 of `bytes`: the keys that decide whether a run may keep what
/// an earlier one made.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `value` as `<runs>/<name>.json`.
pub fn save<T: Serialize>(runs: &Path, name: &str, value: &T) -> anyhow::Result<()> {
    std::fs::create_dir_all(runs).with_context(|| format!("create {}", runs.display()))?;
    let path = runs.join(format!("{name}.json"));
    let temp = runs.join(format!(".{name}.json.tmp"));
    let bytes = serde_json::to_vec_pretty(value).context("serialise the run record")?;
    std::fs::write(&temp, bytes).with_context(|| format!("write {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Reads `<runs>/<name>.json`; `None` when it was never written.
pub fn load<T: DeserializeOwned>(runs: &Path, name: &str) -> anyhow::Result<Option<T>> {
    let path = runs.join(format!("{name}.json"));
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("read {} (delete it to start over)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}
