//! `.mcp.json` in the bot's workspace, which Claude Code reads: the bot's
//! MCP server with the run's token as `${ALICE_RUNTIME_API_TOKEN}`, which
//! the CLI expands from the run's environment. Concurrent runs share the
//! workspace, so the file is the same for every run and holds no secret.

use serde_json::{json, Map, Value};
use std::path::Path;

pub const FILE: &str = ".mcp.json";
/// The server's name in the file (Claude Code: tools `mcp__alice__*`).
pub const SERVER: &str = "alice";

/// This bot's entry: its `/mcp` over HTTP, or `alice mcp` (stdio) for a bot
/// on a Unix socket only.
pub fn entry(base_url: &str, bin: &Path) -> Value {
    if base_url.starts_with("unix://") {
        // Stdio servers get a trimmed environment from most clients: pass
        // the two variables on, expanded by the client.
        return json!({"type": "stdio", "command": bin.display().to_string(), "args": ["mcp"],
            "env": {"ALICE_RUNTIME_API_BASE_URL": "${ALICE_RUNTIME_API_BASE_URL}",
                "ALICE_RUNTIME_API_TOKEN": "${ALICE_RUNTIME_API_TOKEN}"}});
    }
    json!({"type": "http", "url": format!("{}/mcp", base_url.trim_end_matches('/')),
        "headers": {"Authorization": "Bearer ${ALICE_RUNTIME_API_TOKEN}"}})
}

/// Writes or updates the file so that it holds this bot's entry, keeping any
/// other server a user put there (a file that is not a JSON object is left
/// alone). Atomic: a run starting meanwhile reads the old or the new file.
pub fn ensure(workspace: &Path, base_url: &str, bin: &Path) -> std::io::Result<()> {
    let path = workspace.join(FILE);
    let mut doc = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(doc)) => doc,
            _ => {
                tracing::warn!(path = %path.display(), "not a JSON object; the bot's MCP entry is not added");
                return Ok(());
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(e),
    };
    let wanted = entry(base_url, bin);
    let servers = doc
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        tracing::warn!(path = %path.display(), "`mcpServers` is not an object; the bot's MCP entry is not added");
        return Ok(());
    };
    if servers.get(SERVER) == Some(&wanted) {
        return Ok(());
    }
    servers.insert(SERVER.to_string(), wanted);
    let text = serde_json::to_string_pretty(&Value::Object(doc))? + "\n";
    let tmp = workspace.join(format!("{FILE}.{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bots_entry_is_added_beside_other_servers_and_bad_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let bin = Path::new("/usr/bin/alice");
        let other = json!({"mcpServers": {"mine": {"type": "stdio", "command": "x"}}});
        std::fs::write(dir.path().join(FILE), other.to_string()).unwrap();
        ensure(dir.path(), "http://127.0.0.1:7331", bin).unwrap();
        let doc: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(FILE)).unwrap()).unwrap();
        assert_eq!(doc["mcpServers"]["mine"]["command"], "x");
        assert_eq!(
            doc["mcpServers"][SERVER]["url"],
            "http://127.0.0.1:7331/mcp"
        );
        assert_eq!(
            doc["mcpServers"][SERVER]["headers"]["Authorization"],
            "Bearer ${ALICE_RUNTIME_API_TOKEN}"
        );
        // The same file again: nothing rewritten, no temporary left.
        ensure(dir.path(), "http://127.0.0.1:7331", bin).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        ensure(dir.path(), "http://127.0.0.1:7331", bin).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(FILE)).unwrap(),
            "not json"
        );

        let socket = entry("unix:///run/alice.sock", bin);
        assert_eq!(socket["command"], "/usr/bin/alice");
        assert_eq!(socket["args"], json!(["mcp"]));
    }
}
