//! Vertex AI Feature Store (the BigQuery-backed one): the `FeatureOnlineStore`, the
//! `FeatureGroup` over `bq://project.dataset.features_customer`, one `Feature` per
//! configured column, the `FeatureView` that serves them, and its syncs.
//!
//! The group is created `dense`, so a sync publishes each entity's whole newest row, NULLs
//! included (SPEC "Online serving"), not the newest non-null value per column.
//!
//! Limitation: an existing store's Bigtable node range and a group's or feature's
//! description are not patched; a `Feature` removed from the configuration stays in its
//! group (the view no longer serves it). Pass `recreate` to rebuild everything.

use fsdemo_featurestore::{EnsureOutcome, EnsureReport};
use fsdemo_serving::VertexClient;
use serde_json::{json, Value};
use tracing::info;

use crate::error::GcpError;
use crate::http::{with_query, Call};
use crate::{FeatureViewSync, Gcp};

const STEP: &str = "ensure feature store";

/// The service agent type that gives a feature view its own service account.
const OWN_SERVICE_ACCOUNT: &str = "SERVICE_AGENT_TYPE_FEATURE_VIEW";

/// What exists now of one resource, and whether it matches the configuration.
struct Found {
    exists: bool,
    fits: bool,
}

impl Gcp {
    /// Creates the configured feature store resources that are missing and reuses those
    /// that exist as configured. A resource with a field Vertex AI cannot patch (serving
    /// type, source table, columns, the view's features or service account) is replaced;
    /// a changed sync cron is patched in place. `recreate` replaces all of them.
    pub async fn ensure_feature_store(
        &self,
        recreate: bool,
    ) -> Result<Vec<EnsureReport>, GcpError> {
        self.check_region(STEP)?;
        let store_name = self.online_store_name();
        let group_name = self.feature_group_name();
        let view_name = self.feature_view_name();

        // Read everything first, then delete in dependency order what must be replaced.
        let (store_found, group_found, view_found, view) = self.survey(recreate).await?;
        if view_found.exists && !view_found.fits {
            self.delete_resource(STEP, "aiplatform.featureViews.delete", &view_name, false).await?;
        }
        if group_found.exists && !group_found.fits {
            let method = "aiplatform.featureGroups.delete";
            self.delete_resource(STEP, method, &group_name, true).await?;
        }
        if store_found.exists && !store_found.fits {
            let method = "aiplatform.featureOnlineStores.delete";
            self.delete_resource(STEP, method, &store_name, true).await?;
        }

        let mut reports = Vec::new();
        let body = self.store_body();
        let outcome =
            self.ensure_one("featureOnlineStores", &store_name, &store_found, body).await?;
        reports.push(report("FeatureOnlineStore", &store_name, outcome));

        let body = self.group_body();
        let outcome = self.ensure_one("featureGroups", &group_name, &group_found, body).await?;
        reports.push(report("FeatureGroup", &group_name, outcome));

        for spec in &self.config.featurestore.features {
            let name = format!("{group_name}/features/{}", spec.name);
            let found = if group_found.fits {
                let exists =
                    self.get_resource(STEP, "aiplatform.features.get", &name).await?.is_some();
                Found { exists, fits: exists }
            } else {
                // A replaced group took its features with it (force delete).
                Found { exists: group_found.exists, fits: false }
            };
            let body = json!({"description": spec.description});
            let outcome = self.ensure_one("features", &name, &found, body).await?;
            reports.push(report("Feature", &name, outcome));
        }

        let outcome = match (&view, view_found.fits) {
            (Some(existing), true) => self.update_cron(existing, &view_name).await?,
            _ => self.ensure_one("featureViews", &view_name, &view_found, self.view_body()).await?,
        };
        reports.push(report("FeatureView", &view_name, outcome));

        if let Some(grant) = self.feature_view_grant().await? {
            info!(view = %view_name, %grant, "the feature view's service account needs a grant");
        }
        Ok(reports)
    }

