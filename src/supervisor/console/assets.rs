//! The page, embedded in the binary: no CDN, no build step, no files read
//! at run time.

use crate::http::resource;
use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// Nothing of the page may be framed or pull code from elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}

/// The console's page (no token: it asks for one).
#[utoipa::path(get, path = "/", operation_id = "consolePage", tag = "console", security(()),
    responses((status = 200, description = "The console's HTML page", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX)
}

/// The console's script.
#[utoipa::path(get, path = "/console/assets/app.js", operation_id = "consoleScript", tag = "console", security(()),
    responses((status = 200, description = "JavaScript", content_type = "text/javascript")))]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The console's style sheet.
#[utoipa::path(get, path = "/console/assets/app.css", operation_id = "consoleStyle", tag = "console", security(()),
    responses((status = 200, description = "CSS", content_type = "text/css")))]
pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").get(index))
        .service(resource("/console/assets/app.js").get(script))
        .service(resource("/console/assets/app.css").get(style));
}
