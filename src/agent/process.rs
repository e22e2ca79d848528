//! Child processes: their own process group, killed (group and all) on
//! timeout or drop, output kept within bounds.

use super::AgentError;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Output kept per stream (the tail beyond is dropped).
const MAX_OUTPUT: usize = 256 * 1024;
/// Between SIGTERM and SIGKILL of a timed-out group.
const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct RunSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub stdin: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    pub fn into_answer(self) -> Result<String, AgentError> {
        if self.exit_code == Some(0) {
            Ok(self.stdout.trim().to_string())
        } else {
            Err(AgentError::Failed {
                code: self.exit_code,
                stderr: tail(&self.stderr, 500),
            })
        }
    }
}

fn tail(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

/// Kills the whole process group when dropped (a cancelled run, a panic).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn signal(&self, sig: i32) {
        if let Some(pgid) = self.0 {
            // SAFETY: killpg only sends a signal to the group we created.
            unsafe {
                libc::killpg(pgid, sig);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// Runs `spec`; `on_line` sees every stdout line as it arrives.
pub async fn run_command(
    spec: RunSpec,
    mut on_line: impl FnMut(&str),
) -> Result<CommandOutput, AgentError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    std::fs::create_dir_all(&spec.cwd).map_err(|e| AgentError::Spawn {
        program: program.clone(),
        reason: format!("workspace {}: {e}", spec.cwd.display()),
    })?;
    let mut cmd = Command::new(&program);
    cmd.args(&spec.argv[1..])
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| AgentError::Spawn {
        program: program.clone(),
        reason: e.to_string(),
    })?;
    let mut guard = GroupGuard(child.id().map(|id| id as i32));

    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = spec.stdin;
    let writer = tokio::spawn(async move {
        // A child that ignores stdin closes the pipe early: not an error.
        let _ = stdin.write_all(input.as_bytes()).await;
        let _ = stdin.shutdown().await;
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = (&mut stderr)
            .take(MAX_OUTPUT as u64)
            .read_to_end(&mut buf)
            .await;
        // Drain the rest so the child never blocks on a full pipe.
        let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let stdout = child.stdout.take().expect("piped stdout");

    let work = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut out = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            on_line(&line);
            if out.len() < MAX_OUTPUT {
                out.push_str(&line);
                out.push('\n');
            }
        }
        let status = child.wait().await;
        (out, status)
    };
    let (stdout, status) = match tokio::time::timeout(spec.timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            guard.signal(libc::SIGTERM);
            tokio::time::sleep(KILL_GRACE).await;
            guard.signal(libc::SIGKILL);
            return Err(AgentError::Timeout(spec.timeout));
        }
    };
    // The leader is gone; stray grandchildren of the group go with it.
    guard.signal(libc::SIGKILL);
    guard.0 = None;
    let _ = writer.await;
    let stderr = err_reader.await.unwrap_or_default();
    let status = status.map_err(|e| AgentError::Spawn {
        program,
        reason: e.to_string(),
    })?;
    Ok(CommandOutput {
        exit_code: status.code(),
        stdout,
        stderr,
    })
}
