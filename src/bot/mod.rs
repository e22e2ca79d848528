//! One bot as a unit the supervisor starts and stops: its state (config,
//! store, token) and its own Runtime API server, started by the function
//! the host lends ([`Host::serve`]: this module never depends on the API
//! built on it). Everything a bot owns is started in [`Bot::start`] and
//! stopped in [`Bot::stop`]; the supervisor reaches a running bot only
//! through its [`BotHandle`].

mod counted;
mod events;
mod handle;
mod lock;
mod run_events;
mod server;
mod state;

pub use events::inbound_sink;
pub use handle::BotHandle;
pub use lock::{FolderLock, LockError};
pub use run_events::RunEvents;
pub use server::{Serve, StartError};
pub use state::{start_slots, BotState, Host, Permission};

use crate::config::BotConfig;
use crate::connector::feishu_events::{FeishuInbound, LongConnection};
use crate::http::server::RunningServer;
use std::net::TcpListener;
use std::sync::Arc;

pub struct Bot {
    state: BotState,
    /// Taken by [`Bot::stop`].
    server: Option<RunningServer>,
    /// The Feishu long connection, for bots that receive events that way.
    events: Option<LongConnection>,
    /// The Feishu event receiver (Feishu bots only), built once the bot's
    /// sink exists; the webhook listener reaches it through [`BotHandle`].
    feishu: Option<FeishuInbound>,
    /// Telegram's long polling (stopped first, like the long connection).
    polling: Option<crate::connector::telegram::Polling>,
    /// Telegram's webhook receiver; the events listener reaches it through
    /// [`BotHandle`].
    telegram: Option<crate::connector::telegram::TelegramWebhook>,
    /// OneBot's inbound side; the events listener serves reverse sockets
    /// with it through [`BotHandle`].
    onebot: Option<crate::connector::onebot::OneBotInbound>,
    /// OneBot's forward-mode dialler (stopped first).
    forward: Option<crate::connector::onebot::Forward>,
}

impl Bot {
    pub async fn start(config: Arc<BotConfig>, host: &Host) -> Result<Self, StartError> {
        Self::start_on(config, host, None).await
    }

