//! One error type for the library; the CLI maps it to a message and an exit code once, in main.rs.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("key generation or signing failed: {0}")]
    Crypto(String),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("state directory {path}: {detail}")]
    State { path: PathBuf, detail: String },

    #[error("invalid JSON in {what}: {detail}")]
    Json { what: String, detail: String },

    #[error("directory file {path}: {detail}")]
    Directory { path: PathBuf, detail: String },

    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    #[error("HTTP request to {url} failed: {detail}")]
    Http { url: String, detail: String },

    #[error("token endpoint answered {status}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        status: u16,
        error: String,
        description: Option<String>,
    },

    #[error("unexpected answer from {url}: HTTP {status}: {body}")]
    UnexpectedResponse { url: String, status: u16, body: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl SimError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.into(),
            source,
        }
    }

    /// Keeps the whole source chain: reqwest's top-level message ("error sending request") hides the cause
    /// ("Connection refused") that a developer needs to see.
    pub(crate) fn http(url: impl Into<String>, err: impl std::error::Error) -> Self {
        let mut detail = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            source = s.source();
        }
        SimError::Http {
            url: url.into(),
            detail,
        }
    }
}

pub type Result<T> = std::result::Result<T, SimError>;
