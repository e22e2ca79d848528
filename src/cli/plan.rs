//! `alice bots plan --shards N`: the split of the file, from the file alone
//! (no supervisor needs to run), so an operator sees it before deploying.

use super::{fail, table, ConfigArg, EXIT_CONFIG};
use crate::config::{self, Shard};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct Placed {
    id: String,
    shard: String,
    /// Where the bot listens, whichever host runs it (from the file).
    address: String,
    enabled: bool,
}

pub fn run(config: &ConfigArg, shards: u32, json: bool) -> ExitCode {
    if shards == 0 {
        return fail("--shards must be at least 1", EXIT_CONFIG);
    }
    let config = match config::load_for_client(&config.config) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), EXIT_CONFIG),
    };
    let plan: Vec<Placed> = config
        .bots
        .iter()
        .map(|bot| Placed {
            id: bot.id.clone(),
            shard: format!("{}/{shards}", Shard::of(&bot.id, shards)),
            address: bot.listen_addr().to_string(),
            enabled: bot.enabled,
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        let rows = plan
            .into_iter()
            .map(|p| vec![p.id, p.shard, p.address, p.enabled.to_string()])
            .collect();
        println!(
            "{}",
            table::render(&["ID", "SHARD", "ADDRESS", "ENABLED"], rows)
        );
    }
    ExitCode::SUCCESS
}
