//! How errors leave alice. Every service has its own error enum saying what
//! went wrong in its terms; each variant names a [`Code`] through
//! [`ErrorCode`] (next to the enum), and the table in `code.rs` gives every
//! code its HTTP status. [`Error`] is what handlers return: its single
//! `ResponseError` impl writes `{"error": "…", "code": "…"}`.

mod code;
mod request;

pub use code::Code;
pub use request::RequestError;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// What a domain error says about itself to the HTTP layer.
pub trait ErrorCode: std::fmt::Display {
    fn code(&self) -> Code;

    /// Seconds a throttled caller should wait (`Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// An error on its way to a client.
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: String,
    retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The body of every error answer.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A readable reason.
    pub error: String,
    /// A stable, machine-readable reason (see the table in the README).
    pub code: Code,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A malformed field or parameter (`invalid_request`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, message)
    }

    /// A failure inside alice: logged, never sent.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(Code::Internal, err.to_string())
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: ErrorCode> From<E> for Error {
    fn from(err: E) -> Self {
        Self {
            code: err.code(),
            message: err.to_string(),
            retry_after: err.retry_after(),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let message = if self.code == Code::Internal {
            tracing::error!(detail = %self.message, "internal error");
            "internal server error".to_string()
        } else {
            self.message.clone()
        };
        let mut builder = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.json(ErrorBody {
            error: message,
            code: self.code,
        })
    }
}

/// The code and reason for a status actix produced itself (unknown route,
/// wrong method, overflow): used to make every error JSON.
pub fn canonical(status: StatusCode) -> (Code, String) {
    match status {
        StatusCode::NOT_FOUND => (Code::RouteNotFound, "no such route".into()),
        StatusCode::METHOD_NOT_ALLOWED => (
            Code::MethodNotAllowed,
            "method not allowed on this route".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            (Code::BodyTooLarge, "request body exceeds the limit".into())
        }
        StatusCode::REQUEST_TIMEOUT => (
            Code::RequestTimeout,
            "request headers did not arrive in time".into(),
        ),
        other if other.is_client_error() => (
            Code::InvalidRequest,
            other
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase(),
        ),
        _ => (Code::Internal, "internal server error".into()),
    }
}
