//! Middleware in front of the access guard: a request with a live session
//! cookie (and no bearer token) speaks for the admin. A state-changing one
//! must carry the session's `X-CSRF-Token` (a cross-site form cannot set a
//! header), and a session never reads a bot's token.

use super::session::{csrf_ok, Sessions};
use super::ConsoleError;
use crate::error::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

pub const COOKIE: &str = "alice_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub async fn gate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match admit(&mut req) {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(err) => Ok(req
            .into_response(Error::from(err).error_response())
            .map_into_right_body()),
    }
}

fn admit(req: &mut ServiceRequest) -> Result<(), ConsoleError> {
    if req.headers().contains_key(header::AUTHORIZATION) || req.path() == "/console/login" {
        return Ok(());
    }
    let Some(sessions) = req.app_data::<web::Data<Sessions>>().cloned() else {
        return Ok(());
    };
    let Some(session) = req.cookie(COOKIE).and_then(|c| sessions.get(c.value())) else {
        // No session: the guard answers 401.
        return Ok(());
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let given = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf_ok(&session, given) {
            return Err(ConsoleError::Csrf);
        }
    }
    // Handlers that must not serve a session (a bot's token) look for it.
    req.extensions_mut().insert(ViaConsole);
    let value = header::HeaderValue::from_str(&format!("Bearer {}", sessions.admin_token()))
        .map_err(|_| ConsoleError::Forbidden("use an admin token that is not a header value"))?;
    req.headers_mut().insert(header::AUTHORIZATION, value);
    Ok(())
}

/// Marks a request the gate let in on a console session.
#[derive(Clone, Copy)]
pub struct ViaConsole;

/// Refuses a request made from the console (routes that hand out secrets).
pub fn refuse_console(
    req: &actix_web::HttpRequest,
    what: &'static str,
) -> Result<(), ConsoleError> {
    match req.extensions().get::<ViaConsole>() {
        Some(_) => Err(ConsoleError::Forbidden(what)),
        None => Ok(()),
    }
}
