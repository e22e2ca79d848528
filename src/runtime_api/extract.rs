//! Extractors shared by the resources: the conversation scope from the
//! `X-Alice-*` headers, checked against the token's own scope.

use crate::error::{Code, Error};
use crate::http::Principal;
use crate::scope::{ReceiveIdType, Scope};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName};
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
        .get(header_name(field))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The field's header as a ready `HeaderName`: looking a header up by `&str`
/// parses the name on every call, seven times a request here.
fn header_name(field: crate::scope::Field) -> &'static HeaderName {
    use crate::scope::Field;
    const fn name(s: &'static str) -> HeaderName {
        HeaderName::from_static(s)
    }
    static NAMES: [HeaderName; 7] = [
        name("x-alice-receive-id-type"),
        name("x-alice-receive-id"),
        name("x-alice-source-message-id"),
        name("x-alice-actor-user-id"),
        name("x-alice-actor-open-id"),
        name("x-alice-chat-type"),
        name("x-alice-session-key"),
    ];
    let i = match field {
        Field::ReceiveIdType => 0,
        Field::ReceiveId => 1,
        Field::SourceMessageId => 2,
        Field::ActorUserId => 3,
        Field::ActorOpenId => 4,
        Field::ChatType => 5,
        Field::SessionKey => 6,
    };
    debug_assert_eq!(NAMES[i].as_str(), field.header());
    &NAMES[i]
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
        let extensions = req.extensions();
        // Borrowed: the main token's requests need no copy of it.
        let principal = extensions.get::<Principal>();
        let limit = principal.and_then(|p| p.scope.clone());
        // These routes only check the headers against the token: an unknown
        // receive id type names no conversation of the token's own.
        let (asked, unknown_type) = Scope::read_lenient(|field| header(req.headers(), field));
        let checked = if unknown_type && limit.is_some() && asked.receive_id.is_some() {
            Err(outside_scope())
        } else {
            within_token(principal, asked)
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
