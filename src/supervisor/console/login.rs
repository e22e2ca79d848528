//! `/console/login`, `/console/logout`, `/console/session`.

use super::gate::COOKIE;
use super::session::{Sessions, SESSION_TTL};
use super::ConsoleError;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The supervisor's admin token.
    pub token: String,
}

/// A console session: send `csrf_token` as `X-CSRF-Token` on every
/// state-changing request.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub csrf_token: String,
    pub expires_in_secs: u64,
}

/// Trades the admin token for a session cookie (`HttpOnly`,
/// `SameSite=Strict`, `Secure` behind TLS). 10 failed logins a minute per
/// address: 429.
#[utoipa::path(post, path = "/console/login", operation_id = "consoleLogin", tag = "console", security(()),
    request_body = Login,
    responses((status = 200, body = SessionView, description = "Logged in; the cookie is set"),
        (status = 400, description = "Not a JSON object with `token`", body = ErrorBody),
        (status = 401, description = "Wrong admin token", body = ErrorBody),
        (status = 429, description = "Too many failed logins", body = ErrorBody)))]
pub async fn login(
    req: HttpRequest,
    sessions: web::Data<Sessions>,
    body: crate::http::JsonObject<Login>,
) -> Result<HttpResponse> {
    let ip = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let (id, session) = sessions.login(ip, body.into_inner().token.trim())?;
    // Behind a TLS-terminating proxy the scheme comes from X-Forwarded-Proto.
    let secure = req.connection_info().scheme() == "https";
    let cookie = Cookie::build(COOKIE, id)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time::Duration::seconds(SESSION_TTL.as_secs() as i64))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(SessionView {
        csrf_token: session.csrf,
        expires_in_secs: SESSION_TTL.as_secs(),
    }))
}

/// Ends the console session (needs its CSRF token).
#[utoipa::path(post, path = "/console/logout", operation_id = "consoleLogout", tag = "console",
    responses((status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody)))]
pub async fn logout(req: HttpRequest, sessions: web::Data<Sessions>) -> HttpResponse {
    if let Some(cookie) = req.cookie(COOKIE) {
        sessions.logout(cookie.value());
    }
    let mut gone = Cookie::build(COOKIE, "").path("/").finish();
    gone.make_removal();
    HttpResponse::NoContent().cookie(gone).finish()
}

/// The current session's CSRF token (after a page reload).
#[utoipa::path(get, path = "/console/session", operation_id = "consoleSession", tag = "console",
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody),
        (status = 403, description = "A bearer token, not a session", body = ErrorBody)))]
pub async fn session(req: HttpRequest, sessions: web::Data<Sessions>) -> Result<HttpResponse> {
    let session = req
        .cookie(COOKIE)
        .and_then(|c| sessions.get(c.value()))
        .ok_or(ConsoleError::Forbidden("be used with a bearer token alone"))?;
    Ok(HttpResponse::Ok().json(SessionView {
        csrf_token: session.csrf,
        expires_in_secs: SESSION_TTL.as_secs(),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/login").post(login))
        .service(resource("/console/logout").post(logout))
        .service(resource("/console/session").get(session));
}
