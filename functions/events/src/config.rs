//! The events function's configuration, read and validated once at start-up.

use std::time::Duration;

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, optional};
use wif_events::EventDataLevel;
use wif_store::TableKind;
use wif_store::tables::{PartialTableNames, TableNames};

/// The tables this function may touch: it writes the Events table only (the Directory reaches it as a stream).
pub const TABLES: [TableKind; 1] = [TableKind::Events];

pub const BUS: &str = "WIF_EVENTS_BUS";
pub const BUS_LEVEL: &str = "WIF_EVENTS_BUS_LEVEL";
pub const RETENTION: &str = "WIF_EVENTS_RETENTION_DAYS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    pub tables: PartialTableNames,
    /// EventBridge bus name; no bus publishing when unset.
    pub bus: Option<String>,
    pub bus_level: EventDataLevel,
    /// The SETs' `iss` (the events function's public base URL), also in the bus entries.
    pub issuer: String,
    pub settle: Duration,
    pub retention: Duration,
}

impl EventsConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let bus_level = match optional(env, BUS_LEVEL) {
            None => EventDataLevel::Notice,
            Some(text) => EventDataLevel::parse(&text).ok_or(ConfigError::Invalid {
                name: BUS_LEVEL,
                value: text,
                reason: "must be ids, notice or full".into(),
            })?,
        };
        Ok(Self {
            tables: TableNames::from_env_for(env, &TABLES)?,
            bus: optional(env, BUS),
            bus_level,
            issuer: wif_events::settings::issuer(env)?,
            settle: wif_events::settings::settle(env)?,
            retention: Duration::from_secs(86_400 * bounded_or(env, RETENTION, 7u64, 7, 365)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("WIF_EVENTS_TABLE", "ev"),
        ("WIF_EVENTS_ISSUER", "https://events.isv.example/"),
    ];

    #[test]
    fn defaults_and_checks() {
        let config = EventsConfig::from_env(BASE).unwrap();
        assert_eq!(config.issuer, "https://events.isv.example");
        assert_eq!((config.bus, config.bus_level), (None, EventDataLevel::Notice));
        assert_eq!(config.settle, Duration::from_secs(15));
        assert_eq!(config.retention, Duration::from_secs(7 * 86_400));
        let with = |extra: (&'static str, &'static str)| {
            let mut env = BASE.to_vec();
            env.push(extra);
            EventsConfig::from_env(env.as_slice())
        };
        assert_eq!(with((BUS_LEVEL, "full")).unwrap().bus_level, EventDataLevel::Full);
        assert!(with((BUS_LEVEL, "all")).is_err());
        assert!(with((RETENTION, "3")).is_err(), "retention is at least 7 days");
        assert!(with(("WIF_EVENTS_SETTLE_SECONDS", "1")).is_err());
        assert!(EventsConfig::from_env(&[("WIF_EVENTS_TABLE", "ev"), ("WIF_EVENTS_ISSUER", "events")][..]).is_err());
    }
}
