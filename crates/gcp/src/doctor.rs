//! `doctor`: checks, before anything runs, what the gcp flow needs — credentials, the
//! project, the enabled APIs, the caller's permissions per step, the locations, the
//! dataset and the bucket — one line each, saying ok or what to grant, enable or set. A
//! failing check never stops the others.

use serde_json::json;
use tracing::info;

use crate::error::GcpError;
use crate::http::Call;
use crate::iam::{roles_for, STEP_PERMISSIONS};
use crate::Gcp;

/// The APIs the flow calls, as Service Usage names them.
const APIS: [&str; 3] =
    ["bigquery.googleapis.com", "aiplatform.googleapis.com", "storage.googleapis.com"];

/// One check's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// What was checked, e.g. `API aiplatform.googleapis.com`.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what to do.
    pub detail: String,
}

impl CheckLine {
    fn new(check: impl Into<String>, ok: bool, detail: impl Into<String>) -> CheckLine {
        CheckLine { check: check.into(), ok, detail: detail.into() }
    }

    fn failed(check: impl Into<String>, error: &GcpError) -> CheckLine {
        CheckLine::new(check, false, error.to_string())
    }
}

impl Gcp {
    /// Runs every check and returns one line per check; never fails as a whole.
    pub async fn doctor(&self) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        lines.push(self.check_credentials().await);
        lines.push(self.check_project().await);
        for api in APIS {
            lines.push(self.check_api(api).await);
        }
        lines.extend(self.check_permissions().await);
        lines.push(self.check_location_rules());
        lines.push(self.check_dataset().await);
        lines.push(self.check_bucket().await);

        for line in &lines {
            info!(check = %line.check, ok = line.ok, detail = %line.detail, "doctor");
        }
        lines
    }

    async fn check_credentials(&self) -> CheckLine {
        match self.tokens.token().await {
            Ok(_) => {
                CheckLine::new("credentials", true, format!("found: {}", self.tokens.describe()))
            }
            Err(error) => CheckLine::failed("credentials", &error),
        }
    }

    async fn check_project(&self) -> CheckLine {
        let project = &self.config.project.id;
        let base = self.config.gcp.resourcemanager_url.trim_end_matches('/');
        let url = format!("{base}/v3/projects/{project}");
        let resource = format!("projects/{project}");
        let check = format!("project {project}");

        match self
            .send(Call::get("doctor", "cloudresourcemanager.projects.get", &resource, url))
            .await
        {
            Ok(found) => {
                let state = found["state"].as_str().unwrap_or("UNKNOWN");
                let number = found["name"].as_str().unwrap_or_default();
                let ok = state == "ACTIVE";
                let detail = match ok {
                    true => format!("reachable ({number}, {state})"),
                    false => format!("{number} is {state}; use an ACTIVE project"),
                };
                CheckLine::new(check, ok, detail)
            }
            Err(error) => CheckLine::failed(check, &error),
        }
    }

    async fn check_api(&self, api: &str) -> CheckLine {
        let project = &self.config.project.id;
        let base = self.config.gcp.serviceusage_url.trim_end_matches('/');
        let url = format!("{base}/v1/projects/{project}/services/{api}");
        let resource = format!("projects/{project}/services/{api}");
        let check = format!("API {api}");

        match self.send(Call::get("doctor", "serviceusage.services.get", &resource, url)).await {
            Ok(service) if service["state"] == "ENABLED" => CheckLine::new(check, true, "enabled"),
            Ok(service) => {
                let state = service["state"].as_str().unwrap_or("UNKNOWN");
                let fix = format!(
                    "{state}: enable it with `gcloud services enable {api} --project {project}`"
                );
                CheckLine::new(check, false, fix)
            }
            Err(error) => CheckLine::failed(check, &error),
        }
    }

    /// One `testIamPermissions` call for every step's permissions, one line per step.
    async fn check_permissions(&self) -> Vec<CheckLine> {
        let project = &self.config.project.id;
        let mut wanted: Vec<&str> =
            STEP_PERMISSIONS.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        wanted.sort();
        wanted.dedup();

        let base = self.config.gcp.resourcemanager_url.trim_end_matches('/');
        let url = format!("{base}/v3/projects/{project}:testIamPermissions");
        let resource = format!("projects/{project}");
        let body = json!({"permissions": wanted});
        let method = "cloudresourcemanager.projects.testIamPermissions";
        let granted = match self.send(Call::post("doctor", method, &resource, url, body)).await {
            Ok(answer) => answer["permissions"].as_array().cloned().unwrap_or_default(),
            Err(error) => return vec![CheckLine::failed("permissions", &error)],
        };
        let granted: Vec<&str> = granted.iter().filter_map(|p| p.as_str()).collect();

        STEP_PERMISSIONS
            .iter()
            .map(|(step, permissions)| {
                let missing: Vec<&str> =
                    permissions.iter().copied().filter(|p| !granted.contains(p)).collect();
                let check = format!("permissions for {step}");
                if missing.is_empty() {
                    return CheckLine::new(
                        check,
                        true,
                        format!("all {} granted", permissions.len()),
                    );
                }
                let detail = format!(
                    "missing {}: grant {} to the caller on project {project}",
                    missing.join(", "),
                    roles_for(&missing).join(" and ")
                );
                CheckLine::new(check, false, detail)
            })
            .collect()
    }

    fn check_location_rules(&self) -> CheckLine {
        let region = &self.config.project.location;
        let location = &self.config.gcp.bigquery_location;
        let checked = self.check_locations().and_then(|()| self.check_region("doctor"));
        match checked {
            Ok(()) => CheckLine::new(
                "locations",
                true,
                format!("BigQuery {location} serves Vertex AI region {region}"),
            ),
            Err(error) => CheckLine::failed("locations", &error),
        }
    }

    async fn check_dataset(&self) -> CheckLine {
        let name = self.dataset();
        let url = self.bigquery_url(&format!("datasets/{}", self.config.project.dataset));
        let wanted = &self.config.gcp.bigquery_location;
        let check = format!("dataset {name}");

        match self.lookup(Call::get("doctor", "bigquery.datasets.get", &name, url)).await {
            Ok(None) => CheckLine::new(
                check,
                true,
                format!("not created yet; the first run creates it in {wanted}"),
            ),
            Ok(Some(dataset)) => {
                let actual = dataset["location"].as_str().unwrap_or("US");
                match actual.eq_ignore_ascii_case(wanted) {
                    true => CheckLine::new(check, true, format!("exists in {actual}")),
                    false => CheckLine::new(
                        check,
                        false,
                        format!(
                            "exists in {actual} but gcp.bigquery_location is {wanted}: set \
                             one to match the other"
                        ),
                    ),
                }
            }
            Err(error) => CheckLine::failed(check, &error),
        }
    }

    async fn check_bucket(&self) -> CheckLine {
        let bucket = self.bucket();
        let check = format!("bucket gs://{bucket}");
        match self.get_bucket("doctor").await {
            Ok(Some(found)) => {
                let location = found["location"].as_str().unwrap_or("unknown");
                CheckLine::new(check, true, format!("exists in {location}"))
            }
            Ok(None) => {
                let region = &self.config.project.location;
                CheckLine::new(
                    check,
                    true,
                    format!("not created yet; the model upload creates it in {region}"),
                )
            }
            Err(error @ GcpError::PermissionDenied { .. }) => CheckLine::new(
                check,
                false,
                format!(
                    "{error} (bucket names are global: if another project owns it, set gcp.bucket)"
                ),
            ),
            Err(error) => CheckLine::failed(check, &error),
        }
    }
}
