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
        let scope = Scope::from_lookup(|i| {
            headers
                .get(FIELDS[i].1)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        // A token handed to one conversation acts only on that conversation.
        let allowed = match req.extensions().get::<Principal>() {
            Some(Principal {
                session_key: Some(own),
                ..
            }) => scope.session_key().as_deref() == Some(own.as_str()),
            _ => true,
        };
        ready(if allowed {
            Ok(scope)
        } else {
            Err(Error::Forbidden(
                "this token is limited to its own conversation".into(),
            ))
        })
    }
}
