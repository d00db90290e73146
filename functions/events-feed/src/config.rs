//! The feed function's configuration, read and validated once at start-up.

use std::time::Duration;

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, required};
use wif_store::TableKind;
use wif_store::tables::{PartialTableNames, TableNames};

/// Tokens (the bearer check), Clients (the receiver's data level), Events (the feed and receiver state).
pub const TABLES: [TableKind; 3] = [TableKind::Tokens, TableKind::Clients, TableKind::Events];

pub const SIGNING_KEY: &str = "WIF_EVENTS_SIGNING_KEY";
pub const LONG_POLL: &str = "WIF_EVENTS_LONG_POLL_SECONDS";
pub const POLL_INTERVAL: &str = "WIF_EVENTS_POLL_INTERVAL_MS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub tables: PartialTableNames,
    /// The KMS key (id or ARN; never an alias) that signs the SETs.
    pub signing_key: String,
    pub issuer: String,
    pub settle: Duration,
    /// How long a poll without `returnImmediately` waits for an event (RFC 8936 §2.5 long polling).
    pub long_poll: Duration,
    /// How often a waiting poll looks at the feed again.
    pub poll_interval: Duration,
}

impl FeedConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: TableNames::from_env_for(env, &TABLES)?,
            signing_key: required(env, SIGNING_KEY)?,
            issuer: wif_events::settings::issuer(env)?,
            settle: wif_events::settings::settle(env)?,
            long_poll: Duration::from_secs(bounded_or(env, LONG_POLL, 10u64, 0, 300)?),
            poll_interval: Duration::from_millis(bounded_or(env, POLL_INTERVAL, 500u64, 50, 10_000)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates_the_environment() {
        let env: &[(&str, &str)] = &[
            ("WIF_TOKENS_TABLE", "t"),
            ("WIF_CLIENTS_TABLE", "c"),
            ("WIF_EVENTS_TABLE", "e"),
            (SIGNING_KEY, "1234abcd-12ab-34cd-56ef-1234567890ab"),
            ("WIF_EVENTS_ISSUER", "https://events.isv.example"),
        ];
        assert!(FeedConfig::from_env(env).is_ok());
        let config = FeedConfig::from_env(env).unwrap();
        assert_eq!(config.long_poll, Duration::from_secs(10));
        assert_eq!(config.poll_interval, Duration::from_millis(500));
        assert!(FeedConfig::from_env(&env[..3]).is_err(), "the signing key is required");
        let mut slow = env.to_vec();
        slow.push((LONG_POLL, "3600"));
        assert!(FeedConfig::from_env(slow.as_slice()).is_err());
    }
}
