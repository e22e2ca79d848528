//! Prometheus metrics. No global registry: each bot owns a [`BotMetrics`]
//! (its registry and handles, labelled `bot="<id>"`), the supervisor owns
//! [`SupervisorMetrics`] (bots up, restarts, the store's group commit) and
//! merges the running bots' series into one exposition (`GET /metrics`).
//! Recording touches only the bot's own families (atomics behind a
//! per-family lock), never a lock shared across bots.

mod bot;
mod http;
mod supervisor;

pub use bot::BotMetrics;
pub use http::{HttpMetrics, HttpTotals};
pub use supervisor::{StoreMetrics, SupervisorMetrics};

use prometheus_client::registry::Registry;

/// The exposition format's content type (Prometheus text 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A registry in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// Several expositions as one: each family's `# HELP` / `# TYPE` once,
/// followed by the samples of every part (the text format forbids a
/// family's header twice).
pub fn merge(parts: &[String]) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut families: std::collections::HashMap<&str, (Vec<&str>, Vec<&str>)> =
        std::collections::HashMap::new();
    for part in parts {
        let mut current = "";
        for line in part.lines() {
            if let Some(rest) = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .or_else(|| line.strip_prefix("# UNIT "))
            {
                current = rest.split(' ').next().unwrap_or_default();
                let entry = families.entry(current).or_insert_with(|| {
                    order.push(current);
                    (Vec::new(), Vec::new())
                });
                if !entry.0.contains(&line) {
                    entry.0.push(line);
                }
            } else if line.starts_with('#') || line.is_empty() {
                continue;
            } else {
                families.entry(current).or_default().1.push(line);
            }
        }
    }
    let mut out = String::new();
    for name in order {
        let (header, samples) = &families[name];
        for line in header.iter().chain(samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_bots_merge_under_one_header_per_family() {
        let (a, b) = (BotMetrics::new("a", "local"), BotMetrics::new("b", "local"));
        a.http().rate_limited();
        let merged = merge(&[a.encode(), b.encode()]);
        assert_eq!(
            merged.matches("# TYPE alice_rate_limited_total ").count(),
            1,
            "{merged}"
        );
        assert!(
            merged.contains("alice_rate_limited_total{bot=\"a\"} 1\n"),
            "{merged}"
        );
        assert!(
            merged.contains("alice_rate_limited_total{bot=\"b\"} 0\n"),
            "{merged}"
        );
    }
}
