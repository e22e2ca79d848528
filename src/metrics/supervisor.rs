//! The supervisor's own series: which bots run, how often they were
//! restarted, and the store's group commit (process-wide).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BotLabel {
    bot: String,
}

/// The group commit's flushes (one per batch of waiting writers).
#[derive(Clone)]
pub struct StoreMetrics {
    flushes: Counter,
    duration: Histogram,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            flushes: Counter::default(),
            // 0.1 ms … ~3 s.
            duration: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        }
    }
}

impl StoreMetrics {
    pub fn flushed(&self, seconds: f64) {
        self.flushes.inc();
        self.duration.observe(seconds);
    }
}

/// Cloning is cheap and shares the series.
#[derive(Clone)]
pub struct SupervisorMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    bot_up: Family<BotLabel, Gauge>,
    restarts: Family<BotLabel, Counter>,
}

impl SupervisorMetrics {
    pub fn new(store: &StoreMetrics) -> Self {
        let mut registry = Registry::default();
        let bot_up = Family::<BotLabel, Gauge>::default();
        let restarts = Family::<BotLabel, Counter>::default();
        registry.register(
            "alice_bot_up",
            "1 while the bot is running, 0 otherwise",
            bot_up.clone(),
        );
        registry.register(
            "alice_bot_restarts",
            "Relaunches of a bot by its supervisor (after a crash or a restart command)",
            restarts.clone(),
        );
        registry.register(
            "alice_store_flushes",
            "Group-commit flushes of the store (one per batch of writers)",
            store.flushes.clone(),
        );
        registry.register(
            "alice_store_flush_duration_seconds",
            "Time one group-commit flush took",
            store.duration.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                bot_up,
                restarts,
            }),
        }
    }

    /// A bot's series exist (at 0) from the moment it is configured.
    pub fn bot_added(&self, bot: &str) {
        let label = BotLabel {
            bot: bot.to_string(),
        };
        self.inner.bot_up.get_or_create(&label).set(0);
        let _ = self.inner.restarts.get_or_create(&label);
    }

    pub fn bot_up(&self, bot: &str, up: bool) {
        self.inner
            .bot_up
            .get_or_create(&BotLabel {
                bot: bot.to_string(),
            })
            .set(i64::from(up));
    }

    pub fn bot_restarted(&self, bot: &str) {
        self.inner
            .restarts
            .get_or_create(&BotLabel {
                bot: bot.to_string(),
            })
            .inc();
    }

    /// The supervisor's series followed by the running bots'.
    pub fn encode_with(&self, bots: impl IntoIterator<Item = String>) -> String {
        let mut parts = vec![super::encode(&self.inner.registry)];
        parts.extend(bots);
        super::merge(&parts)
    }
}
