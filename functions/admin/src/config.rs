//! The admin function's configuration, read once at start-up.

use wif_auth::registration::RegistrationPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, list, local_development, public_url, required_public_url};
use wif_jwks_http::FetchSettings;
use wif_registry::PublicUrls;
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

/// Tables this function may touch. Keys is read-only (the connection test reports the shared JWKS cache state);
/// Events only for a registration's push delivery state (read, and reset on redelivery); Directory only for the
/// one-off membership migration.
pub const TABLES: &[TableKind] = &[
    TableKind::Clients,
    TableKind::Tokens,
    TableKind::Keys,
    TableKind::Audit,
    TableKind::Portal,
    TableKind::Events,
    TableKind::Directory,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub tables: PartialTableNames,
    pub policy: RegistrationPolicy,
    pub urls: PublicUrls,
    pub audit_retention_days: u32,
    /// The connection test fetches the JWKS like the token endpoint would, with the same limits.
    pub jwks_fetch: FetchSettings,
    /// `WIF_PUBLIC_PORTAL_URL`: the customer portal, for invitation links (optional).
    pub portal_url: Option<String>,
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
        let local_development = local_development(env)?;
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            policy: RegistrationPolicy {
                local_development,
                extra_allowed_jwks_hosts: list(env, "WIF_JWKS_ALLOWED_HOSTS"),
                token_lifetime_min,
                token_lifetime_max,
            },
            urls: PublicUrls {
                token_url: required_public_url(env, "WIF_PUBLIC_TOKEN_URL", local_development)?,
                scim_url: required_public_url(env, "WIF_PUBLIC_SCIM_URL", local_development)?,
                ..events_urls(env, local_development)?
            },
            audit_retention_days: bounded_or(env, "WIF_AUDIT_RETENTION_DAYS", 365, 1, 3650)?,
            jwks_fetch: FetchSettings::from_env(env)?,
            portal_url: public_url(env, "WIF_PUBLIC_PORTAL_URL", local_development)?,
        })
    }
}

/// The registrations' poll and JWKS URLs (`WIF_PUBLIC_EVENTS_URL`).
fn events_urls(env: &(impl EnvSource + ?Sized), local_development: bool) -> Result<PublicUrls, ConfigError> {
    let (events_url, events_jwks_url) = wif_events::settings::public_urls(env, local_development)?;
    Ok(PublicUrls {
        events_url,
        events_jwks_url,
        ..PublicUrls::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("WIF_CLIENTS_TABLE", "c"),
        ("WIF_TOKENS_TABLE", "t"),
        ("WIF_KEYS_TABLE", "k"),
        ("WIF_AUDIT_TABLE", "a"),
        ("WIF_PORTAL_TABLE", "p"),
        ("WIF_EVENTS_TABLE", "e"),
        ("WIF_DIRECTORY_TABLE", "d"),
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
        assert_eq!(config.jwks_fetch, FetchSettings::default());
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

    #[test]
    fn public_urls_are_https_or_loopback_in_local_development_only() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut env: Vec<(&str, &str)> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
                .collect();
            env.extend_from_slice(extra);
            AdminConfig::from_env(env.as_slice())
        };
        for hostile in [
            "http://localhost.attacker.example/oauth2/token",
            "http://localhost@evil.example/oauth2/token",
            "http://127.0.0.1.attacker.example/oauth2/token",
        ] {
            for local in ["true", "false"] {
                let result = with(&[("WIF_PUBLIC_TOKEN_URL", hostile), ("WIF_LOCAL_DEVELOPMENT", local)]);
                assert!(
                    matches!(
                        result,
                        Err(ConfigError::Invalid {
                            name: "WIF_PUBLIC_TOKEN_URL",
                            ..
                        })
                    ),
                    "{hostile} accepted with WIF_LOCAL_DEVELOPMENT={local}"
                );
            }
        }
        let local_stack = "http://127.0.0.1:9000/lambda-url/token/oauth2/token";
        assert!(with(&[("WIF_PUBLIC_TOKEN_URL", local_stack), ("WIF_LOCAL_DEVELOPMENT", "true")]).is_ok());
        assert!(
            with(&[("WIF_PUBLIC_TOKEN_URL", local_stack)]).is_err(),
            "plain http outside local development"
        );
    }

    #[test]
    fn local_development_is_refused_inside_aws_lambda() {
        let mut env = BASE.to_vec();
        env.push(("WIF_LOCAL_DEVELOPMENT", "true"));
        assert!(AdminConfig::from_env(env.as_slice()).unwrap().policy.local_development);
        env.push(("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"));
        assert!(matches!(
            AdminConfig::from_env(env.as_slice()),
            Err(ConfigError::Invalid {
                name: "WIF_LOCAL_DEVELOPMENT",
                ..
            })
        ));
    }
}
