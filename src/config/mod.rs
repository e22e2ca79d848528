//! Typed configuration, parsed once from `bots.toml` and the `ALICE_*`
//! environment. Nothing else in the crate reads raw configuration values.

mod goal;
mod listen;
mod load;
#[cfg(test)]
mod load_props;
mod redact;
mod shard;
mod tools;

pub use goal::{format_span, parse_span, GoalConfig, Span, DEFAULT_DEADLINE, MAX_DEADLINE};
pub use listen::{HttpAddr, ListenOn};
pub use load::{load, load_for_client, ConfigError};
pub use shard::Shard;
pub use tools::{Expose, ToolsConfig, MAX_TOOL_TIMEOUT_SECS};

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole file after defaults, environment overrides and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from (for reloads and error messages).
    pub source: PathBuf,
    pub supervisor: SupervisorConfig,
    /// Bots in the order of their tables in the file.
    pub bots: Vec<BotConfig>,
}

impl Config {
    pub fn bot(&self, id: &str) -> Option<&BotConfig> {
        self.bots.iter().find(|b| b.id == id)
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    /// Relative paths are resolved against the config file's folder.
    pub data_dir: PathBuf,
    pub admin_addr: SocketAddr,
    pub base_port: u16,
    /// Empty: generated once and kept in `<data_dir>/admin.token`.
    pub admin_token: String,
    pub allow_non_loopback: bool,
    /// Optional listener for platform callbacks (Feishu webhooks).
    pub events_addr: Option<SocketAddr>,
    /// Agent runs in flight across all bots.
    pub max_concurrent_runs: usize,
    /// Requests per minute per token on the admin API.
    pub requests_per_minute: u32,
    /// Failed authentications per client address and minute on the admin API.
    pub failed_auth_per_minute: u32,
    /// Run only the bots of this shard (`"I/N"`); none: every bot.
    pub shard: Option<Shard>,
    /// Run exactly these bots (by id); empty: no such restriction.
    pub only: Vec<String>,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 47331)),
            base_port: 7331,
            admin_token: String::new(),
            allow_non_loopback: false,
            events_addr: None,
            max_concurrent_runs: 16,
            requests_per_minute: 600,
            failed_auth_per_minute: 30,
            shard: None,
            only: Vec::new(),
        }
    }
}

/// A bot id as `[bots.<id>]` allows it: a-z, 0-9, `_` and `-` (it names a
/// folder and tree prefixes).
pub fn check_bot_id(id: &str) -> Result<(), String> {
    let fine = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "bot id `{id}` must be made of a-z, 0-9, `_` and `-`"
        ))
    }
}

impl SupervisorConfig {
    /// Whether this supervisor runs the bot `id` (its shard, or `only`).
    pub fn runs(&self, id: &str) -> bool {
        self.shard.is_none_or(|s| s.owns(id))
            && (self.only.is_empty() || self.only.iter().any(|o| o == id))
    }

    /// Who runs a bot this supervisor does not, in words for an error.
    pub fn owner_of(&self, id: &str) -> String {
        match self.shard {
            Some(s) => format!("shard {}/{}", Shard::of(id, s.count), s.count),
            None => format!(
                "another supervisor (this one runs only {})",
                self.only.join(", ")
            ),
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// The table name `[bots.<id>]`; filled in by the loader.
    #[serde(skip)]
    pub id: String,
    /// Position in the file; decides the default port.
    #[serde(skip)]
    pub index: usize,
    /// The TCP address this bot listens on, resolved by the loader (none
    /// when `runtime_http_addr = "off"`).
    #[serde(skip)]
    pub addr: Option<SocketAddr>,
    pub name: String,
    pub enabled: bool,
    /// An address, `"off"` (socket only), or none: from `base_port`.
    pub runtime_http_addr: Option<HttpAddr>,
    /// A Unix socket to listen on too (mode 0600); relative to the config
    /// file's folder, made absolute by the loader.
    pub runtime_http_socket: Option<PathBuf>,
    /// Empty: generated once and kept in the bot's own tree.
    pub runtime_http_token: String,
    pub runtime_api_shutdown_timeout_secs: u64,
    /// The zone of cron expressions, written as its IANA name.
    #[serde(with = "zone_name")]
    pub timezone: chrono_tz::Tz,
    pub workers: usize,
    pub allow_non_loopback: bool,
    pub permissions: Permissions,
    pub limits: Limits,
    pub connector: ConnectorConfig,
    pub agent: AgentConfig,
    pub chat: ChatConfig,
    pub automation: AutomationConfig,
    pub tools: ToolsConfig,
    /// The goal engine (`[bots.<id>.goal]`).
    pub goal: GoalConfig,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            id: String::new(),
            index: 0,
            addr: None,
            name: String::new(),
            enabled: true,
            runtime_http_addr: None,
            runtime_http_socket: None,
            runtime_http_token: String::new(),
            runtime_api_shutdown_timeout_secs: 5,
            timezone: chrono_tz::UTC,
            workers: 1,
            allow_non_loopback: false,
            permissions: Permissions::default(),
            limits: Limits::default(),
            connector: ConnectorConfig::default(),
            agent: AgentConfig::default(),
            chat: ChatConfig::default(),
            automation: AutomationConfig::default(),
            tools: ToolsConfig::default(),
            goal: GoalConfig::default(),
        }
    }
}

