//! The admin token: from config, or generated once into
//! `<data_dir>/admin.token` with mode 0600.

use crate::config::SupervisorConfig;
use crate::http::generate_token;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

pub fn token_path(config: &SupervisorConfig) -> PathBuf {
    config.data_dir.join("admin.token")
}

/// Returns the admin token, creating the file when needed.
pub fn admin_token(config: &SupervisorConfig) -> std::io::Result<String> {
    if !config.admin_token.is_empty() {
        return Ok(config.admin_token.clone());
    }
    let path = token_path(config);
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let token = generate_token();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok(token)
}

/// What a CLI reads: the configured token or the file's, without creating it.
pub fn read_admin_token(config: &SupervisorConfig) -> std::io::Result<String> {
    if !config.admin_token.is_empty() {
        return Ok(config.admin_token.clone());
    }
    let path = token_path(config);
    std::fs::read_to_string(&path)
        .map(|t| t.trim().to_string())
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot read the admin token {}: {e} (is `alice serve` running with this config?)", path.display()),
            )
        })
}
