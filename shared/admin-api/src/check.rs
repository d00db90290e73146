//! `GET /clients/{id}/test`: our side of Entra's Test Connection, one named check at a time.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `registration`, `enabled`, `auth_methods`, `jwks_url_policy`, `jwks_reachable`, `jwks_keys`, `keys_cache`,
    /// `client_secrets`.
    pub name: String,
    /// The federated credential a JWKS check is about (each credential's keys are checked on their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    pub ok: bool,
    /// True when the check did not apply (e.g. JWKS checks for a secrets-only client); `ok` is then true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, true, false, detail)
    }

    pub fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, false, false, detail)
    }

    pub fn skip(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, true, true, detail)
    }

    /// The same check, about this credential.
    pub fn for_credential(mut self, credential_id: &str) -> Self {
        self.credential_id = Some(credential_id.to_owned());
        self
    }

    fn new(name: &str, ok: bool, skipped: bool, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            credential_id: None,
            ok,
            skipped,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub client_id: String,
    /// True when every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}
