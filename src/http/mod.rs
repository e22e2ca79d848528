//! What both HTTP surfaces (each bot's Runtime API and the supervisor's admin
//! API) share: the access guard, request observation, extractor configs.

pub mod auth;
mod deadline;
mod guard;
mod observe;
mod openapi;
pub mod server;
pub mod sse;

pub use auth::{generate_token, tokens_equal, Authenticator, Principal, StaticTokenAuth};
pub use deadline::BodyTimeout;
pub use guard::AccessGuard;
pub use observe::{observe, ServerLabel};
pub use openapi::BearerAuth;

use crate::error::{Error, RequestError};
use actix_web::web;

/// Extractor configs that route every rejection through [`Error`].
pub fn extractor_configs(body_limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(
            web::JsonConfig::default()
                .limit(body_limit)
                .error_handler(|err, _| Error::from(RequestError::from(err)).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| Error::from(RequestError::from(err)).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| Error::from(RequestError::from(err)).into()),
        )
        .app_data(web::PayloadConfig::default().limit(body_limit));
    }
}

/// The default service: an unknown route is a JSON 404.
pub async fn no_route() -> Result<actix_web::HttpResponse, Error> {
    Err(RequestError::NoRoute.into())
}

/// For resources: a known route with another method is a JSON 405.
pub async fn wrong_method() -> Result<actix_web::HttpResponse, Error> {
    Err(RequestError::WrongMethod.into())
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::App;

/// The app shell shared by every server: label, guard, extractor configs,
/// observation, JSON 404. `routes` adds the server's own resources.
pub fn app(
    label: &str,
    guard_data: web::Data<AccessGuard>,
    body_limit: usize,
    routes: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(ServerLabel(label.to_string())))
        .app_data(guard_data)
        .configure(extractor_configs(body_limit))
        .configure(routes)
        .default_service(web::to(no_route))
        .wrap(from_fn(deadline::body_deadline))
        .wrap(from_fn(self::guard::guard))
        .wrap(from_fn(observe))
}

/// A resource whose other methods answer a JSON 405.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(wrong_method))
}

/// As [`app`] without the bearer guard, for listeners whose callers prove
/// themselves otherwise (platform signatures on the events listener).
pub fn open_app(
    label: &str,
    body_limit: usize,
    routes: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(ServerLabel(label.to_string())))
        .configure(extractor_configs(body_limit))
        .configure(routes)
        .default_service(web::to(no_route))
        .wrap(from_fn(deadline::body_deadline))
        .wrap(from_fn(observe))
}
