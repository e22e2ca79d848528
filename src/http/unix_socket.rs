//! A listener on a Unix socket file that only its owner may open: bound in
//! a private folder, made 0600, then renamed into place, so the path never
//! names a socket anyone else could reach. A stale file a killed process
//! left is replaced; a live one (something answers on it) is refused.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A bound socket file; [`BoundSocket::remove`] deletes it unless another
/// server has put its own file at the path since.
#[derive(Debug)]
pub struct BoundSocket {
    path: PathBuf,
    /// (device, inode) of the file this server made.
    id: (u64, u64),
}

impl BoundSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn remove(&self) {
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the socket file");
            }
        }
    }
}

/// Binds `path` (mode 0600), replacing a stale socket file.
pub fn bind(path: &Path) -> std::io::Result<(UnixListener, BoundSocket)> {
    replace_stale(path)?;
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    std::fs::create_dir_all(parent)?;
    let private = parent.join(format!(
        ".{}.{}.bind",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let result = (|| {
        let temp = private.join("s");
        // Never while an agent is being forked (see `server::bind_again`).
        let listener = crate::fds::while_no_child_forks(|| UnixListener::bind(&temp))?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&temp, path)?;
        listener.set_nonblocking(true)?;
        let meta = std::fs::symlink_metadata(path)?;
        Ok((
            listener,
            BoundSocket {
                path: path.to_path_buf(),
                id: (meta.dev(), meta.ino()),
            },
        ))
    })();
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// Removes a socket file nothing answers on; refuses a live one and
/// anything that is not a socket (never deletes a user's file).
fn replace_stale(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another server listens on this socket",
        ));
    }
    std::fs::remove_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_socket_is_replaced_a_live_one_and_other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.sock");
        drop(UnixListener::bind(&path).unwrap());
        let (_live, socket) = bind(&path).expect("replaces the stale file");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = bind(&path).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);

        // Another server's file at the path is not this one's to remove.
        std::fs::remove_file(&path).unwrap();
        let (_other, theirs) = bind(&path).unwrap();
        socket.remove();
        assert!(path.exists());
        theirs.remove();
        assert!(!path.exists());

        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "mine").unwrap();
        assert!(bind(&file).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    }
}
