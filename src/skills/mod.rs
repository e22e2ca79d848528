//! Skills: one folder per skill with a `SKILL.md` (front matter `name`,
//! `description`, optional `entry`) and its scripts. alice ships four
//! (`alice-scheduler` is `alice-automation` under Alice's name),
//! embedded in the binary and written into every bot's workspace at start.

mod tool;

pub use tool::{tools, SkillTool};

use crate::error::{Code, ErrorCode};
use crate::store::{StoreError, TypedTree};
use serde::Serialize;
use std::path::{Path, PathBuf};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error("no skill `{0}`")]
    NotFound(String),
    #[error("skill `{name}` has no entry script `{entry}`")]
    NoEntry { name: String, entry: String },
    #[error("the skills folder cannot be read: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for SkillError {
    fn code(&self) -> Code {
        match self {
            SkillError::NotFound(_) => Code::SkillNotFound,
            SkillError::NoEntry { .. } => Code::InvalidSkill,
            SkillError::Io(_) | SkillError::Store(_) => Code::Internal,
        }
    }
}

type Result<T, E = SkillError> = std::result::Result<T, E>;

/// (path inside a skills folder, content) of every bundled file.
const BUNDLED: &[(&str, &str)] = &[
    (
        "alice-message/SKILL.md",
        include_str!("bundled/alice-message/SKILL.md"),
    ),
    (
        "alice-message/scripts/send_image.sh",
        include_str!("bundled/alice-message/scripts/send_image.sh"),
    ),
    (
        "alice-message/scripts/send_file.sh",
        include_str!("bundled/alice-message/scripts/send_file.sh"),
    ),
    // Alice's script names, for agents prompted with Alice's own SKILL.md.
    (
        "alice-message/scripts/alice-message.sh",
        include_str!("bundled/alice-message/scripts/alice-message.sh"),
    ),
    (
        "alice-scheduler/SKILL.md",
        include_str!("bundled/alice-scheduler/SKILL.md"),
    ),
    (
        "alice-scheduler/scripts/alice-scheduler.sh",
        include_str!("bundled/alice-scheduler/scripts/alice-scheduler.sh"),
    ),
    (
        "alice-automation/SKILL.md",
        include_str!("bundled/alice-automation/SKILL.md"),
    ),
    (
        "alice-automation/scripts/tasks.sh",
        include_str!("bundled/alice-automation/scripts/tasks.sh"),
    ),
    (
        "alice-goal/SKILL.md",
        include_str!("bundled/alice-goal/SKILL.md"),
    ),
    (
        "alice-goal/scripts/goal.sh",
        include_str!("bundled/alice-goal/scripts/goal.sh"),
    ),
    (
        "alice-goal/scripts/alice-goal.sh",
        include_str!("bundled/alice-goal/scripts/alice-goal.sh"),
    ),
];

pub const BUNDLED_NAMES: [&str; 4] = [
    "alice-message",
    "alice-automation",
    "alice-goal",
    "alice-scheduler",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillInfo {
    pub name: String,
    pub description: String,
    /// The skill's folder, relative to the skills folder.
    pub folder: String,
    /// The script `run_workflow` starts, if the skill has one.
    pub entry: Option<String>,
    pub bundled: bool,
}

/// Writes the bundled skills into `skills_dir` and `<workspace>/.claude/skills`
/// (where Claude Code looks for project skills). A file is (re)written when
/// it is missing or still exactly what alice wrote last time; a file the
/// user changed is left alone. `written` remembers what alice wrote.
pub fn install(workspace: &Path, skills_dir: &Path, written: &TypedTree<String>) -> Result<usize> {
    let mut count = 0;
    for root in [skills_dir.to_path_buf(), workspace.join(".claude/skills")] {
        for (rel, content) in BUNDLED {
            let path = root.join(rel);
            let key = format!("bundled:{}", path.display());
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(*content) {
                written.insert(&key, &content.to_string())?;
                continue;
            }
            let untouched = match &current {
                None => true,
                Some(now) => written.get(&key)?.as_ref() == Some(now),
            };
            if !untouched {
                tracing::info!(file = %path.display(), "bundled skill file edited by the user; left alone");
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, content)?;
            if rel.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                // Executable for its owner only, like everything in the data folder.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
            }
            written.insert(&key, &content.to_string())?;
            count += 1;
        }
    }
    Ok(count)
}

/// The skills in `skills_dir`, by name.
pub fn list(skills_dir: &Path) -> Result<Vec<SkillInfo>> {
    let mut skills = Vec::new();
    let entries = match std::fs::read_dir(skills_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(skills),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let manifest = entry.path().join("SKILL.md");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let folder = entry.file_name().to_string_lossy().into_owned();
        let meta = front_matter(&text);
        let name = meta.get("name").cloned().unwrap_or_else(|| folder.clone());
        skills.push(SkillInfo {
            bundled: BUNDLED_NAMES.contains(&name.as_str()),
            description: meta.get("description").cloned().unwrap_or_default(),
            entry: meta.get("entry").cloned(),
            name,
            folder,
        });
    }
    skills.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(skills)
}

/// The entry script of the skill `name` (front matter `entry`, else
/// `run.sh`), which must stay inside the skill's folder.
pub fn entry(skills_dir: &Path, name: &str) -> Result<PathBuf> {
    let skill = list(skills_dir)?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| SkillError::NotFound(name.to_string()))?;
    let folder = skills_dir.join(&skill.folder);
    let rel = skill.entry.unwrap_or_else(|| "run.sh".into());
    let path = folder.join(&rel);
    let inside = path
        .canonicalize()
        .ok()
        .zip(folder.canonicalize().ok())
        .is_some_and(|(p, f)| p.starts_with(f));
    if !inside || !path.is_file() {
        return Err(SkillError::NoEntry {
            name: name.to_string(),
            entry: rel,
        });
    }
    Ok(path)
}

/// `key: value` lines between the leading `---` fences.
fn front_matter(text: &str) -> std::collections::HashMap<String, String> {
    let mut lines = text.lines();
    let mut meta = std::collections::HashMap::new();
    if lines.next().map(str::trim) != Some("---") {
        return meta;
    }
    for line in lines {
        if line.trim() == "---" {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim().trim_matches('"').to_string();
            meta.insert(key.trim().to_string(), value);
        }
    }
    meta
}