impl BotConfig {
    /// Where the bot listens (resolved by the loader): its TCP address,
    /// its Unix socket, or both. Displays as `127.0.0.1:7331` / `unix:/path`.
    pub fn listen_addr(&self) -> ListenOn {
        ListenOn {
            tcp: self.addr,
            socket: self.runtime_http_socket.clone(),
        }
    }

    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Permissions {
    pub runtime_message: bool,
    pub runtime_automation: bool,
    pub runtime_goal: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            runtime_message: true,
            runtime_automation: true,
            runtime_goal: true,
        }
    }
}

/// The Runtime API reference's numbers are the defaults (1 MiB bodies,
/// 120 requests a minute, lists of at most 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub body_bytes: usize,
    pub requests_per_minute: u32,
    pub list_max: usize,
    /// A request body must arrive completely within this time (else 408).
    pub body_timeout_secs: u64,
    /// A request's head (line and headers) must arrive within this time,
    /// else 408 and the connection is closed (slowloris).
    pub header_timeout_secs: u64,
    /// Connections the bot serves at once (shared out over its workers);
    /// more wait in the listen backlog.
    pub max_connections: usize,
    /// Failed authentications per client address and minute, then 429.
    pub failed_auth_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            requests_per_minute: 120,
            list_max: 200,
            body_timeout_secs: 30,
            header_timeout_secs: 10,
            max_connections: 256,
            failed_auth_per_minute: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    #[default]
    Local,
    Feishu,
    /// The Telegram Bot API (`src/connector/telegram/`).
    Telegram,
    /// OneBot v11 over WebSocket: QQ through NapCat, Lagrange, LLOneBot …
    /// (`src/connector/onebot/`).
    Onebot,
}

impl ConnectorKind {
    /// The platform's name in inbound de-duplication keys: message ids are
    /// unique only within one platform.
    pub fn platform(self) -> &'static str {
        match self {
            ConnectorKind::Local => "local",
            ConnectorKind::Feishu => "feishu",
            ConnectorKind::Telegram => "telegram",
            ConnectorKind::Onebot => "onebot",
        }
    }
}

/// Who opens a OneBot bot's WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneBotMode {
    /// alice connects to the implementation's `ws_url`.
    #[default]
    Forward,
    /// The implementation connects to `<events listener>/onebot/<bot id>`.
    Reverse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsTransport {
    #[default]
    LongConnection,
    Webhook,
    /// Telegram's `getUpdates` (a Telegram bot's default: `long_connection`
    /// means the same there).
    LongPolling,
}

