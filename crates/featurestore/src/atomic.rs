//! Whole-file JSON state written atomically: a temp file beside the target, fsync, rename,
//! fsync of the folder. A crash mid-write leaves the old file or the new one, never half.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file or its folder could not be read, written or renamed.
    #[error("{step} {path}: {source} (check that the folder exists and is writable)")]
    Io { step: &'static str, path: PathBuf, source: std::io::Error },
    /// The file is not the JSON this version writes.
    #[error(
        "read {path}: not valid JSON ({source}); move the file away to start empty, \
         or restore it from a backup"
    )]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

/// Writes `value` as pretty JSON to `path`, replacing it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let io = |step, target: &Path| {
        let path = target.to_path_buf();
        move |source| FileError::Io { step, path, source }
    };
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(io("create folder", folder))?;

    // The temp name carries the pid so two processes never write the same temp file.
    let temp = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let json = serde_json::to_vec_pretty(value).expect("state types always serialise");
    let mut file = File::create(&temp).map_err(io("create", &temp))?;
    file.write_all(&json).map_err(io("write", &temp))?;
    file.sync_all().map_err(io("fsync", &temp))?;
    drop(file);

    // The rename is the commit point; syncing the folder makes the rename itself durable.
    fs::rename(&temp, path).map_err(io("rename into", path))?;
    if let Ok(dir) = File::open(folder) {
        dir.sync_all().map_err(io("fsync folder", folder))?;
    }
    Ok(())
}

/// Reads JSON from `path`; `None` when the file does not exist yet.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, FileError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(FileError::Io { step: "read", path: path.into(), source }),
    };
    let value = serde_json::from_slice(&bytes)
        .map_err(|source| FileError::Corrupt { path: path.into(), source })?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_replaces_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.json");

        write_json(&path, &vec![1, 2]).unwrap();
        write_json(&path, &vec![3]).unwrap();

        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), Some(vec![3]));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "a temp file was left behind");
    }

    #[test]
    fn missing_file_is_none_and_garbage_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(read_json::<Vec<i32>>(&path).unwrap().is_none());

        fs::write(&path, b"{\"half").unwrap();
        let err = read_json::<Vec<i32>>(&path).unwrap_err().to_string();

        assert!(err.contains("state.json") && err.contains("move the file away"), "{err}");
    }
}
