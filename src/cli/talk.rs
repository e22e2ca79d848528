//! `alice chat BOT`: an interactive chat with a bot on the local connector.
//! A line in is a message to the bot; its replies (and anything else the bot
//! sends to the conversation, such as reminders) are printed as they arrive.

use super::admin_client::{encode, AdminClient};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Two admin requests per poll: well inside the admin API's rate limit.
const POLL: Duration = Duration::from_millis(500);
/// How long one message may take before the chat stops waiting for it.
const REPLY_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Talk {
    client: AdminClient,
    bot: String,
    conversation: String,
    /// Messages of the conversation already printed or skipped.
    seen: usize,
    tty: bool,
}

impl Talk {
    pub async fn open(client: AdminClient, bot: &str, conversation: &str) -> Result<Self, String> {
        let info = client.get(&format!("/api/bots/{}", encode(bot))).await?;
        let mut talk = Self {
            client,
            bot: encode(bot),
            conversation: encode(conversation),
            seen: 0,
            tty: std::io::stderr().is_terminal(),
        };
        // Earlier messages are history: start after them.
        while !talk.fetch_new().await?.is_empty() {}
        if talk.tty {
            eprintln!(
                "Talking to {} ({}) in conversation `{conversation}`. Ctrl-D quits.",
                info["name"].as_str().unwrap_or(bot),
                info["state"].as_str().unwrap_or("?")
            );
        }
        Ok(talk)
    }

    /// Reads lines from stdin until it ends, then waits `linger` for late
    /// messages (reminders).
    pub async fn run(mut self, linger: Duration) -> Result<(), String> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut tick = tokio::time::interval(POLL);
        loop {
            // While the user thinks, what the bot sends on its own (a
            // reminder) still shows. `next_line` is cancel-safe.
            let line = tokio::select! {
                line = lines.next_line() => line.map_err(|e| e.to_string())?,
                _ = tick.tick() => {
                    self.print_new().await?;
                    continue;
                }
            };
            let Some(line) = line else { break };
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let id = self.say(text).await?;
            self.wait_for(&id).await?;
        }
        let until = Instant::now() + linger;
        while Instant::now() < until {
            self.print_new().await?;
            tokio::time::sleep(POLL).await;
        }
        self.print_new().await
    }

    async fn say(&self, text: &str) -> Result<String, String> {
        let path = format!(
            "/api/bots/{}/conversations/{}/messages",
            self.bot, self.conversation
        );
        let queued = self
            .client
            .post(&path, Some(json!({ "text": text })))
            .await?;
        queued["message_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "the supervisor gave no message id".to_string())
    }

    /// Prints what arrives until the bot has dealt with message `id`.
    async fn wait_for(&mut self, id: &str) -> Result<(), String> {
        let started = Instant::now();
        loop {
            self.print_new().await?;
            let inbox = self
                .client
                .get(&format!("/api/bots/{}/inbox", self.bot))
                .await?;
            let pending = inbox
                .as_array()
                .is_some_and(|ids| ids.iter().any(|v| v == id));
            if !pending {
                self.print_new().await?;
                self.progress(None);
                return Ok(());
            }
            if started.elapsed() > REPLY_TIMEOUT {
                self.progress(None);
                return Err(format!(
                    "no answer from `{}` after {:?}",
                    self.bot, REPLY_TIMEOUT
                ));
            }
            self.progress(Some(started.elapsed()));
            tokio::time::sleep(POLL).await;
        }
    }

    /// A one-line "working" indicator on a terminal; nothing otherwise.
    fn progress(&self, elapsed: Option<Duration>) {
        if !self.tty {
            return;
        }
        match elapsed {
            Some(e) => eprint!("\r\x1b[2K{} is working… {}s", self.bot, e.as_secs()),
            None => eprint!("\r\x1b[2K"),
        }
    }

    async fn print_new(&mut self) -> Result<(), String> {
        for message in self.fetch_new().await? {
            if message["direction"] == "out" {
                self.progress(None);
                println!("{}> {}", self.bot, render(&message));
            }
        }
        Ok(())
    }

    async fn fetch_new(&mut self) -> Result<Vec<Value>, String> {
        let path = format!(
            "/api/bots/{}/conversations/{}/messages?offset={}&limit=200",
            self.bot, self.conversation, self.seen
        );
        let page = self.client.get(&path).await?;
        let items = page.as_array().cloned().unwrap_or_default();
        self.seen += items.len();
        Ok(items)
    }
}

/// A message as one line: its text, or what was attached and where it is.
pub fn render(message: &Value) -> String {
    let text = message["text"].as_str().unwrap_or_default();
    match message["msg_type"].as_str() {
        Some("image") | Some("file") => format!(
            "[{}: {} → {}]",
            message["msg_type"].as_str().unwrap_or_default(),
            message["file_name"].as_str().unwrap_or("?"),
            message["file_path"].as_str().unwrap_or("?")
        ),
        _ => text.to_string(),
    }
}
