//! The lock a running bot holds on its data folder, so that two supervisors
//! (say two shards misconfigured onto one volume) never run one bot.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// `<bot folder>/alice.lock`, held (`flock`, exclusive) while the bot runs;
/// the kernel releases it when the holder exits, however it exits.
pub struct FolderLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the bot's data folder {} is in use by another alice ({holder}); two supervisors must never run one bot: give each its own data_dir, or run this bot on one shard only", path.display())]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock the bot's data folder {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FolderLock {
    pub fn take(folder: &Path) -> Result<Self, LockError> {
        let path = folder.join("alice.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        use rustix::fs::{flock, FlockOperation};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Held {
                    path: folder.to_path_buf(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        // Who holds it, for the other one's error message.
        let who = format!("pid {}", std::process::id());
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(who.as_bytes()));
        Ok(Self { _file: file })
    }
}
