//! The report's files: `report.html` and, beside it, `report_data.json` holding the exact
//! data the page was rendered from. Each is replaced atomically (temporary file, fsync,
//! rename), so a reader or a mail client never picks up half a page.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::data::ReportData;

/// The page's file name inside the report folder.
pub const PAGE_FILE: &str = "report.html";
/// The data's file name inside the report folder.
pub const DATA_FILE: &str = "report_data.json";

/// What can go wrong writing or reading the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written.
    #[error(
        "writing the report: could not write {}: {source}; check that the folder is writable \
         and the disk has space, or pass another workdir",
        path.display()
    )]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The data could not be turned into JSON.
    #[error(
        "writing the report: could not encode {}: {source}; a value in the run's records is \
         not representable as JSON",
        path.display()
    )]
    Encode {
        /// The file that was to hold it.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A saved `report_data.json` could not be read.
    #[error(
        "reading report data: could not read {}: {source}; run `fsdemo demo` to record a run \
         first",
        path.display()
    )]
    Read {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A saved `report_data.json` is not report data of this version.
    #[error(
        "reading report data: {} is not valid report data: {source}; it may come from another \
         version of fsdemo, so run `fsdemo demo` again to record it afresh",
        path.display()
    )]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// Writes `dir/report_data.json` then `dir/report.html` and returns the page's path.
///
/// The data goes first, so a page on disk never has data older than itself beside it.
/// `dir` is created when missing.
pub fn write(dir: &Path, data: &ReportData) -> Result<PathBuf, ReportError> {
    let data_path = dir.join(DATA_FILE);
    let json = serde_json::to_vec_pretty(data)
        .map_err(|source| ReportError::Encode { path: data_path.clone(), source })?;
    write_atomic(&data_path, &json)
        .map_err(|source| ReportError::Write { path: data_path.clone(), source })?;

    let page_path = dir.join(PAGE_FILE);
    let page = crate::render(data);
    write_atomic(&page_path, page.as_bytes())
        .map_err(|source| ReportError::Write { path: page_path.clone(), source })?;
    Ok(page_path)
}

/// Reads a `report_data.json` written by [`write()`], to render it again.
///
/// Limitation: serde_json's default float parser may return a float one unit in the last
/// place off; the page prints at most five decimals, so the page rendered again is the
/// same. Exact round trips would need serde_json's `float_roundtrip` feature, which would
/// change the parser for every crate in the same build.
pub fn read_data(path: &Path) -> Result<ReportData, ReportError> {
    let bytes =
        fs::read(path).map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes)
        .map_err(|source| ReportError::Parse { path: path.to_path_buf(), source })
}

/// Replaces `path` with `bytes`: temporary file beside it, fsync, rename, directory fsync.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;

    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);

    fs::rename(&temporary, path)?;
    // The rename lives in the directory; flush that too where the platform allows it.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_page_and_data_that_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let data = ReportData::sample();

        let page = write(&dir.path().join("report"), &data).unwrap();

        assert_eq!(page, dir.path().join("report").join(PAGE_FILE));
        assert!(fs::read_to_string(&page).unwrap().starts_with("<!DOCTYPE html>"));
        let back = read_data(&dir.path().join("report").join(DATA_FILE)).unwrap();
        assert_eq!(crate::render(&back), fs::read_to_string(&page).unwrap());
        let names: Vec<_> = fs::read_dir(dir.path().join("report")).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind");
    }

    #[test]
    fn a_run_without_optional_sections_reads_back() {
        let json = r#"{"profile":"gcp","generated_at":"2025-01-25T19:52:07Z","workdir":"w"}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        fs::write(&path, json).unwrap();

        let data = read_data(&path).unwrap();

        assert_eq!(data.profile, crate::data::Profile::Gcp);
        assert!(data.model.is_none() && data.pipeline.is_none());
    }

    #[test]
    fn an_unwritable_folder_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-folder");
        fs::write(&blocker, "x").unwrap();

        let error = write(&blocker, &ReportData::sample()).unwrap_err().to_string();

        assert!(error.starts_with("writing the report: could not write"), "{error}");
        assert!(error.contains("not-a-folder"), "{error}");
        assert!(error.contains("check that the folder is writable"), "{error}");
    }

    #[test]
    fn bad_data_names_the_file_and_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        fs::write(&path, "{}").unwrap();

        let error = read_data(&path).unwrap_err().to_string();

        assert!(error.contains("is not valid report data"), "{error}");
        assert!(error.contains("fsdemo demo"), "{error}");
    }
}
