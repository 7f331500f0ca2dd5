//! Feature view syncs: read the newest row per entity from the offline table, publish it
//! to the online store in one step, and keep a `FeatureViewSync` record of the run.
//!
//! Reading the table is the caller's (DuckDB or BigQuery), through [`SyncSource`]. A sync
//! runs on its own thread: an HTTP handler calls [`SyncRunner::start`] and answers at
//! once; a CLI calls [`SyncRunner::run`] and waits.

mod records;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use fsdemo_core::vertex::{FeatureViewSync, Interval, Status, SyncSummary};
use fsdemo_core::{FeatureRow, FeatureSpec, FeatureType, FeatureValue};

pub use records::{KEPT_PER_VIEW, SYNCS_FILE};

use crate::atomic::FileError;
use crate::online::OnlineStore;
use crate::registry::{now_rfc3339, FeatureGroup, FeatureView};
use records::SyncRecords;

/// Any error a [`SyncSource`] reports; its whole chain lands in the sync's status message.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// `google.rpc.Code` FAILED_PRECONDITION: the source table is missing or has the wrong shape.
const FAILED_PRECONDITION: i32 = 9;
/// `google.rpc.Code` INTERNAL: the online store failed, or the sync panicked.
const INTERNAL: i32 = 13;

/// Where a sync reads its rows from.
pub trait SyncSource: Send + Sync {
    /// The newest row per entity of `group`'s source table (greatest timestamp column),
    /// with `features` as values in that order, NULL as `None`.
    fn newest_rows(
        &self,
        group: &FeatureGroup,
        features: &[FeatureSpec],
    ) -> Result<Vec<FeatureRow>, SourceError>;
}

/// Why a sync could not be started or recorded. A sync that starts and then fails is not
/// an error here: its record carries the failure in `finalStatus`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The view already has a running sync; only one runs per view at a time.
    #[error(
        "sync {view}: {running} is still running; wait for it to finish (get {running}) \
         and start again"
    )]
    AlreadyRunning { view: String, running: String },
    /// The sync records could not be read or written.
    #[error("sync records: {0}")]
    Records(#[from] FileError),
    /// The thread of the sync could not be started.
    #[error("sync {view}: cannot start a thread: {source} (the machine is out of resources)")]
    Spawn { view: String, source: std::io::Error },
}

/// Starts syncs, one at a time per view, and answers for their records.
///
/// Cheap to clone: clones share the store, the source and the records.
#[derive(Clone)]
pub struct SyncRunner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn OnlineStore>,
    source: Arc<dyn SyncSource>,
    records: Mutex<SyncRecords>,
    /// View name to the name of its running sync.
    running: Mutex<HashMap<String, String>>,
}

/// A started sync: its record as created, and a way to wait for the finished one.
#[derive(Debug)]
pub struct SyncHandle {
    sync: FeatureViewSync,
    thread: JoinHandle<FeatureViewSync>,
}

impl SyncHandle {
    /// The record as it was when the sync started (no end time yet).
    pub fn sync(&self) -> &FeatureViewSync {
        &self.sync
    }

    /// Blocks until the sync has finished and returns its final record.
    pub fn wait(self) -> FeatureViewSync {
        let started = self.sync;
        self.thread.join().unwrap_or_else(|_| {
            // The thread catches panics of the sync itself; this only guards the record.
            failed(started, INTERNAL, "the sync thread panicked".into())
        })
    }
}

impl SyncRunner {
    /// A runner whose records live in `dir/syncs.json`; syncs the last process left
    /// running are closed as ABORTED.
    pub fn open(
        dir: &Path,
        store: Arc<dyn OnlineStore>,
        source: Arc<dyn SyncSource>,
    ) -> Result<SyncRunner, SyncError> {
        let records = Mutex::new(SyncRecords::open(dir)?);
        let running = Mutex::new(HashMap::new());
        Ok(SyncRunner { inner: Arc::new(Inner { store, source, records, running }) })
    }

