//! Registrations: `POST /clients` ([`NewClient`] → [`Client`]), `GET /clients` ([`ClientPage`]),
//! `GET|PATCH|DELETE /clients/{id}` ([`ClientUpdate`], [`Deleted`]), `POST /clients/{id}/revoke-tokens`
//! ([`TokensRevoked`]). A registration's federated credentials also have their own resource: [`crate::credential`].

use serde::{Deserialize, Serialize};

pub use crate::credential::{CredentialSettings, FederatedCredential};

/// A client secret as the admin API lists it: never the value, never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub secret_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// `active` (accepted by the token endpoint) or `expired`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A registration as the admin API shows it: everything stored except secret hashes, plus the URLs the customer
/// pastes into Entra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The workload identities whose assertions are accepted (none for a secrets-only client).
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
    pub scopes: Vec<String>,
    pub token_lifetime_seconds: u32,
    pub allowed_algorithms: Vec<String>,
    pub enabled: bool,
    pub wif_enabled: bool,
    pub secrets_enabled: bool,
    #[serde(default)]
    pub secrets: Vec<SecretInfo>,
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub token_url: String,
    pub scim_url: String,
    /// Where this registration polls its tenant's change events (RFC 8936), when it has the `events.read` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_url: Option<String>,
    /// The JWKS of the keys that sign the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_jwks_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<ClientEvents>,
    /// Values that were accepted but look like copy mistakes, each naming its field; only in the answer to the
    /// request that stored them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// How a registration receives change events: the data level (`ids`, `notice`, `full`) and an optional RFC 8935
/// push endpoint (`""` removes it on update).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEvents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
}

/// One page of registrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPage {
    pub clients: Vec<Client>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The settings of a registration an ISV chooses, as creating ([`NewClient`]) and changing ([`ClientUpdate`]) a
/// registration send them. Absent means "the default" on create and "unchanged" on update.
///
/// The trust comes either as the single-credential shorthand (`issuer`, `jwks_uri`, `subject`, `audience` and/or
/// `audiences`, `expected_tid`) or as `federated_credentials`, never both. On update the shorthand changes the one
/// credential of a registration that has exactly one, and `federated_credentials` replaces them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// Exact `iss` of the assertions. On update only for a registration without credentials (a credential's issuer
    /// never changes: add a credential with the new issuer instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// May be left out for an Entra issuer: it is discovered from the issuer's OpenID configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Exact `sub` of the assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Exact `aud` of the assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// More accepted `aud` values, each exact (with `audience`, if given, first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    /// Several credentials, instead of the shorthand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_credentials: Option<Vec<CredentialSettings>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_algorithms: Option<Vec<String>>,
    /// Whether `client_assertion` (Workload Identity Federation) is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wif_enabled: Option<bool>,
    /// Whether `client_secret_basic` / `client_secret_post` are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_enabled: Option<bool>,
    /// How the registration receives change events (with the `events.read` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<ClientEvents>,
}

impl ClientSettings {
    /// The JSON names of the settings that are present, in declaration order (what an update changes).
    pub fn present(&self) -> Vec<&'static str> {
        [
            ("issuer", self.issuer.is_some()),
            ("jwks_uri", self.jwks_uri.is_some()),
            ("subject", self.subject.is_some()),
            ("audience", self.audience.is_some()),
            ("audiences", self.audiences.is_some()),
            ("expected_tid", self.expected_tid.is_some()),
            ("federated_credentials", self.federated_credentials.is_some()),
            ("display_name", self.display_name.is_some()),
            ("scopes", self.scopes.is_some()),
            ("token_lifetime_seconds", self.token_lifetime_seconds.is_some()),
            ("allowed_algorithms", self.allowed_algorithms.is_some()),
            ("wif_enabled", self.wif_enabled.is_some()),
            ("secrets_enabled", self.secrets_enabled.is_some()),
            ("events", self.events.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

/// `POST /clients`: the settings, plus the ISV-side customer id (generated when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(flatten)]
    pub settings: ClientSettings,
}

/// `PATCH /clients/{id}`: the settings to change, plus the version the change is based on (required by the
/// server: optimistic concurrency).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(flatten)]
    pub settings: ClientSettings,
}

/// `DELETE /clients/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub client_id: String,
    pub deleted: bool,
    pub revoked_tokens: usize,
}

/// `POST /clients/{id}/revoke-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensRevoked {
    pub client_id: String,
    pub revoked_tokens: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_leave_out_what_is_not_set_and_refuse_unknown_members() {
        let update = ClientUpdate {
            version: Some(3),
            settings: ClientSettings {
                audience: Some("api://x".into()),
                wif_enabled: Some(false),
                ..Default::default()
            },
        };
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"version": 3, "audience": "api://x", "wif_enabled": false})
        );
        assert_eq!(serde_json::from_value::<ClientUpdate>(json).unwrap(), update);
        assert_eq!(update.settings.present(), vec!["audience", "wif_enabled"]);

        let err = serde_json::from_str::<NewClient>(r#"{"issuer":"x","surprise":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `surprise`"), "{err}");
        let err = serde_json::from_str::<ClientUpdate>(r#"{"version":1,"tenant_id":"t"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `tenant_id`"), "{err}");
        let err = serde_json::from_str::<NewClient>(r#"{"federated_credentials":[{"issuer":"x","expectedTid":"t"}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `expectedTid`"), "{err}");
        let both: NewClient =
            serde_json::from_str(r#"{"issuer":"i","audiences":["a","b"],"federated_credentials":[{"subject":"s"}]}"#)
                .unwrap();
        assert_eq!(both.settings.issuer.as_deref(), Some("i"));
        assert_eq!(both.settings.audiences, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            both.settings.federated_credentials.unwrap()[0].subject.as_deref(),
            Some("s")
        );
        let created: NewClient = serde_json::from_str(r#"{"tenant_id":"t","token_lifetime_seconds":7200}"#).unwrap();
        assert_eq!(created.tenant_id.as_deref(), Some("t"));
        assert_eq!(created.settings.token_lifetime_seconds, Some(7200));
    }

    #[test]
    fn responses_ignore_members_a_newer_server_adds() {
        let page: ClientPage = serde_json::from_str(r#"{"clients":[],"next_cursor":null,"total":0}"#).unwrap();
        assert!(page.clients.is_empty() && page.next_cursor.is_none());
    }
}
