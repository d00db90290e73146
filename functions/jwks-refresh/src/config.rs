//! The refresher's configuration, read once at start-up.

use wif_auth::url_policy::JwksUrlPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, list, local_development};
use wif_jwks_http::FetchSettings;
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

pub const TABLES: &[TableKind] = &[TableKind::Clients, TableKind::Keys];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshConfig {
    pub tables: PartialTableNames,
    pub url_policy: JwksUrlPolicy,
    pub fetch: FetchSettings,
}

impl RefreshConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            url_policy: JwksUrlPolicy::new(local_development(env)?, &list(env, "WIF_JWKS_ALLOWED_HOSTS")),
            fetch: FetchSettings::from_env(env)?,
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
        assert_eq!(config.fetch, FetchSettings::default());
        assert!(!config.url_policy.local_development());
        assert!(RefreshConfig::from_env(&[("WIF_CLIENTS_TABLE", "c")][..]).is_err());
    }

    #[test]
    fn local_development_is_refused_inside_aws_lambda() {
        let env: &[(&str, &str)] = &[
            ("WIF_CLIENTS_TABLE", "c"),
            ("WIF_KEYS_TABLE", "k"),
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency"),
        ];
        let err = RefreshConfig::from_env(env).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "WIF_LOCAL_DEVELOPMENT",
                    ..
                }
            ),
            "{err}"
        );
    }
}
