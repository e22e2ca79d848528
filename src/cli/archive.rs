//! `alice bots export ID > alpha.tar` and `alice bots import alpha.tar`.
//!
//! Export reads the data folder itself when alice is stopped; when alice
//! runs (sled holds the folder), it asks the supervisor, which stops the bot
//! for a consistent copy and starts it again. Import writes the database, so
//! the supervisor of the target folder must be stopped.

use super::{fail, ConfigArg, EXIT_CONFIG};
use crate::config;
use crate::store::Store;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub async fn export(config: &ConfigArg, id: &str, with_workspace: bool) -> ExitCode {
    let loaded = match config::load_for_client(&config.config) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), EXIT_CONFIG),
    };
    let data_dir = loaded.supervisor.data_dir.clone();
    let archive = match Store::open(&data_dir) {
        Ok(store) => {
            crate::archive::export(&store, &data_dir, id, with_workspace).map_err(|e| e.to_string())
        }
        // In use: alice runs on this folder; it makes the archive.
        Err(_) => match config.admin_client() {
            Ok(client) => from_supervisor(&client, id, with_workspace).await,
            Err(code) => return code,
        },
    };
    match archive {
        Ok(bytes) => match std::io::stdout().lock().write_all(&bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("cannot write the archive: {e}"), 1),
        },
        Err(e) => fail(&e, 1),
    }
}

async fn from_supervisor(
    client: &super::admin_client::AdminClient,
    id: &str,
    with_workspace: bool,
) -> Result<Vec<u8>, String> {
    let path = format!("/api/bots/{id}/export?with_workspace={with_workspace}");
    let res = client
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .map_err(|e| format!("cannot reach the supervisor: {e}"))?;
    let ok = res.status().is_success();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if ok {
        return Ok(body.to_vec());
    }
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    Err(error["error"]
        .as_str()
        .unwrap_or("the export failed")
        .to_string())
}

pub async fn import(config: &ConfigArg, file: &Path, as_id: Option<&str>) -> ExitCode {
    let loaded = match config::load_for_client(&config.config) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), EXIT_CONFIG),
    };
    let archive = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return fail(&format!("cannot read {}: {e}", file.display()), 1),
    };
    let data_dir = loaded.supervisor.data_dir.clone();
    let store = match Store::open(&data_dir) {
        Ok(store) => store,
        Err(e) => {
            return fail(
                &format!(
                    "cannot open the database in {} ({e}): stop the alice that uses it, import, then start it",
                    data_dir.display()
                ),
                1,
            )
        }
    };
    let outcome = crate::archive::import(&store, &data_dir, &archive, as_id);
    if let Err(e) = store.flush().await {
        return fail(&format!("the final flush failed: {e}"), 1);
    }
    match outcome {
        Ok(manifest) => {
            let id = as_id.unwrap_or(&manifest.bot_id);
            let entries: usize = manifest.trees.values().sum();
            println!(
                "imported `{}` as `{id}`: {} trees ({entries} entries), {} files",
                manifest.bot_id,
                manifest.trees.len(),
                manifest.files
            );
            if loaded.bot(id).is_none() {
                println!(
                    "add [bots.{id}] to {} and start it",
                    config.config.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string(), 1),
    }
}
