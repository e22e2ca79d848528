//! The storage schema version, kept in sled's default tree (bot trees are
//! all named `<bot id>/…`, so nothing of a bot's can collide with it).
//!
//! - 0: no version key (before the tree registry).
//! - 1: the skills installer's bookkeeping moved from `<id>/meta` to
//!   `<id>/skill_files`, so `meta` holds only the bot token.

use super::{Result, StoreError};

/// The version this alice writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
const KEY: &[u8] = b"alice:schema_version";
const SKILL_KEYS: &[u8] = b"bundled:";

/// Refuses a newer schema; migrates an older one, then records the version.
pub(super) fn settle(db: &sled::Db) -> Result<()> {
    let found = match db.get(KEY)? {
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or(StoreError::NewerSchema {
                found: u32::MAX,
                supported: SCHEMA_VERSION,
            })?,
        None => 0,
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        move_skill_bookkeeping(db)?;
    }
    if found != SCHEMA_VERSION {
        db.insert(KEY, SCHEMA_VERSION.to_string().as_bytes())?;
        db.flush()?;
        tracing::info!(from = found, to = SCHEMA_VERSION, "storage schema updated");
    }
    Ok(())
}

/// 0 → 1: `<id>/meta` `bundled:*` keys move to `<id>/skill_files`, in one
/// transaction per bot.
fn move_skill_bookkeeping(db: &sled::Db) -> Result<()> {
    use sled::Transactional;
    for name in db.tree_names() {
        let Some(bot) = std::str::from_utf8(&name)
            .ok()
            .and_then(|n| n.strip_suffix("/meta"))
        else {
            continue;
        };
        let meta = db.open_tree(&name)?;
        let files = db.open_tree(format!("{bot}/skill_files"))?;
        let moving: Vec<(sled::IVec, sled::IVec)> =
            meta.scan_prefix(SKILL_KEYS).collect::<sled::Result<_>>()?;
        (&meta, &files)
            .transaction(|(meta, files)| {
                for (key, value) in &moving {
                    files.insert(key, value)?;
                    meta.remove(key)?;
                }
                Ok(())
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::Transaction("migration aborted".into())
                }
            })?;
    }
    Ok(())
}
