//! `GET /api/probes`: one line per bot — its state, a one-word health, its
//! connector's state, its pending inbox, its last error — and the
//! supervisor's own, for `alice bots list` and for monitoring.

use super::{RunState, Supervisor, UnitStatus};
use crate::config::ConnectorKind;
use crate::connector::ConnectorState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A bot's health in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BotHealth {
    /// Running, and its connector can receive.
    Ok,
    /// Running, a webhook bot that heard nothing from Feishu in its window.
    Idle,
    /// Running, but its connector is not connected (connecting, dead).
    Degraded,
    /// Enabled but not running (starting, failed).
    Down,
    /// Stopped on purpose (or disabled).
    Stopped,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BotProbe {
    pub id: String,
    pub state: RunState,
    pub health: BotHealth,
    pub connector: ConnectorKind,
    /// `null` while the bot does not run.
    pub connector_state: Option<ConnectorState>,
    /// Inbound messages queued and not answered (also while stopped);
    /// `null` if the inbox cannot be read.
    pub inbox_pending: Option<usize>,
    /// The bot's last start failure, else its connector's last error while
    /// it is not connected.
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisorProbe {
    pub version: String,
    pub uptime_seconds: u64,
    /// Bots in the config, and how many of them run.
    pub bots: usize,
    pub running: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Probes {
    /// Every bot that should run is `ok` or `idle`.
    pub ok: bool,
    pub timestamp: DateTime<Utc>,
    pub supervisor: SupervisorProbe,
    pub bots: Vec<BotProbe>,
}

impl Supervisor {
    /// The supervisor's probe (reads each bot's inbox: a short scan).
    pub async fn probes(&self) -> Probes {
        let units = self.list().await;
        let store = self.inner.host.store.clone();
        // Inbox reads are sled work: off the async workers.
        let pending = tokio::task::spawn_blocking(move || {
            let ids: Vec<String> = units.iter().map(|u| u.config.id.clone()).collect();
            let counts = ids
                .iter()
                .map(|id| {
                    crate::chat::Inbox::open(store.bot(id))
                        .and_then(|inbox| inbox.probe())
                        .map(|p| p.pending)
                        .ok()
                })
                .collect::<Vec<_>>();
            (units, counts)
        })
        .await;
        let (units, counts) = match pending {
            Ok(done) => done,
            Err(_) => (self.list().await, Vec::new()),
        };
        let bots: Vec<BotProbe> = units
            .into_iter()
            .enumerate()
            .map(|(i, unit)| bot_probe(unit, counts.get(i).copied().flatten()))
            .collect();
        let ok = bots.iter().all(|b| {
            matches!(
                b.health,
                BotHealth::Ok | BotHealth::Idle | BotHealth::Stopped
            )
        });
        Probes {
            ok,
            timestamp: Utc::now(),
            supervisor: SupervisorProbe {
                version: env!("CARGO_PKG_VERSION").to_string(),
                uptime_seconds: self.inner.started.elapsed().as_secs(),
                bots: bots.len(),
                running: bots.iter().filter(|b| b.state == RunState::Running).count(),
            },
            bots,
        }
    }
}

fn bot_probe(unit: UnitStatus, inbox_pending: Option<usize>) -> BotProbe {
    let connector = unit.bot.as_ref().map(|bot| bot.connector_health().probe());
    let connector_state = connector.as_ref().map(|c| c.state);
    let health = match (unit.state, connector_state) {
        (RunState::Running, Some(ConnectorState::Connected)) => BotHealth::Ok,
        (RunState::Running, Some(ConnectorState::Idle)) => BotHealth::Idle,
        (RunState::Running, _) => BotHealth::Degraded,
        (RunState::Stopped, _) => BotHealth::Stopped,
        (RunState::Starting | RunState::Failed, _) => BotHealth::Down,
    };
    let connector_error = connector
        .filter(|c| c.state != ConnectorState::Connected)
        .and_then(|c| c.last_error);
    BotProbe {
        id: unit.config.id.clone(),
        state: unit.state,
        health,
        connector: unit.config.connector.kind,
        connector_state,
        inbox_pending,
        last_error: unit.last_error.or(connector_error),
    }
}
