//! Vertex AI's JSON shapes that more than one stage reads or writes: a `FeatureViewSync`
//! (the local sync records, the local service and the GCP client all speak it) and
//! Google's error body.
//!
//! Field names follow Google's REST reference (camelCase); int64 values travel as strings
//! as proto3 JSON requires.

use serde::{Deserialize, Serialize};

/// One run of a feature view sync, as `featureViews.featureViewSyncs.get` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FeatureViewSync {
    /// Full name: `projects/P/locations/L/featureOnlineStores/S/featureViews/V/featureViewSyncs/ID`.
    pub name: String,
    /// When the sync was created, RFC 3339 UTC.
    pub create_time: String,
    /// When it started and, once finished, ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<Interval>,
    /// Set when the sync has finished: code 0 for success, else an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_status: Option<Status>,
    /// Rows synced, set when the sync has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_summary: Option<SyncSummary>,
}

impl FeatureViewSync {
    /// Whether the sync has finished (an end time is set), successfully or not.
    pub fn is_done(&self) -> bool {
        self.run_time.as_ref().is_some_and(|t| t.end_time.is_some())
    }

    /// Whether the sync finished with status code 0.
    pub fn succeeded(&self) -> bool {
        self.is_done() && self.final_status.as_ref().is_some_and(|s| s.code == 0)
    }

    /// Rows synced, if reported.
    pub fn rows_synced(&self) -> Option<u64> {
        self.sync_summary.as_ref().and_then(|s| s.row_synced.parse().ok())
    }
}

/// A time interval, RFC 3339 UTC strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    /// Start, inclusive.
    pub start_time: String,
    /// End, exclusive; absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// `google.rpc.Status`: a numeric code (0 = OK) and a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Status {
    /// The `google.rpc.Code`.
    #[serde(default)]
    pub code: i32,
    /// Why, for a non-zero code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `syncSummary` of a `FeatureViewSync`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    /// Rows synced, an int64 as a string.
    pub row_synced: String,
    /// BigQuery slot-milliseconds used, an int64 as a string (0 locally).
    #[serde(default)]
    pub total_slot: String,
}

/// Google's error body: `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoogleError {
    /// The error itself.
    pub error: GoogleErrorBody,
}

/// The inside of [`GoogleError`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoogleErrorBody {
    /// The HTTP status code.
    pub code: u16,
    /// What went wrong, for a person.
    pub message: String,
    /// The canonical status name, e.g. `INVALID_ARGUMENT`, `NOT_FOUND`.
    pub status: String,
}

impl GoogleError {
    /// An error with HTTP `code`, canonical `status` and `message`.
    pub fn new(code: u16, status: &str, message: impl Into<String>) -> Self {
        GoogleError {
            error: GoogleErrorBody { code, message: message.into(), status: status.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_reads_googles_json() {
        let json = r#"{"name": "projects/p/locations/l/featureOnlineStores/s/featureViews/v/featureViewSyncs/1",
            "createTime": "2024-03-08T00:00:00Z",
            "runTime": {"startTime": "2024-03-08T00:00:00Z", "endTime": "2024-03-08T00:00:05Z"},
            "finalStatus": {},
            "syncSummary": {"rowSynced": "1501", "totalSlot": "20"}}"#;

        let sync: FeatureViewSync = serde_json::from_str(json).unwrap();

        assert!(sync.succeeded());
        assert_eq!(sync.rows_synced(), Some(1501));
    }

    #[test]
    fn running_sync_is_not_done() {
        let json = r#"{"name": "x", "createTime": "t", "runTime": {"startTime": "t"}}"#;

        let sync: FeatureViewSync = serde_json::from_str(json).unwrap();

        assert!(!sync.is_done() && !sync.succeeded());
    }
}
