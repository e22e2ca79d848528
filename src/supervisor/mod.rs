//! The supervisor: owns every bot's unit, the admin API, reloads and the
//! process-wide shutdown.

pub mod admin_api;
mod admin_token;
mod callback;
pub mod console;
mod error;
mod events_api;
mod probes;
mod runs;
mod serve;
mod unit;
mod ws;

pub use admin_api::{AdminDoc, AdminServer};
pub use admin_token::{admin_token, read_admin_token};
pub use error::SupervisorError;
pub use events_api::{EventsDoc, EventsServer};
pub use probes::{BotHealth, BotProbe, Probes, SupervisorProbe};
pub use runs::RunOwner;
pub use serve::serve;
pub use unit::{RunState, UnitError, UnitStatus};

use crate::bot::Host;
use crate::config::{self, Config};
use crate::metrics::SupervisorMetrics;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::Mutex;
use unit::Unit;

type Result<T, E = SupervisorError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    host: Host,
    metrics: SupervisorMetrics,
    /// The admin token (never logged).
    admin_token: String,
    state: Mutex<State>,
    reloading: Mutex<()>,
    /// For the supervisor's probe.
    started: std::time::Instant,
}

struct State {
    config: Config,
    /// In the file's order.
    units: Vec<(String, Unit)>,
}

