//! The table of error codes: every code a client can see, with its HTTP
//! status, side by side. Codes are part of the API contract: add new ones,
//! never rename or reuse one.

use actix_web::http::StatusCode;

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $status:ident;)*) => {
        /// A stable, machine-readable reason, sent as `code` in every error body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, in table order (for the OpenAPI document and tests).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

codes! {
    // The request itself.
    /// A field or parameter is missing or malformed.
    InvalidRequest = "invalid_request", BAD_REQUEST;
    /// The JSON body is not JSON, or not the expected shape.
    InvalidJson = "invalid_json", BAD_REQUEST;
    InvalidQuery = "invalid_query", BAD_REQUEST;
    InvalidPath = "invalid_path", BAD_REQUEST;
    /// A header is malformed, repeated or names an unknown value.
    InvalidHeader = "invalid_header", BAD_REQUEST;
    /// The multipart form is malformed or lacks a part.
    InvalidUpload = "invalid_upload", BAD_REQUEST;
    /// The request names no conversation where one is needed.
    MissingConversation = "missing_conversation", BAD_REQUEST;
    BodyTooLarge = "body_too_large", PAYLOAD_TOO_LARGE;
    /// The body did not arrive in time.
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT;
    RouteNotFound = "route_not_found", NOT_FOUND;
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;

    // Who is asking.
    MissingToken = "missing_token", UNAUTHORIZED;
    InvalidToken = "invalid_token", UNAUTHORIZED;
    /// Too many failed authentication attempts from this address.
    AuthThrottled = "auth_throttled", TOO_MANY_REQUESTS;
    /// The token's requests per minute are used up.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    /// `permissions.<name>` is off for this bot.
    PermissionDisabled = "permission_disabled", FORBIDDEN;
    /// A run's token named a conversation other than its own.
    OutsideScope = "outside_scope", FORBIDDEN;
    /// A console session's state-changing request lacked its CSRF token.
    CsrfRejected = "csrf_rejected", FORBIDDEN;
    /// The route is not open to a console session (bot tokens, say).
    ConsoleForbidden = "console_forbidden", FORBIDDEN;

    // Automation tasks.
    TaskNotFound = "task_not_found", NOT_FOUND;
    InvalidTask = "invalid_task", BAD_REQUEST;

    // Goals.
    GoalNotFound = "goal_not_found", NOT_FOUND;
    InvalidGoal = "invalid_goal", BAD_REQUEST;
    /// The conversation already has an unfinished goal.
    GoalExists = "goal_exists", CONFLICT;
    /// Pause, resume or complete from a status that does not allow it.
    IllegalGoalTransition = "illegal_goal_transition", CONFLICT;

    // Agent runs.
    RunNotFound = "run_not_found", NOT_FOUND;
    InvalidRun = "invalid_run", BAD_REQUEST;
    /// The bot has no agent command.
    AgentNotConfigured = "agent_not_configured", BAD_REQUEST;
    /// The bot or the host runs as many agents as it may.
    CapacityExhausted = "capacity_exhausted", TOO_MANY_REQUESTS;
    /// Cancel of a run that has already finished.
    RunFinished = "run_finished", CONFLICT;
    /// The agent's program could not be started.
    SpawnFailed = "spawn_failed", INTERNAL_SERVER_ERROR;

    // Skills.
    SkillNotFound = "skill_not_found", NOT_FOUND;
    InvalidSkill = "invalid_skill", BAD_REQUEST;

    // The tool API.
    /// `tools.invoke_enabled` is off for this bot.
    ToolsDisabled = "tools_disabled", FORBIDDEN;
    /// The tool is not among the bot's offered tools.
    ToolNotFound = "tool_not_found", NOT_FOUND;
    /// The callback URL or headers are refused.
    InvalidCallback = "invalid_callback", BAD_REQUEST;
    /// `tools.mcp_enabled` is off for this bot.
    McpDisabled = "mcp_disabled", NOT_FOUND;
    /// A browser's request from a web origin other than loopback (MCP).
    InvalidOrigin = "invalid_origin", FORBIDDEN;

    // Messages and platforms.
    /// The message breaks a platform rule (size, emptiness, kind).
    InvalidMessage = "invalid_message", BAD_REQUEST;
    PlatformRejected = "platform_rejected", BAD_GATEWAY;
    PlatformTimeout = "platform_timeout", GATEWAY_TIMEOUT;
    /// The platform kept throttling after the retries.
    PlatformThrottled = "platform_throttled", BAD_GATEWAY;
    /// The bot's platform cannot do this at all (its connector says so).
    UnsupportedByPlatform = "unsupported_by_platform", NOT_IMPLEMENTED;

    // Bots and the supervisor.
    BotNotFound = "bot_not_found", NOT_FOUND;
    /// The file has the bot, but another shard's supervisor runs it.
    BotOnOtherShard = "bot_on_other_shard", NOT_FOUND;
    /// An import names a bot this data folder already has.
    BotExists = "bot_exists", CONFLICT;
    /// A bot archive that is damaged, not an archive, or of a newer format.
    InvalidArchive = "invalid_archive", BAD_REQUEST;
    /// The bot is stopped (or failed): start it first.
    BotNotRunning = "bot_not_running", CONFLICT;
    /// The bot is stopping and takes no new work.
    BotStopping = "bot_stopping", CONFLICT;
    /// A start, stop or restart could not be carried out.
    BotUnavailable = "bot_unavailable", SERVICE_UNAVAILABLE;
    /// The route does not apply to this bot's connector.
    WrongConnector = "wrong_connector", CONFLICT;
    /// The config file on disk is invalid; nothing changed.
    InvalidConfig = "invalid_config", BAD_REQUEST;

    // Platform callbacks.
    InvalidSignature = "invalid_signature", UNAUTHORIZED;
    InvalidEvent = "invalid_event", BAD_REQUEST;

    /// Something failed inside alice; details are in its log only.
    Internal = "internal", INTERNAL_SERVER_ERROR;
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{name}`")))
    }
}

impl utoipa::PartialSchema for Code {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
            .description(Some("A stable, machine-readable reason."))
            .into()
    }
}

impl utoipa::ToSchema for Code {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "`{name}` appears twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "`{name}` is not snake_case"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let readme = include_str!("../../README.md");
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.status().as_u16());
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }
}
