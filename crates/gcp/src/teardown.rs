//! `teardown`: deletes what the gcp flow created, dependents first — the endpoint (after
//! undeploying its models), the model, the feature view, the feature group and the online
//! store (both with `force`), and only with `with_data` the dataset (with its tables) and
//! the bucket (objects first). A resource that is already gone is reported, not an error.

use std::fmt;

use tracing::info;

use crate::error::GcpError;
use crate::http::{with_query, Call};
use crate::Gcp;

const STEP: &str = "teardown";

/// What teardown did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeardownOutcome {
    /// It existed and was deleted.
    Deleted,
    /// It did not exist.
    AlreadyGone,
    /// It was left in place (data, without `with_data`).
    Kept,
}

/// One line of teardown's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownLine {
    /// `Endpoint`, `Model`, `FeatureView`, `FeatureGroup`, `FeatureOnlineStore`,
    /// `Dataset`, `Bucket`.
    pub kind: String,
    /// The resource's full name.
    pub resource: String,
    /// What happened.
    pub outcome: TeardownOutcome,
    /// More detail: models undeployed, objects deleted, how to delete kept data.
    pub detail: String,
}

impl fmt::Display for TeardownLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            TeardownOutcome::Deleted => "deleted",
            TeardownOutcome::AlreadyGone => "already gone",
            TeardownOutcome::Kept => "kept",
        };
        write!(f, "{} {}: {outcome}", self.kind, self.resource)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl Gcp {
    /// Deletes the demo's resources; stops at the first real failure.
    pub async fn teardown(&self, with_data: bool) -> Result<Vec<TeardownLine>, GcpError> {
        let mut lines = vec![self.teardown_endpoint().await?];

        let vertex = [
            ("Model", "aiplatform.models.delete", self.model_name(), false),
            ("FeatureView", "aiplatform.featureViews.delete", self.feature_view_name(), false),
            ("FeatureGroup", "aiplatform.featureGroups.delete", self.feature_group_name(), true),
            (
                "FeatureOnlineStore",
                "aiplatform.featureOnlineStores.delete",
                self.online_store_name(),
                true,
            ),
        ];
        for (kind, method_id, name, force) in vertex {
            let deleted = self.delete_resource(STEP, method_id, &name, force).await?;
            lines.push(line(kind, &name, deleted, String::new()));
        }

        if with_data {
            lines.push(self.teardown_dataset().await?);
            lines.push(self.teardown_bucket().await?);
        } else {
            let keep = "pass with_data (--with-data) to delete it";
            lines.push(kept("Dataset", &self.dataset(), keep));
            lines.push(kept("Bucket", &format!("gs://{}", self.bucket()), keep));
        }

        for line in &lines {
            let (kind, resource, outcome) = (&line.kind, &line.resource, line.outcome);
            info!(kind, resource, ?outcome, "teardown");
        }
        Ok(lines)
    }

    /// Undeploys every model, the ones without traffic first, then deletes the endpoint.
    async fn teardown_endpoint(&self) -> Result<TeardownLine, GcpError> {
        let endpoint = self.endpoint_name();
        let url = self.vertex_url(&endpoint, None);
        let Some(found) =
            self.lookup(Call::get(STEP, "aiplatform.endpoints.get", &endpoint, url)).await?
        else {
            return Ok(line("Endpoint", &endpoint, false, String::new()));
        };

        let share = |id: &str| found["trafficSplit"][id].as_u64().unwrap_or(0);
        let mut deployed: Vec<String> = found["deployedModels"]
            .as_array()
            .map(|models| {
                models.iter().filter_map(|d| d["id"].as_str().map(str::to_string)).collect()
            })
            .unwrap_or_default();
        deployed.sort_by_key(|id| share(id));
        for id in &deployed {
            self.undeploy(STEP, &endpoint, id, None).await?;
        }

        let deleted =
            self.delete_resource(STEP, "aiplatform.endpoints.delete", &endpoint, false).await?;
        Ok(line("Endpoint", &endpoint, deleted, format!("{} model(s) undeployed", deployed.len())))
    }

    /// Deletes the dataset with its tables.
    async fn teardown_dataset(&self) -> Result<TeardownLine, GcpError> {
        let name = self.dataset();
        let url = self.bigquery_url(&format!("datasets/{}", self.config.project.dataset));
        let url = with_query(&url, &[("deleteContents", "true")]);
        match self.send(Call::delete(STEP, "bigquery.datasets.delete", &name, url)).await {
            Ok(_) => Ok(line("Dataset", &name, true, "with its tables".into())),
            Err(error) if error.is_not_found() => Ok(line("Dataset", &name, false, String::new())),
            Err(error) => Err(error),
        }
    }

    /// Deletes every object, then the bucket.
    async fn teardown_bucket(&self) -> Result<TeardownLine, GcpError> {
        let resource = format!("gs://{}", self.bucket());
        if self.get_bucket(STEP).await?.is_none() {
            return Ok(line("Bucket", &resource, false, String::new()));
        }

        let objects = self.list_objects(STEP).await?;
        for object in &objects {
            self.delete_object(STEP, object).await?;
        }
        let deleted = self.delete_bucket(STEP).await?;
        Ok(line("Bucket", &resource, deleted, format!("{} object(s) deleted", objects.len())))
    }
}

fn line(kind: &str, resource: &str, deleted: bool, detail: String) -> TeardownLine {
    let outcome = if deleted { TeardownOutcome::Deleted } else { TeardownOutcome::AlreadyGone };
    TeardownLine { kind: kind.into(), resource: resource.into(), outcome, detail }
}

fn kept(kind: &str, resource: &str, detail: &str) -> TeardownLine {
    TeardownLine {
        kind: kind.into(),
        resource: resource.into(),
        outcome: TeardownOutcome::Kept,
        detail: detail.into(),
    }
}
