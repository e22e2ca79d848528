//! The reply pipeline, the bot's one inbound service: every connector's
//! messages (the local chat's too) are de-duplicated by (platform, message
//! id), queued durably,
//! answered by the bot's agent (one run at a time per conversation, in
//! arrival order; conversations in parallel up to the bot's capacity), and
//! the answer is sent back as a reply through the connector.

mod history;
mod inbox;
mod turns;

pub use history::{build_prompt, History, Role, Turn};
pub use inbox::{session_key, Inbox, InboxProbe, Pending};
pub use turns::{TurnGuard, Turns};

use crate::agent::{AgentError, AgentRunner};
use crate::config::{ChatConfig, TriggerMode};
use crate::connector::inbound::{InboundFeed, InboundMessage, InboundSink};
use crate::connector::{Destination, Messenger, Payload};
use crate::metrics::BotMetrics;
use crate::scope::{ChatType, Scope};
use crate::store::BotStore;
use crate::store::Result;
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Answers a prompt for a conversation (the bot's agent runs).
#[async_trait]
pub trait Answerer: Send + Sync + 'static {
    /// The run's id when it got one, and the answer or why there is none.
    async fn answer(
        &self,
        scope: &Scope,
        prompt: &str,
    ) -> (Option<String>, std::result::Result<String, AgentError>);
}

#[async_trait]
impl Answerer for AgentRunner {
    async fn answer(
        &self,
        scope: &Scope,
        prompt: &str,
    ) -> (Option<String>, std::result::Result<String, AgentError>) {
        self.converse(scope, prompt).await
    }
}

#[derive(Clone)]
pub struct ChatPipeline {
    inner: Arc<Inner>,
}

struct Inner {
    bot_id: String,
    /// The de-duplication namespace of the bot's connector.
    platform: &'static str,
    /// Told of every message accepted.
    feed: InboundFeed,
    config: ChatConfig,
    inbox: Inbox,
    history: History,
    messenger: Arc<dyn Messenger>,
    answerer: Arc<dyn Answerer>,
    /// Conversations answered at once.
    capacity: Arc<Semaphore>,
    queues: Mutex<Queues>,
    cancel: CancellationToken,
    workers: tokio_util::task::TaskTracker,
    metrics: BotMetrics,
    /// Shared with the goal engine: one run at a time per conversation.
    turns: Turns,
}

/// A message's answer was cut short by a stop.
struct Interrupted;

#[derive(Default)]
struct Queues {
    waiting: HashMap<String, VecDeque<Pending>>,
    /// Sessions that have a worker.
    active: HashSet<String>,
    /// Inbox items queued or being answered here (by `seq`).
    taken: HashSet<u64>,
}

/// Who a pipeline serves: the bot, its connector's platform, the feed.
pub struct Intake {
    pub bot_id: String,
    pub platform: &'static str,
    pub feed: InboundFeed,
}

impl ChatPipeline {
    /// A local bot's pipeline, watched by nobody (see [`ChatPipeline::open`]).
    pub fn new(
        bot_id: &str,
        config: ChatConfig,
        store: &BotStore,
        messenger: Arc<dyn Messenger>,
        answerer: Arc<dyn Answerer>,
        capacity: usize,
        metrics: BotMetrics,
    ) -> Result<Self> {
        let intake = Intake {
            bot_id: bot_id.to_string(),
            platform: crate::config::ConnectorKind::Local.platform(),
            feed: InboundFeed::default(),
        };
        Self::open(
            intake, config, store, messenger, answerer, capacity, metrics,
        )
    }

