//! Where access tokens come from: the [`TokenSource`] trait, Application Default
//! Credentials through `gcp_auth` ([`AdcTokens`]: a service account key in
//! `GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth application-default login`, or the
//! metadata server), and a fixed token ([`StaticToken`]) read from
//! `FSDEMO_GCP_ACCESS_TOKEN` for tests and for `gcloud auth print-access-token` users.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::GcpError;

/// The environment variable whose value, when set, is used as the access token.
pub const TOKEN_ENV: &str = "FSDEMO_GCP_ACCESS_TOKEN";

/// The OAuth scope every call of this client needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A token being fetched.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, GcpError>> + Send + 'a>>;

/// Hands out OAuth access tokens for the `cloud-platform` scope.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A valid access token; implementations cache and refresh it.
    fn token(&self) -> TokenFuture<'_>;

    /// Where the tokens come from, for `doctor` (`FSDEMO_GCP_ACCESS_TOKEN`, `ADC (...)`).
    fn describe(&self) -> String;
}

/// A fixed token.
#[derive(Clone)]
pub struct StaticToken {
    token: String,
    origin: String,
}

impl StaticToken {
    /// A source that always hands out `token`; `origin` says where it came from.
    pub fn new(token: impl Into<String>, origin: impl Into<String>) -> StaticToken {
        StaticToken { token: token.into(), origin: origin.into() }
    }

    /// The token in `FSDEMO_GCP_ACCESS_TOKEN`, if set and not empty.
    pub fn from_env() -> Option<StaticToken> {
        let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty())?;
        Some(StaticToken::new(token.trim(), TOKEN_ENV))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token itself.
        f.debug_struct("StaticToken").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move { Ok(self.token.clone()) })
    }

    fn describe(&self) -> String {
        format!("a fixed access token from {}", self.origin)
    }
}

/// Application Default Credentials, discovered once by `gcp_auth`, which caches tokens and
/// refreshes them before they expire.
pub struct AdcTokens {
    provider: Arc<dyn gcp_auth::TokenProvider>,
}

impl AdcTokens {
    /// Finds Application Default Credentials the way Google's libraries do.
    pub async fn discover() -> Result<AdcTokens, GcpError> {
        let provider = gcp_auth::provider().await.map_err(|error| GcpError::Credentials {
            step: "credentials".into(),
            detail: error.to_string(),
        })?;
        Ok(AdcTokens { provider })
    }
}

impl fmt::Debug for AdcTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdcTokens").finish_non_exhaustive()
    }
}

impl TokenSource for AdcTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let token = self.provider.token(&[CLOUD_PLATFORM_SCOPE]).await.map_err(|error| {
                GcpError::Credentials { step: "credentials".into(), detail: error.to_string() }
            })?;
            Ok(token.as_str().to_string())
        })
    }

    fn describe(&self) -> String {
        "Application Default Credentials".into()
    }
}

/// Stands in when no credentials were found, so `doctor` can still run and say so; every
/// token request fails with the discovery error.
#[derive(Debug)]
pub(crate) struct NoCredentials {
    pub detail: String,
}

impl TokenSource for NoCredentials {
    fn token(&self) -> TokenFuture<'_> {
        let detail = self.detail.clone();
        Box::pin(async move { Err(GcpError::Credentials { step: "credentials".into(), detail }) })
    }

    fn describe(&self) -> String {
        "no credentials".into()
    }
}

/// The token source `Gcp::connect` uses: `FSDEMO_GCP_ACCESS_TOKEN` when set, else ADC, else
/// a source that explains what is missing.
pub(crate) async fn default_source() -> Arc<dyn TokenSource> {
    if let Some(token) = StaticToken::from_env() {
        return Arc::new(token);
    }
    match AdcTokens::discover().await {
        Ok(adc) => Arc::new(adc),
        Err(GcpError::Credentials { detail, .. }) => Arc::new(NoCredentials { detail }),
        Err(other) => Arc::new(NoCredentials { detail: other.to_string() }),
    }
}
