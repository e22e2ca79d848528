//! The state every handler of one bot receives. Cloning is cheap.

use crate::agent::{AgentRunner, AgentSetup, RunStore};
use crate::automation::{Actions, Automation};
use crate::chat::ChatPipeline;
use crate::config::{BotConfig, ConnectorKind};
use crate::connector::{ConnectorHealth, FeishuConnector, LocalConnector, Messenger};
use crate::error::{Code, ErrorCode};
use crate::goal::Goals;
use crate::goal_engine::{EngineSetup, GoalEngine};
use crate::http::{generate_token, tokens_equal, Authenticator, Principal};
use crate::metrics::BotMetrics;
use crate::store::StoreError;
use crate::store::{BotStore, Store, Tree};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the supervisor lends to every bot.
#[derive(Clone)]
pub struct Host {
    pub store: Store,
    pub data_dir: PathBuf,
    /// The `alice` binary skills call (`ALICE_RUNTIME_BIN`).
    pub runtime_bin: PathBuf,
    /// Every inbound message the bots accept (watchers subscribe).
    pub inbound_feed: crate::connector::inbound::InboundFeed,
    /// Agent runs in flight across every bot (`supervisor.max_concurrent_runs`).
    pub run_slots: Arc<tokio::sync::Semaphore>,
    /// Starts a bot's Runtime API server (`runtime_api::serve`).
    pub serve: super::Serve,
    /// Bots starting at once (see [`start_slots`]).
    pub start_slots: Arc<tokio::sync::Semaphore>,
}

/// How many bots open and start at once. A start is mostly CPU and file
/// system work (sled trees, the bundled skills), so a thousand at once only
/// contend (sled retries its catalogue update, the kernel its directory
/// locks) and starve the bots already serving; a few per core keep the
/// cores busy.
pub fn start_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

impl Host {
    pub fn new(store: Store, data_dir: PathBuf, serve: super::Serve) -> Self {
        Self {
            serve,
            store,
            data_dir,
            runtime_bin: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("alice")),
            inbound_feed: Default::default(),
            run_slots: Arc::new(tokio::sync::Semaphore::new(16)),
            start_slots: Arc::new(tokio::sync::Semaphore::new(start_slots())),
        }
    }

    /// A bot's run records, whether the bot runs or not.
    pub fn run_store(&self, id: &str) -> Result<RunStore, StoreError> {
        RunStore::open(&self.store.bot(id))
    }

    /// `<data_dir>/<id>`: everything a bot writes to disk lives below.
    pub fn bot_folder(&self, id: &str) -> PathBuf {
        self.data_dir.join(id)
    }

    /// The local connector's view of a bot's conversations, whether the bot
    /// runs or not.
    pub fn local_conversations(&self, id: &str) -> Result<LocalConnector, StoreError> {
        LocalConnector::open(self.store.bot(id), self.bot_folder(id))
    }
}

#[derive(Clone)]
pub struct BotState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<BotConfig>,
    store: BotStore,
    folder: PathBuf,
    token: String,
    messenger: Arc<dyn Messenger>,
    local: Option<LocalConnector>,
    goals: Goals,
    agent: AgentRunner,
    chat: ChatPipeline,
    automation: Automation,
    tools: crate::tools::Tools,
    goal_engine: GoalEngine,
    metrics: BotMetrics,
    /// Whether messages can really arrive (the probes read it).
    health: ConnectorHealth,
    /// A Feishu bot's connector, shared by its sending and its inbound side
    /// (one tenant token).
    feishu: Option<FeishuConnector>,
    /// A OneBot bot's socket, shared by its connector and inbound side.
    onebot: Option<crate::connector::onebot::Link>,
    /// When this bot was opened (a restart opens it again).
    started: std::time::Instant,
}