    /// Starts a sync of `view` from `group` on a new thread and returns at once.
    ///
    /// A second start while the view's sync runs is refused with
    /// [`SyncError::AlreadyRunning`] naming the running sync, so a caller never gets a
    /// sync it did not start.
    pub fn start(&self, view: &FeatureView, group: &FeatureGroup) -> Result<SyncHandle, SyncError> {
        let mut running = lock(&self.inner.running);
        if let Some(name) = running.get(&view.name) {
            return Err(SyncError::AlreadyRunning {
                view: view.name.clone(),
                running: name.clone(),
            });
        }

        // The record is written before the thread starts, so `get` finds it at once.
        let mut records = lock(&self.inner.records);
        let name = format!("{}/featureViewSyncs/{}", view.name, records.next_id(&view.name));
        let now = now_rfc3339();
        let sync = FeatureViewSync {
            name: name.clone(),
            create_time: now.clone(),
            run_time: Some(Interval { start_time: now, end_time: None }),
            ..FeatureViewSync::default()
        };
        records.put(sync.clone())?;
        drop(records);
        running.insert(view.name.clone(), name.clone());
        drop(running);
        tracing::info!(sync = %name, view = %view.name, "feature view sync started");

        let (runner, view_owned, group_owned, started) =
            (self.clone(), view.clone(), group.clone(), sync.clone());
        let thread = std::thread::Builder::new()
            .name(format!("sync-{}", view.id()))
            .spawn(move || runner.execute(&view_owned, &group_owned, started));
        match thread {
            Ok(thread) => Ok(SyncHandle { sync, thread }),
            Err(source) => {
                let message = format!("cannot start a thread: {source}");
                self.finish(&view.name, failed(sync, INTERNAL, message));
                Err(SyncError::Spawn { view: view.name.clone(), source })
            }
        }
    }

    /// Runs a sync of `view` and waits for it; the record says whether it succeeded.
    pub fn run(
        &self,
        view: &FeatureView,
        group: &FeatureGroup,
    ) -> Result<FeatureViewSync, SyncError> {
        Ok(self.start(view, group)?.wait())
    }

    /// The record with full name `name` (`.../featureViews/V/featureViewSyncs/ID`).
    pub fn get(&self, name: &str) -> Option<FeatureViewSync> {
        lock(&self.inner.records).get(name).cloned()
    }

    /// The records of the view with full name `view`, newest first (at most
    /// [`KEPT_PER_VIEW`] finished ones).
    pub fn list(&self, view: &str) -> Vec<FeatureViewSync> {
        lock(&self.inner.records).of_view(view)
    }

    /// The running sync of `view`, if any.
    pub fn running(&self, view: &str) -> Option<FeatureViewSync> {
        let name = lock(&self.inner.running).get(view).cloned()?;
        self.get(&name)
    }

