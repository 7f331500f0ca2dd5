//! The model on Vertex AI: `model.bst` and `model_meta.json` in Cloud Storage under a path
//! keyed by the file's sha256, registered with `models.upload` on the prebuilt XGBoost
//! container as a version of `training.model.id`, then deployed to the `Endpoint` with all
//! the traffic. Re-uploading the same sha256 reuses its version; deploying the version
//! already serving changes nothing.

use std::path::Path;
use std::time::Instant;

use fsdemo_featurestore::EnsureOutcome;
use fsdemo_training::{artifact, META_FILE, MODEL_FILE};
use serde_json::{json, Value};
use tracing::info;

use crate::error::GcpError;
use crate::http::{with_query, Call};
use crate::Gcp;

/// What [`Gcp::upload_model`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadReport {
    /// `projects/P/locations/L/models/M`.
    pub model: String,
    /// The model version holding this artifact.
    pub version_id: String,
    /// `gs://bucket/models/M/<sha256>/`.
    pub artifact_uri: String,
    /// SHA-256 of `model.bst`.
    pub sha256: String,
    /// Created (a new model or version) or Reused (this sha256 was registered).
    pub outcome: EnsureOutcome,
    /// What happened to the bucket (Reused when the version was reused).
    pub bucket: EnsureOutcome,
}

/// What [`Gcp::deploy`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployReport {
    /// `projects/P/locations/L/endpoints/E`.
    pub endpoint: String,
    /// Whether the endpoint was created or reused.
    pub endpoint_outcome: EnsureOutcome,
    /// The `DeployedModel` id now taking 100% of the traffic.
    pub deployed_model_id: String,
    /// The model version it serves.
    pub model_version_id: String,
    /// Created (first deployment), Replaced (earlier deployments undeployed) or Reused.
    pub outcome: EnsureOutcome,
    /// The `DeployedModel` ids that were undeployed.
    pub undeployed: Vec<String>,
}

impl Gcp {
    /// Uploads the artifact in `artifact_dir` and registers it as a model version.
    ///
    /// The bucket (`gcp.bucket`, or `<project>-fsdemo`) is created in `project.location`
    /// if missing. The version carries a `sha256` label (the first 63 hex digits: labels
    /// hold at most 63 characters); reuse is decided by the artifact URI, which holds the
    /// whole hash.
    pub async fn upload_model(&self, artifact_dir: &Path) -> Result<UploadReport, GcpError> {
        let step = "upload model";
        let started = Instant::now();
        let (meta, model_bytes, meta_bytes) = read_artifact(step, artifact_dir)?;
        let sha256 = meta.sha256.clone();

        let model = self.model_name();
        let model_id = &self.config.training.model.id;
        let prefix = format!("models/{model_id}/{sha256}/");
        let artifact_uri = format!("gs://{}/{prefix}", self.bucket());

        let versions = self.model_versions(step).await?;
        let existing =
            versions.iter().flatten().find(|v| same_dir(&v["artifactUri"], &artifact_uri));
        if let Some(version) = existing {
            let version_id = version["versionId"].as_str().unwrap_or_default().to_string();
            info!(model = %model, version_id, %sha256, "reusing model version");
            let (outcome, bucket) = (EnsureOutcome::Reused, EnsureOutcome::Reused);
            return Ok(UploadReport { model, version_id, artifact_uri, sha256, outcome, bucket });
        }

        let bucket = self.ensure_bucket(step).await?;
        self.upload_object(step, &format!("{prefix}{MODEL_FILE}"), model_bytes, "application/json")
            .await?;
        self.upload_object(step, &format!("{prefix}{META_FILE}"), meta_bytes, "application/json")
            .await?;

        let body = self.upload_body(versions.is_some(), &artifact_uri, &sha256);
        let parent = self.names.parent();
        let url = self.vertex_url(&format!("{parent}/models"), Some("upload"));
        let operation =
            self.send(Call::post(step, "aiplatform.models.upload", &model, url, body)).await?;
        let response = self.wait_operation(step, &model, operation).await?;
        let version_id = response["modelVersionId"].as_str().unwrap_or("1").to_string();

        let duration_ms = started.elapsed().as_millis() as u64;
        info!(model = %model, version_id, %artifact_uri, duration_ms, "model version uploaded");
        let outcome = EnsureOutcome::Created;
        Ok(UploadReport { model, version_id, artifact_uri, sha256, outcome, bucket })
    }

