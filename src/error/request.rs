//! Rejections of the request itself, before any service sees it: bodies,
//! queries, paths, routes and methods that actix's extractors refuse.

use super::{Code, ErrorCode};
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("invalid JSON body: {0}")]
    Json(String),
    #[error("expected Content-Type: application/json")]
    NotJson,
    #[error("invalid query: {0}")]
    Query(String),
    #[error("invalid path: {0}")]
    Path(String),
    #[error("{0}")]
    Header(String),
    #[error("request body exceeds the limit{}", .limit.map(|l| format!(" of {l} bytes")).unwrap_or_default())]
    BodyTooLarge { limit: Option<usize> },
    #[error("invalid request body: {0}")]
    Body(String),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed on this route")]
    WrongMethod,
}

impl ErrorCode for RequestError {
    fn code(&self) -> Code {
        match self {
            RequestError::Json(_) | RequestError::NotJson | RequestError::Body(_) => {
                Code::InvalidJson
            }
            RequestError::Query(_) => Code::InvalidQuery,
            RequestError::Path(_) => Code::InvalidPath,
            RequestError::Header(_) => Code::InvalidHeader,
            RequestError::BodyTooLarge { .. } => Code::BodyTooLarge,
            RequestError::BodyTimeout(_) => Code::RequestTimeout,
            RequestError::NoRoute => Code::RouteNotFound,
            RequestError::WrongMethod => Code::MethodNotAllowed,
        }
    }
}

impl From<JsonPayloadError> for RequestError {
    fn from(err: JsonPayloadError) -> Self {
        use JsonPayloadError as J;
        match err {
            J::OverflowKnownLength { .. }
            | J::Overflow { .. }
            | J::Payload(PayloadError::Overflow) => RequestError::BodyTooLarge { limit: None },
            J::ContentType => RequestError::NotJson,
            J::Deserialize(e) => RequestError::Json(e.to_string()),
            other => RequestError::Body(other.to_string()),
        }
    }
}

impl From<QueryPayloadError> for RequestError {
    fn from(err: QueryPayloadError) -> Self {
        RequestError::Query(err.to_string())
    }
}

impl From<PathError> for RequestError {
    fn from(err: PathError) -> Self {
        RequestError::Path(err.to_string())
    }
}