impl Supervisor {
    /// Opens the store and starts every enabled bot. Bots that fail to start
    /// are marked failed and retried; they never fail this call.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        let bin = std::env::current_exe().unwrap_or_else(|_| "alice".into());
        Self::start_with_bin(config, bin).await
    }

    /// As [`Supervisor::start`], with the `alice` binary that skills call
    /// (tests run the supervisor inside a test binary).
    pub async fn start_with_bin(
        config: Config,
        runtime_bin: std::path::PathBuf,
    ) -> std::io::Result<Self> {
        // Agents must never hold what alice's parent left open.
        crate::fds::inherited_fds_close_on_exec();
        let data_dir = config.supervisor.data_dir.clone();
        let store = Store::open(&data_dir).map_err(|e| {
            // sled locks its files: the usual cause is a second alice.
            let hint = if e.to_string().contains("could not acquire lock") {
                "it is in use by another alice process (one data_dir per process)".to_string()
            } else {
                e.to_string()
            };
            std::io::Error::other(format!(
                "cannot open the database in {}: {hint}",
                data_dir.display()
            ))
        })?;
        let admin_token = admin_token(&config.supervisor)?;
        // The one place the supervisor touches the Runtime API: it lends the
        // bots their server, so the bot never depends on the API built on it.
        let mut host = Host::new(store, data_dir, crate::runtime_api::serve);
        host.runtime_bin = runtime_bin;
        host.run_slots = Arc::new(tokio::sync::Semaphore::new(
            config.supervisor.max_concurrent_runs,
        ));
        let metrics = SupervisorMetrics::new(host.store.metrics());
        let units = config
            .bots
            .iter()
            .filter(|bot| config.supervisor.runs(&bot.id))
            .map(|bot| {
                let unit = Unit::spawn(Arc::new(bot.clone()), host.clone(), metrics.clone());
                (bot.id.clone(), unit)
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                host,
                metrics,
                admin_token,
                state: Mutex::new(State { config, units }),
                reloading: Mutex::new(()),
                started: std::time::Instant::now(),
            }),
        })
    }

    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    pub async fn config(&self) -> Config {
        self.inner.state.lock().await.config.clone()
    }

    /// Every bot's status, in file order.
    pub async fn list(&self) -> Vec<UnitStatus> {
        let state = self.inner.state.lock().await;
        state.units.iter().map(|(_, u)| u.status()).collect()
    }

    /// The supervisor's series and every running bot's (each labelled
    /// `bot="<id>"`), in the Prometheus text format.
    pub async fn metrics(&self) -> String {
        let bots = self
            .list()
            .await
            .into_iter()
            .filter_map(|status| status.bot.map(|bot| bot.metrics().encode()));
        self.inner.metrics.encode_with(bots)
    }

    /// The bots meant to run that do not (yet): starting or failed.
    pub async fn not_started(&self) -> Vec<String> {
        self.list()
            .await
            .into_iter()
            .filter(|s| matches!(s.state, RunState::Starting | RunState::Failed))
            .map(|s| s.config.id.clone())
            .collect()
    }

    /// Every inbound message the bots accept from now on (new ones only,
    /// queued durably), with the bot's id.
    pub fn inbound_feed(
        &self,
    ) -> tokio::sync::broadcast::Receiver<(String, crate::connector::inbound::InboundMessage)> {
        self.inner.host.inbound_feed.subscribe()
    }

    pub async fn status(&self, id: &str) -> Result<UnitStatus> {
        Ok(find(&*self.inner.state.lock().await, id)?.status())
    }

    pub async fn start_bot(&self, id: &str) -> Result<UnitStatus> {
        self.command(id, |u| Box::pin(u.start())).await
    }

    pub async fn stop_bot(&self, id: &str) -> Result<UnitStatus> {
        self.command(id, |u| Box::pin(u.stop())).await
    }

    pub async fn restart_bot(&self, id: &str) -> Result<UnitStatus> {
        self.command(id, |u| Box::pin(u.restart())).await
    }

    async fn command(
        &self,
        id: &str,
        run: impl FnOnce(
            &Unit,
        ) -> futures_util::future::BoxFuture<
            '_,
            std::result::Result<UnitStatus, UnitError>,
        >,
    ) -> Result<UnitStatus> {
        // Only this bot's unit is touched, and the lock is not held while it
        // works: listing and other bots' commands go on meanwhile. The status
        // is the one the command left (a later command may already be
        // changing it).
        let unit = find(&*self.inner.state.lock().await, id)?.clone();
        run(&unit)
            .await
            .map_err(|source| SupervisorError::Unavailable {
                id: id.to_string(),
                source,
            })
    }

    /// The local connector's store of a bot's conversations.
    pub async fn local_conversations(&self, id: &str) -> Result<crate::connector::LocalConnector> {
        let config = self.status(id).await?.config;
        if config.connector.kind != crate::config::ConnectorKind::Local {
            return Err(SupervisorError::NotLocal(id.to_string()));
        }
        Ok(self.inner.host.local_conversations(id)?)
    }

    /// A user's message on a local conversation: recorded, then answered by
    /// the bot's pipeline (now, or after the bot starts if it is stopped).
    pub async fn local_say(
        &self,
        id: &str,
        message: crate::connector::inbound::InboundMessage,
    ) -> Result<crate::connector::StoredMessage> {
        let status = self.status(id).await?;
        let local = match status.bot.as_ref().and_then(|b| b.conversations().cloned()) {
            Some(local) => local,
            None => self.local_conversations(id).await?,
        };
        let stored = local
            .record(crate::connector::local::inbound_record(&message), None)
            .await?;
        // The bot may have restarted while the record was flushed: hand the
        // message to the pipeline running now, not to a stopped one.
        let status = self.status(id).await?;
        match &status.bot {
            Some(bot) => bot.say(message).await?,
            None => {
                let platform = crate::config::ConnectorKind::Local.platform();
                crate::chat::Inbox::open(self.inner.host.store.bot(id))?
                    .push(platform, message)
                    .await?;
                // Started meanwhile? Then its pipeline takes it now.
                if let Some(bot) = self.status(id).await?.bot {
                    bot.resume()?;
                }
            }
        }
        Ok(stored)
    }

    /// A running bot (404 unknown, 409 not running).
    pub async fn running(&self, id: &str) -> Result<crate::bot::BotHandle> {
        self.status(id)
            .await?
            .bot
            .ok_or_else(|| SupervisorError::NotRunning(id.to_string()))
    }

    /// A running bot's main token and its Runtime API base URL (409 when it
    /// is not running).
    pub async fn token(&self, id: &str) -> Result<(String, String)> {
        let status = self.status(id).await?;
        let bot = status
            .bot
            .ok_or_else(|| SupervisorError::NotRunning(id.to_string()))?;
        Ok((
            bot.token().to_string(),
            status.config.listen_addr().base_url(),
        ))
    }

    /// What a running bot receives platform callbacks with, picked from its
    /// handle (503 when the bot is not running: the platform delivers again
    /// later). The events listener's one way into a bot.
    pub async fn receiver<T>(
        &self,
        id: &str,
        pick: impl FnOnce(&crate::bot::BotHandle) -> Option<&T>,
    ) -> Result<T>
    where
        T: Clone,
    {
        self.status(id)
            .await?
            .bot
            .as_ref()
            .and_then(|bot| pick(bot).cloned())
            .ok_or_else(|| SupervisorError::Offline(id.to_string()))
    }

    /// The bot's archive (`alice bots export` while alice runs). A running
    /// bot is stopped for the copy and started again after it: its trees
    /// are then one consistent state, not a mix of before and after a write.
    pub async fn export(&self, id: &str, with_workspace: bool) -> Result<Vec<u8>> {
        let was_running = self.status(id).await?.state == RunState::Running;
        if was_running {
            self.stop_bot(id).await?;
        }
        let (store, data_dir, bot) = (
            self.inner.host.store.clone(),
            self.inner.host.data_dir.clone(),
            id.to_string(),
        );
        let archive = tokio::task::spawn_blocking(move || {
            crate::archive::export(&store, &data_dir, &bot, with_workspace)
        })
        .await
        .map_err(crate::store::StoreError::from);
        if was_running {
            self.start_bot(id).await?;
        }
        Ok(archive??)
    }

    /// Ids of inbound messages the bot has not answered yet, oldest first.
    pub async fn unanswered(&self, id: &str) -> Result<Vec<String>> {
        self.status(id).await?;
        let inbox = crate::chat::Inbox::open(self.inner.host.store.bot(id))?;
        Ok(inbox
            .unanswered()?
            .into_iter()
            .map(|p| p.message.message_id)
            .collect())
    }

    /// Re-reads the config file: starts new bots, stops removed ones,
    /// restarts changed ones and leaves the others untouched. A bad file
    /// changes nothing.
    pub async fn reload(&self) -> Result<ReloadReport> {
        // One reload at a time; the state lock itself is only held for the
        // quick bookkeeping, never while bots drain, so the admin API, the
        // webhook listener and `alice chat` keep answering meanwhile.
        let _one_at_a_time = self.inner.reloading.lock().await;
        // The file is read outside the state lock (it may be slow).
        let source = self.inner.state.lock().await.config.source.clone();
        let mut new = config::load(&source)?;
        // Placement (`--shard`, `--only`) is the process's for its lifetime:
        // moving bots between hosts is a restart of both supervisors.
        {
            let current = &self.inner.state.lock().await.config.supervisor;
            new.supervisor.shard = current.shard;
            new.supervisor.only = current.only.clone();
        }
        let old = self.inner.state.lock().await.units.clone();
        if new.supervisor != self.config().await.supervisor {
            tracing::warn!("changes to [supervisor] take effect at the next start of alice");
        }
        let mut report = ReloadReport::default();
        let mut removed = Vec::new();
        let mut changed = Vec::new();
        for (id, unit) in &old {
            match new.bot(id) {
                None => {
                    removed.push(unit.clone());
                    report.removed.push(id.clone());
                }
                Some(cfg) if *cfg != *unit.status().config => {
                    changed.push((unit.clone(), Arc::new(cfg.clone())));
                    report.restarted.push(id.clone());
                }
                Some(_) => report.unchanged.push(id.clone()),
            }
        }
        // Stop removed and changed bots first (all at once), so that
        // addresses they free can be taken by others in the same reload.
        futures_util::future::join(
            futures_util::future::join_all(removed.iter().map(|u| u.shutdown())),
            futures_util::future::join_all(changed.iter().map(|(u, _)| u.stop())),
        )
        .await;
        let replaced =
            futures_util::future::join_all(changed.iter().map(|(u, cfg)| u.replace(cfg.clone())))
                .await;
        for ((_, cfg), outcome) in changed.iter().zip(replaced) {
            if let Err(reason) = outcome {
                report.restarted.retain(|id| *id != cfg.id);
                report.failed.push(format!("{}: {reason}", cfg.id));
            }
        }

        let mut state = self.inner.state.lock().await;
        let mut units = Vec::with_capacity(new.bots.len());
        for bot in new.bots.iter().filter(|b| new.supervisor.runs(&b.id)) {
            match old.iter().find(|(id, _)| *id == bot.id) {
                Some((id, unit)) => units.push((id.clone(), unit.clone())),
                None => {
                    report.added.push(bot.id.clone());
                    let unit = Unit::spawn(
                        Arc::new(bot.clone()),
                        self.inner.host.clone(),
                        self.inner.metrics.clone(),
                    );
                    units.push((bot.id.clone(), unit));
                }
            }
        }
        state.units = units;
        state.config = new;
        tracing::info!(added = ?report.added, removed = ?report.removed, restarted = ?report.restarted, "config reloaded");
        Ok(report)
    }

    /// Stops every bot (each within its own shutdown timeout, all at once)
    /// and flushes the store.
    pub async fn shutdown(&self) {
        // A reload under way finishes first, so no bot starts after this.
        let _no_reload = self.inner.reloading.lock().await;
        let units: Vec<Unit> = {
            let state = self.inner.state.lock().await;
            state.units.iter().map(|(_, u)| u.clone()).collect()
        };
        futures_util::future::join_all(units.iter().map(|u| u.shutdown())).await;
        if let Err(e) = self.inner.host.store.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}

fn find<'a>(state: &'a State, id: &str) -> Result<&'a Unit> {
    state
        .units
        .iter()
        .find(|(uid, _)| uid == id)
        .map(|(_, u)| u)
        .ok_or_else(|| match state.config.bot(id) {
            Some(_) => SupervisorError::OtherShard {
                id: id.to_string(),
                owner: state.config.supervisor.owner_of(id),
            },
            None => SupervisorError::UnknownBot(id.to_string()),
        })
}

#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    /// Restarted bots that failed to start again (`id: reason`); they are
    /// retried with backoff like any failed bot.
    pub failed: Vec<String>,
}
