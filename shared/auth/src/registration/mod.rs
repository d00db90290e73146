//! A client registration: one customer's Entra workload identities (or a secret-based client) as the ISV portal
//! stored them. The token endpoint pins every assertion to these exact strings.
//!
//! A registration trusts up to [`MAX_CREDENTIALS`] federated credentials, like the federated identity credentials
//! of an Entra app: each one is an issuer, a JWKS URL, a subject, the audiences its tokens may carry, and an
//! optional `tid`. The token endpoint chooses the credential by the assertion's `iss` + `sub`, verifies the
//! signature with that credential's JWKS only, and only then pins the claims. Several audiences exist because the
//! `aud` Entra sends depends on a mode it can switch without notice (`api://<app id>`, `api://<app id>/<host>`, the
//! bare app id); several credentials let a customer move to another workload identity, or from v1 to v2 tokens,
//! without downtime.
//!
//! - [`stored`]: the Clients item, read in today's shape and in the shape before federated credentials.
//! - [`request`]: the admin API's input rules; [`credential`] the rules of one credential.
//! - [`entra`]: what Entra's issuer and JWKS URLs look like, and the copy mistakes that can be caught from them.
//! - [`discovery`]: a JWKS URL found through the issuer's OpenID configuration.

pub mod credential;
pub mod discovery;
pub mod entra;
pub mod request;
mod stored;

use serde::{Deserialize, Serialize};

use crate::event_settings::EventSettings;
use crate::scope::Scope;

pub use credential::{CredentialDraft, CredentialRequest, JwksSource};
pub use entra::entra_tenant_of_issuer;
pub use request::{
    DEFAULT_TOKEN_LIFETIME_SECONDS, RegistrationError, RegistrationPolicy, RegistrationRequest, ValidatedRegistration,
};

/// At most this many federated credentials per registration (Entra allows 20 per app).
pub const MAX_CREDENTIALS: usize = 20;
/// At most this many accepted audiences per credential.
pub const MAX_AUDIENCES_PER_CREDENTIAL: usize = 10;
/// At most this many (issuer, subject, audience) trusts per registration. Each trust has a uniqueness marker
/// written in the registration's own transaction, and a change that replaces every trust must still fit
/// DynamoDB's 100 items per transaction (1 registration + 40 markers removed + 40 added).
pub const MAX_TRUSTS: usize = 40;
pub const MAX_ISSUER_LEN: usize = 2048;
pub const MAX_SUBJECT_LEN: usize = 1024;
pub const MAX_AUDIENCE_LEN: usize = 1024;

/// A stored registration (Clients table item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "stored::StoredRegistration")]
pub struct Registration {
    pub client_id: String,
    /// The ISV-side customer id; every SCIM key of this customer is prefixed with it.
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The workload identities whose assertions are accepted; empty for a secrets-only client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub federated_credentials: Vec<FederatedCredential>,
    pub allowed_scopes: Vec<Scope>,
    pub token_lifetime_seconds: u32,
    /// JWS algorithms accepted for this registration's assertions (default `["RS256"]`).
    pub allowed_algorithms: Vec<String>,
    pub enabled: bool,
    /// Whether `client_assertion` (Workload Identity Federation) is accepted.
    pub wif_enabled: bool,
    /// Whether client secrets (`client_secret_basic` / `client_secret_post`) are accepted.
    #[serde(default)]
    pub secrets_enabled: bool,
    /// Hashed client secrets; never the values.
    #[serde(default)]
    pub secrets: Vec<StoredSecret>,
    /// How this registration receives change events (with the `events.read` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventSettings>,
    /// Optimistic-concurrency version, incremented on every change.
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// True for an item stored before trusts had uniqueness markers: its markers are written by its next change
    /// (or `POST /migrations/trust-markers`). Derived when the item is read, never stored.
    #[serde(skip_serializing)]
    pub markers_pending: bool,
}

/// One trusted workload identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedCredential {
    /// Derived from issuer and subject ([`credential_id`]), so it is the same wherever the pair is registered.
    pub credential_id: String,
    /// Exact `iss` (v1 `https://sts.windows.net/<tid>/`, v2 `https://login.microsoftonline.com/<tid>/v2.0`).
    pub issuer: String,
    pub jwks_uri: String,
    /// Exact `sub` (the workload identity's object id).
    pub subject: String,
    /// Each an exact `aud` (e.g. `api://<app id>`); an assertion must carry one of them.
    pub audiences: Vec<String>,
    /// Exact `tid` claim, when pinned (defaults to the GUID inside an Entra issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One (issuer, subject, audience) a registration accepts. Unique across all registrations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Trust {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

/// A client secret as stored: its id, the SHA-256 of its value, and its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    pub secret_id: String,
    /// Hex SHA-256 of the secret value.
    pub hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The id of the credential with this issuer and subject: `fc-` and 12 hex digits of their SHA-256. Issuer and
/// subject identify a credential within a registration, so the id is stable across reads of items stored before
/// credentials had ids, and needs no generator.
pub fn credential_id(issuer: &str, subject: &str) -> String {
    let digest = crate::credentials::sha256_hex(&format!("{}\n{issuer}{subject}", issuer.len()));
    format!("fc-{}", &digest[..12])
}

impl FederatedCredential {
    pub fn trusts(&self) -> impl Iterator<Item = Trust> + '_ {
        self.audiences.iter().map(|audience| Trust {
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            audience: audience.clone(),
        })
    }
}

impl Registration {
    pub fn credential(&self, credential_id: &str) -> Option<&FederatedCredential> {
        self.federated_credentials
            .iter()
            .find(|credential| credential.credential_id == credential_id)
    }

    /// The credential whose issuer and subject are exactly these.
    pub fn credential_for(&self, issuer: &str, subject: &str) -> Option<&FederatedCredential> {
        self.federated_credentials
            .iter()
            .find(|credential| credential.issuer == issuer && credential.subject == subject)
    }

    /// Every (issuer, subject, audience) this registration accepts, sorted.
    pub fn trusts(&self) -> Vec<Trust> {
        let mut trusts: Vec<Trust> = self
            .federated_credentials
            .iter()
            .flat_map(FederatedCredential::trusts)
            .collect();
        trusts.sort();
        trusts
    }

    /// The distinct JWKS URLs of the credentials.
    pub fn jwks_uris(&self) -> Vec<&str> {
        let mut uris: Vec<&str> = self
            .federated_credentials
            .iter()
            .map(|credential| credential.jwks_uri.as_str())
            .collect();
        uris.sort_unstable();
        uris.dedup();
        uris
    }
}

#[cfg(test)]
mod tests;
