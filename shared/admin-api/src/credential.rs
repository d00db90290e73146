//! A registration's federated credentials (`/clients/{id}/credentials…`): list, add, change, remove, and add or
//! remove one accepted audience. Changes take an optional `version` (optimistic concurrency, like every change of
//! a registration) and answer with the registration's new version.

use serde::{Deserialize, Serialize};

/// One trusted workload identity as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedCredential {
    /// `fc-` and 12 hex digits, derived from issuer and subject.
    pub credential_id: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub subject: String,
    /// The `aud` values accepted from this identity, each compared byte for byte.
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One credential as a request sends it (an entry of `federated_credentials`, the body of
/// `POST /clients/{id}/credentials`): the four values Entra shows (`jwks_uri` may be left out for an Entra issuer),
/// `audience` and/or `audiences`, and an optional `expected_tid`. Members it does not know are refused (a misspelt
/// `expected_tid` must not pass unnoticed). [`crate::ClientSettings`] carries the same six as its shorthand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
}

/// `GET /clients/{id}/credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialList {
    pub client_id: String,
    pub version: u64,
    pub federated_credentials: Vec<FederatedCredential>,
}

/// `PATCH /clients/{id}/credentials/{credential_id}`: what may change in place (issuer and subject identify the
/// credential: a new identity is a new credential). `audiences` replaces the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
}

/// `POST /clients/{id}/credentials/{credential_id}/audiences`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// The answer to adding or changing a credential (or one of its audiences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialChange {
    pub client_id: String,
    /// The registration's version after the change.
    pub version: u64,
    pub credential: FederatedCredential,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `DELETE /clients/{id}/credentials/{credential_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRemoved {
    pub client_id: String,
    pub credential_id: String,
    pub version: u64,
}

/// `POST /migrations/trust-markers`: registrations stored before trusts had uniqueness markers get them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerMigration {
    /// Registrations whose markers were written now.
    pub migrated: Vec<String>,
    /// Registrations looked at in total.
    pub examined: usize,
    /// Registrations that could not be migrated because another registration holds one of their trusts.
    #[serde(default)]
    pub conflicts: Vec<MarkerConflict>,
}

/// A trust two registrations claim; the first to be migrated (or created since) keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerConflict {
    pub client_id: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    /// The registration that holds the trust (the migration is an operator's tool: ids are shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}
