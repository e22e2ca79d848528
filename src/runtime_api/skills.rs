//! `GET /api/v1/skills`: the skills in this bot's skills folder.

use crate::bot::BotState;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::skills::{self, SkillInfo};
use actix_web::{web, HttpResponse};

/// Every skill (a folder with a `SKILL.md`), by name.
#[utoipa::path(get, path = "/api/v1/skills", operation_id = "listSkills", tag = "skills",
    responses((status = 200, body = [SkillInfo]), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<BotState>) -> Result<HttpResponse> {
    let dir = state.agent().skills_dir().to_path_buf();
    let found = web::block(move || skills::list(&dir))
        .await
        .map_err(crate::error::Error::internal)?
        .map_err(crate::error::Error::from)?;
    Ok(HttpResponse::Ok().json(found))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/skills").get(list));
}
