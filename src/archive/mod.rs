//! A bot that moves with its data: `alice bots export` writes one tar with
//! the bot's trees, its folder (files, optionally the workspace) and a
//! manifest; `alice bots import` checks and restores it under its id or a
//! new one, into another data folder.
//!
//! Layout: `manifest.json`, `trees/<name>.jsonl` (one `{"k","v"}` line per
//! entry, base64 of the stored bytes), `files/<path below the bot folder>`.

mod error;

pub use error::ArchiveError;

use crate::store::Store;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The archive format this alice writes and the newest it reads.
pub const FORMAT: u32 = 1;

const MANIFEST: &str = "manifest.json";
/// Not moved: the lock belongs to the host that runs the bot.
const LOCK_FILE: &str = "alice.lock";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub format: u32,
    pub alice_version: String,
    pub bot_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Entries per tree.
    pub trees: BTreeMap<String, usize>,
    pub files: usize,
    pub with_workspace: bool,
    /// The source database's id counter when exported (see
    /// [`crate::store::BotStore::advance_ids_past`]).
    pub id_floor: u64,
    /// sha256 (hex) of every other member of the archive, by its path.
    pub checksums: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct Pair {
    k: String,
    v: String,
}

/// The bot's archive as tar bytes. Its trees are read as they are: the
/// caller stops the bot first if it runs (the supervisor does).
pub fn export(
    store: &Store,
    data_dir: &Path,
    id: &str,
    with_workspace: bool,
) -> Result<Vec<u8>, ArchiveError> {
    crate::config::check_bot_id(id).map_err(ArchiveError::Invalid)?;
    let bot = store.bot(id);
    let folder = data_dir.join(id);
    if !bot.exists()? && !folder.exists() {
        return Err(ArchiveError::NoSuchBot(id.to_string()));
    }
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut trees = BTreeMap::new();
    for (name, pairs) in bot.dump()? {
        trees.insert(name.clone(), pairs.len());
        let mut lines = Vec::new();
        for (k, v) in pairs {
            let pair = Pair {
                k: B64.encode(k),
                v: B64.encode(v),
            };
            serde_json::to_writer(&mut lines, &pair).map_err(ArchiveError::encoding)?;
            lines.push(b'\n');
        }
        members.push((format!("trees/{name}.jsonl"), lines));
    }
    let mut files = Vec::new();
    if folder.is_dir() {
        collect_files(&folder, &folder, with_workspace, &mut files)?;
    }
    let file_count = files.len();
    for (rel, path) in files {
        members.push((format!("files/{rel}"), std::fs::read(path)?));
    }
    let manifest = Manifest {
        format: FORMAT,
        alice_version: env!("CARGO_PKG_VERSION").to_string(),
        bot_id: id.to_string(),
        created_at: chrono::Utc::now(),
        trees,
        files: file_count,
        with_workspace,
        id_floor: bot.next_id()?,
        checksums: members
            .iter()
            .map(|(path, bytes)| (path.clone(), sha256(bytes)))
            .collect(),
    };
    let mut tar = tar::Builder::new(Vec::new());
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(ArchiveError::encoding)?;
    append(&mut tar, MANIFEST, &manifest)?;
    for (path, bytes) in &members {
        append(&mut tar, path, bytes)?;
    }
    Ok(tar.into_inner()?)
}

/// Restores an archive into `store` and `data_dir` as `as_id` (or its own
/// id). Everything is checked before anything is written.
pub fn import(
    store: &Store,
    data_dir: &Path,
    archive: &[u8],
    as_id: Option<&str>,
) -> Result<Manifest, ArchiveError> {
    let mut members = read_members(archive)?;
    let manifest_bytes = members.remove(MANIFEST).ok_or_else(|| {
        ArchiveError::Invalid("no manifest.json (not an alice bot archive)".into())
    })?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| ArchiveError::Invalid(format!("manifest.json: {e}")))?;
    if manifest.format > FORMAT {
        return Err(ArchiveError::NewerFormat {
            found: manifest.format,
            supported: FORMAT,
            by: manifest.alice_version,
        });
    }
    for (path, bytes) in &members {
        match manifest.checksums.get(path) {
            Some(sum) if *sum == sha256(bytes) => {}
            Some(_) => return Err(ArchiveError::Checksum(path.clone())),
            None => {
                return Err(ArchiveError::Invalid(format!(
                    "{path} is not in the manifest"
                )))
            }
        }
    }
    if let Some(path) = manifest
        .checksums
        .keys()
        .find(|p| !members.contains_key(*p))
    {
        return Err(ArchiveError::Invalid(format!("{path} is missing")));
    }
    let id = as_id.unwrap_or(&manifest.bot_id);
    crate::config::check_bot_id(id).map_err(ArchiveError::Invalid)?;
    let bot = store.bot(id);
    let folder = data_dir.join(id);
    if bot.exists()? || folder.exists() {
        return Err(ArchiveError::Exists(id.to_string()));
    }

    let mut trees = Vec::new();
    for (path, bytes) in &members {
        let Some(name) = path
            .strip_prefix("trees/")
            .and_then(|p| p.strip_suffix(".jsonl"))
        else {
            continue;
        };
        let mut pairs = Vec::new();
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let pair: Pair = serde_json::from_slice(line)
                .map_err(|e| ArchiveError::Invalid(format!("{path}: {e}")))?;
            let decode = |s: &str| {
                B64.decode(s)
                    .map_err(|e| ArchiveError::Invalid(format!("{path}: {e}")))
            };
            pairs.push((decode(&pair.k)?, decode(&pair.v)?));
        }
        trees.push((name.to_string(), pairs));
    }
    bot.advance_ids_past(manifest.id_floor)?;
    for (name, pairs) in trees {
        bot.restore(&name, pairs)?;
    }
    for (path, bytes) in &members {
        if let Some(rel) = path.strip_prefix("files/") {
            let target = safe_join(&folder, rel)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(target, bytes)?;
        }
    }
    std::fs::create_dir_all(&folder)?;
    Ok(manifest)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn append(tar: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}

fn read_members(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let bad = |e: std::io::Error| ArchiveError::Invalid(format!("not a readable tar: {e}"));
    let mut members = BTreeMap::new();
    let mut tar = tar::Archive::new(archive);
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(bad)?;
        members.insert(path, bytes);
    }
    Ok(members)
}

/// `folder/rel`, refusing paths that would leave the folder.
fn safe_join(folder: &Path, rel: &str) -> Result<PathBuf, ArchiveError> {
    let rel = Path::new(rel);
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return Err(ArchiveError::Invalid(format!(
            "file path {} leaves the bot folder",
            rel.display()
        )));
    }
    Ok(folder.join(rel))
}

fn collect_files(
    root: &Path,
    dir: &Path,
    with_workspace: bool,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), ArchiveError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .map_err(|e| ArchiveError::Invalid(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if rel == "workspace" && !with_workspace {
                continue;
            }
            collect_files(root, &path, with_workspace, out)?;
        } else if kind.is_file() && rel != LOCK_FILE {
            out.push((rel, path));
        }
    }
    Ok(())
}
