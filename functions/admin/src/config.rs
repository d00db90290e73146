//! The admin function's configuration, read once at start-up.

use wif_auth::registration::RegistrationPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, flag, list, optional, required};
use wif_registry::PublicUrls;
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

/// Tables this function may touch. Keys is read-only (the connection test reports the shared JWKS cache state).
pub const TABLES: &[TableKind] = &[TableKind::Clients, TableKind::Tokens, TableKind::Keys, TableKind::Audit];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub tables: PartialTableNames,
    pub policy: RegistrationPolicy,
    pub urls: PublicUrls,
    pub audit_retention_days: u32,
    /// `WIF_JWKS_FETCH_TIMEOUT_MS` / `WIF_JWKS_MAX_BYTES`: the connection test fetches the JWKS like the token
    /// endpoint would, with the same limits.
    pub jwks_fetch_timeout_ms: u64,
    pub jwks_max_bytes: usize,
}

impl AdminConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let token_lifetime_min = bounded_or(env, "WIF_TOKEN_LIFETIME_MIN_SECONDS", 3600, 300, 86_400)?;
        let token_lifetime_max = bounded_or(env, "WIF_TOKEN_LIFETIME_MAX_SECONDS", 21_600, 300, 86_400)?;
        if token_lifetime_min > token_lifetime_max {
            return Err(ConfigError::Invalid {
                name: "WIF_TOKEN_LIFETIME_MIN_SECONDS",
                value: token_lifetime_min.to_string(),
                reason: "must not exceed WIF_TOKEN_LIFETIME_MAX_SECONDS".into(),
            });
        }
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            policy: RegistrationPolicy {
                local_development: flag(env, "WIF_LOCAL_DEVELOPMENT", false)?,
                extra_allowed_jwks_hosts: list(env, "WIF_JWKS_ALLOWED_HOSTS"),
                token_lifetime_min,
                token_lifetime_max,
            },
            urls: PublicUrls {
                token_url: public_url(env, "WIF_PUBLIC_TOKEN_URL")?,
                scim_url: public_url(env, "WIF_PUBLIC_SCIM_URL")?,
                ..events_urls(env)?
            },
            audit_retention_days: bounded_or(env, "WIF_AUDIT_RETENTION_DAYS", 365, 1, 3650)?,
            jwks_fetch_timeout_ms: bounded_or(env, "WIF_JWKS_FETCH_TIMEOUT_MS", 3000, 100, 30_000)?,
            jwks_max_bytes: bounded_or(env, "WIF_JWKS_MAX_BYTES", 262_144, 1024, 4 * 1024 * 1024)?,
        })
    }
}

/// `WIF_PUBLIC_EVENTS_URL`, the events function's public base: its poll and JWKS URLs.
fn events_urls(env: &(impl EnvSource + ?Sized)) -> Result<PublicUrls, ConfigError> {
    if optional(env, EVENTS_URL).is_none() {
        return Ok(PublicUrls::default());
    }
    let base = public_url(env, EVENTS_URL)?;
    Ok(PublicUrls {
        events_url: Some(format!("{base}{}", wif_events::POLL_PATH)),
        events_jwks_url: Some(format!("{base}{}", wif_events::JWKS_PATH)),
        ..PublicUrls::default()
    })
}

const EVENTS_URL: &str = "WIF_PUBLIC_EVENTS_URL";

fn public_url(env: &(impl EnvSource + ?Sized), name: &'static str) -> Result<String, ConfigError> {
    let value = required(env, name)?;
    if !(value.starts_with("https://")
        || value.starts_with("http://127.0.0.1")
        || value.starts_with("http://localhost"))
    {
        return Err(ConfigError::Invalid {
            name,
            value,
            reason: "must be an https URL (or http on loopback for local development)".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("WIF_CLIENTS_TABLE", "c"),
        ("WIF_TOKENS_TABLE", "t"),
        ("WIF_KEYS_TABLE", "k"),
        ("WIF_AUDIT_TABLE", "a"),
        ("WIF_PUBLIC_TOKEN_URL", "https://auth.example.com/oauth2/token"),
        ("WIF_PUBLIC_SCIM_URL", "https://scim.example.com/scim/v2/"),
    ];

    #[test]
    fn reads_defaults_and_required_values() {
        let config = AdminConfig::from_env(BASE).unwrap();
        assert_eq!(config.tables.get(TableKind::Clients).unwrap(), "c");
        assert_eq!(config.urls.scim_url, "https://scim.example.com/scim/v2");
        assert!(!config.policy.local_development);
        assert_eq!(config.policy.token_lifetime_max, 21_600);
        assert_eq!(config.audit_retention_days, 365);
        assert_eq!(config.tables.get(TableKind::Keys).unwrap(), "k");
        assert_eq!((config.jwks_fetch_timeout_ms, config.jwks_max_bytes), (3000, 262_144));
    }

    #[test]
    fn names_the_bad_variable() {
        let missing: Vec<(&str, &str)> = BASE.iter().copied().filter(|(k, _)| *k != "WIF_TOKENS_TABLE").collect();
        assert_eq!(
            AdminConfig::from_env(missing.as_slice()),
            Err(ConfigError::Missing {
                name: "WIF_TOKENS_TABLE"
            })
        );
        let mut bad = BASE.to_vec();
        bad.push(("WIF_PUBLIC_SCIM_URL", "ftp://x"));
        bad.retain(|(k, v)| *k != "WIF_PUBLIC_SCIM_URL" || *v == "ftp://x");
        assert!(matches!(
            AdminConfig::from_env(bad.as_slice()),
            Err(ConfigError::Invalid {
                name: "WIF_PUBLIC_SCIM_URL",
                ..
            })
        ));
        let mut inverted = BASE.to_vec();
        inverted.push(("WIF_TOKEN_LIFETIME_MIN_SECONDS", "7200"));
        inverted.push(("WIF_TOKEN_LIFETIME_MAX_SECONDS", "3600"));
        assert!(AdminConfig::from_env(inverted.as_slice()).is_err());
        let mut slow = BASE.to_vec();
        slow.push(("WIF_JWKS_FETCH_TIMEOUT_MS", "60000"));
        assert!(matches!(
            AdminConfig::from_env(slow.as_slice()),
            Err(ConfigError::Invalid {
                name: "WIF_JWKS_FETCH_TIMEOUT_MS",
                ..
            })
        ));
    }
}
