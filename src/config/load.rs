//! Loading: TOML file, then `ALICE_*` environment (`__` separates keys), then
//! validation. Every failure is one `ConfigError` naming the file and the key.

use super::{BotConfig, Config, ConnectorKind, HttpAddr, SupervisorConfig};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// The dotted key at fault, when one is known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}", self.file.display())?;
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    supervisor: SupervisorConfig,
    #[serde(default)]
    bots: BTreeMap<String, BotConfig>,
}

/// Reads and validates the configuration at `path`, for `alice serve`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, Secrets::Required)
}

/// As [`load`], for the CLI's clients of a running supervisor: they need
/// addresses, ids and the data folder, never the platforms' secrets, which
/// may live only in the server's environment.
pub fn load_for_client(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, Secrets::NotNeeded)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrets {
    Required,
    NotNeeded,
}

fn load_with(path: &Path, secrets: Secrets) -> Result<Config, ConfigError> {
    let err = |key: Option<String>, message: String| ConfigError {
        file: path.to_path_buf(),
        key,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(None, format!("cannot read the file: {e}")))?;
    // figment's maps are sorted; the file's order of `[bots.*]` decides ports.
    let order = bot_order(&text).map_err(|e| err(None, e))?;

    let figment = Figment::new()
        .merge(Toml::string(&text))
        .merge(env_provider());
    let raw: RawConfig = figment.extract().map_err(|e| figment_error(path, e))?;

    // Absolute, because agents run in their own workspace folders.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base = absolute.parent().unwrap_or(Path::new("."));
    let mut supervisor = raw.supervisor;
    if supervisor.data_dir.is_relative() {
        supervisor.data_dir = base.join(&supervisor.data_dir);
    }

    let mut ids: Vec<String> = order;
    // Bots that only the environment defines come after the file's, by name.
    for id in raw.bots.keys() {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let mut by_id = raw.bots;
    let mut bots = Vec::with_capacity(ids.len());
    for (index, id) in ids.into_iter().enumerate() {
        let mut bot = by_id.remove(&id).unwrap_or_default();
        bot.id = id;
        bot.index = index;
        // `./x` and `../x` in the agent's argv are relative to the config
        // file, like data_dir: the agent itself runs in its workspace.
        for arg in &mut bot.agent.command {
            if arg.starts_with("./") || arg.starts_with("../") {
                *arg = base.join(&*arg).display().to_string();
            }
        }
        for dir in [
            &mut bot.agent.workspace,
            &mut bot.agent.skills_dir,
            &mut bot.runtime_http_socket,
        ] {
            if let Some(path) = dir.as_mut().filter(|p| p.is_relative()) {
                *path = base.join(&*path);
            }
        }
        bots.push(bot);
    }

    let config = Config {
        source: path.to_path_buf(),
        supervisor,
        bots,
    };
    validate(config, secrets).map_err(|(key, message)| err(Some(key), message))
}

fn env_provider() -> Env {
    // Only the two top-level tables: ALICE_CONFIG, ALICE_LOG_FORMAT and the
    // ALICE_* variables injected into skills are not configuration keys.
    Env::prefixed("ALICE_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            key.starts_with("supervisor__") || key.starts_with("bots__")
        })
        .split("__")
}

fn bot_order(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(" at line {line}, column {column}")
        });
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        format!("TOML syntax error{}: {message}", at.unwrap_or_default())
    })?;
    Ok(match table.get("bots") {
        Some(toml::Value::Table(bots)) => bots.keys().cloned().collect(),
        _ => Vec::new(),
    })
}

fn figment_error(path: &Path, error: figment::Error) -> ConfigError {
    let key = (!error.path.is_empty()).then(|| error.path.join("."));
    let from_env = error
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("environment"));
    let mut message = error.kind.to_string();
    if from_env {
        message.push_str(" (from an ALICE_* environment variable)");
    }
    ConfigError {
        file: path.to_path_buf(),
        key,
        message,
    }
}

type Invalid = (String, String);

