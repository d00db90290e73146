//! OAuth scopes of the SCIM API and of the event feed.

use serde::{Deserialize, Serialize};

/// `scim.read` may GET and search; `scim.readwrite` may do everything; `scim` is Entra's example name and an
/// alias of `scim.readwrite`. `events.read` polls the tenant's event feed (RFC 8936) and reads nothing through SCIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "scim")]
    Scim,
    #[serde(rename = "scim.read")]
    ScimRead,
    #[serde(rename = "scim.readwrite")]
    ScimReadWrite,
    #[serde(rename = "events.read")]
    EventsRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Scim, Scope::ScimRead, Scope::ScimReadWrite, Scope::EventsRead];
    /// What a registration allows when it names no scopes: the SCIM scopes Entra asks for. The event feed is
    /// opted into (`"scopes": ["scim", "events.read"]`), since it is the ISV application's credential, not Entra's.
    pub const DEFAULT: [Scope; 3] = [Scope::Scim, Scope::ScimRead, Scope::ScimReadWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scim => "scim",
            Scope::ScimRead => "scim.read",
            Scope::ScimReadWrite => "scim.readwrite",
            Scope::EventsRead => "events.read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Whether this scope permits SCIM writes.
    pub fn allows_write(self) -> bool {
        matches!(self, Scope::Scim | Scope::ScimReadWrite)
    }

    /// Whether this scope permits SCIM reads (`events.read` does not).
    pub fn allows_scim_read(self) -> bool {
        matches!(self, Scope::Scim | Scope::ScimRead | Scope::ScimReadWrite)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
