//! `Debug` for the config structs that hold secrets: tokens, the Feishu
//! secret and keys, and the agent's extra environment (often API keys) print
//! as `***`, so a `{:?}` in a log or a panic never leaks them.

use super::{AgentConfig, BotConfig, ConnectorConfig, SupervisorConfig};
use std::fmt;

/// `***` for a set secret, `""` for an empty one (that difference matters
/// when reading a config dump; the value does not).
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"***\"")
        }
    }
}

impl fmt::Debug for SupervisorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorConfig")
            .field("data_dir", &self.data_dir)
            .field("admin_addr", &self.admin_addr)
            .field("base_port", &self.base_port)
            .field("admin_token", &Redacted(&self.admin_token))
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("events_addr", &self.events_addr)
            .field("max_concurrent_runs", &self.max_concurrent_runs)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("shard", &self.shard)
            .field("only", &self.only)
            .finish()
    }
}

impl fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotConfig")
            .field("id", &self.id)
            .field("index", &self.index)
            .field("addr", &self.addr)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("runtime_http_addr", &self.runtime_http_addr)
            .field("runtime_http_socket", &self.runtime_http_socket)
            .field("runtime_http_token", &Redacted(&self.runtime_http_token))
            .field(
                "runtime_api_shutdown_timeout_secs",
                &self.runtime_api_shutdown_timeout_secs,
            )
            .field("timezone", &self.timezone)
            .field("workers", &self.workers)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("permissions", &self.permissions)
            .field("limits", &self.limits)
            .field("connector", &self.connector)
            .field("agent", &self.agent)
            .field("chat", &self.chat)
            .field("automation", &self.automation)
            .field("tools", &self.tools)
            .field("goal", &self.goal)
            .finish()
    }
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("kind", &self.kind)
            .field("app_id", &self.app_id)
            .field("app_secret", &Redacted(&self.app_secret))
            .field("base_url", &self.base_url)
            .field("events", &self.events)
            .field("verification_token", &Redacted(&self.verification_token))
            .field("encrypt_key", &Redacted(&self.encrypt_key))
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("bot_token", &Redacted(&self.bot_token))
            .field("mode", &self.mode)
            .field("ws_url", &self.ws_url)
            .field("access_token", &Redacted(&self.access_token))
            .field("webhook_secret", &Redacted(&self.webhook_secret))
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: std::collections::BTreeMap<&str, Redacted> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), Redacted(v)))
            .collect();
        f.debug_struct("AgentConfig")
            .field("kind", &self.kind)
            .field("command", &self.command)
            .field("env", &env)
            .field("max_concurrent_runs", &self.max_concurrent_runs)
            .field("workspace", &self.workspace)
            .field("skills_dir", &self.skills_dir)
            .field("keep_runs", &self.keep_runs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SupervisorConfig};

    #[test]
    fn debug_never_prints_a_secret() {
        let mut bot = crate::config::BotConfig {
            id: "alpha".into(),
            runtime_http_token: "tok-bot-secret".into(),
            ..Default::default()
        };
        bot.connector.app_id = "cli_visible".into();
        bot.connector.app_secret = "feishu-app-secret".into();
        bot.connector.verification_token = "verify-secret".into();
        bot.connector.encrypt_key = "encrypt-secret".into();
        bot.agent
            .env
            .insert("OPENAI_API_KEY".into(), "sk-env-secret".into());
        let config = Config {
            source: "bots.toml".into(),
            supervisor: SupervisorConfig {
                admin_token: "admin-secret".into(),
                ..Default::default()
            },
            bots: vec![bot],
        };
        let printed = format!("{config:?} {config:#?}");
        for secret in [
            "tok-bot-secret",
            "feishu-app-secret",
            "verify-secret",
            "encrypt-secret",
            "sk-env-secret",
            "admin-secret",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        // The rest stays readable.
        for visible in ["alpha", "cli_visible", "OPENAI_API_KEY", "***"] {
            assert!(printed.contains(visible), "{visible} missing");
        }
    }
}
