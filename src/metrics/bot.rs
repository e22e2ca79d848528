//! One bot's registry and the handles its services record through.

use super::HttpMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    action: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    origin: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    connector: &'static str,
    outcome: &'static str,
}

/// A bot's metrics. Cloning is cheap and shares them.
#[derive(Clone)]
pub struct BotMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    connector: &'static str,
    http: HttpMetrics,
    tasks_fired: Family<TaskLabels, Counter>,
    task_lateness: Histogram,
    agent_runs: Family<RunLabels, Counter>,
    agent_run_duration: Histogram,
    inbound: Family<MessageLabels, Counter>,
    outbound: Family<MessageLabels, Counter>,
    connector_up: Gauge,
}

impl BotMetrics {
    /// `connector`: the connector kind's name (`local`, `feishu`).
    pub fn new(bot_id: &str, connector: &'static str) -> Self {
        let labels = [(Cow::Borrowed("bot"), Cow::Owned(bot_id.to_string()))];
        let mut registry = Registry::with_labels(labels.into_iter());
        let http = HttpMetrics::register(&mut registry);
        let tasks_fired = Family::<TaskLabels, Counter>::default();
        // 10 ms … ~160 s late.
        let task_lateness = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        let agent_runs = Family::<RunLabels, Counter>::default();
        // 50 ms … ~27 min.
        let agent_run_duration = Histogram::new(exponential_buckets(0.05, 2.0, 16));
        let inbound = Family::<MessageLabels, Counter>::default();
        let outbound = Family::<MessageLabels, Counter>::default();
        let connector_up = Gauge::default();
        registry.register(
            "alice_tasks_fired",
            "Automation task runs, by action and outcome",
            tasks_fired.clone(),
        );
        registry.register(
            "alice_task_lateness_seconds",
            "How long after its due time a task run started",
            task_lateness.clone(),
        );
        registry.register(
            "alice_agent_runs",
            "Finished agent runs, by origin and outcome",
            agent_runs.clone(),
        );
        registry.register(
            "alice_agent_run_duration_seconds",
            "Wall time of finished agent runs",
            agent_run_duration.clone(),
        );
        registry.register(
            "alice_inbound_messages",
            "Inbound messages taken for the reply pipeline, by connector and outcome",
            inbound.clone(),
        );
        registry.register(
            "alice_outbound_messages",
            "Messages sent through the connector, by connector and outcome",
            outbound.clone(),
        );
        registry.register(
            "alice_connector_up",
            "1 while the bot's connector is usable",
            connector_up.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                connector,
                http,
                tasks_fired,
                task_lateness,
                agent_runs,
                agent_run_duration,
                inbound,
                outbound,
                connector_up,
            }),
        }
    }

    /// The series of the bot's Runtime API server.
    pub fn http(&self) -> &HttpMetrics {
        &self.inner.http
    }

    /// `action`: the task's action name; `outcome`: how its run ended
    /// (`succeeded`, `failed`, `interrupted`, `skipped`).
    pub fn task_fired(&self, action: &'static str, outcome: &'static str) {
        self.inner
            .tasks_fired
            .get_or_create(&TaskLabels { action, outcome })
            .inc();
    }

    pub fn task_lateness(&self, seconds: f64) {
        self.inner.task_lateness.observe(seconds.max(0.0));
    }

    /// `origin`, `outcome`: the run record's `origin` and `status` names.
    pub fn agent_run(&self, origin: &'static str, outcome: &'static str, seconds: f64) {
        self.inner
            .agent_runs
            .get_or_create(&RunLabels { origin, outcome })
            .inc();
        self.inner.agent_run_duration.observe(seconds.max(0.0));
    }

    /// `outcome`: `queued`, `duplicate` (a redelivery) or `error`.
    pub fn inbound(&self, outcome: &'static str) {
        self.inner
            .inbound
            .get_or_create(&MessageLabels {
                connector: self.inner.connector,
                outcome,
            })
            .inc();
    }

    /// `outcome`: `ok` or `error`.
    pub fn outbound(&self, outcome: &'static str) {
        self.inner
            .outbound
            .get_or_create(&MessageLabels {
                connector: self.inner.connector,
                outcome,
            })
            .inc();
    }

    pub fn connector_up(&self, up: bool) {
        self.inner.connector_up.set(i64::from(up));
    }

    /// This bot's series in the Prometheus text format.
    pub fn encode(&self) -> String {
        super::encode(&self.inner.registry)
    }
}
