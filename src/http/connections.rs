//! A server's open connections, counted, so that a graceful stop ends as
//! soon as the last one closes. (actix's workers look only once a second
//! whether their connections are gone: a bot with any connection open at
//! its stop took a second to stop, and a restart as long.)

use actix_web::dev::Extensions;
use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Connections(Arc<Inner>);

#[derive(Default)]
struct Inner {
    open: AtomicUsize,
    closed: Notify,
}

/// Lives in a connection's data (its dispatcher and its requests hold it):
/// dropped when the connection and its last request are gone.
struct Open(Arc<Inner>);

impl Drop for Open {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

impl Connections {
    /// For `HttpServer::on_connect`: counts the connection until it closes.
    pub fn on_connect(&self) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
        let inner = self.0.clone();
        move |_, data| {
            inner.open.fetch_add(1, Ordering::AcqRel);
            data.insert(Open(inner.clone()));
        }
    }

    /// Resolves once no connection is open.
    pub async fn closed(&self) {
        loop {
            let closed = self.0.closed.notified();
            tokio::pin!(closed);
            // Registered before the count is read: a close in between wakes it.
            closed.as_mut().enable();
            if self.0.open.load(Ordering::Acquire) == 0 {
                return;
            }
            closed.await;
        }
    }
}
