//! Waiting: one poll loop with a deadline (`gcp.operation_timeout_secs`) and progress
//! lines, used for Vertex AI long-running operations, BigQuery jobs and feature view
//! syncs alike.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::{debug, info};

use crate::error::GcpError;
use crate::http::Call;
use crate::Gcp;

/// At most one info line per this long while waiting; the polls in between log at debug.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

impl Gcp {
    /// Calls `check` every `gcp.poll_interval_ms` until it returns `Some`, or fails with
    /// [`GcpError::Timeout`] once `gcp.operation_timeout_secs` have passed.
    pub(crate) async fn poll_until<T, F, Fut>(
        &self,
        step: &str,
        resource: &str,
        operation: &str,
        mut check: F,
    ) -> Result<T, GcpError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, GcpError>>,
    {
        let started = Instant::now();
        let mut last_progress: Option<Instant> = None;
        let mut polls = 0u64;

        loop {
            if let Some(done) = check().await? {
                debug!(operation, polls, elapsed_ms = started.elapsed().as_millis() as u64, "done");
                return Ok(done);
            }
            polls += 1;

            let waited = started.elapsed();
            if waited >= self.timeout {
                return Err(GcpError::Timeout {
                    step: step.to_string(),
                    resource: resource.to_string(),
                    operation: operation.to_string(),
                    waited,
                    timeout_secs: self.config.gcp.operation_timeout_secs,
                });
            }

            let elapsed_secs = waited.as_secs();
            if last_progress.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
                info!(step, operation, resource, elapsed_secs, polls, "waiting");
                last_progress = Some(Instant::now());
            } else {
                debug!(step, operation, elapsed_secs, polls, "still waiting");
            }
            tokio::time::sleep(self.poll_interval.min(self.timeout - waited)).await;
        }
    }

    /// Waits for the Vertex AI operation `operation` (as a create, delete or deploy
    /// answered it) and returns its `response`.
    pub(crate) async fn wait_operation(
        &self,
        step: &str,
        resource: &str,
        operation: Value,
    ) -> Result<Value, GcpError> {
        let name = operation["name"].as_str().unwrap_or_default().to_string();
        if operation["done"].as_bool() == Some(true) || name.is_empty() {
            return finished(step, resource, &name, operation);
        }

        let url = self.vertex_url(&name, None);
        let done = self
            .poll_until(step, resource, &name, || async {
                let call = Call::get(step, "aiplatform.operations.get", resource, url.clone());
                let polled = self.send(call).await?;
                Ok((polled["done"].as_bool() == Some(true)).then_some(polled))
            })
            .await?;
        finished(step, resource, &name, done)
    }
}

/// The `response` of a finished operation, or its `error` as [`GcpError::Operation`].
fn finished(step: &str, resource: &str, name: &str, operation: Value) -> Result<Value, GcpError> {
    if let Some(error) = operation.get("error").filter(|e| !e.is_null()) {
        return Err(GcpError::Operation {
            step: step.to_string(),
            resource: resource.to_string(),
            operation: name.to_string(),
            code: error["code"].as_i64().unwrap_or(2),
            message: error["message"].as_str().unwrap_or("no message").to_string(),
        });
    }
    Ok(operation.get("response").cloned().unwrap_or(Value::Null))
}
