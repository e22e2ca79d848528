//! `alice serve`: start everything, then wait for signals. SIGHUP reloads;
//! SIGTERM or SIGINT stop every bot gracefully, flush, and return.

use super::{AdminServer, EventsServer, Supervisor};
use crate::config::Config;
use tokio::signal::unix::{signal, SignalKind};

pub async fn serve(config: Config) -> std::io::Result<()> {
    let admin_addr = config.supervisor.admin_addr;
    let events_addr = config.supervisor.events_addr;
    let rpm = config.supervisor.requests_per_minute;
    let failed_auth = config.supervisor.failed_auth_per_minute;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;

    let supervisor = Supervisor::start(config).await?;
    let admin = match AdminServer::start(supervisor.clone(), admin_addr, rpm, failed_auth) {
        Ok(admin) => admin,
        Err(e) => {
            supervisor.shutdown().await;
            return Err(e);
        }
    };
    tracing::info!(addr = %admin.addr(), "admin API listening");
    let events = match events_addr.map(|addr| EventsServer::start(supervisor.clone(), addr)) {
        None => None,
        Some(Ok(events)) => {
            tracing::info!(addr = %events.addr(), "events listener listening");
            Some(events)
        }
        Some(Err(e)) => {
            admin.stop().await;
            supervisor.shutdown().await;
            return Err(e);
        }
    };

    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                // In the background: a SIGTERM meanwhile is still heard.
                let supervisor = supervisor.clone();
                tokio::spawn(async move {
                    if let Err(e) = supervisor.reload().await {
                        tracing::error!(error = %e, "reload refused; nothing changed");
                    }
                });
            }
        }
    }
    // Refuse new admin work and callbacks first, then drain the bots, then
    // flush.
    if let Some(events) = events {
        events.stop().await;
    }
    admin.stop().await;
    supervisor.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}
