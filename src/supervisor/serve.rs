//! `alice serve`: start everything, then wait for signals. SIGHUP reloads;
//! SIGTERM or SIGINT stop every bot gracefully, flush, and return.

use super::{AdminServer, EventsServer, Supervisor};
use crate::config::Config;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use tokio::signal::unix::{signal, SignalKind};

pub async fn serve(config: Config) -> std::io::Result<()> {
    // The data folder holds the tokens (admin.token, the sled files): what
    // alice creates there is for its own user only.
    // SAFETY: umask has no memory effects; it only changes later creations.
    unsafe { libc::umask(0o077) };
    private_data_dir(&config.supervisor.data_dir)?;
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

    let trimmer = tokio::spawn(return_freed_memory());
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
    trimmer.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Creates the data folder 0700, or warns when an existing one is wider
/// (alice does not change the modes of a folder it did not create).
fn private_data_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    data_dir = %dir.display(),
                    mode = %format!("{mode:04o}"),
                    "the data folder is readable by other users and holds the tokens; chmod 700 it"
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir),
        Err(e) => Err(e),
    }
}

/// How often freed heap memory is handed back to the system.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// glibc keeps freed memory in its arenas: after a flood of connections
/// (each with its buffers) the process would stay at its peak size. Trimming
/// now and then returns it; it costs little when there is nothing to return.
async fn return_freed_memory() {
    let mut every = tokio::time::interval(TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free pages of the allocator.
        let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
    }
}