    /// What exists of the store, the group and the view, and whether each fits the
    /// configuration; a view fits only on a fitting store and group. Also the view itself.
    async fn survey(
        &self,
        recreate: bool,
    ) -> Result<(Found, Found, Found, Option<Value>), GcpError> {
        let method = "aiplatform.featureOnlineStores.get";
        let store = self.get_resource(STEP, method, &self.online_store_name()).await?;
        let method = "aiplatform.featureGroups.get";
        let group = self.get_resource(STEP, method, &self.feature_group_name()).await?;
        let method = "aiplatform.featureViews.get";
        let view = self.get_resource(STEP, method, &self.feature_view_name()).await?;

        let fits = |found: &Option<Value>, check: &dyn Fn(&Value) -> bool| {
            !recreate && found.as_ref().is_some_and(check)
        };
        let store_found =
            Found { exists: store.is_some(), fits: fits(&store, &|s| self.store_fits(s)) };
        let group_found =
            Found { exists: group.is_some(), fits: fits(&group, &|g| self.group_fits(g)) };
        let view_fits = store_found.fits && group_found.fits && fits(&view, &|v| self.view_fits(v));
        let view_found = Found { exists: view.is_some(), fits: view_fits };
        Ok((store_found, group_found, view_found, view))
    }

    /// With `gcp.feature_view_service_account`, the BigQuery grant the view's own service
    /// account needs before a sync can read the source table.
    pub async fn feature_view_grant(&self) -> Result<Option<String>, GcpError> {
        if !self.config.gcp.feature_view_service_account {
            return Ok(None);
        }
        let view_name = self.feature_view_name();
        let view = self
            .get_resource("feature view grant", "aiplatform.featureViews.get", &view_name)
            .await?;
        let email =
            view.as_ref().and_then(|v| v["serviceAccountEmail"].as_str()).map(str::to_string);
        Ok(email.map(|email| {
            format!(
                "grant roles/bigquery.dataViewer on dataset {} to serviceAccount:{email}, e.g. in \
                 the console (BigQuery > dataset > Share), before the first sync",
                self.dataset()
            )
        }))
    }

