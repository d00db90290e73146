//! The refresher's configuration, read once at start-up.

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, flag, list};
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

pub const TABLES: &[TableKind] = &[TableKind::Clients, TableKind::Keys];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshConfig {
    pub tables: PartialTableNames,
    pub local_development: bool,
    pub extra_allowed_hosts: Vec<String>,
    pub fetch_timeout_ms: u64,
    pub max_bytes: usize,
}

impl RefreshConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            local_development: flag(env, "WIF_LOCAL_DEVELOPMENT", false)?,
            extra_allowed_hosts: list(env, "WIF_JWKS_ALLOWED_HOSTS"),
            fetch_timeout_ms: bounded_or(env, "WIF_JWKS_FETCH_TIMEOUT_MS", 3000, 100, 30_000)?,
            max_bytes: bounded_or(env, "WIF_JWKS_MAX_BYTES", 262_144, 1024, 4 * 1024 * 1024)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tables_and_defaults() {
        let env: &[(&str, &str)] = &[("WIF_CLIENTS_TABLE", "c"), ("WIF_KEYS_TABLE", "k")];
        let config = RefreshConfig::from_env(env).unwrap();
        assert_eq!(config.tables.get(TableKind::Keys).unwrap(), "k");
        assert_eq!(config.fetch_timeout_ms, 3000);
        assert!(RefreshConfig::from_env(&[("WIF_CLIENTS_TABLE", "c")][..]).is_err());
    }
}
