//! The state every handler of one bot receives. Cloning is cheap.

use crate::config::BotConfig;
use crate::error::Result;
use crate::http::{generate_token, Authenticator, Principal, StaticTokenAuth};
use crate::store::{BotStore, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the supervisor lends to every bot.
#[derive(Clone)]
pub struct Host {
    pub store: Store,
    pub data_dir: PathBuf,
}

#[derive(Clone)]
pub struct BotState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<BotConfig>,
    store: BotStore,
    folder: PathBuf,
    token: String,
}

const META: &str = "meta";
const TOKEN_KEY: &str = "runtime_http_token";

impl BotState {
    /// Opens the bot's trees and settles its token (from config, or
    /// generated once and kept in `<id>/meta`).
    pub async fn open(config: Arc<BotConfig>, host: &Host) -> Result<Self> {
        let store = host.store.bot(&config.id);
        let token = if config.runtime_http_token.is_empty() {
            let meta = store.tree::<String>(META)?;
            let token = meta.get_or_insert(TOKEN_KEY, &generate_token())?;
            store.durable().await?;
            token
        } else {
            config.runtime_http_token.clone()
        };
        let folder = host.data_dir.join(&config.id);
        std::fs::create_dir_all(&folder)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                folder,
                token,
            }),
        })
    }

    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    pub fn config(&self) -> &BotConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &BotStore {
        &self.inner.store
    }

    /// `<data_dir>/<id>`: everything this bot writes to disk lives below.
    pub fn folder(&self) -> &Path {
        &self.inner.folder
    }

    /// The bot's main token (for the admin API's `token` command only).
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        Arc::new(BotAuthenticator(self.clone()))
    }
}

struct BotAuthenticator(BotState);

impl Authenticator for BotAuthenticator {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        StaticTokenAuth::new(self.0.token().to_string(), "main").authenticate(token)
    }
}
