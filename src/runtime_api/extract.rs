//! Extractors shared by the resources: the conversation scope from the
//! `X-Alice-*` headers, checked against the token's own scope.

use crate::error::Error;
use crate::http::Principal;
use crate::scope::{Scope, FIELDS};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};

impl FromRequest for Scope {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let asked = Scope::from_lookup(|i| {
            headers
                .get(FIELDS[i].1)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        ready(within_token(req.extensions().get::<Principal>(), asked))
    }
}

/// A token handed to one conversation acts only on that conversation; when
/// the request names none (a skill that sends no headers), it acts on the
/// token's own.
fn within_token(principal: Option<&Principal>, asked: Scope) -> Result<Scope, Error> {
    let Some(own) = principal.and_then(|p| p.session_key.as_deref()) else {
        return Ok(asked);
    };
    if asked.is_unspecified() {
        return Ok(principal
            .and_then(|p| p.scope.clone())
            .unwrap_or_else(|| Scope {
                session_key: Some(own.to_string()),
                ..Scope::default()
            }));
    }
    if asked.session_key().as_deref() == Some(own) {
        Ok(asked)
    } else {
        Err(Error::Forbidden(
            "this token is limited to its own conversation".into(),
        ))
    }
}

/// The session key a caller is limited to (`None`: the bot's main token).
pub fn token_session(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<Principal>()
        .and_then(|p| p.session_key.clone())
}

/// 403 unless the caller may act on `target` (a conversation named in a
/// body, such as an automation task's `scope_id`, rather than in headers).
pub fn require_within_token(req: &HttpRequest, target: &Scope) -> Result<(), Error> {
    match token_session(req) {
        Some(own) if target.session_key().as_deref() != Some(own.as_str()) => Err(
            Error::Forbidden("this token is limited to its own conversation".into()),
        ),
        _ => Ok(()),
    }
}
