//! The sync schedule: each feature view's cron line (five fields, UTC) starts a sync at
//! its fire times. A run that was missed while the process slept is run once on waking,
//! never once per missed fire time; the next run is then counted from now.
//!
//! Time comes from a [`Clock`] and every wait is a tokio sleep, so tests drive the
//! scheduler with tokio's paused clock. Running the sync itself is [`crate::sync`]'s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use tokio::task::JoinSet;

use crate::registry::{FeatureGroup, FeatureView, Registry};
use crate::sync::{SyncError, SyncRunner};

/// The longest single sleep: the scheduler looks at the clock at least this often, so a
/// jump of the wall clock (a suspended laptop, an NTP step) is noticed within it.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// A schedule problem, naming the view and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A view's cron line does not parse.
    #[error("schedule {view}: {message} (fix featurestore.feature_view.cron)")]
    Cron { view: String, message: String },
    /// The registry holds a view whose feature group is missing.
    #[error("schedule {view}: feature group {group} is not registered; run the registry ensure")]
    MissingGroup { view: String, group: String },
}

/// The current wall time.
pub trait Clock: Send + Sync {
    /// Now, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that starts at a given instant and then follows tokio's clock, so a paused
/// tokio clock pauses it too (for tests and demos).
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: DateTime<Utc>,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start` now. Call it inside a tokio runtime.
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock { start, started: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// Parses a five-field cron line (minute hour day-of-month month day-of-week), UTC.
pub fn parse_cron(line: &str) -> Result<Cron, String> {
    let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
    parser.parse(line).map_err(|e| {
        format!(
            "cron `{line}` is not a five-field cron line ({e}); e.g. `0 3 * * *` is daily at \
             03:00 UTC"
        )
    })
}

/// One scheduled feature view.
#[derive(Clone)]
struct Job {
    view: FeatureView,
    group: FeatureGroup,
    cron: Cron,
}

/// Runs every registered feature view's sync on its cron line.
///
/// Limitation: the schedule is read once, at [`Scheduler::new`]; a view added or a cron
/// changed later takes effect on the next start. Vertex AI re-reads it on every update.
pub struct Scheduler {
    runner: SyncRunner,
    clock: Arc<dyn Clock>,
    jobs: Vec<Job>,
}

impl Scheduler {
    /// A scheduler for every feature view in `registry`, starting syncs through `runner`.
    pub fn new(
        runner: SyncRunner,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Result<Scheduler, ScheduleError> {
        let mut jobs = Vec::new();
        for view in registry.feature_views() {
            let cron = parse_cron(&view.sync_cron)
                .map_err(|message| ScheduleError::Cron { view: view.name.clone(), message })?;
            let group = registry.feature_group(&view.feature_group).ok_or_else(|| {
                ScheduleError::MissingGroup {
                    view: view.name.clone(),
                    group: view.feature_group.clone(),
                }
            })?;
            jobs.push(Job { view: view.clone(), group: group.clone(), cron });
        }
        Ok(Scheduler { runner, clock, jobs })
    }

    /// Runs every view's schedule until `shutdown` completes.
    ///
    /// A sync already running when `shutdown` fires runs to its end on its own thread.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let mut tasks = JoinSet::new();
        for job in self.jobs {
            tasks.spawn(run_job(self.runner.clone(), self.clock.clone(), job));
        }

        tokio::select! {
            _ = shutdown => tracing::info!("scheduler stopped"),
            _ = async { while tasks.join_next().await.is_some() {} } => {}
        }
    }
}

/// The loop of one view: sleep until the next fire time, run one sync, repeat.
async fn run_job(runner: SyncRunner, clock: Arc<dyn Clock>, job: Job) {
    let view = job.view.name.clone();
    let Some(mut next) = next_fire(&job, clock.now()) else { return };
    tracing::info!(view = %view, cron = %job.view.sync_cron, next = %next, "sync scheduled");

    loop {
        // Sleep in short steps against the clock, so a wall-clock jump is seen.
        let now = clock.now();
        if now < next {
            let wait = (next - now).to_std().unwrap_or_default().min(MAX_SLEEP);
            tokio::time::sleep(wait).await;
            continue;
        }

        // Due: one run however many fire times passed while asleep.
        let missed = job.cron.iter_after(next).take_while(|t| *t <= now).count();
        if missed > 0 {
            tracing::info!(view = %view, missed, due = %next, "missed fire times run once");
        }
        run_once(&runner, &job).await;

        let Some(after) = next_fire(&job, clock.now()) else { return };
        next = after;
        tracing::debug!(view = %view, next = %next, "next sync");
    }
}

/// Starts one sync and waits for it on the blocking pool, logging how it went.
async fn run_once(runner: &SyncRunner, job: &Job) {
    let view = &job.view.name;
    let handle = match runner.start(&job.view, &job.group) {
        Ok(handle) => handle,
        Err(SyncError::AlreadyRunning { running, .. }) => {
            tracing::info!(view = %view, running = %running, "scheduled sync skipped: one runs");
            return;
        }
        Err(e) => {
            tracing::error!(view = %view, error = %e, "scheduled sync could not start");
            return;
        }
    };

    let sync = match tokio::task::spawn_blocking(move || handle.wait()).await {
        Ok(sync) => sync,
        Err(e) => {
            tracing::error!(view = %view, error = %e, "waiting for the scheduled sync failed");
            return;
        }
    };
    let id = sync.name.rsplit('/').next().unwrap_or_default();
    match sync.final_status.as_ref().filter(|s| s.code != 0) {
        None => tracing::info!(
            view = %view, sync_id = id, rows = sync.rows_synced().unwrap_or(0),
            "scheduled sync finished"
        ),
        Some(status) => tracing::warn!(
            view = %view, sync_id = id, error = %status.message, "scheduled sync failed"
        ),
    }
}

/// The first fire time strictly after `after`, or `None` (logged) if there is none.
fn next_fire(job: &Job, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match job.cron.find_next_occurrence(&after, false) {
        Ok(next) => Some(next),
        Err(e) => {
            tracing::error!(view = %job.view.name, cron = %job.view.sync_cron, error = %e,
                "the cron line never fires again; the view is no longer scheduled");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_parse_and_fire_in_utc() {
        let cron = parse_cron("0 3 * * *").unwrap();
        let start = DateTime::parse_from_rfc3339("2024-03-07T02:59:30Z").unwrap().to_utc();

        let next = cron.find_next_occurrence(&start, false).unwrap();

        assert_eq!(next.to_rfc3339(), "2024-03-07T03:00:00+00:00");
    }

    #[test]
    fn six_fields_and_words_are_rejected_with_an_example() {
        for line in ["0 0 3 * * *", "daily"] {
            let err = parse_cron(line).unwrap_err();
            assert!(err.contains("five-field") && err.contains("0 3 * * *"), "{err}");
        }
    }
}
