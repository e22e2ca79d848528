//! The registry of a bot's trees: every tree a bot owns, its name on disk
//! (`<bot id>/<name>`) and the layout of its keys, in one place.
//! Keys that carry a sequence use `␟` (U+001F) as separator and zero-padded
//! numbers, so that key order is the order that matters.

/// One of a bot's trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// `runtime_http_token` → the bot token generated at its first start.
    Meta,
    /// `bundled:<path>` → the content alice last wrote to that path (so a
    /// file the user edited is left alone).
    SkillFiles,
    /// `<task id>` → automation `StoredTask`.
    Tasks,
    /// `<task id>␟<seq:020>` → automation `TaskRun` (the last runs of a task).
    TaskRuns,
    /// `all␟<seq:020>` and `<status>␟<seq:020>` → `OrderEntry` (tasks in
    /// creation order, all and per status); `count␟<bucket>` → the bucket's
    /// size (u64, big-endian). Written in one transaction with `Tasks`.
    TaskOrder,
    /// `<session key>` → `Goal` (the conversation's newest goal).
    Goals,
    /// `<session key>␟<created ms:020>␟<goal id>` → a finished `Goal`.
    GoalHistory,
    /// `<run id>` → `AgentRun`; run ids are UUID v7, so key order is start order.
    Runs,
    /// `<run id>␟<seq:010>` → `RunEvent`.
    RunEvents,
    /// `<seq:020>` → an inbound message not answered yet.
    Inbox,
    /// `<platform>␟<message id>` → when it was first seen (de-duplication).
    InboxSeen,
    /// `<session key>␟<seq:020>` → one `Turn` of the conversation.
    History,
    /// `<conversation>␟<seq:020>` → a message of the local connector.
    LocalMessages,
    /// `<conversation>` → the local conversation's summary.
    LocalConversations,
    /// `img_<32 hex>` / `file_<32 hex>` → the local connector's `KeyedFile`
    /// (the newest stored copy of what that key sends).
    LocalKeys,
    /// `offset` → the next Telegram `update_id` to ask for (i64): updates
    /// below it are queued durably, so none is lost or repeated.
    TelegramOffset,
}

impl Tree {
    /// The name after `<bot id>/`. Stored data depends on these: never rename.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::SkillFiles => "skill_files",
            Tree::Tasks => "tasks",
            Tree::TaskRuns => "task_runs",
            Tree::TaskOrder => "task_order",
            Tree::Goals => "goals",
            Tree::GoalHistory => "goal_history",
            Tree::Runs => "runs",
            Tree::RunEvents => "run_events",
            Tree::Inbox => "inbox",
            Tree::InboxSeen => "inbound_seen",
            Tree::History => "history",
            Tree::LocalMessages => "messages",
            Tree::LocalConversations => "conversations",
            Tree::LocalKeys => "local_keys",
            Tree::TelegramOffset => "telegram_offset",
        }
    }
}
