//! What child processes inherit: alice's listening sockets must never leak
//! into an agent, or a restarted bot cannot bind its address again.

use parking_lot::RwLock;

/// Held (shared) while a child is forked and until it has exec'd; taken
/// (exclusive) to bind a listening address. Between fork and exec a child
/// holds a copy of every descriptor, close-on-exec or not: a bot's old
/// listening socket kept alive that way makes its restart fail with
/// "Address already in use". Descriptors are per process, so this is too.
static FORKING: RwLock<()> = RwLock::new(());

/// Runs `bind` while no child is between fork and exec.
pub fn while_no_child_forks<T>(bind: impl FnOnce() -> T) -> T {
    let _alone = FORKING.write();
    bind()
}

/// Runs `spawn` (a fork and exec) so that no listener is bound meanwhile.
/// Several children may be forked at once.
pub fn while_forking<T>(spawn: impl FnOnce() -> T) -> T {
    let _forking = FORKING.read();
    spawn()
}

/// Marks every descriptor this process inherited (beyond stdin, stdout and
/// stderr) close-on-exec, so that agents start with those three only.
/// Everything alice opens itself is close-on-exec already (Rust's std, mio,
/// sled); what the shell or service manager that started alice left open is
/// not. Called once when the supervisor starts.
pub fn inherited_fds_close_on_exec() {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if fd < 3 {
            continue;
        }
        // SAFETY: fcntl only reads and sets this descriptor's flags; a
        // descriptor closed meanwhile just fails with EBADF.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}
