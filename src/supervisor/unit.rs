//! The lifecycle of one bot: a task that owns the running [`Bot`], obeys
//! start/stop/restart/replace commands, and restarts a failed bot with
//! backoff. One unit never waits on another.

use crate::bot::{Bot, BotHandle, FolderLock, Host, StartError};
use crate::config::BotConfig;
use crate::metrics::SupervisorMetrics;
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Starting,
    Running,
    Stopped,
    Failed,
}

/// A snapshot of one unit for the admin API.
#[derive(Clone)]
pub struct UnitStatus {
    pub config: Arc<BotConfig>,
    pub state: RunState,
    pub since: Instant,
    pub restarts: u32,
    pub last_error: Option<String>,
    /// The running bot, as far as the supervisor's handlers may reach it.
    pub bot: Option<BotHandle>,
}

/// A command's answer: the unit's status once the command took effect (a
/// start answers once the bot runs), or why it could not.
/// Why a start, stop or restart did not leave the bot as asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UnitError {
    #[error("the bot's unit has ended")]
    Ended,
    #[error(transparent)]
    Start(Arc<StartError>),
}

type Reply = oneshot::Sender<Result<UnitStatus, UnitError>>;

enum Command {
    Start(Reply),
    Stop(Reply),
    Restart(Reply),
    Replace(Arc<BotConfig>, Reply),
    Shutdown(Reply),
}

#[derive(Clone)]
pub struct Unit {
    commands: mpsc::UnboundedSender<Command>,
    status: Arc<Mutex<UnitStatus>>,
}

impl Unit {
    pub fn spawn(config: Arc<BotConfig>, host: Host, metrics: SupervisorMetrics) -> Self {
        let status = Arc::new(Mutex::new(UnitStatus {
            state: if config.enabled {
                RunState::Starting
            } else {
                RunState::Stopped
            },
            config: config.clone(),
            since: Instant::now(),
            restarts: 0,
            last_error: None,
            bot: None,
        }));
        let (commands, rx) = mpsc::unbounded_channel();
        // Listed (down, no restarts) from the start, even if it never runs.
        metrics.bot_added(&config.id);
        let worker = Worker {
            host,
            status: status.clone(),
            rx,
            want_running: config.enabled,
            config,
            backoff: FIRST_BACKOFF,
            metrics,
            lock: None,
            kept: None,
        };
        tokio::spawn(worker.run());
        Self { commands, status }
    }

    pub fn status(&self) -> UnitStatus {
        self.status.lock().clone()
    }

    pub async fn start(&self) -> Result<UnitStatus, UnitError> {
        self.send(Command::Start).await
    }
    pub async fn stop(&self) -> Result<UnitStatus, UnitError> {
        self.send(Command::Stop).await
    }
    pub async fn restart(&self) -> Result<UnitStatus, UnitError> {
        self.send(Command::Restart).await
    }
    pub async fn replace(&self, config: Arc<BotConfig>) -> Result<UnitStatus, UnitError> {
        self.send(|reply| Command::Replace(config, reply)).await
    }
    pub async fn shutdown(&self) -> Result<UnitStatus, UnitError> {
        self.send(Command::Shutdown).await
    }

    async fn send(&self, make: impl FnOnce(Reply) -> Command) -> Result<UnitStatus, UnitError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).map_err(|_| UnitError::Ended)?;
        rx.await.map_err(|_| UnitError::Ended)?
    }
}

struct Worker {
    host: Host,
    config: Arc<BotConfig>,
    status: Arc<Mutex<UnitStatus>>,
    rx: mpsc::UnboundedReceiver<Command>,
    want_running: bool,
    backoff: Duration,
    metrics: SupervisorMetrics,
    /// The bot folder's lock, taken before the first start and kept for the
    /// unit's life: restarts never give another alice a window (nor meet
    /// this process's own agents, whose forks briefly share the lock).
    lock: Option<FolderLock>,
    /// The listening socket a restart kept for the next start.
    kept: Option<std::net::TcpListener>,
}

/// What to do after the running bot was interrupted.
enum Next {
    Relaunch,
    Idle,
    Exit,
}

