//! The admin web console, served at `/` on the admin address: a login that
//! trades the admin token for a session cookie, a gate that turns a session
//! into the admin token for the admin API (with a CSRF check), a narrow
//! proxy to the bots' Runtime APIs (the browser never holds a bot token),
//! and the embedded page (plain HTML and JS: no build step, nothing fetched
//! at run time, one file to read).

pub(crate) mod assets;
mod error;
mod gate;
pub(crate) mod login;
pub(crate) mod proxy;
mod session;

pub use error::ConsoleError;
pub use gate::{gate, refuse_console};
pub use session::Sessions;

use actix_web::web;

/// Paths the access guard lets through without a token: the page, its
/// assets and the login (which checks the token itself).
pub const OPEN_PATHS: &[&str] = &["/", "/console/assets/*", "/console/login"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    login::configure(cfg);
    proxy::configure(cfg);
}
