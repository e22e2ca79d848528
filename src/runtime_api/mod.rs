//! A bot's Runtime API: one file per resource, each with its `configure`;
//! this file is the one place that lists them. [`serve`] starts a bot's
//! server; the supervisor lends it to the bots (`Host::serve`).

mod automation;
pub mod extract;
mod goal;
pub mod health;
mod info;
mod messages;
mod metrics;
mod multipart;
mod openapi;
mod probes;
pub mod runs;
mod serve;
mod skills;
mod tools;

pub use health::Health;
pub use openapi::ApiDoc;
pub use serve::serve;

use crate::bot::BotState;
use crate::http::{self, AccessGuard};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};

/// The app of one bot, as the server and the tests build it.
pub fn app(
    state: BotState,
    guard: web::Data<AccessGuard>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let label = state.id().to_string();
    let body_limit = state.config().limits.body_bytes;
    http::app(&label, guard, body_limit, move |cfg| {
        // The observation middleware and the guard record through it.
        cfg.app_data(web::Data::new(state.metrics().http().clone()));
        cfg.app_data(web::Data::new(state));
        health::configure(cfg);
        openapi::configure(cfg);
        info::configure(cfg);
        messages::configure(cfg);
        goal::configure(cfg);
        runs::configure(cfg);
        skills::configure(cfg);
        automation::configure(cfg);
        metrics::configure(cfg);
        probes::configure(cfg);
        tools::configure(cfg);
    })
}
