//! A handler that panics costs only its request: the panic is caught here
//! and answered as a 500 JSON `internal`, instead of the connection dropping
//! without an answer (actix would only lose the connection's task).

use crate::error::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The URI only (a shared handle, no copy): a clone of the request would
    // make actix's own later `&mut` access to it panic.
    let uri = req.uri().clone();
    // Unwind safety: the request's state is dropped with it; shared state
    // behind locks is the services' to keep consistent (sled and parking
    // locks do not poison).
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(res) => Ok(res?.map_into_boxed_body()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(path = uri.path(), panic = %what, "a handler panicked");
            // Without the request (gone with the panic) there is no
            // `ServiceResponse`: the error travels up and actix answers it
            // with `Error`'s own JSON response.
            Err(Error::internal("the request failed inside the server").into())
        }
    }
}

/// The test hook: debug builds only, and only when the environment asks for
/// it (`ALICE_TEST_PANIC_ROUTE=1`), `GET /__test/panic` panics in its
/// handler. Release builds do not contain it.
pub fn test_hook(cfg: &mut actix_web::web::ServiceConfig) {
    #[cfg(debug_assertions)]
    if std::env::var_os("ALICE_TEST_PANIC_ROUTE").is_some_and(|v| v == "1") {
        cfg.route(
            "/__test/panic",
            actix_web::web::get().to(|| async {
                panic!("the test hook panics");
                #[allow(unreachable_code)]
                actix_web::HttpResponse::Ok().finish()
            }),
        );
    }
    #[cfg(not(debug_assertions))]
    let _ = cfg;
}

/// The second test hook, on bots' servers, under the same switch:
/// `POST /__test/die` ends the bot's server as if it had crashed, so the
/// tests see the supervisor relaunch it while the other bots serve on.
/// Release builds answer nothing of it (the route is never added).
#[derive(Clone, Default)]
pub struct ServerDeath(std::sync::Arc<std::sync::OnceLock<actix_web::dev::ServerHandle>>);

impl ServerDeath {
    /// Gives the hook the server it ends (known only once the server runs).
    pub fn arm(&self, handle: actix_web::dev::ServerHandle) {
        let _ = self.0.set(handle);
    }

    pub fn route(&self, cfg: &mut actix_web::web::ServiceConfig) {
        #[cfg(debug_assertions)]
        if std::env::var_os("ALICE_TEST_PANIC_ROUTE").is_some_and(|v| v == "1") {
            let death = self.0.clone();
            cfg.route(
                "/__test/die",
                actix_web::web::post().to(move || {
                    if let Some(handle) = death.get().cloned() {
                        // Not graceful, and not through the supervisor.
                        actix_web::rt::spawn(async move { handle.stop(false).await });
                    }
                    async { actix_web::HttpResponse::Accepted().finish() }
                }),
            );
        }
        #[cfg(not(debug_assertions))]
        let _ = cfg;
    }
}
