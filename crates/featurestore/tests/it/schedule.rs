//! The scheduler on tokio's paused clock.
