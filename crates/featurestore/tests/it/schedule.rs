//! The scheduler on tokio's paused clock: fire times, a missed run run once, shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fsdemo_featurestore::schedule::TokioClock;
use fsdemo_featurestore::{Clock, MemoryStore, Registry, Scheduler, SyncRunner};

use crate::{customer_row, view_and_group, FakeSource};

/// Tokio-driven wall time plus a jump the test can add, as a suspended machine sees it.
struct JumpClock {
    tokio: TokioClock,
    jump: Mutex<chrono::Duration>,
}

impl Clock for JumpClock {
    fn now(&self) -> DateTime<Utc> {
        self.tokio.now() + *self.jump.lock().unwrap()
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A running scheduler over the shipped view (`0 3 * * *`) whose clock starts at `start`.
fn start_scheduler(start: &str) -> (tempfile::TempDir, SyncRunner, Arc<JumpClock>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (view, _) = view_and_group(dir.path());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1), customer_row(2, 10, 1)]);
    let runner = SyncRunner::open(dir.path(), Arc::new(MemoryStore::new()), source).unwrap();
    let clock = Arc::new(JumpClock {
        tokio: TokioClock::starting_at(at(start)),
        jump: Mutex::new(chrono::Duration::zero()),
    });

    let registry = Registry::open(dir.path()).unwrap();
    let scheduler = Scheduler::new(runner.clone(), &registry, clock.clone()).unwrap();
    tokio::spawn(scheduler.run_until(std::future::pending()));
    (dir, runner, clock, view.name)
}

async fn sleep_minutes(minutes: u64) {
    tokio::time::sleep(Duration::from_secs(60 * minutes)).await;
}

#[tokio::test(start_paused = true)]
async fn fires_at_each_cron_time_and_not_before() {
    let (_dir, runner, _clock, view) = start_scheduler("2024-03-07T02:58:30Z");

    sleep_minutes(1).await;
    assert!(runner.list(&view).is_empty(), "ran before 03:00");

    sleep_minutes(2).await;
    let syncs = runner.list(&view);
    assert_eq!(syncs.len(), 1);
    assert!(syncs[0].succeeded() && syncs[0].rows_synced() == Some(2), "{syncs:?}");

    sleep_minutes(24 * 60).await;
    assert_eq!(runner.list(&view).len(), 2, "one run per day");
}

#[tokio::test(start_paused = true)]
async fn runs_missed_while_asleep_are_run_once_then_the_schedule_goes_on_from_now() {
    let (_dir, runner, clock, view) = start_scheduler("2024-03-07T02:59:00Z");
    sleep_minutes(2).await;
    assert_eq!(runner.list(&view).len(), 1);

    // The machine sleeps across three 03:00 fire times.
    *clock.jump.lock().unwrap() = chrono::Duration::days(3) + chrono::Duration::hours(2);
    sleep_minutes(2).await;
    assert_eq!(runner.list(&view).len(), 2, "missed runs must run exactly once");

    sleep_minutes(12 * 60).await;
    assert_eq!(runner.list(&view).len(), 2, "the next run is tomorrow at 03:00");

    sleep_minutes(12 * 60).await;
    assert_eq!(runner.list(&view).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let (view, _) = view_and_group(dir.path());
    let source = FakeSource::answering(vec![customer_row(1, 10, 1)]);
    let runner = SyncRunner::open(dir.path(), Arc::new(MemoryStore::new()), source).unwrap();
    let clock = Arc::new(TokioClock::starting_at(at("2024-03-07T02:59:00Z")));
    let registry = Registry::open(dir.path()).unwrap();
    let scheduler = Scheduler::new(runner.clone(), &registry, clock).unwrap();

    let stop = tokio::time::sleep(Duration::from_secs(30));
    tokio::time::timeout(Duration::from_secs(3600), scheduler.run_until(stop)).await.unwrap();
    sleep_minutes(5).await;

    assert!(runner.list(&view.name).is_empty(), "a sync ran after shutdown");
}