impl Worker {
    async fn run(mut self) {
        // Replies owed to Start/Restart callers, answered after the launch.
        let mut pending: Vec<Reply> = Vec::new();
        loop {
            if !self.want_running {
                self.set(RunState::Stopped, None, None);
                for reply in pending.drain(..) {
                    let _ = reply.send(Ok(self.snapshot()));
                }
                match self.rx.recv().await {
                    None => return,
                    Some(Command::Start(r)) | Some(Command::Restart(r)) => {
                        self.want_running = true;
                        pending.push(r);
                    }
                    Some(Command::Stop(r)) => {
                        let _ = r.send(Ok(self.snapshot()));
                    }
                    Some(Command::Replace(config, r)) => {
                        self.want_running = config.enabled;
                        self.config = config;
                        self.status.lock().config = self.config.clone();
                        pending.push(r);
                    }
                    Some(Command::Shutdown(r)) => {
                        let _ = r.send(Ok(self.snapshot()));
                        return;
                    }
                }
                continue;
            }

            self.set(RunState::Starting, None, None);
            let started = {
                // Bounded: see `bot::start_slots`. (Never closed.)
                let _slot = self.host.start_slots.clone().acquire_owned().await;
                match self.take_lock() {
                    Ok(()) => {
                        Bot::start_on(self.config.clone(), &self.host, self.kept.take()).await
                    }
                    Err(e) => Err(e),
                }
            };
            match started {
                Ok(bot) => {
                    tracing::info!(bot = %self.config.id, addr = %self.config.listen_addr(), "bot started");
                    self.backoff = FIRST_BACKOFF;
                    let handle = bot.handle();
                    self.set(RunState::Running, None, Some(handle.clone()));
                    // Messages queued while the bot was starting but not yet
                    // listed as running (resume takes each message once).
                    if let Err(e) = handle.resume() {
                        tracing::error!(bot = %self.config.id, error = %e, "cannot read the inbox");
                    }
                    for reply in pending.drain(..) {
                        let _ = reply.send(Ok(self.snapshot()));
                    }
                    match self.supervise(bot, &mut pending).await {
                        Next::Relaunch => {
                            self.status.lock().restarts += 1;
                            self.metrics.bot_restarted(&self.config.id);
                        }
                        Next::Idle => {}
                        Next::Exit => return,
                    }
                }
                Err(err) => {
                    let reason = err.to_string();
                    tracing::error!(bot = %self.config.id, error = %reason, retry_in_ms = self.backoff.as_millis() as u64, "bot failed to start");
                    self.set(RunState::Failed, Some(reason), None);
                    let err = UnitError::Start(Arc::new(err));
                    for reply in pending.drain(..) {
                        let _ = reply.send(Err(err.clone()));
                    }
                    if let Next::Exit = self.wait_retry(&mut pending).await {
                        return;
                    }
                }
            }
        }
    }

    /// Nothing of the bot is opened while another alice runs it.
    fn take_lock(&mut self) -> Result<(), StartError> {
        if self.lock.is_none() {
            self.lock = Some(FolderLock::take(&self.host.bot_folder(&self.config.id))?);
        }
        Ok(())
    }

    /// Watches a running bot until a command or its death interrupts it.
    async fn supervise(&mut self, mut bot: Bot, pending: &mut Vec<Reply>) -> Next {
        loop {
            tokio::select! {
                reason = bot.exited() => {
                    tracing::error!(bot = %self.config.id, error = %reason, "bot server died; restarting");
                    // The relaunch must not meet the old chat workers.
                    bot.abandon().await;
                    self.set(RunState::Failed, Some(reason), None);
                    return self.wait_retry(pending).await;
                }
                cmd = self.rx.recv() => match cmd {
                    Some(Command::Start(r)) => { let _ = r.send(Ok(self.snapshot())); }
                    Some(Command::Stop(r)) => {
                        self.stop_bot(bot).await;
                        self.want_running = false;
                        pending.push(r);
                        return Next::Idle;
                    }
                    Some(Command::Restart(r)) => {
                        tracing::info!(bot = %self.config.id, "restarting bot");
                        self.kept = bot.stop_keeping_listener().await;
                        pending.push(r);
                        return Next::Relaunch;
                    }
                    Some(Command::Replace(config, r)) => {
                        self.stop_bot(bot).await;
                        self.want_running = config.enabled;
                        self.config = config;
                        self.status.lock().config = self.config.clone();
                        pending.push(r);
                        return Next::Idle;
                    }
                    Some(Command::Shutdown(r)) => {
                        self.stop_bot(bot).await;
                        self.set(RunState::Stopped, None, None);
                        let _ = r.send(Ok(self.snapshot()));
                        return Next::Exit;
                    }
                    None => {
                        self.stop_bot(bot).await;
                        return Next::Exit;
                    }
                }
            }
        }
    }

    /// After a failed start: wait for the backoff or for a command.
    async fn wait_retry(&mut self, pending: &mut Vec<Reply>) -> Next {
        let sleep = tokio::time::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        tokio::select! {
            _ = sleep => Next::Relaunch,
            cmd = self.rx.recv() => match cmd {
                Some(Command::Start(r)) | Some(Command::Restart(r)) => { pending.push(r); Next::Relaunch }
                Some(Command::Stop(r)) => { self.want_running = false; pending.push(r); Next::Idle }
                Some(Command::Replace(config, r)) => {
                    self.want_running = config.enabled;
                    self.config = config;
                    self.status.lock().config = self.config.clone();
                    self.backoff = FIRST_BACKOFF;
                    pending.push(r);
                    Next::Idle
                }
                Some(Command::Shutdown(r)) => { let _ = r.send(Ok(self.snapshot())); Next::Exit }
                None => Next::Exit,
            }
        }
    }

    async fn stop_bot(&mut self, bot: Bot) {
        tracing::info!(bot = %self.config.id, "stopping bot");
        bot.stop().await;
        tracing::info!(bot = %self.config.id, "bot stopped");
    }

    fn snapshot(&self) -> UnitStatus {
        self.status.lock().clone()
    }

    fn set(&self, state: RunState, error: Option<String>, bot: Option<BotHandle>) {
        let mut status = self.status.lock();
        if status.state != state {
            status.since = Instant::now();
        }
        status.state = state;
        self.metrics
            .bot_up(&self.config.id, state == RunState::Running);
        if error.is_some() || state == RunState::Running || state == RunState::Stopped {
            status.last_error = error;
        }
        status.bot = bot;
    }
}