    pub fn open(
        intake: Intake,
        config: ChatConfig,
        store: &BotStore,
        messenger: Arc<dyn Messenger>,
        answerer: Arc<dyn Answerer>,
        capacity: usize,
        metrics: BotMetrics,
    ) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                bot_id: intake.bot_id,
                platform: intake.platform,
                feed: intake.feed,
                config,
                inbox: Inbox::open(store.clone())?,
                history: History::open(store.clone())?,
                messenger,
                answerer,
                capacity: Arc::new(Semaphore::new(capacity.max(1))),
                queues: Mutex::default(),
                cancel: CancellationToken::new(),
                workers: tokio_util::task::TaskTracker::new(),
                metrics,
                turns: Turns::default(),
            }),
        })
    }

    /// The conversations' kept turns (read-only: MCP resources, the console).
    pub fn history(&self) -> &History {
        &self.inner.history
    }

    /// Picks up what was queued while the bot was down, in arrival order.
    /// Safe to call again: a message already taken is not taken twice.
    pub fn resume(&self) -> Result<usize> {
        let pending = self.inner.inbox.unanswered()?;
        let count = pending.len();
        for item in pending {
            self.dispatch(item)?;
        }
        Ok(count)
    }

    /// The conversations' turns, which goal iterations take too.
    pub fn turns(&self) -> &Turns {
        &self.inner.turns
    }

    /// The inbox's state (reads the store: off the async workers).
    pub fn probe(&self) -> Result<InboxProbe> {
        self.inner.inbox.probe()
    }

    /// Stops answering; unanswered messages stay queued for the next start.
    pub fn stop(&self) {
        self.inner.cancel.cancel();
    }

    /// Stops answering and waits until no worker is left (one may be
    /// sending an answer it already has), so a successor never takes a
    /// message this pipeline is still finishing.
    pub async fn stopped(&self) {
        self.stop();
        self.inner.workers.close();
        self.inner.workers.wait().await;
    }

    /// Queues a message; `false` when it is a redelivery.
    pub async fn push(&self, message: InboundMessage) -> Result<bool> {
        let pushed = self.inner.inbox.push(self.inner.platform, message).await;
        let metrics = &self.inner.metrics;
        match pushed {
            Ok(Some(item)) => {
                metrics.inbound("queued");
                self.inner.feed.publish(&self.inner.bot_id, &item.message);
                self.dispatch(item)?;
                Ok(true)
            }
            Ok(None) => {
                metrics.inbound("duplicate");
                Ok(false)
            }
            Err(e) => {
                metrics.inbound("error");
                Err(e)
            }
        }
    }

    fn dispatch(&self, item: Pending) -> Result<()> {
        let session = item.session_key.clone();
        let start_worker = {
            let mut q = self.inner.queues.lock();
            // Taken already, or answered since it was read (`done` removes it
            // from the inbox before it leaves `taken`): nothing to do.
            if !q.taken.insert(item.seq) {
                return Ok(());
            }
            match self.inner.inbox.is_pending(item.seq) {
                Ok(true) => {}
                Ok(false) => {
                    q.taken.remove(&item.seq);
                    return Ok(());
                }
                Err(e) => {
                    q.taken.remove(&item.seq);
                    return Err(e);
                }
            }
            q.waiting
                .entry(session.clone())
                .or_default()
                .push_back(item);
            q.active.insert(session.clone())
        };
        if start_worker {
            let inner = self.inner.clone();
            self.inner
                .workers
                .spawn(async move { inner.work(session).await });
        }
        Ok(())
    }
}

#[async_trait]
impl InboundSink for ChatPipeline {
    async fn deliver(&self, message: InboundMessage) -> Result<bool> {
        let id = message.message_id.clone();
        self.push(message).await.inspect_err(|e| {
            tracing::error!(bot = %self.inner.bot_id, message_id = %id, error = %e, "cannot queue an inbound message");
        })
    }
}

