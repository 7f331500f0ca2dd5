//! The service's one error type and its one mapping to HTTP: every failure leaves as
//! Google's error JSON (`{"error": {"code", "message", "status"}}`). A caller's mistake is
//! a 4xx whose message names the field or resource; an internal fault is a generic 500
//! whose detail is logged once, here.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fsdemo_core::vertex::GoogleError;

use crate::backend::BackendError;

/// A failed request, as the service answers it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message names the field (400 `INVALID_ARGUMENT`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The named resource does not exist (404 `NOT_FOUND`).
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not for this HTTP method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The resource is not in a state to serve this (400 `FAILED_PRECONDITION`).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The body is larger than the service accepts (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A fault of the service or a backend. The detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status and Google's canonical status name for this error.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            // Google has no canonical name for a wrong method; this one reads plainly.
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            ApiError::FailedPrecondition(_) => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "INVALID_ARGUMENT"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::NotFound(message) => ApiError::NotFound(message),
            BackendError::FailedPrecondition(message) => ApiError::FailedPrecondition(message),
            BackendError::Internal(source) => ApiError::Internal(error_chain(&*source)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, name) = self.status();

        // The one place an internal fault is logged; the caller only learns that it failed.
        let message = match self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "request failed with an internal error");
                "Internal error encountered.".to_string()
            }
            other => other.to_string(),
        };

        let body = GoogleError::new(status.as_u16(), name, message);
        json_response(status, &body)
    }
}

/// A JSON response with `status`; falls back to a bare 500 if `body` cannot serialize.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let json = HeaderValue::from_static("application/json");
            (status, [(header::CONTENT_TYPE, json)], bytes).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "response did not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error and its sources as one line, outermost first.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, GoogleError) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn internal_fault_hides_its_detail() {
        let (status, body) = body_of(ApiError::Internal("redb: disk on fire".into())).await;

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.error.status, "INTERNAL");
        assert!(!body.error.message.contains("disk"), "{}", body.error.message);
    }

    #[tokio::test]
    async fn backend_errors_keep_their_meaning() {
        let not_found = BackendError::NotFound("endpoint e not found".into());
        let precondition = BackendError::FailedPrecondition("no model".into());

        let (status, body) = body_of(not_found.into()).await;
        assert_eq!((status, body.error.status.as_str()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
        assert_eq!(body.error.code, 404);
        assert_eq!(body.error.message, "endpoint e not found");

        let (status, body) = body_of(precondition.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body.error.status, "FAILED_PRECONDITION");
    }

    #[test]
    fn chain_names_every_cause() {
        let io = std::io::Error::other("disk full");
        let error = BackendError::internal(io);

        let ApiError::Internal(detail) = ApiError::from(error) else { panic!("not internal") };

        assert_eq!(detail, "disk full");
    }
}
