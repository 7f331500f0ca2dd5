//! Cloud Storage JSON API: the model bucket and its objects (media upload, list, delete).

use fsdemo_featurestore::EnsureOutcome;
use serde_json::{json, Value};
use tracing::info;

use crate::error::GcpError;
use crate::http::{encode, with_query, Body, Call};
use crate::Gcp;

impl Gcp {
    /// `{storage_url}/storage/v1/{path}`.
    fn storage_url(&self, path: &str) -> String {
        format!("{}/storage/v1/{path}", self.config.gcp.storage_url.trim_end_matches('/'))
    }

    /// The bucket's metadata, `None` when it does not exist.
    pub(crate) async fn get_bucket(&self, step: &str) -> Result<Option<Value>, GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}");
        let url = self.storage_url(&format!("b/{}", encode(&bucket)));
        self.lookup(Call::get(step, "storage.buckets.get", &resource, url)).await
    }

    /// Creates the bucket in `project.location` unless it exists.
    pub(crate) async fn ensure_bucket(&self, step: &str) -> Result<EnsureOutcome, GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}");
        if self.get_bucket(step).await?.is_some() {
            info!(bucket = %resource, "reusing bucket");
            return Ok(EnsureOutcome::Reused);
        }

        let url = with_query(&self.storage_url("b"), &[("project", &self.config.project.id)]);
        let location = self.config.project.location.to_ascii_uppercase();
        let body = json!({"name": bucket, "location": location, "labels": {"app": "fsdemo"}});
        let outcome =
            match self.send(Call::post(step, "storage.buckets.insert", &resource, url, body)).await
            {
                Ok(_) => EnsureOutcome::Created,
                Err(error) if error.is_already_exists() => EnsureOutcome::Reused,
                Err(error) => return Err(error),
            };
        info!(bucket = %resource, %location, ?outcome, "bucket ready");
        Ok(outcome)
    }

    /// Uploads `bytes` as object `name` in one request (`uploadType=media`).
    pub(crate) async fn upload_object(
        &self,
        step: &str,
        name: &str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}/{name}");
        let base = self.config.gcp.storage_url.trim_end_matches('/');
        let url = format!("{base}/upload/storage/v1/b/{}/o", encode(&bucket));
        let url = with_query(&url, &[("uploadType", "media"), ("name", name)]);

        let size = bytes.len();
        let mut call = Call::post(step, "storage.objects.insert", &resource, url, Value::Null);
        call.body = Body::Bytes(bytes, content_type);
        self.send(call).await?;
        info!(object = %resource, size, "uploaded");
        Ok(())
    }

    /// The names of every object in the bucket.
    pub(crate) async fn list_objects(&self, step: &str) -> Result<Vec<String>, GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}");
        let mut names = Vec::new();
        let mut token: Option<String> = None;

        loop {
            let mut query = vec![];
            if let Some(token) = &token {
                query.push(("pageToken", token.as_str()));
            }
            let url = with_query(&self.storage_url(&format!("b/{}/o", encode(&bucket))), &query);
            let page = self.send(Call::get(step, "storage.objects.list", &resource, url)).await?;

            let items = page["items"].as_array().cloned().unwrap_or_default();
            names.extend(items.iter().filter_map(|item| item["name"].as_str().map(str::to_string)));
            token = page["nextPageToken"].as_str().map(str::to_string);
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    /// Deletes object `name`; a missing object is fine.
    pub(crate) async fn delete_object(&self, step: &str, name: &str) -> Result<(), GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}/{name}");
        let url = self.storage_url(&format!("b/{}/o/{}", encode(&bucket), encode(name)));
        match self.send(Call::delete(step, "storage.objects.delete", &resource, url)).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Deletes the (empty) bucket; false when it was already gone.
    pub(crate) async fn delete_bucket(&self, step: &str) -> Result<bool, GcpError> {
        let bucket = self.bucket();
        let resource = format!("gs://{bucket}");
        let url = self.storage_url(&format!("b/{}", encode(&bucket)));
        match self.send(Call::delete(step, "storage.buckets.delete", &resource, url)).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }
}