    /// Deploys the newest model version to the endpoint with 100% of the traffic, then
    /// undeploys every other deployed model.
    pub async fn deploy(&self) -> Result<DeployReport, GcpError> {
        let step = "deploy";
        let started = Instant::now();
        let endpoint = self.endpoint_name();
        let (endpoint_json, endpoint_outcome) = self.ensure_endpoint(step, &endpoint).await?;

        let model = self.model_name();
        let versions = self.model_versions(step).await?.unwrap_or_default();
        let newest = versions
            .iter()
            .max_by_key(|v| v["versionId"].as_str().and_then(|id| id.parse::<u64>().ok()));
        let newest = newest.ok_or_else(|| GcpError::Precondition {
            step: step.into(),
            resource: model.clone(),
            message: "the model has no version yet; run the model upload first".into(),
        })?;
        let version_id = newest["versionId"].as_str().unwrap_or_default().to_string();

        let deployed = endpoint_json["deployedModels"].as_array().cloned().unwrap_or_default();
        let serving = deployed.iter().find(|d| self.serves(d, &version_id));
        let (deployed_model_id, first) = match serving {
            Some(current) => (current["id"].as_str().unwrap_or_default().to_string(), false),
            None => (self.deploy_version(step, &endpoint, &version_id).await?, deployed.is_empty()),
        };

        let mut undeployed = Vec::new();
        for other in
            deployed.iter().filter_map(|d| d["id"].as_str()).filter(|id| *id != deployed_model_id)
        {
            self.undeploy(step, &endpoint, other, Some(&deployed_model_id)).await?;
            undeployed.push(other.to_string());
        }

        let outcome = match (serving.is_some(), first, undeployed.is_empty()) {
            (true, _, true) => EnsureOutcome::Reused,
            (false, true, _) => EnsureOutcome::Created,
            _ => EnsureOutcome::Replaced,
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let undeployed_count = undeployed.len();
        let id = &deployed_model_id;
        info!(%endpoint, id, version_id, ?outcome, undeployed_count, duration_ms, "deployed");
        Ok(DeployReport {
            endpoint,
            endpoint_outcome,
            deployed_model_id,
            model_version_id: version_id,
            outcome,
            undeployed,
        })
    }

    /// Every version of the model, or `None` when the model does not exist.
    pub(crate) async fn model_versions(&self, step: &str) -> Result<Option<Vec<Value>>, GcpError> {
        let model = self.model_name();
        let mut versions = Vec::new();
        let mut token: Option<String> = None;

        loop {
            let mut url = self.vertex_url(&model, Some("listVersions"));
            if let Some(token) = &token {
                url = with_query(&url, &[("pageToken", token)]);
            }
            let Some(page) =
                self.lookup(Call::get(step, "aiplatform.models.listVersions", &model, url)).await?
            else {
                return Ok(None);
            };
            versions.extend(page["models"].as_array().cloned().unwrap_or_default());
            token = page["nextPageToken"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(Some(versions));
            }
        }
    }

    /// The `models.upload` body: a new model (`modelId`) or a new version (`parentModel`).
    fn upload_body(&self, exists: bool, artifact_uri: &str, sha256: &str) -> Value {
        let training = &self.config.training;
        let label: String = sha256.chars().take(63).collect();
        let mut body = json!({
            "model": {
                "displayName": training.model.id,
                "description": training.model.description,
                "versionDescription": format!("model.bst sha256 {sha256}"),
                "artifactUri": artifact_uri,
                "containerSpec": {"imageUri": self.config.gcp.serving_container_image},
                "labels": {"app": "fsdemo", "sha256": label},
            },
        });
        match exists {
            true => body["parentModel"] = json!(self.model_name()),
            false => body["modelId"] = json!(training.model.id),
        }
        body
    }

    /// Gets the endpoint, creating it if missing.
    async fn ensure_endpoint(
        &self,
        step: &str,
        endpoint: &str,
    ) -> Result<(Value, EnsureOutcome), GcpError> {
        let get = || {
            Call::get(step, "aiplatform.endpoints.get", endpoint, self.vertex_url(endpoint, None))
        };
        if let Some(existing) = self.lookup(get()).await? {
            info!(endpoint, "reusing endpoint");
            return Ok((existing, EnsureOutcome::Reused));
        }

        let id = endpoint.rsplit('/').next().unwrap_or_default();
        let url = self.vertex_url(&format!("{}/endpoints", self.names.parent()), None);
        let url = with_query(&url, &[("endpointId", id)]);
        let description = &self.config.training.endpoint.description;
        let body =
            json!({"displayName": id, "description": description, "labels": {"app": "fsdemo"}});
        let outcome = match self
            .send(Call::post(step, "aiplatform.endpoints.create", endpoint, url, body))
            .await
        {
            Ok(operation) => {
                self.wait_operation(step, endpoint, operation).await?;
                EnsureOutcome::Created
            }
            Err(error) if error.is_already_exists() => EnsureOutcome::Reused,
            Err(error) => return Err(error),
        };
        info!(endpoint, ?outcome, "endpoint ready");
        Ok((self.send(get()).await?, outcome))
    }

    /// Whether deployed model `deployed` serves version `version_id` of the model.
    fn serves(&self, deployed: &Value, version_id: &str) -> bool {
        let suffix = format!("/models/{}", self.config.training.model.id);
        let model = deployed["model"].as_str().unwrap_or_default();
        model.split('@').next().unwrap_or_default().ends_with(&suffix)
            && deployed["modelVersionId"].as_str() == Some(version_id)
    }

    /// deployModel of `version_id` with all the traffic; returns the `DeployedModel` id.
    async fn deploy_version(
        &self,
        step: &str,
        endpoint: &str,
        version_id: &str,
    ) -> Result<String, GcpError> {
        let model_id = &self.config.training.model.id;
        let body = json!({
            "deployedModel": {
                "model": format!("{}@{version_id}", self.model_name()),
                "displayName": format!("{model_id}-v{version_id}"),
                "dedicatedResources": {
                    "machineSpec": {"machineType": self.config.gcp.machine_type},
                    "minReplicaCount": 1,
                    "maxReplicaCount": 1,
                },
            },
            "trafficSplit": {"0": 100},
        });
        let url = self.vertex_url(endpoint, Some("deployModel"));
        let operation = self
            .send(Call::post(step, "aiplatform.endpoints.deployModel", endpoint, url, body))
            .await?;
        let response = self.wait_operation(step, endpoint, operation).await?;

        let id = response["deployedModel"]["id"].as_str().map(str::to_string);
        id.ok_or_else(|| GcpError::Decode {
            step: step.into(),
            url: endpoint.into(),
            detail: "the deployModel operation answered no deployedModel.id".into(),
        })
    }

    /// undeployModel of `deployed_model_id`; `keep`, when given, takes all the traffic.
    pub(crate) async fn undeploy(
        &self,
        step: &str,
        endpoint: &str,
        deployed_model_id: &str,
        keep: Option<&str>,
    ) -> Result<(), GcpError> {
        let mut body = json!({"deployedModelId": deployed_model_id});
        if let Some(keep) = keep {
            let mut split = serde_json::Map::new();
            split.insert(keep.to_string(), json!(100));
            body["trafficSplit"] = Value::Object(split);
        }
        let url = self.vertex_url(endpoint, Some("undeployModel"));
        let operation = self
            .send(Call::post(step, "aiplatform.endpoints.undeployModel", endpoint, url, body))
            .await?;
        self.wait_operation(step, endpoint, operation).await?;
        info!(endpoint, deployed_model_id, "undeployed");
        Ok(())
    }
}

/// Reads and checks the artifact: meta, then model.bst against its recorded sha256.
fn read_artifact(
    step: &str,
    dir: &Path,
) -> Result<(fsdemo_training::ModelMeta, Vec<u8>, Vec<u8>), GcpError> {
    let bad =
        |source| GcpError::Artifact { step: step.into(), dir: dir.display().to_string(), source };
    let meta = artifact::read_meta(dir).map_err(bad)?;
    fsdemo_training::load(dir).map_err(bad)?;

    let read = |file: &str| {
        std::fs::read(dir.join(file)).map_err(|error| GcpError::Precondition {
            step: step.into(),
            resource: dir.join(file).display().to_string(),
            message: format!("cannot read it ({error}); train the model first"),
        })
    };
    Ok((meta, read(MODEL_FILE)?, read(META_FILE)?))
}

/// Whether two `gs://` directory URIs name the same place (trailing `/` aside).
fn same_dir(uri: &Value, wanted: &str) -> bool {
    uri.as_str().is_some_and(|uri| uri.trim_end_matches('/') == wanted.trim_end_matches('/'))
}