/// Why a bot could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the bot's folder: {0}")]
    Folder(#[from] std::io::Error),
    #[error(transparent)]
    Connector(#[from] crate::connector::ConnectorError),
    #[error(transparent)]
    Skills(#[from] crate::skills::SkillError),
    #[error(transparent)]
    Automation(#[from] crate::automation::TaskError),
    #[error(transparent)]
    Goals(#[from] crate::goal::GoalError),
}

/// `permissions.<key>` is off for this bot.
#[derive(Debug, thiserror::Error)]
#[error("permissions.{key} is disabled for bot `{bot}`")]
pub struct PermissionDenied {
    pub key: &'static str,
    pub bot: String,
}

impl ErrorCode for PermissionDenied {
    fn code(&self) -> Code {
        Code::PermissionDisabled
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Message,
    Automation,
    Goal,
}

const TOKEN_KEY: &str = "runtime_http_token";

impl BotState {
    /// Opens the bot's trees, settles its token (from config, or generated
    /// once and kept in `<id>/meta`) and builds its connector and agent.
    pub async fn open(config: Arc<BotConfig>, host: &Host) -> Result<Self, OpenError> {
        let store = host.store.bot(&config.id);
        let token = if config.runtime_http_token.is_empty() {
            let meta = store.tree::<String>(Tree::Meta)?;
            let token = meta.get_or_insert(TOKEN_KEY, &generate_token())?;
            store.durable().await?;
            token
        } else {
            config.runtime_http_token.clone()
        };
        let folder = host.bot_folder(&config.id);
        std::fs::create_dir_all(&folder)?;
        let metrics = BotMetrics::new(&config.id, connector_name(config.connector.kind));
        let health = match (config.connector.kind, config.connector.events) {
            (ConnectorKind::Local, _) => ConnectorHealth::local(),
            (ConnectorKind::Telegram, crate::config::EventsTransport::Webhook) => {
                ConnectorHealth::telegram_webhook(std::time::Duration::from_secs(
                    config.connector.webhook_idle_after_secs,
                ))
            }
            (ConnectorKind::Telegram, _) => ConnectorHealth::polling(),
            (ConnectorKind::Onebot, _) => ConnectorHealth::onebot(),
            (ConnectorKind::Feishu, crate::config::EventsTransport::LongConnection) => {
                ConnectorHealth::long_connection()
            }
            (ConnectorKind::Feishu, _) => ConnectorHealth::webhook(std::time::Duration::from_secs(
                config.connector.webhook_idle_after_secs,
            )),
        };
        let feishu = match config.connector.kind {
            ConnectorKind::Feishu => Some(FeishuConnector::new(&config.connector)?),
            _ => None,
        };
        let onebot = (config.connector.kind == ConnectorKind::Onebot).then(|| {
            crate::connector::onebot::Link::new(
                std::time::Duration::from_secs(config.connector.request_timeout_secs),
                health.clone(),
                metrics.clone(),
            )
        });
        let (messenger, local): (Arc<dyn Messenger>, Option<LocalConnector>) =
            match config.connector.kind {
                ConnectorKind::Local => {
                    let local = LocalConnector::open(store.clone(), folder.clone())?
                        .with_retention(config.connector.keep_messages);
                    (Arc::new(local.clone()), Some(local))
                }
                ConnectorKind::Feishu => (
                    Arc::new(feishu.clone().ok_or_else(|| {
                        crate::connector::ConnectorError::Internal("no Feishu connector".into())
                    })?),
                    None,
                ),
                ConnectorKind::Telegram => (
                    Arc::new(crate::connector::telegram::TelegramConnector::new(
                        &config.connector,
                    )?),
                    None,
                ),
                ConnectorKind::Onebot => (
                    Arc::new(crate::connector::onebot::OneBotConnector::new(
                        onebot.clone().ok_or_else(|| {
                            crate::connector::ConnectorError::Internal("no OneBot link".into())
                        })?,
                    )),
                    None,
                ),
            };
        let messenger: Arc<dyn Messenger> = Arc::new(super::counted::Counted {
            inner: messenger,
            metrics: metrics.clone(),
        });
        // The local connector is usable as soon as the bot is, and so is a
        // webhook Feishu bot (no connection to watch); a long connection
        // says so itself while its session answers pings.
        let watched = config.connector.kind != ConnectorKind::Local
            && config.connector.events != crate::config::EventsTransport::Webhook;
        metrics.connector_up(!watched);
        let workspace = config
            .agent
            .workspace
            .clone()
            .unwrap_or_else(|| folder.join("workspace"));
        let goals = Goals::open_with(&store, config.goal.clone())?;
        let agent = AgentRunner::new(AgentSetup {
            bot_id: config.id.clone(),
            config: config.agent.clone(),
            skills_dir: config
                .agent
                .skills_dir
                .clone()
                .unwrap_or_else(|| workspace.join("skills")),
            workspace,
            base_url: config.listen_addr().base_url(),
            bin: host.runtime_bin.clone(),
            store: store.clone(),
            goals: goals.clone(),
            host_slots: host.run_slots.clone(),
            shutdown_timeout: std::time::Duration::from_secs(
                config.runtime_api_shutdown_timeout_secs,
            ),
            metrics: metrics.clone(),
        })?;
        let intake = crate::chat::Intake {
            bot_id: config.id.clone(),
            platform: config.connector.kind.platform(),
            feed: host.inbound_feed.clone(),
        };
        let chat = ChatPipeline::open(
            intake,
            config.chat.clone(),
            &store,
            messenger.clone(),
            Arc::new(agent.clone()),
            config.agent.max_concurrent_runs,
            metrics.clone(),
        )?;
        let automation = Automation::open(
            &store,
            &config,
            Actions::new(messenger.clone(), agent.clone(), metrics.clone()),
        )?;
        let tools = crate::tools::Tools::new(
            config.tools.clone(),
            config.permissions.clone(),
            crate::tools::Services {
                messenger: messenger.clone(),
                automation: automation.clone(),
                goals: goals.clone(),
                agent: agent.clone(),
            },
        );
        let goal_engine = GoalEngine::new(EngineSetup {
            bot_id: config.id.clone(),
            enabled: config.goal.enabled && config.permissions.runtime_goal,
            goals: goals.clone(),
            agent: agent.clone(),
            turns: chat.turns().clone(),
            store: store.clone(),
            messenger: messenger.clone(),
            history_messages: config.chat.history_messages,
            no_reply_token: config.chat.no_reply_token.clone(),
            timezone: config.timezone,
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                tools,
                automation,
                goal_engine,
                config,
                store,
                folder,
                token,
                messenger,
                local,
                goals,
                agent,
                chat,
                metrics,
                health,
                feishu,
                onebot,
                started: std::time::Instant::now(),
            }),
        })
    }

    /// The bot's own metrics (`GET /metrics`).
    pub fn metrics(&self) -> &BotMetrics {
        &self.inner.metrics
    }

    /// Whether the connector can really receive (see `connector::health`).
    pub fn connector_health(&self) -> &ConnectorHealth {
        &self.inner.health
    }

    /// A Feishu bot's connector (Feishu bots only).
    pub fn feishu(&self) -> Option<&FeishuConnector> {
        self.inner.feishu.as_ref()
    }

    /// A OneBot bot's socket (OneBot bots only).
    pub fn onebot(&self) -> Option<&crate::connector::onebot::Link> {
        self.inner.onebot.as_ref()
    }

    /// Time since this bot was opened.
    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    pub fn config(&self) -> &BotConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &BotStore {
        &self.inner.store
    }

    /// `<data_dir>/<id>`.
    pub fn folder(&self) -> &Path {
        &self.inner.folder
    }

    /// The bot's main token (for the admin API's `token` command only).
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    pub fn messenger(&self) -> &Arc<dyn Messenger> {
        &self.inner.messenger
    }

    /// The embedded connector, when this bot uses it.
    pub fn local(&self) -> Option<&LocalConnector> {
        self.inner.local.as_ref()
    }

    pub fn agent(&self) -> &AgentRunner {
        &self.inner.agent
    }

    /// The reply pipeline that answers inbound messages.
    pub fn chat(&self) -> &ChatPipeline {
        &self.inner.chat
    }

    pub fn goals(&self) -> &Goals {
        &self.inner.goals
    }

    /// The engine that iterates the conversations' goals.
    pub fn goal_engine(&self) -> &GoalEngine {
        &self.inner.goal_engine
    }

    /// The bot's automation tasks and scheduler.
    pub fn automation(&self) -> &Automation {
        &self.inner.automation
    }

    /// The bot's tools (the tool API).
    pub fn tools(&self) -> &crate::tools::Tools {
        &self.inner.tools
    }

    /// Fails runs a crash left `running` and writes the bundled skills into
    /// the workspace; run once at start.
    pub async fn prepare(&self) -> Result<(), OpenError> {
        let failed = self.agent().store().recover().await?;
        if failed > 0 {
            tracing::warn!(bot = %self.id(), runs = failed, "runs left running by a previous process marked failed");
        }
        let written = self.store().tree::<String>(Tree::SkillFiles)?;
        let workspace = self.agent().workspace().to_path_buf();
        let skills = self.agent().skills_dir().to_path_buf();
        // File system work: off the async workers.
        let written = tokio::task::spawn_blocking(move || {
            crate::skills::install(&workspace, &skills, &written)
        })
        .await
        .map_err(StoreError::from)??;
        if written > 0 {
            self.store().durable().await?;
        }
        Ok(())
    }

    /// 403 unless `permissions.<permission>` is on for this bot.
    pub fn require(&self, permission: Permission) -> Result<(), PermissionDenied> {
        let p = &self.config().permissions;
        let (on, key) = match permission {
            Permission::Message => (p.runtime_message, "runtime_message"),
            Permission::Automation => (p.runtime_automation, "runtime_automation"),
            Permission::Goal => (p.runtime_goal, "runtime_goal"),
        };
        if on {
            Ok(())
        } else {
            Err(PermissionDenied {
                key,
                bot: self.id().to_string(),
            })
        }
    }

    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        Arc::new(BotAuthenticator(self.clone()))
    }
}

/// The connector's name as a metric label.
fn connector_name(kind: ConnectorKind) -> &'static str {
    match kind {
        ConnectorKind::Local => "local",
        ConnectorKind::Feishu => "feishu",
        ConnectorKind::Telegram => "telegram",
        ConnectorKind::Onebot => "onebot",
    }
}

struct BotAuthenticator(BotState);

impl Authenticator for BotAuthenticator {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        if tokens_equal(token, self.0.token()) {
            return Some(Principal::full("main"));
        }
        // A live run's token: limited to its conversation, gone with the run.
        let grant = self.0.agent().grant(token)?;
        Some(Principal::scoped(
            format!("run:{}", grant.run_id),
            grant.scope,
        ))
    }
}
