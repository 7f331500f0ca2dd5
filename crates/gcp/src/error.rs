//! The client's one error type. Every variant names the step, the resource by its full
//! name and what the user can do next: the permission and role to grant, the API to
//! enable, the resource that is missing, the region and dataset location that disagree.

use std::time::Duration;

/// Why a call of the gcp profile failed.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    /// A `gcp:` or `project:` setting cannot be used with Google Cloud.
    #[error("{step}: {key} = {value:?} cannot be used: {fix}")]
    Config {
        /// The step that read it.
        step: String,
        /// The configuration key, e.g. `gcp.online_serving`.
        key: String,
        /// Its value.
        value: String,
        /// What to set instead.
        fix: String,
    },

    /// No usable credentials.
    #[error(
        "{step}: no Google Cloud credentials ({detail}); run `gcloud auth application-default \
         login`, or set FSDEMO_GCP_ACCESS_TOKEN to the output of `gcloud auth print-access-token`"
    )]
    Credentials {
        /// The step that needed a token.
        step: String,
        /// What the credential lookup said.
        detail: String,
    },

    /// Google rejected the credentials (HTTP 401).
    #[error(
        "{step}: {resource}: the credentials were rejected ({message}); the token may have \
         expired: run `gcloud auth application-default login` or refresh FSDEMO_GCP_ACCESS_TOKEN"
    )]
    Unauthenticated {
        /// The step.
        step: String,
        /// The resource's full name.
        resource: String,
        /// Google's message.
        message: String,
    },

    /// The caller lacks an IAM permission (HTTP 403).
    #[error(
        "{step}: permission {permission} denied on {resource} ({message}); grant {role} (or a \
         role with {permission}) to the caller on project {project}"
    )]
    PermissionDenied {
        /// The step.
        step: String,
        /// The resource's full name.
        resource: String,
        /// The IAM permission the method needs, e.g. `aiplatform.featureOnlineStores.create`.
        permission: &'static str,
        /// A predefined role that holds it, e.g. `roles/aiplatform.user`.
        role: &'static str,
        /// The project.
        project: String,
        /// Google's message.
        message: String,
    },

    /// The API is not enabled in the project (HTTP 403 `SERVICE_DISABLED`).
    #[error(
        "{step}: {resource}: the {api} API is not enabled in project {project}; enable it with \
         `gcloud services enable {api} --project {project}` and retry"
    )]
    ApiDisabled {
        /// The step.
        step: String,
        /// The resource's full name.
        resource: String,
        /// The service name, e.g. `aiplatform.googleapis.com`.
        api: String,
        /// The project.
        project: String,
    },

    /// A resource the step needs does not exist (HTTP 404).
    #[error("{step}: {resource} does not exist ({message}); {fix}")]
    NotFound {
        /// The step.
        step: String,
        /// The missing resource's full name.
        resource: String,
        /// Google's message.
        message: String,
        /// What to do.
        fix: String,
    },

    /// The Vertex AI region, the BigQuery location and the data's location disagree.
    #[error("{step}: {resource}: {detail}")]
    LocationMismatch {
        /// The step.
        step: String,
        /// The dataset or resource concerned.
        resource: String,
        /// Which region and which dataset location, and what to change.
        detail: String,
    },

    /// Any other error answer.
    #[error("{step}: {call} returned HTTP {code} {status}: {message} (resource {resource})")]
    Api {
        /// The step.
        step: String,
        /// The resource's full name.
        resource: String,
        /// The HTTP method and URL, e.g. `POST https://.../featureOnlineStores`.
        call: String,
        /// The HTTP status code.
        code: u16,
        /// Google's canonical status, e.g. `ALREADY_EXISTS`.
        status: String,
        /// Google's message.
        message: String,
    },

    /// The request did not complete (connection, TLS, timeout).
    #[error(
        "{step}: {method} {url} failed: {source} (check the network and the gcp.*_url settings)"
    )]
    Transport {
        /// The step.
        step: String,
        /// The HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// What reqwest reported.
        source: reqwest::Error,
    },

    /// A 2xx answer of a shape this client cannot read.
    #[error("{step}: {url} answered a body this client cannot read: {detail}")]
    Decode {
        /// The step.
        step: String,
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },

    /// A long-running operation finished with an error.
    #[error("{step}: operation {operation} on {resource} failed (code {code}): {message}")]
    Operation {
        /// The step.
        step: String,
        /// The resource the operation changes.
        resource: String,
        /// The operation's full name.
        operation: String,
        /// The `google.rpc.Code`.
        code: i64,
        /// Google's message.
        message: String,
    },

    /// A long-running operation, job or sync did not finish before the deadline.
    #[error(
        "{step}: {operation} on {resource} has not finished after {waited:?} \
         (gcp.operation_timeout_secs = {timeout_secs}); it may still be running: check it in the \
         Cloud console, then run the step again (it reuses what exists) or raise \
         gcp.operation_timeout_secs"
    )]
    Timeout {
        /// The step.
        step: String,
        /// The resource.
        resource: String,
        /// The operation, job or sync name.
        operation: String,
        /// How long the client waited.
        waited: Duration,
        /// The configured deadline.
        timeout_secs: u64,
    },

    /// A BigQuery job finished with `status.errorResult`.
    #[error("{step}: BigQuery job {job} failed ({reason}): {message}{hint}")]
    Job {
        /// The step.
        step: String,
        /// `project:location.jobId`.
        job: String,
        /// BigQuery's `errorResult.reason`, e.g. `invalidQuery`.
        reason: String,
        /// BigQuery's message.
        message: String,
        /// What to do, starting with `; `, or empty.
        hint: String,
    },

    /// A feature view sync finished with an error.
    #[error(
        "{step}: {sync} failed (code {code}): {message}; check that {source_table} exists and \
         that the feature view's service account can read it"
    )]
    Sync {
        /// The step.
        step: String,
        /// The sync's full name.
        sync: String,
        /// `finalStatus.code`.
        code: i64,
        /// `finalStatus.message`.
        message: String,
        /// The feature group's source, `bq://project.dataset.table`.
        source_table: String,
    },

    /// The model artifact could not be read.
    #[error("{step}: the model artifact in {dir} cannot be used: {source}")]
    Artifact {
        /// The step.
        step: String,
        /// The artifact directory.
        dir: String,
        /// Why.
        source: fsdemo_training::TrainingError,
    },

    /// A resource exists but is not in a state the step can use.
    #[error("{step}: {resource}: {message}")]
    Precondition {
        /// The step.
        step: String,
        /// The resource's full name.
        resource: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl GcpError {
    /// The HTTP status of an error answer, when Google answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            GcpError::Api { code, .. } => Some(*code),
            GcpError::NotFound { .. } => Some(404),
            GcpError::PermissionDenied { .. } | GcpError::ApiDisabled { .. } => Some(403),
            GcpError::Unauthenticated { .. } => Some(401),
            _ => None,
        }
    }

    /// Whether Google said the resource already exists (409 `ALREADY_EXISTS`).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, GcpError::Api { code: 409, .. })
    }

    /// Whether Google said the resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GcpError::NotFound { .. })
    }
}