    /// As [`Bot::start`], its server on `kept` (what [`Bot::stop_keeping_listener`]
    /// returned) when that is still the bot's address.
    pub async fn start_on(
        config: Arc<BotConfig>,
        host: &Host,
        kept: Option<TcpListener>,
    ) -> Result<Self, StartError> {
        let state = BotState::open(config, host).await?;
        state.prepare().await?;
        let server = (host.serve)(state.clone(), kept).await?;
        match state.chat().resume() {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(bot = %state.id(), queued = n, "answering messages queued while stopped")
            }
            Err(e) => tracing::error!(bot = %state.id(), error = %e, "cannot read the inbox"),
        }
        // After the server, so a bot whose port is taken starts nothing. A
        // task created in between is queued by its own request either way.
        // A failed start leaves nothing running behind it (no `Bot` exists
        // yet whose drop would clean up).
        let abort = |state: &BotState| {
            state.chat().stop();
            state.agent().cancel_all();
        };
        if let Err(e) = state.automation().start().await {
            abort(&state);
            server.stop().await;
            return Err(StartError::State(e.into()));
        }
        if let Err(e) = state.goal_engine().start().await {
            abort(&state);
            state.automation().stop().await;
            server.stop().await;
            return Err(StartError::State(e.into()));
        }
        let events = match events::start(&state) {
            Ok(events) => events,
            Err(e) => {
                abort(&state);
                state.goal_engine().close();
                state.automation().stop().await;
                server.stop().await;
                return Err(StartError::State(e));
            }
        };
        Ok(Self {
            state,
            server: Some(server),
            events: events.connection,
            feishu: events.receiver,
            polling: events.polling,
            telegram: events.telegram,
            onebot: events.onebot,
            forward: events.forward,
        })
    }

    /// What the supervisor's handlers may reach of this bot.
    pub fn handle(&self) -> BotHandle {
        BotHandle {
            token: self.state.token().to_string(),
            runs: self.state.agent().clone(),
            chat: self.state.chat().clone(),
            local: self.state.local().cloned(),
            feishu: self.feishu.clone(),
            telegram: self.telegram.clone(),
            onebot: self.onebot.clone(),
            metrics: self.state.metrics().clone(),
            connector: self.state.connector_health().clone(),
        }
    }

    /// A bot whose server died: everything it runs goes with it (see its
    /// `Drop`); resolves once its chat workers are gone, so a relaunch
    /// never meets them.
    pub async fn abandon(self) {
        let chat = self.state.chat().clone();
        drop(self);
        chat.stopped().await;
    }

    /// Graceful: inbound events stop first, then the server drains within
    /// the bot's own timeout while the scheduler lets its runs finish within
    /// the same timeout (then interrupts them); then live agent runs are
    /// cancelled (their records say so).
    pub async fn stop(self) {
        self.stop_server(false).await;
    }

    /// As [`Bot::stop`], for a restart: the listening socket stays open, so
    /// connections made meanwhile wait for the next server instead of being
    /// refused; hand it to [`Bot::start_on`].
    pub async fn stop_keeping_listener(self) -> Option<TcpListener> {
        self.stop_server(true).await
    }

    async fn stop_server(mut self, keep_listener: bool) -> Option<TcpListener> {
        if let Some(events) = self.events.take() {
            events.stop().await;
        }
        if let Some(polling) = self.polling.take() {
            polling.stop().await;
        }
        if let Some(forward) = self.forward.take() {
            forward.stop().await;
        }
        if let Some(onebot) = self.onebot.take() {
            onebot.stop();
        }
        if let Some(telegram) = self.telegram.take() {
            telegram.stop();
        }
        if let Some(inbound) = self.feishu.take() {
            inbound.drain().await;
        }
        self.state.chat().stop();
        let agent = self.state.agent().clone();
        let automation = self.state.automation().clone();
        let chat = self.state.chat().clone();
        let tools = self.state.tools().clone();
        let grace =
            std::time::Duration::from_secs(self.state.config().runtime_api_shutdown_timeout_secs);
        let goals = self.state.goal_engine().clone();
        // No new goal iteration; those running get the grace period too.
        goals.close();
        let bound = grace + std::time::Duration::from_secs(5);
        // Automation first: its `run_llm` runs are agent runs, and they get
        // the grace period before the agent cancels what is left (so do
        // tool invocations answered by callback).
        let runs = async move {
            automation.stop().await;
            tools.stop(grace).await;
            agent.stop().await;
            // Iterations the agent cut record it (`interrupted`).
            goals.stopped(bound).await;
            chat.stopped().await;
        };
        let server = async move {
            match self.server.take() {
                Some(server) if keep_listener => server.stop_keeping_listener().await,
                Some(server) => {
                    server.stop().await;
                    None
                }
                None => None,
            }
        };
        tokio::join!(server, runs).0
    }

    /// Resolves if the bot's server ends without being asked to.
    pub async fn exited(&mut self) -> String {
        match self.server.as_mut() {
            Some(server) => server.exited().await,
            None => std::future::pending().await,
        }
    }
}

impl Drop for Bot {
    /// A bot dropped without [`Bot::stop`] (its server died) takes all its
    /// work with it, so the relaunch never runs beside leftovers: runs (their
    /// tokens would not work on the next server anyway), the scheduler, the
    /// chat workers (the inbox keeps what they had not answered) and the
    /// Feishu long connection.
    fn drop(&mut self) {
        // Chat first: its workers must see the stop before their runs end.
        self.state.chat().stop();
        self.state.goal_engine().close();
        self.state.agent().cancel_all();
        self.state.automation().abandon();
        if let Some(events) = &self.events {
            events.abandon();
        }
        if let Some(telegram) = &self.telegram {
            telegram.stop();
        }
        if let Some(onebot) = &self.onebot {
            onebot.stop();
        }
    }
}
