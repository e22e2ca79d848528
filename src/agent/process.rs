//! Child processes: their own process group, killed (group and all) on
//! timeout, cancel or drop, output kept within bounds.

use super::RunError;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Interest, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Output kept per stream (the tail: the end of a run matters most).
const MAX_OUTPUT: usize = 64 * 1024;
/// Between SIGTERM and SIGKILL of a timed-out or cancelled group.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long to keep reading pipes once the group is dead (a process that
/// escaped the group may hold them open forever).
const DRAIN: Duration = Duration::from_secs(1);
/// The longest a cancelled command takes to end: SIGTERM, the grace,
/// SIGKILL, then draining stdout and stderr.
pub const KILL_BOUND: Duration = Duration::from_secs(KILL_GRACE.as_secs() + 2 * DRAIN.as_secs());

pub struct RunSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub stdin: String,
    pub timeout: Duration,
}

/// How a started command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The leader exited: its code, `None` when a signal ended it.
    Exited(Option<i32>),
    TimedOut,
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub ending: Ending,
    pub exit_code: Option<i32>,
    /// The last [`MAX_OUTPUT`] bytes of each stream.
    pub stdout: String,
    pub stderr: String,
}

/// The last `max` bytes of `s` (on a char boundary), trimmed.
pub fn tail(s: &str, max: usize) -> String {
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

/// Appends to a buffer that keeps only its last [`MAX_OUTPUT`] bytes.
fn push_tail(buf: &mut String, text: &str) {
    buf.push_str(text);
    if buf.len() > 2 * MAX_OUTPUT {
        *buf = tail(buf, MAX_OUTPUT);
    }
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

/// The group leader's exit, seen without reaping it: until it is reaped its
/// pid (the group's id) cannot be given to another process, so signalling
/// the group never reaches a stranger. A pidfd where the kernel has them,
/// polling `waitid(WNOWAIT)` otherwise.
struct LeaderExit {
    pid: Option<i32>,
    pidfd: Option<AsyncFd<OwnedFd>>,
}

impl LeaderExit {
    const POLL: Duration = Duration::from_millis(20);

    fn new(pid: Option<i32>) -> Self {
        let pidfd = pid.and_then(|pid| {
            // SAFETY: pidfd_open returns a new (close-on-exec) descriptor or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if fd < 0 {
                return None;
            }
            // SAFETY: the descriptor was just opened and nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
            // SAFETY: the AsyncFd owns the descriptor for its whole life.
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok()
        });
        Self { pid, pidfd }
    }

    /// Resolves once the leader has exited (it stays a zombie until reaped).
    async fn exited(&self) {
        let Some(pid) = self.pid else { return };
        match &self.pidfd {
            // A pidfd stays readable once its process has exited.
            Some(fd) => {
                let _ = fd.readable().await;
            }
            None => {
                while !has_exited(pid) {
                    tokio::time::sleep(Self::POLL).await;
                }
            }
        }
    }
}

fn has_exited(pid: i32) -> bool {
    // SAFETY: waitid writes only into `info`; WNOWAIT leaves the child to be
    // reaped by its owner.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) != 0 || info.si_pid() != 0
    }
}

/// A command that has started; [`Started::wait`] runs it to its end.
pub struct Started {
    child: Child,
    guard: GroupGuard,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    writer: JoinHandle<()>,
    timeout: Duration,
    pub pid: Option<u32>,
}

/// Starts `spec` in its own process group; the prompt goes to stdin.
pub fn spawn(spec: RunSpec) -> Result<Started, RunError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    let failed = |reason: String| RunError::Spawn {
        program: program.clone(),
        reason,
    };
    std::fs::create_dir_all(&spec.cwd)
        .map_err(|e| failed(format!("workspace {}: {e}", spec.cwd.display())))?;
    let mut cmd = Command::new(&program);
    // The supervisor's own ALICE_* variables (admin token, other bots'
    // tokens, app secrets) never reach an agent: it gets only its own.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ALICE_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(spec.argv.get(1..).unwrap_or_default())
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = {
        // Until spawn returns the child has exec'd (std waits for it).
        crate::fds::while_forking(|| cmd.spawn()).map_err(|e| failed(e.to_string()))?
    };
    let pid = child.id();
    let guard = GroupGuard(pid.map(|id| id as i32));

    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = spec.stdin;
    let writer = tokio::spawn(async move {
        // A child that ignores stdin closes the pipe early: not an error.
        let _ = stdin.write_all(input.as_bytes()).await;
        let _ = stdin.shutdown().await;
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr = tokio::spawn(async move {
        let mut kept = String::new();
        let mut chunk = vec![0u8; 8192];
        while let Ok(n) = stderr.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            push_tail(&mut kept, &String::from_utf8_lossy(&chunk[..n]));
        }
        tail(&kept, MAX_OUTPUT)
    });
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    Ok(Started {
        child,
        guard,
        stdout,
        stderr,
        writer,
        timeout: spec.timeout,
        pid,
    })
}

impl Started {
    /// Runs to the end; `on_line` sees every stdout line as it arrives. On
    /// timeout or cancel the group gets SIGTERM, then SIGKILL.
    pub async fn wait(
        mut self,
        mut on_line: impl FnMut(&str),
        cancel: &CancellationToken,
    ) -> CommandOutput {
        let mut out = String::new();
        let mut take = |line: &str, out: &mut String| {
            on_line(line);
            push_tail(out, line);
            out.push('\n');
        };
        let deadline = tokio::time::sleep(self.timeout);
        tokio::pin!(deadline);
        let leader = LeaderExit::new(self.guard.0);
        let mut exited: Option<Option<i32>> = None;
        let mut stdout_open = true;
        let ending = loop {
            if let (Some(code), false) = (exited, stdout_open) {
                break Ending::Exited(code);
            }
            tokio::select! {
                line = self.stdout.next_line(), if stdout_open => match line {
                    Ok(Some(line)) => take(&line, &mut out),
                    _ => stdout_open = false,
                },
                _ = leader.exited(), if exited.is_none() => {
                    // The leader is gone; stray members of its group go
                    // with it, so that the pipes close. Then it is reaped.
                    self.guard.signal(libc::SIGKILL);
                    let status = self.child.wait().await;
                    self.guard.0 = None;
                    exited = Some(status.ok().and_then(|s| s.code()));
                }
                _ = &mut deadline => break Ending::TimedOut,
                _ = cancel.cancelled() => break Ending::Cancelled,
            }
        };
        if !matches!(ending, Ending::Exited(_)) {
            // Signals only while the leader is unreaped (the guard is
            // cleared once it is).
            self.guard.signal(libc::SIGTERM);
            if exited.is_none() {
                if tokio::time::timeout(KILL_GRACE, leader.exited())
                    .await
                    .is_err()
                {
                    tracing::warn!(pid = ?self.pid, "agent ignored SIGTERM; killing its group");
                }
                self.guard.signal(libc::SIGKILL);
                self.guard.0 = None;
                let _ = tokio::time::timeout(DRAIN, self.child.wait()).await;
            }
            let _ = tokio::time::timeout(DRAIN, async {
                while let Ok(Some(line)) = self.stdout.next_line().await {
                    take(&line, &mut out);
                }
            })
            .await;
        }
        self.guard.0 = None;
        let _ = tokio::time::timeout(DRAIN, &mut self.writer).await;
        let stderr = tokio::time::timeout(DRAIN, &mut self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        CommandOutput {
            ending,
            exit_code: match ending {
                Ending::Exited(code) => code,
                _ => None,
            },
            stdout: tail(&out, MAX_OUTPUT),
            stderr,
        }
    }
}