/// Messages the local connector keeps per conversation by default.
pub const KEEP_MESSAGES: usize = 10_000;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorConfig {
    pub kind: ConnectorKind,
    pub app_id: String,
    pub app_secret: String,
    pub base_url: String,
    pub events: EventsTransport,
    pub verification_token: String,
    pub encrypt_key: String,
    /// Each call to the platform must answer within this time (else 504).
    pub request_timeout_secs: u64,
    /// The local connector keeps this many messages per conversation (and
    /// their files); older ones are dropped.
    pub keep_messages: usize,
    /// A webhook bot counts as receiving (`connected`) only if Feishu was
    /// heard from (an event or the URL check) within this window.
    pub webhook_idle_after_secs: u64,
    /// Telegram: the bot's token (best from
    /// `ALICE_BOTS__<ID>__CONNECTOR__BOT_TOKEN`).
    pub bot_token: String,
    /// Telegram webhook: the `secret_token` Telegram sends back.
    pub webhook_secret: String,
    /// Telegram webhook: the URL given to `setWebhook`.
    pub public_url: String,
    /// Telegram: `getUpdates`' long-polling `timeout`, in seconds.
    pub poll_timeout_secs: u64,
    /// OneBot: who opens the WebSocket.
    pub mode: OneBotMode,
    /// OneBot forward mode: the implementation's WebSocket.
    pub ws_url: String,
    /// OneBot: the bearer token both directions check (best from
    /// `ALICE_BOTS__<ID>__CONNECTOR__ACCESS_TOKEN`).
    pub access_token: String,
}

/// Where the Telegram Bot API is when `base_url` is left alone.
pub const TELEGRAM_BASE_URL: &str = "https://api.telegram.org";
const FEISHU_BASE_URL: &str = "https://open.feishu.cn";

impl ConnectorConfig {
    /// The platform's API root: `base_url`, or the platform's own default
    /// when it was left at Feishu's.
    pub fn api_base(&self) -> &str {
        match self.kind {
            ConnectorKind::Telegram if self.base_url == FEISHU_BASE_URL => TELEGRAM_BASE_URL,
            _ => &self.base_url,
        }
    }
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        Self {
            kind: ConnectorKind::Local,
            app_id: String::new(),
            app_secret: String::new(),
            base_url: FEISHU_BASE_URL.into(),
            events: EventsTransport::LongConnection,
            verification_token: String::new(),
            encrypt_key: String::new(),
            request_timeout_secs: 30,
            keep_messages: KEEP_MESSAGES,
            webhook_idle_after_secs: 3600,
            bot_token: String::new(),
            webhook_secret: String::new(),
            public_url: String::new(),
            poll_timeout_secs: 30,
            mode: OneBotMode::Forward,
            ws_url: "ws://127.0.0.1:3001".into(),
            access_token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    #[default]
    Command,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    pub kind: AgentKind,
    /// argv: prompt on stdin, answer on stdout.
    pub command: Vec<String>,
    pub env: std::collections::BTreeMap<String, String>,
    pub max_concurrent_runs: usize,
    /// Default: `<data_dir>/<id>/workspace`.
    pub workspace: Option<PathBuf>,
    /// One folder per skill. Default: `<workspace>/skills`.
    pub skills_dir: Option<PathBuf>,
    /// Finished run records kept per bot (older ones are pruned).
    pub keep_runs: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            kind: AgentKind::Command,
            command: Vec::new(),
            env: Default::default(),
            max_concurrent_runs: 4,
            workspace: None,
            skills_dir: None,
            keep_runs: 200,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerMode {
    /// In groups, answer only messages that @mention the bot.
    #[default]
    Mention,
    /// Answer every message.
    All,
}

/// How the bot answers inbound messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    pub trigger_mode: TriggerMode,
    /// An answer equal to this (or empty) sends nothing.
    pub no_reply_token: String,
    /// Sent to the conversation when a run fails.
    pub failure_message: String,
    /// Earlier messages of the conversation given to the agent.
    pub history_messages: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            trigger_mode: TriggerMode::Mention,
            no_reply_token: "NO_REPLY".into(),
            failure_message: "Sorry, I could not answer that. Please try again.".into(),
            history_messages: 20,
        }
    }
}

/// `[bots.<id>.automation]`: rules for the bot's scheduled tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutomationConfig {
    /// The shortest `every_seconds` a task may ask for (tests lower it).
    pub min_every_seconds: u64,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        Self {
            min_every_seconds: 60,
        }
    }
}

/// A zone as its IANA name, parsed once here: an unknown name is a config
/// error naming `bots.<id>.timezone`.
mod zone_name {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &chrono_tz::Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown timezone `{name}` (use an IANA name such as Europe/Berlin)"
            ))
        })
    }
}