impl Inner {
    /// One session's worker: answers its queue in order, then ends.
    async fn work(self: Arc<Self>, session: String) {
        loop {
            let next = {
                let mut q = self.queues.lock();
                let item = q.waiting.get_mut(&session).and_then(VecDeque::pop_front);
                if item.is_none() {
                    q.waiting.remove(&session);
                    q.active.remove(&session);
                }
                item
            };
            let Some(item) = next else { return };
            // A stop interrupts the run, never the sending of its answer: an
            // interrupted message stays in the inbox for the next start, an
            // answered one is sent and marked done.
            // The conversation's turn is held until the answer is sent, and
            // every line about this message carries it.
            let span = tracing::info_span!("inbound_message", bot = %self.bot_id, message_id = %item.message.message_id, session = %session);
            let reply = tracing::Instrument::instrument(
                async {
                    tokio::select! {
                        biased;
                        _ = self.cancel.cancelled() => Err(Interrupted),
                        reply = async {
                            let turn = self.turns.take(&session).await;
                            self.reply_for(&item).await.map(|r| (r, turn))
                        } => reply,
                    }
                },
                span.clone(),
            )
            .await;
            let Ok((reply, _turn)) = reply else {
                // Interrupted by a stop (ours, or the agent's seen first):
                // it stays in the inbox for the next start.
                self.queues.lock().taken.remove(&item.seq);
                continue;
            };
            if let Some((text, run_id)) = reply {
                let send = self.send(&item.message, text, &run_id);
                tracing::Instrument::instrument(send, span).await;
            }
            if let Err(e) = self.inbox.done(item.seq).await {
                tracing::error!(bot = %self.bot_id, error = %e, "cannot mark a message answered");
            }
            self.queues.lock().taken.remove(&item.seq);
        }
    }

    /// The text to send for a message and the run's id, `None` when nothing
    /// is to be sent, `Interrupted` when the bot is stopping.
    async fn reply_for(
        &self,
        item: &Pending,
    ) -> std::result::Result<Option<(String, String)>, Interrupted> {
        let message = &item.message;
        if message.chat_type == ChatType::Group
            && !message.mentions_bot
            && self.config.trigger_mode == TriggerMode::Mention
        {
            return Ok(None);
        }
        let _permit = self.capacity.acquire().await.map_err(|_| Interrupted)?;
        let scope = message.scope(&item.session_key);
        // An unreadable history is a storage fault worth an error, not a
        // reason to leave the user unanswered: the message is answered
        // without the earlier turns.
        let history = match self
            .history
            .recent(&item.session_key, self.config.history_messages)
        {
            Ok(history) => history,
            Err(e) => {
                tracing::error!(bot = %self.bot_id, session = %item.session_key, error = %e, "cannot read the conversation's history; answering without it");
                Vec::new()
            }
        };
        // The run service adds the conversation's goal to the prompt.
        let prompt = build_prompt(&history, &message.text);
        let (run_id, result) = self.answerer.answer(&scope, &prompt).await;
        let run_id = run_id.unwrap_or_else(|| "-".into());
        match result {
            Ok(answer) => {
                let answer = answer.trim().to_string();
                let turns = [
                    Turn {
                        role: Role::User,
                        text: message.text.clone(),
                    },
                    Turn {
                        role: Role::Assistant,
                        text: answer.clone(),
                    },
                ];
                if let Err(e) =
                    self.history
                        .append(&item.session_key, &turns, self.config.history_messages)
                {
                    tracing::error!(bot = %self.bot_id, error = %e, "cannot keep history");
                }
                Ok((!answer.is_empty() && answer != self.config.no_reply_token)
                    .then_some((answer, run_id)))
            }
            // The message waits in the inbox for the next start instead of
            // getting the failure message.
            Err(AgentError::Stopping) => {
                tracing::info!(bot = %self.bot_id, message_id = %message.message_id, "the bot is stopping; the message waits for the next start");
                Err(Interrupted)
            }
            Err(error) => {
                tracing::error!(bot = %self.bot_id, run_id = %run_id, message_id = %message.message_id, error = %error, "agent run failed");
                Ok(Some((self.config.failure_message.clone(), run_id)))
            }
        }
    }

    /// Sends `text` as a reply to `message`.
    async fn send(&self, message: &InboundMessage, text: String, run_id: &str) {
        let to = Destination {
            receive_id_type: message.receive_id_type,
            receive_id: message.receive_id.clone(),
            // A platform without replies gets the answer as a plain message.
            reply_to: (self.messenger.capabilities().replies).then(|| message.message_id.clone()),
        };
        if let Err(e) = self.messenger.send(&to, Payload::Text(text)).await {
            tracing::error!(bot = %self.bot_id, run_id = %run_id, error = %e, "cannot send the reply");
        }
    }
}
