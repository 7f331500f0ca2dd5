//! The local feature store, in Vertex AI's terms, in pipeline order: the `registry` of
//! resources (`FeatureOnlineStore`, `FeatureGroup`, `Feature`, `FeatureView`), the `online`
//! store that serves one row per entity, the `sync` that publishes a feature view from the
//! offline table, and the `schedule` that runs syncs on each view's cron line.
//!
//! Reading the offline table (DuckDB) and answering HTTP are left to other crates: they
//! plug in through [`sync::SyncSource`] and call [`online::OnlineStore`].

// Pipeline order, one per line: rustfmt leaves separated groups as written.
pub mod registry;

pub mod online;

pub mod sync;

pub mod schedule;

/// Shared plumbing: atomic JSON state files.
pub mod atomic;

pub use online::{MemoryStore, OnlineStore, OnlineStoreError, PublishReport, RedbStore};
pub use registry::{
    EnsureOutcome, EnsureReport, Feature, FeatureGroup, FeatureOnlineStore, FeatureView, Registry,
    RegistryError,
};
pub use schedule::{Clock, ScheduleError, Scheduler, SystemClock, TokioClock};
pub use sync::{SourceError, SyncError, SyncHandle, SyncRunner, SyncSource};
