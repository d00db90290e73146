//! The token function's configuration, read and validated once at start-up: a bad value stops the function before
//! it serves anything, with an error naming the variable.

use wif_auth::assertion::AssertionPolicy;
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::service::{TokenSettings, body_cap_for};
use wif_auth::url_policy::JwksUrlPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, list, local_development, public_url};
use wif_jwks_http::FetchSettings;
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

/// Tables this function may touch (its IAM role grants exactly these).
pub const TABLES: &[TableKind] = &[
    TableKind::Clients,
    TableKind::Tokens,
    TableKind::Keys,
    TableKind::Audit,
    TableKind::RateLimits,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    pub tables: PartialTableNames,
    pub url_policy: JwksUrlPolicy,
    pub token: TokenSettings,
    pub cache: JwksCacheSettings,
    pub fetch: FetchSettings,
    /// `WIF_PUBLIC_TOKEN_URL`; when unset the metadata document derives the URL from the request's host.
    pub public_token_url: Option<String>,
    pub audit_retention_days: u32,
}

impl TokenConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let local_development = local_development(env)?;
        let max_bytes = bounded_or(env, "WIF_MAX_ASSERTION_BYTES", 16_384usize, 1024, 262_144)?;
        let assertion = AssertionPolicy {
            max_bytes,
            clock_skew_seconds: bounded_or(env, "WIF_CLOCK_SKEW_SECONDS", 60i64, 0, 300)?,
            max_lifetime_seconds: bounded_or(env, "WIF_MAX_ASSERTION_LIFETIME_SECONDS", 90_000i64, 60, 172_800)?,
        };
        let token = TokenSettings {
            assertion,
            max_body_bytes: body_cap_for(max_bytes),
            rate_limit_client_per_minute: bounded_or(env, "WIF_RATE_LIMIT_CLIENT_PER_MINUTE", 60u64, 0, 1_000_000)?,
            rate_limit_source_per_minute: bounded_or(env, "WIF_RATE_LIMIT_SOURCE_PER_MINUTE", 300u64, 0, 1_000_000)?,
        };
        let cache = JwksCacheSettings {
            memory_ttl_seconds: bounded_or(env, "WIF_JWKS_MEMORY_TTL_SECONDS", 300i64, 1, 86_400)?,
            refetch_cooldown_seconds: bounded_or(env, "WIF_JWKS_REFETCH_COOLDOWN_SECONDS", 60i64, 1, 3600)?,
            ..JwksCacheSettings::default()
        };
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            url_policy: JwksUrlPolicy::new(local_development, &list(env, "WIF_JWKS_ALLOWED_HOSTS")),
            token,
            cache,
            fetch: FetchSettings::from_env(env)?,
            public_token_url: public_url(env, "WIF_PUBLIC_TOKEN_URL", local_development)?,
            audit_retention_days: bounded_or(env, "WIF_AUDIT_RETENTION_DAYS", 365u32, 1, 3650)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const TABLE_VARS: &[(&str, &str)] = &[
        ("WIF_CLIENTS_TABLE", "clients"),
        ("WIF_TOKENS_TABLE", "tokens"),
        ("WIF_KEYS_TABLE", "keys"),
        ("WIF_AUDIT_TABLE", "audit"),
        ("WIF_RATE_LIMITS_TABLE", "rates"),
    ];

    fn env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = TABLE_VARS.to_vec();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn defaults_match_the_interface_document() {
        let config = TokenConfig::from_env(env(&[]).as_slice()).unwrap();
        assert_eq!(config.token.assertion, AssertionPolicy::default());
        assert_eq!(config.token.max_body_bytes, 16_384 + 4096);
        assert_eq!(config.token.rate_limit_client_per_minute, 60);
        assert_eq!(config.token.rate_limit_source_per_minute, 300);
        assert_eq!(config.cache.memory_ttl_seconds, 300);
        assert_eq!(config.cache.refetch_cooldown_seconds, 60);
        assert_eq!(config.fetch.timeout, Duration::from_millis(3000));
        assert_eq!(config.fetch.max_bytes, 262_144);
        assert!(!config.url_policy.local_development());
        assert_eq!(config.public_token_url, None);
        assert_eq!(config.tables.get(TableKind::Keys).unwrap(), "keys");
    }

    #[test]
    fn values_are_read_and_bounded() {
        let config = TokenConfig::from_env(
            env(&[
                ("WIF_LOCAL_DEVELOPMENT", "true"),
                ("WIF_JWKS_ALLOWED_HOSTS", "keys.example.com, other.example.com"),
                ("WIF_CLOCK_SKEW_SECONDS", "0"),
                ("WIF_RATE_LIMIT_CLIENT_PER_MINUTE", "0"),
                (
                    "WIF_PUBLIC_TOKEN_URL",
                    "http://127.0.0.1:9000/lambda-url/token/oauth2/token",
                ),
            ])
            .as_slice(),
        )
        .unwrap();
        assert!(config.url_policy.local_development());
        assert!(config.url_policy.check("https://keys.example.com/jwks").is_ok());
        assert_eq!(config.token.assertion.clock_skew_seconds, 0);
        assert_eq!(config.token.rate_limit_client_per_minute, 0);
        assert!(config.public_token_url.is_some());
    }

    #[test]
    fn errors_name_the_variable() {
        let err = TokenConfig::from_env(env(&[("WIF_CLOCK_SKEW_SECONDS", "301")]).as_slice()).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WIF_CLOCK_SKEW_SECONDS",
                ..
            }
        ));
        let err = TokenConfig::from_env(env(&[("WIF_JWKS_FETCH_TIMEOUT_MS", "soon")]).as_slice()).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WIF_JWKS_FETCH_TIMEOUT_MS",
                ..
            }
        ));
        let err = TokenConfig::from_env(env(&[("WIF_LOCAL_DEVELOPMENT", "maybe")]).as_slice()).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WIF_LOCAL_DEVELOPMENT",
                ..
            }
        ));
        let err =
            TokenConfig::from_env(env(&[("WIF_PUBLIC_TOKEN_URL", "http://auth.example.com/oauth2/token")]).as_slice())
                .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WIF_PUBLIC_TOKEN_URL",
                ..
            }
        ));
        let err =
            TokenConfig::from_env(env(&[("WIF_PUBLIC_TOKEN_URL", "http://127.0.0.1:9000/oauth2/token")]).as_slice())
                .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WIF_PUBLIC_TOKEN_URL",
                ..
            }
        ));
        let err = TokenConfig::from_env(&TABLE_VARS[1..]).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "WIF_CLIENTS_TABLE"
            }
        );
        for (name, value) in [
            ("WIF_MAX_ASSERTION_BYTES", "10"),
            ("WIF_MAX_ASSERTION_LIFETIME_SECONDS", "0"),
            ("WIF_JWKS_REFETCH_COOLDOWN_SECONDS", "0"),
            ("WIF_JWKS_MEMORY_TTL_SECONDS", "-1"),
            ("WIF_JWKS_MAX_BYTES", "1"),
            ("WIF_RATE_LIMIT_SOURCE_PER_MINUTE", "-5"),
            ("WIF_AUDIT_RETENTION_DAYS", "0"),
        ] {
            let err = TokenConfig::from_env(env(&[(name, value)]).as_slice()).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn local_development_is_refused_inside_aws_lambda() {
        let local = env(&[("WIF_LOCAL_DEVELOPMENT", "true")]);
        assert!(
            TokenConfig::from_env(local.as_slice())
                .unwrap()
                .url_policy
                .local_development()
        );
        let lambda = env(&[
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ]);
        assert!(matches!(
            TokenConfig::from_env(lambda.as_slice()),
            Err(ConfigError::Invalid {
                name: "WIF_LOCAL_DEVELOPMENT",
                ..
            })
        ));
    }
}
