//! The portal function's configuration, read once at start-up. The Entra app (client id, certificate thumbprint,
//! KMS signing key) may be absent right after the first deployment: the portal then answers every request with a
//! page saying it is not set up yet. Given partly, it is a start-up error.

use wif_auth::registration::RegistrationPolicy;
use wif_auth::url_policy::JwksUrlPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, list, local_development, optional, public_url, required_public_url};
use wif_jwks_http::FetchSettings;
use wif_portal::registrations::TrustTemplates;
use wif_portal::sessions::SessionSettings;
use wif_registry::PublicUrls;
use wif_store::TableKind;
use wif_store::tables::PartialTableNames;

/// Tables this function may touch.
pub const TABLES: &[TableKind] = &[
    TableKind::Clients,
    TableKind::Tokens,
    TableKind::Keys,
    TableKind::Audit,
    TableKind::Portal,
];

/// The portal's Entra app registration and its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraApp {
    /// `WIF_PORTAL_ENTRA_CLIENT_ID`: the application (client) id.
    pub client_id: String,
    /// `WIF_PORTAL_CERTIFICATE_THUMBPRINT`: base64url SHA-256 of the uploaded certificate (`x5t#S256`).
    pub certificate_thumbprint: String,
    /// `WIF_PORTAL_SIGNING_KEY`: the KMS key (ARN or id) that holds the certificate's private key.
    pub signing_key: String,
    /// `WIF_PORTAL_API_AUDIENCES`: accepted `aud` of the JSON API's access tokens (default `api://<client id>`).
    pub api_audiences: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalConfig {
    pub tables: PartialTableNames,
    pub policy: RegistrationPolicy,
    pub urls: PublicUrls,
    pub audit_retention_days: u32,
    /// The connection test and Entra's keys are fetched like the token endpoint fetches, with the same limits.
    pub jwks_fetch: FetchSettings,
    pub jwks_memory_ttl_seconds: i64,
    pub jwks_refetch_cooldown_seconds: i64,
    pub entra: Option<EntraApp>,
    /// `WIF_PORTAL_ENTRA_LOGIN_URL`: `https://login.microsoftonline.com` (or a sovereign cloud's login host).
    pub login_url: String,
    /// `WIF_PORTAL_ISSUER_TEMPLATE`: the issuer of ID and access tokens, `{tenantid}` replaced by their `tid`.
    pub issuer_template: String,
    /// `WIF_PORTAL_PUBLIC_URL`: when unset, `https://<Host>` of each request.
    pub public_url: Option<String>,
    pub product_name: String,
    pub sessions: SessionSettings,
    pub trust: TrustTemplates,
    pub activity_max_events: usize,
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn entra_app(env: &(impl EnvSource + ?Sized)) -> Result<Option<EntraApp>, ConfigError> {
    let mut api_audiences = list(env, "WIF_PORTAL_API_AUDIENCES");
    let client_id = optional(env, "WIF_PORTAL_ENTRA_CLIENT_ID");
    let thumbprint = optional(env, "WIF_PORTAL_CERTIFICATE_THUMBPRINT");
    let key = optional(env, "WIF_PORTAL_SIGNING_KEY");
    let (client_id, certificate_thumbprint, signing_key) = match (client_id, thumbprint, key) {
        (None, None, _) => return Ok(None),
        (Some(c), Some(t), Some(k)) => (c, t, k),
        _ => {
            return Err(invalid(
                "WIF_PORTAL_ENTRA_CLIENT_ID",
                "",
                "set WIF_PORTAL_ENTRA_CLIENT_ID, WIF_PORTAL_CERTIFICATE_THUMBPRINT and WIF_PORTAL_SIGNING_KEY together",
            ));
        }
    };
    if uuid_like(&client_id).is_none() {
        return Err(invalid(
            "WIF_PORTAL_ENTRA_CLIENT_ID",
            &client_id,
            "must be the app's client id (a GUID)",
        ));
    }
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if certificate_thumbprint.len() != 43 || !certificate_thumbprint.chars().all(base64url) {
        return Err(invalid(
            "WIF_PORTAL_CERTIFICATE_THUMBPRINT",
            &certificate_thumbprint,
            "must be the base64url SHA-256 of the certificate (43 characters, as wif-admin portal-certificate prints)",
        ));
    }
    if api_audiences.is_empty() {
        api_audiences.push(format!("api://{client_id}"));
    }
    Ok(Some(EntraApp {
        client_id,
        certificate_thumbprint,
        signing_key,
        api_audiences,
    }))
}

fn uuid_like(text: &str) -> Option<()> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    (groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(())
}

fn template(env: &(impl EnvSource + ?Sized), name: &'static str, default: &str) -> Result<String, ConfigError> {
    let value = optional(env, name).unwrap_or_else(|| default.to_owned());
    if value.matches("{tenantid}").count() != 1 {
        return Err(invalid(name, &value, "must contain {tenantid} exactly once"));
    }
    Ok(value)
}

impl PortalConfig {
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let local_development = local_development(env)?;
        let url = |name: &'static str| public_url(env, name, local_development);
        let defaults = TrustTemplates::default();
        Ok(Self {
            tables: wif_store::TableNames::from_env_for(env, TABLES)?,
            policy: RegistrationPolicy {
                local_development,
                extra_allowed_jwks_hosts: list(env, "WIF_JWKS_ALLOWED_HOSTS"),
                token_lifetime_min: bounded_or(env, "WIF_TOKEN_LIFETIME_MIN_SECONDS", 3600, 300, 86_400)?,
                token_lifetime_max: bounded_or(env, "WIF_TOKEN_LIFETIME_MAX_SECONDS", 21_600, 300, 86_400)?,
            },
            urls: PublicUrls {
                token_url: required_public_url(env, "WIF_PUBLIC_TOKEN_URL", local_development)?,
                scim_url: required_public_url(env, "WIF_PUBLIC_SCIM_URL", local_development)?,
            },
            audit_retention_days: bounded_or(env, "WIF_AUDIT_RETENTION_DAYS", 365, 1, 3650)?,
            jwks_fetch: FetchSettings::from_env(env)?,
            jwks_memory_ttl_seconds: bounded_or(env, "WIF_JWKS_MEMORY_TTL_SECONDS", 300, 1, 86_400)?,
            jwks_refetch_cooldown_seconds: bounded_or(env, "WIF_JWKS_REFETCH_COOLDOWN_SECONDS", 60, 1, 3600)?,
            entra: entra_app(env)?,
            login_url: url("WIF_PORTAL_ENTRA_LOGIN_URL")?.unwrap_or_else(|| "https://login.microsoftonline.com".into()),
            issuer_template: template(
                env,
                "WIF_PORTAL_ISSUER_TEMPLATE",
                wif_auth::user_token::ENTRA_V2_ISSUER_TEMPLATE,
            )?,
            public_url: url("WIF_PORTAL_PUBLIC_URL")?,
            product_name: optional(env, "WIF_PORTAL_PRODUCT_NAME").unwrap_or_else(|| "SCIM provisioning".into()),
            sessions: SessionSettings {
                idle_seconds: bounded_or(env, "WIF_PORTAL_SESSION_IDLE_SECONDS", 1800, 60, 86_400)?,
                absolute_seconds: bounded_or(env, "WIF_PORTAL_SESSION_MAX_SECONDS", 28_800, 300, 7 * 86_400)?,
            },
            trust: TrustTemplates {
                jwks_v2: template(env, "WIF_PORTAL_TRUST_JWKS_V2_TEMPLATE", &defaults.jwks_v2)?,
                jwks_v1: template(env, "WIF_PORTAL_TRUST_JWKS_V1_TEMPLATE", &defaults.jwks_v1)?,
                ..defaults
            },
            activity_max_events: bounded_or(env, "WIF_PORTAL_ACTIVITY_MAX_EVENTS", 20_000, 100, 1_000_000)?,
        })
    }

    /// Which JWKS URLs may be fetched (Entra's hosts; loopback only in local development).
    pub fn url_policy(&self) -> JwksUrlPolicy {
        self.policy.url_policy()
    }
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
        ("WIF_PUBLIC_TOKEN_URL", "https://auth.example.com/oauth2/token"),
        ("WIF_PUBLIC_SCIM_URL", "https://scim.example.com/scim/v2/"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().copied().chain(extra.iter().copied()).collect()
    }

    #[test]
    fn without_an_entra_app_the_portal_is_not_set_up_yet() {
        let config = PortalConfig::from_env(BASE).unwrap();
        assert_eq!(config.entra, None);
        assert_eq!(config.login_url, "https://login.microsoftonline.com");
        assert_eq!(config.public_url, None);
        assert_eq!(config.urls.scim_url, "https://scim.example.com/scim/v2");
    }

    #[test]
    fn the_entra_app_is_all_or_nothing_and_checked() {
        let app = [
            ("WIF_PORTAL_ENTRA_CLIENT_ID", "11111111-2222-4333-8444-555555555555"),
            (
                "WIF_PORTAL_CERTIFICATE_THUMBPRINT",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            (
                "WIF_PORTAL_SIGNING_KEY",
                "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c",
            ),
        ];
        let config = PortalConfig::from_env(with(&app).as_slice()).unwrap();
        assert_eq!(
            config.entra.unwrap().api_audiences,
            vec!["api://11111111-2222-4333-8444-555555555555"]
        );
        assert!(PortalConfig::from_env(with(&app[..2]).as_slice()).is_err());
        let mut bad = app;
        bad[0].1 = "not-a-guid";
        assert!(PortalConfig::from_env(with(&bad).as_slice()).is_err());
        let mut bad = app;
        bad[1].1 = "short";
        assert!(PortalConfig::from_env(with(&bad).as_slice()).is_err());
    }

    #[test]
    fn urls_are_parsed_not_prefix_matched() {
        for evil in [
            "http://localhost.attacker.example",
            "http://localhost@evil.example/x",
            "http://10.0.0.1",
        ] {
            let env = with(&[("WIF_LOCAL_DEVELOPMENT", "true"), ("WIF_PORTAL_PUBLIC_URL", evil)]);
            assert!(PortalConfig::from_env(env.as_slice()).is_err(), "{evil}");
        }
        let local = with(&[
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            ("WIF_PORTAL_PUBLIC_URL", "http://127.0.0.1:9000/lambda-url/portal/"),
        ]);
        let config = PortalConfig::from_env(local.as_slice()).unwrap();
        assert_eq!(
            config.public_url.as_deref(),
            Some("http://127.0.0.1:9000/lambda-url/portal")
        );
        let outside = with(&[("WIF_PORTAL_PUBLIC_URL", "http://127.0.0.1:9000/portal")]);
        assert!(PortalConfig::from_env(outside.as_slice()).is_err());
        let template = with(&[("WIF_PORTAL_TRUST_JWKS_V2_TEMPLATE", "https://x/keys")]);
        assert!(PortalConfig::from_env(template.as_slice()).is_err());
    }
}
