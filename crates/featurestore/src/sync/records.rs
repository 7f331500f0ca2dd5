//! The persisted `FeatureViewSync` records: one JSON file holding every view's recent
//! syncs, rewritten atomically on each start and finish, so `get` by full name works
//! across restarts.

use std::path::{Path, PathBuf};

use fsdemo_core::vertex::{FeatureViewSync, Status};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, FileError};
use crate::registry::now_rfc3339;

/// The records file's name inside the folder given to [`super::SyncRunner::open`].
pub const SYNCS_FILE: &str = "syncs.json";

/// How many finished syncs are kept per view; older ones are dropped.
pub const KEPT_PER_VIEW: usize = 50;

/// `google.rpc.Code` ABORTED: set on a sync the process stopped in the middle of.
const ABORTED: i32 = 10;

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncsFile {
    feature_view_syncs: Vec<FeatureViewSync>,
}

/// Every view's sync records, oldest first.
#[derive(Debug)]
pub(crate) struct SyncRecords {
    path: PathBuf,
    syncs: Vec<FeatureViewSync>,
}

impl SyncRecords {
    /// Reads `dir/syncs.json` and closes records the last process left running.
    pub(crate) fn open(dir: &Path) -> Result<SyncRecords, FileError> {
        let path = dir.join(SYNCS_FILE);
        let file: SyncsFile = atomic::read_json(&path)?.unwrap_or_default();
        let mut records = SyncRecords { path, syncs: file.feature_view_syncs };

        // A record without an end time belongs to a process that died mid-sync; its publish
        // never committed, so the store still holds the previous rows.
        let now = now_rfc3339();
        let mut interrupted = 0;
        for sync in records.syncs.iter_mut().filter(|s| !s.is_done()) {
            if let Some(run_time) = sync.run_time.as_mut() {
                run_time.end_time = Some(now.clone());
            }
            sync.final_status = Some(Status {
                code: ABORTED,
                message: "interrupted: the process stopped before this sync finished; the \
                          online store kept the previous rows; start a new sync"
                    .into(),
            });
            interrupted += 1;
        }
        if interrupted > 0 {
            let path = records.path.display();
            tracing::info!(records = %path, interrupted, "closed interrupted syncs");
            records.save()?;
        }
        Ok(records)
    }

    /// The record with full name `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&FeatureViewSync> {
        self.syncs.iter().find(|sync| sync.name == name)
    }

    /// The records of `view` (full name), newest first.
    pub(crate) fn of_view(&self, view: &str) -> Vec<FeatureViewSync> {
        let prefix = format!("{view}/featureViewSyncs/");
        self.syncs.iter().rev().filter(|s| s.name.starts_with(&prefix)).cloned().collect()
    }

    /// A sync id for `view`: the creation time in microseconds, bumped past the newest
    /// existing id so ids stay unique and sort by creation.
    pub(crate) fn next_id(&self, view: &str) -> String {
        let newest = self
            .of_view(view)
            .iter()
            .filter_map(|s| s.name.rsplit('/').next()?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        chrono::Utc::now().timestamp_micros().max(newest + 1).to_string()
    }

    /// Adds or replaces `sync` (by name), trims old records of its view, and saves.
    pub(crate) fn put(&mut self, sync: FeatureViewSync) -> Result<(), FileError> {
        match self.syncs.iter_mut().find(|s| s.name == sync.name) {
            Some(stored) => *stored = sync.clone(),
            None => self.syncs.push(sync.clone()),
        }
        self.trim(&sync.name);
        self.save()
    }

    /// Drops the oldest finished records of the view `sync_name` belongs to.
    fn trim(&mut self, sync_name: &str) {
        let prefix = sync_name.rsplit_once('/').map(|(head, _)| head).unwrap_or(sync_name);
        let of_view = self.syncs.iter().filter(|s| s.name.starts_with(prefix)).count();
        let mut excess = of_view.saturating_sub(KEPT_PER_VIEW);
        self.syncs.retain(|s| {
            let drop = excess > 0 && s.name.starts_with(prefix) && s.is_done();
            excess -= usize::from(drop);
            !drop
        });
    }

    fn save(&self) -> Result<(), FileError> {
        let file = SyncsFile { feature_view_syncs: self.syncs.clone() };
        atomic::write_json(&self.path, &file)
    }
}
