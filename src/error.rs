//! One error type for every HTTP surface. Subsystems return their own
//! variants; the single `ResponseError` impl below is the only place that maps
//! an error to a status code and the `{"error": "…"}` body.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("{0}")]
    Unavailable(String),
    /// A subprocess could not be started: 500 with the reason (a missing
    /// program is the operator's to fix, and holds no secret).
    #[error("{0}")]
    Spawn(String),
    /// Details are logged, never sent: the client sees a generic reason.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The body of every error answer.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A readable reason.
    pub error: String,
}

impl Error {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<sled::Error> for Error {
    fn from(err: sled::Error) -> Self {
        Self::Internal(format!("storage: {err}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("encoding: {err}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::Internal(format!("io: {err}"))
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Error::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Spawn(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Error::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                "internal server error".to_string()
            }
            other => other.to_string(),
        };
        let mut builder = HttpResponse::build(self.status_code());
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        builder.json(ErrorBody { error: message })
    }
}

/// The reason actix gives for a status when it produced the error itself
/// (unknown route, wrong method, overflow): used to make every error JSON.
pub fn canonical_reason(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "no such route".into(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body exceeds the limit".into(),
        StatusCode::REQUEST_TIMEOUT => "request headers did not arrive in time".into(),
        other => other
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    }
}

impl From<actix_web::error::JsonPayloadError> for Error {
    fn from(err: actix_web::error::JsonPayloadError) -> Self {
        use actix_web::error::JsonPayloadError as J;
        match err {
            J::OverflowKnownLength { .. } | J::Overflow { .. } => {
                Error::PayloadTooLarge("request body exceeds the limit".into())
            }
            J::ContentType => Error::bad_request("expected Content-Type: application/json"),
            J::Deserialize(e) => Error::bad_request(format!("invalid JSON body: {e}")),
            J::Payload(actix_web::error::PayloadError::Overflow) => {
                Error::PayloadTooLarge("request body exceeds the limit".into())
            }
            other => Error::bad_request(format!("invalid request body: {other}")),
        }
    }
}

impl From<actix_web::error::QueryPayloadError> for Error {
    fn from(err: actix_web::error::QueryPayloadError) -> Self {
        Error::bad_request(format!("invalid query: {err}"))
    }
}

impl From<actix_web::error::PathError> for Error {
    fn from(err: actix_web::error::PathError) -> Self {
        Error::bad_request(format!("invalid path: {err}"))
    }
}
