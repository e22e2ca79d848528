//! Extractors shared by the resources: the conversation scope from the
//! `X-Alice-*` headers, checked against the token's own scope.

use crate::error::{Code, Error};
use crate::http::Principal;
use crate::scope::{Scope, FIELDS};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};

impl FromRequest for Scope {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let scope = known_receive_id_type(asked(req))
            .and_then(|asked| within_token(req.extensions().get::<Principal>(), asked));
        ready(scope)
    }
}

/// The receive id types a message can be sent to (Feishu's `receive_id_type`).
pub const RECEIVE_ID_TYPES: [&str; 5] = ["chat_id", "open_id", "user_id", "union_id", "email"];

fn known_receive_id_type(scope: Scope) -> Result<Scope, Error> {
    match scope.receive_id_type.as_deref() {
        Some(kind) if !RECEIVE_ID_TYPES.contains(&kind) => Err(Error::bad_request(format!(
            "X-Alice-Receive-Id-Type must be one of {}",
            RECEIVE_ID_TYPES.join(", ")
        ))),
        _ => Ok(scope),
    }
}

fn asked(req: &HttpRequest) -> Scope {
    let headers = req.headers();
    Scope::from_lookup(|i| {
        headers
            .get(FIELDS[i].1)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
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
        ready(within_token(principal.as_ref(), asked(req)).map(|_| TokenScope(limit)))
    }
}

/// A token handed to one conversation acts only on that conversation: the
/// request may repeat the conversation's fields but never name another, and
/// it always acts with the token's own (a skill may send no headers at all).
fn within_token(principal: Option<&Principal>, asked: Scope) -> Result<Scope, Error> {
    match principal.and_then(|p| p.scope.as_ref()) {
        None => Ok(asked),
        Some(own) if own.admits(&asked) => Ok(own.clone()),
        Some(_) => Err(Error::new(
            Code::OutsideScope,
            "this token is limited to its own conversation",
        )),
    }
}

/// The conversation a caller is limited to (`None`: the bot's main token).
pub fn token_scope(req: &HttpRequest) -> Option<Scope> {
    req.extensions()
        .get::<Principal>()
        .and_then(|p| p.scope.clone())
}

/// A receive id type, as the OpenAPI document lists them (an empty value
/// counts as unset: `chat_id`).
pub struct ReceiveIdType;

impl utoipa::PartialSchema for ReceiveIdType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(RECEIVE_ID_TYPES.iter().copied().chain([""])))
            .description(Some("What the receive id is; empty or absent: `chat_id`."))
            .into()
    }
}

impl utoipa::ToSchema for ReceiveIdType {}

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
    #[param(rename = "X-Alice-Receive-Id-Type", value_type = Option<ReceiveIdType>)]
    receive_id_type: Option<ReceiveIdType>,
}
