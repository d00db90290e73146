//! What the portal stores (the Portal table): pending sign-ins, sessions, tenant links and invitations. Bearer
//! values (session ids, sign-in cookies, invitation codes) are never stored: items are keyed by their SHA-256.

use serde::{Deserialize, Serialize};

/// What users of a linked tenant without an administrator role may do (the operator's choice per tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NonAdminAccess {
    /// Only administrators may use the portal.
    #[default]
    None,
    /// Others may look (registrations, activity) but not change anything.
    Read,
}

impl NonAdminAccess {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "read" => Some(Self::Read),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Read => "read",
        }
    }
}

/// An Entra tenant linked to an ISV customer account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLink {
    /// The customer's Entra tenant id (GUID).
    pub entra_tenant_id: String,
    /// Our customer account: the `tenant_id` of its registrations and of its SCIM data.
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub non_admin_access: NonAdminAccess,
    pub created_at: i64,
    /// Who linked it: an operator's IAM principal, or `entra:<tid>/<oid>` of the admin who redeemed an invitation.
    pub created_by: String,
}

/// A one-time onboarding invitation: whoever redeems it first (an administrator of their tenant) links their
/// Entra tenant to `tenant_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// SHA-256 of the code (the code itself is shown once, to the operator).
    pub code_hash: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub non_admin_access: NonAdminAccess,
    pub created_at: i64,
    pub expires_at: i64,
    pub created_by: String,
}

/// A sign-in between the redirect to Entra and its answer. Keyed by the SHA-256 of a random value held only in a
/// cookie of the browser that started it, so an answer arriving in another browser finds nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub key_hash: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    /// A local path (already checked) to go to after signing in.
    pub return_to: String,
    /// The redirect URI sent to Entra, sent again when the code is redeemed.
    pub redirect_uri: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("tid", &self.person.tid)
            .field("oid", &self.person.oid)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The signed-in person, as their ID token said at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub tid: String,
    pub oid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Holds a directory role that may set up provisioning (see [`crate::access`]).
    pub admin: bool,
    /// The names of those roles, for display.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Person {
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.upn.clone())
            .unwrap_or_else(|| self.oid.clone())
    }
}

/// A signed-in browser.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id_hash: String,
    pub person: Person,
    /// Sent back with every state-changing request (form field or `X-CSRF-Token`).
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// No request for this long ends the session.
    pub idle_expires_at: i64,
    /// The session ends at this time whatever happens (also the item's TTL).
    pub expires_at: i64,
}
