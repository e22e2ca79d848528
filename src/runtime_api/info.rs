//! `GET /api/v1/bot`: which bot a token reaches (skills use it to check
//! they talk to the right one).

use crate::bot::BotState;
use crate::config::Permissions;
use crate::error::ErrorBody;
use crate::http::resource;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct BotInfo {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub permissions: PermissionsView,
}

#[derive(Serialize, ToSchema)]
pub struct PermissionsView {
    pub runtime_message: bool,
    pub runtime_automation: bool,
    pub runtime_goal: bool,
}

impl From<&Permissions> for PermissionsView {
    fn from(p: &Permissions) -> Self {
        Self {
            runtime_message: p.runtime_message,
            runtime_automation: p.runtime_automation,
            runtime_goal: p.runtime_goal,
        }
    }
}

/// The bot this token belongs to.
#[utoipa::path(get, path = "/api/v1/bot", operation_id = "getBotInfo", tag = "bot",
    responses(
        (status = 200, description = "This bot", body = BotInfo),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody)))]
pub async fn bot_info(state: web::Data<BotState>) -> HttpResponse {
    let config = state.config();
    HttpResponse::Ok().json(BotInfo {
        id: config.id.clone(),
        name: config.display_name().to_string(),
        timezone: config.timezone.name().to_string(),
        permissions: (&config.permissions).into(),
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/bot").get(bot_info));
}
