//! The SCIM function's configuration, read and validated once at start-up: a bad value stops the function with a
//! message naming the variable instead of failing requests later.

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, local_development, public_url};
use wif_store::TableKind;
use wif_store::tables::{PartialTableNames, TableNames};

pub const PUBLIC_SCIM_URL: &str = "WIF_PUBLIC_SCIM_URL";
pub const AUDIT_RETENTION_DAYS: &str = "WIF_AUDIT_RETENTION_DAYS";

/// The tables this function may touch (its IAM role grants exactly these).
pub const TABLES: [TableKind; 3] = [TableKind::Directory, TableKind::Tokens, TableKind::Audit];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimConfig {
    pub tables: PartialTableNames,
    pub audit_retention_days: u32,
    /// The public SCIM base URL (`https://host/scim/v2`) for `meta.location`; derived from each request's host
    /// when unset. Plain http only to loopback in local development (`WIF_LOCAL_DEVELOPMENT`, the local stack).
    pub public_scim_url: Option<String>,
}

impl ScimConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let tables = TableNames::from_env_for(env, &TABLES)?;
        let audit_retention_days = bounded_or(env, AUDIT_RETENTION_DAYS, 365u32, 1, 3_650)?;
        let public_scim_url = public_url(env, PUBLIC_SCIM_URL, local_development(env)?)?;
        Ok(Self {
            tables,
            audit_retention_days,
            public_scim_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates_the_environment() {
        let env: &[(&str, &str)] = &[
            ("WIF_DIRECTORY_TABLE", "dir"),
            ("WIF_TOKENS_TABLE", "tok"),
            ("WIF_AUDIT_TABLE", "aud"),
            ("WIF_PUBLIC_SCIM_URL", "https://scim.example.com/scim/v2/"),
        ];
        let config = ScimConfig::from_env(env).unwrap();
        assert_eq!(config.tables.get(TableKind::Directory).unwrap(), "dir");
        assert_eq!(config.audit_retention_days, 365);
        assert_eq!(
            config.public_scim_url.as_deref(),
            Some("https://scim.example.com/scim/v2")
        );

        let missing: &[(&str, &str)] = &[("WIF_TOKENS_TABLE", "tok"), ("WIF_AUDIT_TABLE", "aud")];
        assert_eq!(
            ScimConfig::from_env(missing),
            Err(ConfigError::Missing {
                name: "WIF_DIRECTORY_TABLE"
            })
        );
        let bad: &[(&str, &str)] = &[
            ("WIF_DIRECTORY_TABLE", "dir"),
            ("WIF_TOKENS_TABLE", "tok"),
            ("WIF_AUDIT_TABLE", "aud"),
            ("WIF_PUBLIC_SCIM_URL", "not a url"),
        ];
        assert!(matches!(
            ScimConfig::from_env(bad),
            Err(ConfigError::Invalid {
                name: PUBLIC_SCIM_URL,
                ..
            })
        ));
        let days: &[(&str, &str)] = &[
            ("WIF_DIRECTORY_TABLE", "dir"),
            ("WIF_TOKENS_TABLE", "tok"),
            ("WIF_AUDIT_TABLE", "aud"),
            ("WIF_AUDIT_RETENTION_DAYS", "0"),
        ];
        assert!(ScimConfig::from_env(days).is_err());
    }

    /// The three tables plus `extra`.
    fn config_with(extra: &[(&'static str, &'static str)]) -> Result<ScimConfig, ConfigError> {
        let mut env = vec![
            ("WIF_DIRECTORY_TABLE", "dir"),
            ("WIF_TOKENS_TABLE", "tok"),
            ("WIF_AUDIT_TABLE", "aud"),
        ];
        env.extend_from_slice(extra);
        ScimConfig::from_env(env.as_slice())
    }

    fn refused(result: Result<ScimConfig, ConfigError>) -> Option<&'static str> {
        match result {
            Err(ConfigError::Invalid { name, .. }) => Some(name),
            _ => None,
        }
    }

    #[test]
    fn plain_http_only_to_loopback_in_local_development() {
        let config = |url, local| config_with(&[("WIF_LOCAL_DEVELOPMENT", local), (PUBLIC_SCIM_URL, url)]);
        for hostile in [
            "http://scim.example.com/scim/v2",
            "http://localhost.attacker.example/scim/v2",
            "http://localhost@evil.example/scim/v2",
        ] {
            assert_eq!(refused(config(hostile, "true")), Some(PUBLIC_SCIM_URL), "{hostile}");
        }
        let local_stack = "http://127.0.0.1:9000/lambda-url/scim/scim/v2";
        assert!(config(local_stack, "true").is_ok());
        assert_eq!(refused(config(local_stack, "false")), Some(PUBLIC_SCIM_URL));
    }

    #[test]
    fn local_development_is_refused_inside_aws_lambda() {
        let lambda = config_with(&[
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_rust"),
        ]);
        assert_eq!(refused(lambda), Some("WIF_LOCAL_DEVELOPMENT"));
    }
}
