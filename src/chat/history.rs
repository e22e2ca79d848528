//! Recent turns of each conversation, so the agent sees context.
//!
//! Tree `<id>/history`: `<session_key>\u{1f}<seq:020>` → [`Turn`].

use crate::store::Result;
use crate::store::{BotStore, Tree, TypedTree};
use serde::{Deserialize, Serialize};

const SEP: char = '\u{1f}';
/// Turns kept per session beyond what prompts use.
const KEEP_EXTRA: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// Who said a turn; stored and shown to the agent as `user`/`assistant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone)]
pub struct History {
    store: BotStore,
    turns: TypedTree<Turn>,
}

impl History {
    pub fn open(store: BotStore) -> Result<Self> {
        Ok(Self {
            turns: store.tree(Tree::History)?,
            store,
        })
    }

    /// The last `n` turns of a session, oldest first.
    pub fn recent(&self, session: &str, n: usize) -> Result<Vec<Turn>> {
        let all = self.turns.scan_prefix(&format!("{session}{SEP}"))?;
        let skip = all.len().saturating_sub(n);
        Ok(all.into_iter().skip(skip).collect())
    }

    /// Every session's kept turns, oldest first (the console's read-only
    /// view of what alice received and answered).
    pub fn all(&self) -> Result<Vec<(String, Vec<Turn>)>> {
        let mut sessions: Vec<(String, Vec<Turn>)> = Vec::new();
        for (key, turn) in self.turns.entries()? {
            let session = key.rsplit_once(SEP).map_or(key.as_str(), |(s, _)| s);
            match sessions.last_mut() {
                Some((last, turns)) if last == session => turns.push(turn),
                _ => sessions.push((session.to_string(), vec![turn])),
            }
        }
        Ok(sessions)
    }

    /// Appends turns and trims the session to a bounded length.
    pub fn append(&self, session: &str, turns: &[Turn], keep: usize) -> Result<()> {
        for turn in turns {
            let key = format!("{session}{SEP}{:020}", self.store.next_id()?);
            self.turns.insert(&key, turn)?;
        }
        self.turns
            .keep_last_with_prefix(&format!("{session}{SEP}"), keep + KEEP_EXTRA)?;
        Ok(())
    }
}

/// The prompt: earlier turns, then the message (always the last line).
pub fn build_prompt(history: &[Turn], text: &str) -> String {
    let mut prompt = String::new();
    if !history.is_empty() {
        prompt.push_str("Conversation so far:\n");
        for turn in history {
            prompt.push_str(&format!("{}: {}\n", turn.role.as_str(), turn.text));
        }
        prompt.push_str("\nNew message:\n");
    }
    prompt.push_str(text);
    prompt
}
