//! What both HTTP surfaces (each bot's Runtime API and the supervisor's admin
//! API) share: the access guard, request observation, extractor configs.

pub mod auth;
mod connections;
mod deadline;
mod guard;
mod health;
mod json;
mod observe;
mod openapi;
mod panic;
pub mod server;
pub mod sse;
pub mod unix_socket;

pub use auth::{generate_token, tokens_equal, Authenticator, Principal, StaticTokenAuth};
pub use connections::Connections;
pub use deadline::BodyTimeout;
pub use guard::AccessGuard;
pub use health::Health;
pub use json::JsonObject;
pub use observe::{observe, RequestIds, ServerLabel};
pub use openapi::{served as served_openapi, BearerAuth};
pub use panic::ServerDeath;

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

/// For resources: a known route with another method is a JSON 405 whose
/// `Allow` lists the route's methods.
pub async fn wrong_method(allow: String) -> actix_web::HttpResponse {
    let mut res = actix_web::ResponseError::error_response(&Error::from(RequestError::WrongMethod));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        res.headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    res
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
        .app_data(web::Data::new(RequestIds::default()))
        .app_data(guard_data)
        .configure(extractor_configs(body_limit))
        .configure(routes)
        .configure(panic::test_hook)
        .default_service(web::to(no_route))
        .wrap(from_fn(panic::catch_panic))
        .wrap(from_fn(deadline::body_deadline))
        .wrap(from_fn(self::guard::guard))
        .wrap(from_fn(observe))
}

/// A resource whose other methods answer a JSON 405 with `Allow`: add its
/// handlers with [`Routes::get`], [`Routes::post`] ….
pub fn resource(path: &str) -> Routes {
    Routes {
        resource: web::resource(path).app_data(observe::RouteTemplate(path.to_string())),
        allow: Vec::new(),
    }
}

/// [`resource`] inside `web::scope(scope)`, `path` whole (as its OpenAPI
/// annotation and the metrics name it). actix tries a scope's resources
/// only for paths under its prefix (a string compare), so a request runs
/// the regexes of its own group's dynamic routes, not those of every group
/// registered before it.
pub fn resource_in(scope: &str, path: &str) -> Routes {
    debug_assert!(path.starts_with(scope), "{path} is not under {scope}");
    Routes {
        resource: web::resource(path.strip_prefix(scope).unwrap_or(path))
            .app_data(observe::RouteTemplate(path.to_string())),
        allow: Vec::new(),
    }
}

/// A resource being built; it knows its methods, for the 405's `Allow`.
pub struct Routes {
    resource: actix_web::Resource,
    allow: Vec<&'static str>,
}

macro_rules! method {
    ($name:ident, $route:ident, $method:literal) => {
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: actix_web::Handler<Args>,
            Args: actix_web::FromRequest + 'static,
            F::Output: actix_web::Responder + 'static,
        {
            self.allow.push($method);
            self.resource = self.resource.route(web::$route().to(handler));
            self
        }
    };
}

impl Routes {
    method!(get, get, "GET");
    method!(post, post, "POST");
    method!(patch, patch, "PATCH");
    method!(delete, delete, "DELETE");
}

impl actix_web::dev::HttpServiceFactory for Routes {
    fn register(self, config: &mut actix_web::dev::AppService) {
        let allow = self.allow.join(", ");
        self.resource
            .default_service(web::to(move || wrong_method(allow.clone())))
            .register(config)
    }
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
        .app_data(web::Data::new(RequestIds::default()))
        .configure(extractor_configs(body_limit))
        .configure(routes)
        .default_service(web::to(no_route))
        .wrap(from_fn(panic::catch_panic))
        .wrap(from_fn(deadline::body_deadline))
        .wrap(from_fn(observe))
}
