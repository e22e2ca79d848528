//! Whether the agent command can start at all, for the external probe:
//! found and executable, and for a known CLI, `--version` answered within a
//! short time. Never its arguments or environment in the answer.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// CLIs known to answer `--version` quickly without credentials.
const KNOWN_CLIS: [&str; 8] = [
    "claude",
    "codex",
    "gemini",
    "opencode",
    "aider",
    "cursor-agent",
    "goose",
    "qwen",
];
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// `Ok(what was found)` or `Err(what is wrong)`.
pub type CommandCheck = Result<String, String>;

/// Checks `command[0]` as the runner would start it: from `workspace`, on
/// `PATH` (the agent's own `PATH` from `agent.env` when it sets one).
pub async fn check_command(
    command: &[String],
    workspace: &Path,
    path_var: Option<&str>,
) -> CommandCheck {
    let Some(program) = command.first() else {
        return Err("agent.command is empty".into());
    };
    let name = program_name(program);
    let Some(found) = resolve(program, workspace, path_var) else {
        return Err(format!("`{name}` was not found"));
    };
    let executable = std::fs::metadata(&found).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if !executable {
        return Err(format!("`{name}` is not executable"));
    }
    if !KNOWN_CLIS.contains(&name.as_str()) {
        return Ok(format!("`{name}` found and executable"));
    }
    version(&found, workspace)
        .await
        .map(|v| format!("`{name}` answered --version: {v}"))
}

/// The program's file name, without its folder.
fn program_name(program: &str) -> String {
    Path::new(program)
        .file_name()
        .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned())
}

fn resolve(program: &str, workspace: &Path, path_var: Option<&str>) -> Option<PathBuf> {
    if program.contains('/') {
        let path = workspace.join(program);
        return path.is_file().then_some(path);
    }
    let path_var = path_var
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

async fn version(program: &Path, workspace: &Path) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--version")
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let child = crate::fds::while_forking(|| command.spawn())
        .map_err(|e| format!("cannot start --version: {e}"))?;
    match tokio::time::timeout(VERSION_TIMEOUT, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "--version did not answer within {} s",
            VERSION_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("--version failed: {e}")),
        Ok(Ok(out)) if !out.status.success() => Err(format!("--version ended with {}", out.status)),
        Ok(Ok(out)) => {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(100)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_or_unexecutable_program_is_an_error_naming_it_only() {
        let dir = tempfile::tempdir().unwrap();
        let missing = check_command(
            &["no-such-agent-xyz".into(), "--secret".into()],
            dir.path(),
            None,
        )
        .await;
        assert_eq!(missing, Err("`no-such-agent-xyz` was not found".into()));
        std::fs::write(dir.path().join("agent"), "#!/bin/sh\n").unwrap();
        let plain = check_command(&["./agent".into()], dir.path(), None).await;
        assert_eq!(plain, Err("`agent` is not executable".into()));
        assert!(check_command(&["sh".into()], dir.path(), None)
            .await
            .is_ok());
        assert!(check_command(&[], dir.path(), None).await.is_err());
    }

    #[tokio::test]
    async fn a_known_cli_must_answer_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let cli = dir.path().join("claude");
        std::fs::write(&cli, "#!/bin/sh\necho 'claude 9.9.9'\n").unwrap();
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let ok = check_command(&["claude".into()], dir.path(), Some(&path)).await;
        assert_eq!(ok, Ok("`claude` answered --version: claude 9.9.9".into()));
        std::fs::write(&cli, "#!/bin/sh\nexit 2\n").unwrap();
        let failed = check_command(&["claude".into()], dir.path(), Some(&path)).await;
        assert!(failed.unwrap_err().contains("--version ended"));
    }
}
