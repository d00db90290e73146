//! Everything that can go wrong talking to the admin API, each with the CLI exit code it maps to.

/// Exit codes of `wif-admin` (also documented in its `--help`).
pub mod exit {
    pub const OK: i32 = 0;
    /// The admin API answered with an error (4xx/5xx), or its answer was not what the API promises.
    pub const API: i32 = 1;
    /// Bad command line (clap's own code for usage errors).
    pub const USAGE: i32 = 2;
    /// No answer: connection refused, DNS, TLS, timeout.
    pub const CONNECTION: i32 = 3;
    /// No usable AWS credentials or region for signing.
    pub const CREDENTIALS: i32 = 4;
    /// `clients test` ran and at least one check failed.
    pub const CHECKS_FAILED: i32 = 5;
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API's JSON error (`{"error","error_description"}`) with its HTTP status.
    #[error("{description} (HTTP {status}, {code})")]
    Api {
        status: u16,
        code: String,
        description: String,
    },
    #[error("unexpected answer from the admin API (HTTP {status}): {message}")]
    InvalidResponse { status: u16, message: String },
    #[error("could not reach the admin API at {url}: {message}")]
    Connection { url: String, message: String },
    #[error("{0}")]
    Credentials(String),
    #[error("invalid admin URL: {0}")]
    InvalidUrl(String),
    #[error("{0}")]
    Usage(String),
}

impl ClientError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Api { .. } | ClientError::InvalidResponse { .. } => exit::API,
            ClientError::Connection { .. } => exit::CONNECTION,
            ClientError::Credentials(_) => exit::CREDENTIALS,
            ClientError::InvalidUrl(_) | ClientError::Usage(_) => exit::USAGE,
        }
    }

    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}
