//! The push function's configuration, read and validated once at start-up.

use std::time::Duration;

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, local_development, required};
use wif_events::push::RetrySchedule;
use wif_store::TableKind;
use wif_store::tables::{PartialTableNames, TableNames};

/// Clients (registrations with a push endpoint), Events (feed, receiver and push state).
pub const TABLES: [TableKind; 2] = [TableKind::Clients, TableKind::Events];

pub const TIMEOUT: &str = "WIF_EVENTS_PUSH_TIMEOUT_MS";
pub const FIRST_RETRY: &str = "WIF_EVENTS_PUSH_FIRST_RETRY_SECONDS";
pub const MAX_RETRY: &str = "WIF_EVENTS_PUSH_MAX_RETRY_SECONDS";
pub const ATTEMPTS: &str = "WIF_EVENTS_PUSH_ATTEMPTS";
pub const CONCURRENCY: &str = "WIF_EVENTS_PUSH_CONCURRENCY";
pub const SWEEP: &str = "WIF_EVENTS_PUSH_SWEEP_SECONDS";
pub const INTERVAL: &str = "WIF_EVENTS_PUSH_INTERVAL_MS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    pub tables: PartialTableNames,
    /// The KMS key that signs the SETs (the feed's).
    pub signing_key: String,
    pub issuer: String,
    pub settle: Duration,
    /// Plain http to loopback push URLs (refused inside AWS Lambda).
    pub local_development: bool,
    /// One push: connect, TLS, request and answer.
    pub timeout: Duration,
    pub schedule: RetrySchedule,
    /// Endpoints pushed to at the same time (one slow endpoint holds one slot).
    pub concurrency: usize,
    /// How long one invocation keeps sweeping (0: one sweep), and the pause between sweeps.
    pub sweep_for: Duration,
    pub interval: Duration,
}

impl PushConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: TableNames::from_env_for(env, &TABLES)?,
            signing_key: required(env, events_feed::config::SIGNING_KEY)?,
            issuer: wif_events::settings::issuer(env)?,
            settle: wif_events::settings::settle(env)?,
            local_development: local_development(env)?,
            timeout: Duration::from_millis(bounded_or(env, TIMEOUT, 5_000u64, 100, 30_000)?),
            schedule: RetrySchedule {
                first: Duration::from_secs(bounded_or(env, FIRST_RETRY, 5u64, 1, 3_600)?),
                max: Duration::from_secs(bounded_or(env, MAX_RETRY, 900u64, 1, 86_400)?),
                attempts: bounded_or(env, ATTEMPTS, 12u32, 1, 100)?,
            },
            concurrency: bounded_or(env, CONCURRENCY, 8usize, 1, 64)?,
            sweep_for: Duration::from_secs(bounded_or(env, SWEEP, 0u64, 0, 840)?),
            interval: Duration::from_millis(bounded_or(env, INTERVAL, 2_000u64, 100, 60_000)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("WIF_CLIENTS_TABLE", "c"),
        ("WIF_EVENTS_TABLE", "e"),
        ("WIF_EVENTS_SIGNING_KEY", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("WIF_EVENTS_ISSUER", "https://events.isv.example"),
    ];

    fn with(extra: (&'static str, &'static str)) -> Result<PushConfig, ConfigError> {
        let mut env = BASE.to_vec();
        env.push(extra);
        PushConfig::from_env(env.as_slice())
    }

    #[test]
    fn defaults_and_checks() {
        let config = PushConfig::from_env(BASE).unwrap();
        assert_eq!(config.schedule, RetrySchedule::default());
        assert_eq!((config.timeout, config.concurrency), (Duration::from_secs(5), 8));
        assert!(!config.local_development);
        assert_eq!(config.sweep_for, Duration::ZERO);
        assert_eq!(with((ATTEMPTS, "3")).unwrap().schedule.attempts, 3);
        assert!(with((TIMEOUT, "60000")).is_err());
        assert!(with((ATTEMPTS, "0")).is_err());
        assert!(with(("WIF_LOCAL_DEVELOPMENT", "true")).unwrap().local_development);
        let mut in_lambda = BASE.to_vec();
        in_lambda.extend([
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ]);
        assert!(
            PushConfig::from_env(in_lambda.as_slice()).is_err(),
            "loopback pushes stay refused in a real Lambda"
        );
        assert!(PushConfig::from_env(&BASE[..2]).is_err(), "the signing key is required");
    }
}
