//! Extractors shared by the resources: the conversation scope from the
//! `X-Alice-*` headers, checked against the token's own scope.

use crate::error::{Code, Error};
use crate::http::Principal;
use crate::scope::{ReceiveIdType, Scope};
use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};

impl FromRequest for Scope {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let scope = Scope::from_headers(req.headers())
            .and_then(|asked| within_token(req.extensions().get::<Principal>(), asked));
        ready(scope)
    }
}

impl Scope {
    /// The conversation the `X-Alice-*` headers name; an unknown receive id
    /// type is a 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Scope, Error> {
        Scope::read(|field| header(headers, field)).map_err(|_| {
            Error::bad_request(format!(
                "X-Alice-Receive-Id-Type must be one of {}",
                ReceiveIdType::listed()
            ))
        })
    }
}

fn header(headers: &HeaderMap, field: crate::scope::Field) -> Option<String> {
    headers
        .get(field.header())
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The conversation the caller is limited to (`None`: the bot's main
/// token), for routes that act on whatever the token reaches (lists, one
/// record). A run token whose headers name another conversation is refused
/// here as on every other route.
pub struct TokenScope(pub Option<Scope>);

impl FromRequest for TokenScope {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        let limit = principal.as_ref().and_then(|p| p.scope.clone());
        // These routes only check the headers against the token: an unknown
        // receive id type names no conversation of the token's own.
        let (asked, unknown_type) = Scope::read_lenient(|field| header(req.headers(), field));
        let checked = if unknown_type && limit.is_some() && asked.receive_id.is_some() {
            Err(outside_scope())
        } else {
            within_token(principal.as_ref(), asked)
        };
        ready(checked.map(|_| TokenScope(limit)))
    }
}

/// The conversation `asked` as the token allows it (see `within_token`),
/// for routes that read it from their body.
pub fn scope_within_token(req: &HttpRequest, asked: Scope) -> Result<Scope, Error> {
    within_token(req.extensions().get::<Principal>(), asked)
}

/// A token handed to one conversation acts only on that conversation: the
/// request may repeat the conversation's fields but never name another, and
/// it always acts with the token's own (a skill may send no headers at all).
fn within_token(principal: Option<&Principal>, asked: Scope) -> Result<Scope, Error> {
    match principal.and_then(|p| p.scope.as_ref()) {
        None => Ok(asked),
        Some(own) if own.admits(&asked) => Ok(own.clone()),
        Some(_) => Err(outside_scope()),
    }
}

fn outside_scope() -> Error {
    Error::new(
        Code::OutsideScope,
        "this token is limited to its own conversation",
    )
}

/// The conversation a caller is limited to (`None`: the bot's main token).
pub fn token_scope(req: &HttpRequest) -> Option<Scope> {
    req.extensions()
        .get::<Principal>()
        .and_then(|p| p.scope.clone())
}

/// A receive id type, as the OpenAPI document lists them (an empty value
/// counts as unset: `chat_id`).
pub struct ReceiveIdTypeHeader;

impl utoipa::PartialSchema for ReceiveIdTypeHeader {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(
                ReceiveIdType::ALL
                    .map(ReceiveIdType::as_str)
                    .into_iter()
                    .chain([""]),
            ))
            .description(Some("What the receive id is; empty or absent: `chat_id`."))
            .into()
    }
}

// Named as before the enum existed, so the document keeps its component.
impl utoipa::ToSchema for ReceiveIdTypeHeader {
    fn name() -> std::borrow::Cow<'static, str> {
        "ReceiveIdType".into()
    }
}

/// The conversation headers of a route that acts on one conversation (as
/// `alice runtime` sends them from the skill's environment).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Documents the headers, which the `Scope` extractor reads.
pub struct ConversationHeaders {
    /// The conversation (`ALICE_RECEIVE_ID`). Required with the bot's main
    /// token (without it: 400); goals also take `X-Alice-Session-Key`
    /// instead. A run's token acts on its own conversation and needs none.
    #[param(rename = "X-Alice-Receive-Id", pattern = r"\S")]
    receive_id: String,
    /// What the receive id is; default `chat_id`. Others: 400.
    #[param(rename = "X-Alice-Receive-Id-Type", value_type = Option<ReceiveIdTypeHeader>)]
    receive_id_type: Option<ReceiveIdTypeHeader>,
}

/// 403 for a run's token: `what` (the bot's metrics, its probe) is for the
/// bot's main token only.
pub fn main_token_only(req: &HttpRequest, what: &str) -> Result<(), Error> {
    match token_scope(req) {
        Some(_) => Err(Error::new(
            Code::OutsideScope,
            format!("{what} need the bot's main token, not a run's"),
        )),
        None => Ok(()),
    }
}