    /// The body of a sync thread: read, check, publish, record.
    fn execute(
        &self,
        view: &FeatureView,
        group: &FeatureGroup,
        sync: FeatureViewSync,
    ) -> FeatureViewSync {
        let clock = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.read_and_publish(view, group)))
            .unwrap_or_else(|_| Err((INTERNAL, "the sync panicked; see the log".into())));

        let done = match outcome {
            Ok(rows) => succeeded(sync, rows),
            Err((code, message)) => failed(sync, code, message),
        };
        let millis = clock.elapsed().as_millis() as u64;
        match &done.final_status {
            Some(Status { code: 0, .. }) => tracing::info!(
                sync = %done.name, view = %view.name, rows = done.rows_synced().unwrap_or(0),
                duration_ms = millis, "feature view sync succeeded"
            ),
            Some(status) => tracing::warn!(
                sync = %done.name, view = %view.name, code = status.code, duration_ms = millis,
                error = %status.message,
                "feature view sync failed; the store keeps the previous rows"
            ),
            None => {}
        }
        self.finish(&view.name, done)
    }

    /// Reads the newest rows, checks them against the view and publishes them; returns
    /// the rows synced, or a `google.rpc.Code` and a message.
    fn read_and_publish(
        &self,
        view: &FeatureView,
        group: &FeatureGroup,
    ) -> Result<u64, (i32, String)> {
        let rows = self.inner.source.newest_rows(group, &view.features).map_err(|e| {
            let message = format!("read {} for {}: {}", group.source_table, view.name, chain(&*e));
            (FAILED_PRECONDITION, message)
        })?;

        let rows = check_rows(view, group, rows).map_err(|m| (FAILED_PRECONDITION, m))?;
        let synced = rows.len() as u64;

        let report =
            self.inner.store.publish(&view.name, rows).map_err(|e| (INTERNAL, e.to_string()))?;
        tracing::info!(
            view = %view.name, rows = synced, written = report.written,
            unchanged = report.unchanged, kept_newer = report.kept_newer, "rows published"
        );
        Ok(synced)
    }

    /// Stores the final record and frees the view for the next sync.
    fn finish(&self, view: &str, done: FeatureViewSync) -> FeatureViewSync {
        if let Err(e) = lock(&self.inner.records).put(done.clone()) {
            // The store already holds the result; only the record's persistence failed.
            tracing::error!(sync = %done.name, error = %e, "cannot save the finished sync record");
        }
        lock(&self.inner.running).remove(view);
        done
    }
}

/// Checks every row has one value per feature of the right type; a non-finite float
/// becomes NULL (SPEC: a NULL is never NaN).
fn check_rows(
    view: &FeatureView,
    group: &FeatureGroup,
    mut rows: Vec<FeatureRow>,
) -> Result<Vec<FeatureRow>, String> {
    let features = &view.features;
    let mut nan_to_null = 0u64;
    for row in &mut rows {
        if row.values.len() != features.len() {
            return Err(format!(
                "{} entity {}: {} values for {} features of {}; the source must return the \
                 view's features in order",
                group.source_table,
                row.entity_id,
                row.values.len(),
                features.len(),
                view.name
            ));
        }
        for (value, spec) in row.values.iter_mut().zip(features) {
            match (*value, spec.value_type) {
                (None, _) | (Some(FeatureValue::Int64(_)), FeatureType::Int64) => {}
                (Some(FeatureValue::Float64(v)), FeatureType::Float64) if v.is_finite() => {}
                (Some(FeatureValue::Float64(_)), FeatureType::Float64) => {
                    *value = None;
                    nan_to_null += 1;
                }
                (Some(other), expected) => {
                    return Err(format!(
                        "{} entity {}: feature `{}` is {other:?}, the registry says {expected:?}; \
                         rebuild the table or fix configs/featurestore.yaml",
                        group.source_table, row.entity_id, spec.name
                    ))
                }
            }
        }
    }
    if nan_to_null > 0 {
        tracing::warn!(view = %view.name, values = nan_to_null, "non-finite floats stored as NULL");
    }
    Ok(rows)
}

fn succeeded(mut sync: FeatureViewSync, rows: u64) -> FeatureViewSync {
    end(&mut sync);
    sync.final_status = Some(Status { code: 0, message: String::new() });
    sync.sync_summary = Some(SyncSummary { row_synced: rows.to_string(), total_slot: "0".into() });
    sync
}

fn failed(mut sync: FeatureViewSync, code: i32, message: String) -> FeatureViewSync {
    end(&mut sync);
    sync.final_status = Some(Status { code, message });
    sync
}

fn end(sync: &mut FeatureViewSync) {
    let now = now_rfc3339();
    let run_time =
        sync.run_time.get_or_insert_with(|| Interval { start_time: now.clone(), end_time: None });
    run_time.end_time = Some(now);
}

/// An error and its sources, joined by `: `.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Locks `mutex`, carrying on after a panic elsewhere (the guarded maps stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
