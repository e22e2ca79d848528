//! Why an export or an import did not happen.

use crate::error::{Code, ErrorCode};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("no bot `{0}` in this data folder")]
    NoSuchBot(String),
    #[error(
        "bot `{0}` already exists in this data folder; import it under another id (--as NEWID)"
    )]
    Exists(String),
    #[error("the archive has format {found} (written by alice {by}); this alice reads up to {supported}: upgrade alice")]
    NewerFormat {
        found: u32,
        supported: u32,
        by: String,
    },
    #[error("the archive is damaged: the checksum of {0} does not match its manifest")]
    Checksum(String),
    #[error("not a valid bot archive: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
}

impl ArchiveError {
    pub(crate) fn encoding(e: serde_json::Error) -> Self {
        Self::Store(StoreError::Encoding(e))
    }
}

impl ErrorCode for ArchiveError {
    fn code(&self) -> Code {
        match self {
            ArchiveError::NoSuchBot(_) => Code::BotNotFound,
            ArchiveError::Exists(_) => Code::BotExists,
            ArchiveError::NewerFormat { .. }
            | ArchiveError::Checksum(_)
            | ArchiveError::Invalid(_) => Code::InvalidArchive,
            ArchiveError::Store(e) => e.code(),
            ArchiveError::Io(_) => Code::Internal,
        }
    }
}