fn validate(mut config: Config, secrets: Secrets) -> Result<Config, Invalid> {
    let sup = &config.supervisor;
    let listeners = [
        ("admin_addr", Some(sup.admin_addr)),
        ("events_addr", sup.events_addr),
    ];
    for (key, addr) in listeners {
        if let Some(addr) = addr.filter(|a| !a.ip().is_loopback() && !sup.allow_non_loopback) {
            return Err((
                format!("supervisor.{key}"),
                format!(
                    "{addr} is not a loopback address; set supervisor.allow_non_loopback = true to allow it (put a TLS reverse proxy in front)"
                ),
            ));
        }
    }
    positive(sup.max_concurrent_runs, "supervisor.max_concurrent_runs")?;
    placement(&config)?;
    positive(
        sup.requests_per_minute as usize,
        "supervisor.requests_per_minute",
    )?;
    positive(
        sup.failed_auth_per_minute as usize,
        "supervisor.failed_auth_per_minute",
    )?;

    let mut taken: HashMap<SocketAddr, String> = HashMap::new();
    taken.insert(sup.admin_addr, "the supervisor admin API".into());
    if let Some(events) = sup.events_addr {
        if taken
            .insert(events, "the supervisor events listener".into())
            .is_some()
        {
            return Err((
                "supervisor.events_addr".into(),
                format!("{events} is already used by the supervisor admin API"),
            ));
        }
    }
    let base_port = sup.base_port;
    let allow_all = sup.allow_non_loopback;
    let mut sockets: HashMap<std::path::PathBuf, String> = HashMap::new();
    for bot in &mut config.bots {
        validate_bot(bot, base_port, allow_all)?;
        if secrets == Secrets::Required {
            require_secrets(bot)?;
        }
        if let Some(addr) = bot.addr {
            let key = format!("bots.{}.runtime_http_addr", bot.id);
            if let Some(other) = taken.insert(addr, format!("bot `{}`", bot.id)) {
                return Err((key, format!("{addr} is already used by {other}")));
            }
        }
        if let Some(path) = &bot.runtime_http_socket {
            let key = format!("bots.{}.runtime_http_socket", bot.id);
            if let Some(other) = sockets.insert(path.clone(), bot.id.clone()) {
                return Err((
                    key,
                    format!("{} is already used by bot `{other}`", path.display()),
                ));
            }
        }
    }
    Ok(config)
}

/// `supervisor.only` names bots of the file, and is not combined with a shard
/// (two ways of choosing at once would hide one of them).
fn placement(config: &Config) -> Result<(), Invalid> {
    let sup = &config.supervisor;
    if sup.shard.is_some() && !sup.only.is_empty() {
        return Err((
            "supervisor.only".into(),
            "cannot be combined with supervisor.shard (--shard): choose one".into(),
        ));
    }
    match sup.only.iter().find(|id| config.bot(id).is_none()) {
        Some(id) => Err((
            "supervisor.only".into(),
            format!("no bot `{id}` in the file"),
        )),
        None => Ok(()),
    }
}

impl Config {
    /// The file's placement overridden by `alice serve --shard/--only`.
    pub fn with_placement(
        mut self,
        shard: Option<super::Shard>,
        only: Vec<String>,
    ) -> Result<Config, ConfigError> {
        if shard.is_some() || !only.is_empty() {
            self.supervisor.shard = shard;
            self.supervisor.only = only;
        }
        placement(&self).map_err(|(key, message)| ConfigError {
            file: self.source.clone(),
            key: Some(key),
            message,
        })?;
        Ok(self)
    }
}

fn validate_bot(bot: &mut BotConfig, base_port: u16, allow_all: bool) -> Result<(), Invalid> {
    let id = bot.id.clone();
    let key = |k: &str| format!("bots.{id}.{k}");
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err((
            format!("bots.{id}"),
            format!("bot id `{id}` must be made of a-z, 0-9, `_` and `-`"),
        ));
    }
    if let Some(path) = &bot.runtime_http_socket {
        let len = path.as_os_str().len();
        if len > super::listen::MAX_SOCKET_PATH {
            return Err((
                key("runtime_http_socket"),
                format!(
                    "{} has {len} bytes; a Unix socket path holds at most {}",
                    path.display(),
                    super::listen::MAX_SOCKET_PATH
                ),
            ));
        }
    }
    let addr = match bot.runtime_http_addr {
        Some(HttpAddr::Off) if bot.runtime_http_socket.is_none() => {
            return Err((
                key("runtime_http_addr"),
                format!(
                    "\"off\" needs bots.{id}.runtime_http_socket (the bot would listen nowhere)"
                ),
            ));
        }
        Some(HttpAddr::Off) => None,
        Some(HttpAddr::Tcp(addr)) => Some(addr),
        None => {
            let port = usize::from(base_port) + bot.index;
            let port = u16::try_from(port).map_err(|_| {
                (
                    "supervisor.base_port".to_string(),
                    format!("bot `{id}` would need port {port}, above 65535"),
                )
            })?;
            Some(SocketAddr::from(([127, 0, 0, 1], port)))
        }
    };
    if let Some(addr) = addr {
        if !(addr.ip().is_loopback() || bot.allow_non_loopback || allow_all) {
            return Err((
                key("runtime_http_addr"),
                format!(
                    "{addr} is not a loopback address; set bots.{id}.allow_non_loopback = true to allow it"
                ),
            ));
        }
    }
    bot.addr = addr;
    positive(bot.workers, &key("workers"))?;
    positive(bot.limits.body_bytes, &key("limits.body_bytes"))?;
    positive(bot.limits.list_max, &key("limits.list_max"))?;
    positive(
        bot.limits.requests_per_minute as usize,
        &key("limits.requests_per_minute"),
    )?;
    positive(
        bot.limits.failed_auth_per_minute as usize,
        &key("limits.failed_auth_per_minute"),
    )?;
    positive(
        bot.agent.max_concurrent_runs,
        &key("agent.max_concurrent_runs"),
    )?;
    positive(
        bot.connector.request_timeout_secs as usize,
        &key("connector.request_timeout_secs"),
    )?;
    positive(bot.agent.keep_runs, &key("agent.keep_runs"))?;
    positive(
        bot.connector.webhook_idle_after_secs as usize,
        &key("connector.webhook_idle_after_secs"),
    )?;
    positive(
        bot.limits.body_timeout_secs as usize,
        &key("limits.body_timeout_secs"),
    )?;
    positive(
        bot.limits.header_timeout_secs as usize,
        &key("limits.header_timeout_secs"),
    )?;
    positive(bot.limits.max_connections, &key("limits.max_connections"))?;
    positive(
        bot.automation.min_every_seconds as usize,
        &key("automation.min_every_seconds"),
    )?;
    bot.tools
        .check()
        .map_err(|(k, message)| (key(&format!("tools.{k}")), message))?;
    if let Some((k, why)) = bot.goal.invalid() {
        return Err((key(k), why));
    }
    Ok(())
}

