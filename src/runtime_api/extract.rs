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
