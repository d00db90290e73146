//! OAuth scopes of the SCIM API.

use serde::{Deserialize, Serialize};

/// `scim.read` may GET and search; `scim.readwrite` may do everything; `scim` is Entra's example name and an
/// alias of `scim.readwrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "scim")]
    Scim,
    #[serde(rename = "scim.read")]
    ScimRead,
    #[serde(rename = "scim.readwrite")]
    ScimReadWrite,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Scim, Scope::ScimRead, Scope::ScimReadWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scim => "scim",
            Scope::ScimRead => "scim.read",
            Scope::ScimReadWrite => "scim.readwrite",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Whether this scope permits SCIM writes.
    pub fn allows_write(self) -> bool {
        matches!(self, Scope::Scim | Scope::ScimReadWrite)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
