//! Errors: what a request gets back ([`ApiError`]: a status, a stable `code` and a message
//! for people) and what starting the service can fail with ([`ServeError`]).

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (`empty_body`, `unsupported_media_type`,
    /// `truncated_image`, `unreadable_image`, `no_pixel_data`, `multi_frame`,
    /// `colour_image`, `image_too_small`, `image_too_large`, `body_too_large`,
    /// `bad_request`, `unauthorized`, `overloaded`, `not_ready`, `internal`).
    pub code: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

/// A request that cannot be answered with a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (see [`ErrorBody::code`]).
    pub code: &'static str,
    /// Message for people.
    pub message: String,
    /// Seconds after which to try again (503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 422: the upload was read but cannot be used.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The same error with another code.
    pub fn with_code(self, code: &'static str) -> Self {
        ApiError { code, ..self }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 503 with `Retry-After`.
    pub fn overloaded(message: impl Into<String>, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message)
        }
    }

    /// 500: a fault of the service, not of the request.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The run folder holds no classifier.
    #[error(
        "{path}: neither a classifier run (config.json) nor an experiment folder (classifier/config.json)"
    )]
    NotARun {
        /// The folder given.
        path: PathBuf,
    },
    /// No segmenter could be found for the classifier.
    #[error("{run}: no segmenter: the run records none and none was given (--segmenter)")]
    NoSegmenter {
        /// The classifier run.
        run: PathBuf,
    },
    /// A file of the run could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The run's evaluation (`metrics.json`) could not be parsed.
    #[error("cannot parse {path}")]
    Metrics {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The token file is empty.
    #[error("{path}: the token file is empty")]
    EmptyToken {
        /// The file.
        path: PathBuf,
    },
    /// A setting is out of range.
    #[error("{field}: {detail}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The classifier or the segmenter could not be loaded.
    #[error("cannot load the model")]
    Model(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A model worker thread ended before it said whether it loaded.
    #[error("the {0} worker stopped while loading")]
    WorkerLost(&'static str),
    /// The listener failed.
    #[error("serving failed")]
    Io(#[from] std::io::Error),
}