/// What the bot itself needs to reach its platform.
fn require_secrets(bot: &BotConfig) -> Result<(), Invalid> {
    let key = |k: &str| format!("bots.{}.{k}", bot.id);
    if bot.connector.kind == ConnectorKind::Feishu {
        for (field, value) in [
            ("app_id", &bot.connector.app_id),
            ("app_secret", &bot.connector.app_secret),
        ] {
            if value.is_empty() {
                return Err((
                    key(&format!("connector.{field}")),
                    "required when connector.kind = \"feishu\"".into(),
                ));
            }
        }
    }
    if bot.connector.kind == ConnectorKind::Telegram {
        if bot.connector.bot_token.is_empty() {
            return Err((
                key("connector.bot_token"),
                "required when connector.kind = \"telegram\"".into(),
            ));
        }
        if bot.connector.events == crate::config::EventsTransport::Webhook {
            let secret = &bot.connector.webhook_secret;
            let valid = (1..=256).contains(&secret.len())
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err((
                    key("connector.webhook_secret"),
                    "required for a Telegram webhook: 1–256 of A-Z a-z 0-9 _ -".into(),
                ));
            }
            if bot.connector.public_url.is_empty() {
                return Err((
                    key("connector.public_url"),
                    "required for a Telegram webhook (the URL given to setWebhook)".into(),
                ));
            }
        }
        if !(1..=50).contains(&bot.connector.poll_timeout_secs) {
            return Err((
                key("connector.poll_timeout_secs"),
                "must be 1–50 (the Bot API caps it at 50)".into(),
            ));
        }
    } else if bot.connector.kind == ConnectorKind::Onebot {
        onebot_keys(bot)?;
    } else if bot.connector.events == crate::config::EventsTransport::LongPolling {
        return Err((
            key("connector.events"),
            "\"long_polling\" is Telegram's; Feishu takes \"long_connection\" or \"webhook\""
                .into(),
        ));
    }
    Ok(())
}

/// OneBot: forward mode needs a `ws://`/`wss://` URL; reverse mode a token
/// (else anyone who reaches the events listener could speak for QQ).
fn onebot_keys(bot: &BotConfig) -> Result<(), Invalid> {
    let key = |k: &str| format!("bots.{}.{k}", bot.id);
    let connector = &bot.connector;
    if connector.events != crate::config::EventsTransport::LongConnection {
        return Err((
            key("connector.events"),
            "OneBot takes connector.mode (\"forward\" or \"reverse\"), not events".into(),
        ));
    }
    match connector.mode {
        crate::config::OneBotMode::Forward => {
            let url = url::Url::parse(&connector.ws_url).ok();
            if !url.is_some_and(|u| matches!(u.scheme(), "ws" | "wss")) {
                return Err((
                    key("connector.ws_url"),
                    "must be a ws:// or wss:// URL in forward mode".into(),
                ));
            }
        }
        crate::config::OneBotMode::Reverse if connector.access_token.is_empty() => {
            return Err((
                key("connector.access_token"),
                "required in reverse mode (the implementation must prove itself)".into(),
            ));
        }
        crate::config::OneBotMode::Reverse => {}
    }
    Ok(())
}

fn positive(value: usize, key: &str) -> Result<(), Invalid> {
    if value == 0 {
        return Err((key.to_string(), "must be at least 1".into()));
    }
    Ok(())
}