    /// Starts a sync of the feature view; with `wait`, polls its `FeatureViewSync` until it
    /// ends and fails with [`GcpError::Sync`] if it did not succeed.
    pub async fn sync(&self, wait: bool) -> Result<FeatureViewSync, GcpError> {
        let step = "sync";
        let view = self.feature_view_name();
        let client = self.vertex_client(step, self.aiplatform_base()).await?;

        let sync_name = client
            .start_sync(&view)
            .await
            .map_err(|e| self.client_error(step, "aiplatform.featureViews.sync", &view, e))?;
        info!(view = %view, sync = %sync_name, "feature view sync started");

        let get = || async {
            let sync = client.get_sync(&sync_name).await;
            sync.map_err(|e| {
                self.client_error(step, "aiplatform.featureViewSyncs.get", &sync_name, e)
            })
        };
        if !wait {
            return get().await;
        }

        let started = std::time::Instant::now();
        let done = self
            .poll_until(step, &view, &sync_name, || async {
                Ok(get().await?.is_done().then_some(()))
            })
            .await;
        done?;
        let sync = get().await?;
        if !sync.succeeded() {
            let status = sync.final_status.clone().unwrap_or_default();
            let source_table = self.source_uri();
            return Err(GcpError::Sync {
                step: step.into(),
                sync: sync_name,
                code: status.code.into(),
                message: status.message,
                source_table,
            });
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        let rows_synced = sync.rows_synced();
        info!(sync = %sync_name, rows_synced, duration_ms, "feature view synced");
        Ok(sync)
    }

    /// Where online fetches go: the regional Vertex AI host for Bigtable serving, the
    /// store's `dedicatedServingEndpoint.publicEndpointDomainName` for Optimized (with the
    /// scheme of `gcp.aiplatform_url`).
    pub async fn online_base_url(&self) -> Result<String, GcpError> {
        if self.config.gcp.online_serving != "optimized" {
            return Ok(self.aiplatform_base());
        }
        let name = self.online_store_name();
        let store =
            self.get_resource("online", "aiplatform.featureOnlineStores.get", &name).await?;
        let store = store.ok_or_else(|| GcpError::NotFound {
            step: "online".into(),
            resource: name.clone(),
            message: "no such FeatureOnlineStore".into(),
            fix: "run the feature store step first".into(),
        })?;

        let domain = store["dedicatedServingEndpoint"]["publicEndpointDomainName"].as_str();
        let domain = domain.filter(|d| !d.is_empty()).ok_or_else(|| GcpError::Precondition {
            step: "online".into(),
            resource: name.clone(),
            message: "the Optimized store has no public endpoint domain yet; wait until its \
                      state is STABLE and retry"
                .into(),
        })?;
        let scheme = if self.aiplatform_base().starts_with("http://") { "http" } else { "https" };
        Ok(format!("{scheme}://{domain}"))
    }

    /// A `VertexClient` for `fetchFeatureValues` at [`Gcp::online_base_url`], with a
    /// current bearer token.
    pub async fn online_client(&self) -> Result<VertexClient, GcpError> {
        let base = self.online_base_url().await?;
        self.vertex_client("online", base).await
    }

    /// A `VertexClient` for `endpoints.predict` at the regional Vertex AI host, with a
    /// current bearer token (predictions never go to an Optimized store's domain).
    pub async fn prediction_client(&self) -> Result<VertexClient, GcpError> {
        self.vertex_client("predict", self.aiplatform_base()).await
    }

    async fn vertex_client(&self, step: &str, base: String) -> Result<VertexClient, GcpError> {
        let token = self.access_token().await?;
        let client = VertexClient::new(base.clone())
            .map_err(|e| self.client_error(step, "aiplatform.featureViews.sync", &base, e))?;
        Ok(client.with_bearer_token(token))
    }

    /// Creates one resource unless it exists as configured; waits for the operation.
    async fn ensure_one(
        &self,
        collection: &'static str,
        name: &str,
        found: &Found,
        body: Value,
    ) -> Result<EnsureOutcome, GcpError> {
        if found.fits {
            info!(resource = %name, "reusing");
            return Ok(EnsureOutcome::Reused);
        }

        let (parent, id) = name.rsplit_once(&format!("/{collection}/")).unwrap_or((name, name));
        let (method_id, id_param) = match collection {
            "featureOnlineStores" => {
                ("aiplatform.featureOnlineStores.create", "featureOnlineStoreId")
            }
            "featureGroups" => ("aiplatform.featureGroups.create", "featureGroupId"),
            "features" => ("aiplatform.features.create", "featureId"),
            _ => ("aiplatform.featureViews.create", "featureViewId"),
        };
        let url = with_query(
            &self.vertex_url(&format!("{parent}/{collection}"), None),
            &[(id_param, id)],
        );

        let started = std::time::Instant::now();
        let created = match self.send(Call::post(STEP, method_id, name, url, body)).await {
            Ok(operation) => self.wait_operation(STEP, name, operation).await.map(|_| true),
            Err(error) if error.is_already_exists() => Ok(false),
            Err(error) => Err(error),
        }?;

        let outcome = match (created, found.exists) {
            (false, _) => EnsureOutcome::Reused,
            (true, true) => EnsureOutcome::Replaced,
            (true, false) => EnsureOutcome::Created,
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        info!(resource = %name, ?outcome, duration_ms, "feature store resource ready");
        Ok(outcome)
    }

    /// Patches the view's sync cron when it differs from the configured one.
    async fn update_cron(&self, view: &Value, name: &str) -> Result<EnsureOutcome, GcpError> {
        let wanted = self.cron();
        if view["syncConfig"]["cron"].as_str() == Some(wanted.as_str()) {
            info!(resource = %name, "reusing");
            return Ok(EnsureOutcome::Reused);
        }

        let url = with_query(&self.vertex_url(name, None), &[("updateMask", "syncConfig.cron")]);
        let body = json!({"syncConfig": {"cron": wanted}});
        let mut call = Call::post(STEP, "aiplatform.featureViews.patch", name, url, body);
        call.method = reqwest::Method::PATCH;
        let operation = self.send(call).await?;
        self.wait_operation(STEP, name, operation).await?;
        info!(resource = %name, cron = %wanted, "feature view sync cron updated");
        Ok(EnsureOutcome::Updated)
    }

    /// GET of a Vertex AI resource; `None` when it does not exist.
    pub(crate) async fn get_resource(
        &self,
        step: &str,
        method_id: &'static str,
        name: &str,
    ) -> Result<Option<Value>, GcpError> {
        self.lookup(Call::get(step, method_id, name, self.vertex_url(name, None))).await
    }

    /// DELETE of a Vertex AI resource (with `force`, its children go too); waits for it.
    /// Returns false when it was already gone.
    pub(crate) async fn delete_resource(
        &self,
        step: &str,
        method_id: &'static str,
        name: &str,
        force: bool,
    ) -> Result<bool, GcpError> {
        let mut url = self.vertex_url(name, None);
        if force {
            url = with_query(&url, &[("force", "true")]);
        }
        match self.send(Call::delete(step, method_id, name, url)).await {
            Ok(operation) => {
                self.wait_operation(step, name, operation).await?;
                info!(resource = %name, "deleted");
                Ok(true)
            }
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn store_body(&self) -> Value {
        let gcp = &self.config.gcp;
        let labels = json!({"app": "fsdemo"});
        match gcp.online_serving.as_str() {
            "optimized" => json!({"optimized": {}, "labels": labels}),
            _ => json!({
                "bigtable": {"autoScaling": {
                    "minNodeCount": gcp.bigtable_min_nodes,
                    "maxNodeCount": gcp.bigtable_max_nodes,
                    "cpuUtilizationTarget": 50,
                }},
                "labels": labels,
            }),
        }
    }

    fn store_fits(&self, store: &Value) -> bool {
        let optimized = self.config.gcp.online_serving == "optimized";
        store.get("optimized").is_some() == optimized
            && store.get("bigtable").is_some() != optimized
    }

    /// `bq://project.dataset.source_table`.
    fn source_uri(&self) -> String {
        let table = &self.config.featurestore.feature_group.source_table;
        format!("bq://{}.{table}", self.dataset())
    }

    fn group_body(&self) -> Value {
        let group = &self.config.featurestore.feature_group;
        json!({
            "description": group.description,
            "labels": {"app": "fsdemo"},
            "bigQuery": {
                "bigQuerySource": {"inputUri": self.source_uri()},
                "entityIdColumns": [group.entity_id_column],
                "timeSeries": {"timestampColumn": group.timestamp_column},
                "dense": true,
            },
        })
    }

    fn group_fits(&self, group: &Value) -> bool {
        let wanted = self.group_body();
        let (have, want) = (&group["bigQuery"], &wanted["bigQuery"]);
        have["bigQuerySource"]["inputUri"] == want["bigQuerySource"]["inputUri"]
            && have["entityIdColumns"] == want["entityIdColumns"]
            && have["timeSeries"]["timestampColumn"] == want["timeSeries"]["timestampColumn"]
            && have["dense"].as_bool() == Some(true)
    }

    /// The configured cron line, pinned to UTC as the configuration means it.
    fn cron(&self) -> String {
        format!("TZ=UTC {}", self.config.featurestore.feature_view.cron.trim())
    }

    fn view_body(&self) -> Value {
        let featurestore = &self.config.featurestore;
        let ids: Vec<&str> = featurestore.features.iter().map(|f| f.name.as_str()).collect();
        let mut body = json!({
            "featureRegistrySource": {"featureGroups": [
                {"featureGroupId": featurestore.feature_group.id, "featureIds": ids},
            ]},
            "syncConfig": {"cron": self.cron()},
            "labels": {"app": "fsdemo"},
        });
        if self.config.gcp.feature_view_service_account {
            body["serviceAgentType"] = json!(OWN_SERVICE_ACCOUNT);
        }
        body
    }

    fn view_fits(&self, view: &Value) -> bool {
        let wanted = self.view_body();
        let own_account = view["serviceAgentType"].as_str() == Some(OWN_SERVICE_ACCOUNT);
        view["featureRegistrySource"]["featureGroups"]
            == wanted["featureRegistrySource"]["featureGroups"]
            && own_account == self.config.gcp.feature_view_service_account
    }

    /// The feature group's BigQuery source must be in the region or in the multi-region
    /// that holds it; a mismatch fails before any resource is created.
    pub(crate) fn check_region(&self, step: &str) -> Result<(), GcpError> {
        let region = &self.config.project.location;
        let location = &self.config.gcp.bigquery_location;
        if region_fits(region, location) {
            return Ok(());
        }
        Err(GcpError::LocationMismatch {
            step: step.into(),
            resource: self.dataset(),
            detail: format!(
                "the Vertex AI region {region:?} cannot sync a feature view from BigQuery \
                 location {location:?}: the source must be in the region or the multi-region \
                 that contains it; set project.location to a region inside {location} (e.g. \
                 us-central1 for US) or gcp.bigquery_location={region}"
            ),
        })
    }
}

/// Whether Vertex AI `region` can read BigQuery data in `location`.
pub(crate) fn region_fits(region: &str, location: &str) -> bool {
    match location.to_ascii_lowercase().as_str() {
        "us" => region.starts_with("us-"),
        "eu" => region.starts_with("europe-"),
        single => single == region,
    }
}

fn report(kind: &str, name: &str, outcome: EnsureOutcome) -> EnsureReport {
    EnsureReport { kind: kind.into(), name: name.into(), outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_fit_their_multi_region() {
        assert!(region_fits("us-central1", "US"));
        assert!(region_fits("europe-west4", "eu"));
        assert!(region_fits("asia-northeast1", "asia-northeast1"));
        assert!(!region_fits("europe-west4", "US"));
        assert!(!region_fits("us-central1", "us-east1"));
    }
}
