//! `GET /api/v1/probes/internal`: what this bot is and what it is doing,
//! read from its services, for the bot's main token only (a run's token is
//! limited to its conversation: 403). No token or secret is ever shown; the
//! agent's command is its program's name only.

use super::extract::main_token_only;
use super::info::PermissionsView;
use crate::agent::{AgentProbe, SkillCalls};
use crate::automation::SchedulerProbe;
use crate::bot::BotState;
use crate::chat::InboxProbe;
use crate::config::{ConnectorKind, Limits};
use crate::connector::ConnectorProbe;
use crate::error::{Error, ErrorBody};
use crate::goal::GoalsProbe;
use crate::http::resource;
use crate::metrics::HttpTotals;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct InternalProbe {
    pub timestamp: DateTime<Utc>,
    /// alice's version.
    pub version: String,
    /// Since this bot was (re)started.
    pub uptime_seconds: u64,
    pub bot: ProbeBot,
    pub limits: Limits,
    pub permissions: PermissionsView,
    /// This bot's Runtime API counters.
    pub http: HttpTotals,
    pub scheduler: SchedulerProbe,
    pub goals: GoalsProbe,
    pub agent: AgentProbe,
    pub inbox: InboxProbe,
    pub connector: ConnectorProbe,
    pub store: ProbeStore,
    pub skills: ProbeSkills,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeBot {
    pub id: String,
    pub name: String,
    /// The Runtime API's listen address (`host:port`).
    pub address: String,
    pub connector: ConnectorKind,
    pub timezone: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeStore {
    /// The bytes of this bot's keys and values (the database file is shared
    /// by every bot of the supervisor).
    pub size_bytes: u64,
    /// This bot's trees in the database (names after `<bot id>/`).
    pub trees: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeSkills {
    pub count: usize,
    pub items: Vec<ProbeSkill>,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeSkill {
    pub name: String,
    /// Its `SKILL.md` was read and, when it names an entry script, that
    /// script is there: a folder without either is listed as not loaded.
    pub loaded: bool,
    /// Workflow runs of the skill (`run_workflow` tasks) since the bot
    /// started, and how they ended.
    #[serde(flatten)]
    pub calls: SkillCalls,
}

impl InternalProbe {
    /// Reads the store and the skills folder: call it off the async workers.
    fn read(state: &BotState) -> Result<Self, Error> {
        let config = state.config();
        let skills = skills(state)?;
        Ok(Self {
            timestamp: Utc::now(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: state.uptime().as_secs(),
            bot: ProbeBot {
                id: config.id.clone(),
                name: config.display_name().to_string(),
                address: config.listen_addr().to_string(),
                connector: config.connector.kind,
                timezone: config.timezone.name().to_string(),
            },
            limits: config.limits.clone(),
            permissions: (&config.permissions).into(),
            http: state.metrics().http().totals(),
            scheduler: state.automation().probe()?,
            goals: state.goals().probe()?,
            agent: state.agent().probe(),
            inbox: state.chat().probe()?,
            connector: state.connector_health().probe(),
            store: ProbeStore {
                size_bytes: state.store().size_bytes()?,
                trees: state.store().tree_names(),
            },
            skills: ProbeSkills {
                count: skills.len(),
                items: skills,
            },
        })
    }
}

/// Every skill folder, loaded or not, with its calls.
fn skills(state: &BotState) -> Result<Vec<ProbeSkill>, Error> {
    let agent = state.agent();
    let dir = agent.skills_dir();
    let listed = crate::skills::list(dir)?;
    let mut items: Vec<ProbeSkill> = listed
        .iter()
        .map(|s| ProbeSkill {
            name: s.name.clone(),
            loaded: s.entry.is_none() || crate::skills::entry(dir, &s.name).is_ok(),
            calls: agent.skill_calls(&s.name),
        })
        .collect();
    // Folders `skills::list` skips (no readable `SKILL.md`).
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let folder = entry.file_name().to_string_lossy().into_owned();
            let hidden = folder.starts_with('.');
            if entry.path().is_dir() && !hidden && !listed.iter().any(|s| s.folder == folder) {
                items.push(ProbeSkill {
                    calls: agent.skill_calls(&folder),
                    name: folder,
                    loaded: false,
                });
            }
        }
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

/// This bot's state: configuration (no secrets), counters and queues.
#[utoipa::path(get, path = "/api/v1/probes/internal", operation_id = "getInternalProbe", tag = "meta",
    responses(
        (status = 200, description = "This bot's state", body = InternalProbe),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A run's token: the probe needs the bot's main token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody)))]
pub async fn internal(req: HttpRequest, state: web::Data<BotState>) -> Result<HttpResponse, Error> {
    main_token_only(&req, "probes")?;
    let state = state.into_inner();
    let probe = web::block(move || InternalProbe::read(&state))
        .await
        .map_err(Error::internal)??;
    Ok(HttpResponse::Ok().json(probe))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/probes/internal").get(internal));
}
