//! The input rules of one federated credential: issuer, JWKS URL (optional for an Entra issuer: discovered),
//! subject, audiences and expected tid. A bad value is refused naming its field, prefixed with the credential's
//! place in the request (`federated_credentials[1].jwks_uri: ...`); a suspicious but workable one becomes a
//! warning shown with the answer.

use serde::{Deserialize, Serialize};

use super::entra::{EntraIssuer, check_pair, parse_entra_issuer, parse_entra_jwks_url};
use super::request::{RegistrationError, RegistrationPolicy, required_text};
use super::{FederatedCredential, MAX_AUDIENCE_LEN, MAX_AUDIENCES_PER_CREDENTIAL, MAX_ISSUER_LEN, MAX_SUBJECT_LEN};

const MAX_TID_LEN: usize = 128;

/// One credential as the admin API receives it. `audience` and `audiences` may both be given: together they are
/// the accepted audiences, in that order, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
    #[serde(default)]
    pub expected_tid: Option<String>,
}

/// Where a credential's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    Given(String),
    /// Not given; the issuer is Entra's, so its OpenID configuration at this URL names it.
    Discover {
        discovery_url: String,
    },
}

/// A credential that passed every check that needs no network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDraft {
    pub issuer: String,
    pub jwks: JwksSource,
    pub subject: String,
    pub audiences: Vec<String>,
    pub expected_tid: Option<String>,
    /// The Entra tenant and token version of the issuer, when it is Entra's.
    pub entra: Option<EntraIssuer>,
    /// Where the credential sits in the request (`""` or `"federated_credentials[1]."`), for messages.
    pub field_prefix: String,
    pub warnings: Vec<String>,
}

impl CredentialRequest {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The credential request of a stored credential (to re-validate it, or to change part of it).
    pub fn of(credential: &FederatedCredential) -> Self {
        Self {
            issuer: Some(credential.issuer.clone()),
            jwks_uri: Some(credential.jwks_uri.clone()),
            subject: Some(credential.subject.clone()),
            audience: None,
            audiences: Some(credential.audiences.clone()),
            expected_tid: credential.expected_tid.clone(),
        }
    }

    /// Every check that needs no network; `prefix` names the credential's place in the request.
    pub fn validate(&self, prefix: &str, policy: &RegistrationPolicy) -> Result<CredentialDraft, RegistrationError> {
        let field = |name: &str| format!("{prefix}{name}");
        let issuer = required_text(field("issuer"), self.issuer.as_deref(), MAX_ISSUER_LEN)?;
        let entra = parse_entra_issuer(&issuer).map_err(|problem| RegistrationError::new(field("issuer"), problem))?;
        let mut warnings = Vec::new();
        let jwks = self.jwks_source(prefix, entra.as_ref(), policy, &mut warnings)?;
        let subject = required_text(field("subject"), self.subject.as_deref(), MAX_SUBJECT_LEN)?;
        let audiences = self.audiences(prefix)?;
        let expected_tid = self.expected_tid(prefix, entra.as_ref())?;
        Ok(CredentialDraft {
            issuer,
            jwks,
            subject,
            audiences,
            expected_tid,
            entra,
            field_prefix: prefix.to_owned(),
            warnings: warnings.into_iter().map(|w| format!("{prefix}jwks_uri: {w}")).collect(),
        })
    }

    fn jwks_source(
        &self,
        prefix: &str,
        entra: Option<&EntraIssuer>,
        policy: &RegistrationPolicy,
        warnings: &mut Vec<String>,
    ) -> Result<JwksSource, RegistrationError> {
        let field = format!("{prefix}jwks_uri");
        let Some(text) = self.jwks_uri.as_deref() else {
            let Some(entra) = entra else {
                return Err(RegistrationError::new(
                    field,
                    "is required (it may be left out only for an Entra issuer, whose OpenID configuration names it)",
                ));
            };
            let discovery_url = entra.discovery_url();
            policy.url_policy().check(&discovery_url).map_err(|err| {
                RegistrationError::new(
                    field.clone(),
                    format!("is required: the issuer's OpenID configuration {discovery_url} {err}"),
                )
            })?;
            return Ok(JwksSource::Discover { discovery_url });
        };
        let url = policy
            .url_policy()
            .check(text)
            .map_err(|err| RegistrationError::new(field.clone(), err.to_string()))?
            .to_string();
        if let (Some(entra), Some(keys)) = (entra, parse_entra_jwks_url(&url)) {
            match check_pair(entra, &keys) {
                Ok(warning) => warnings.extend(warning),
                Err(problem) => return Err(RegistrationError::new(field, problem)),
            }
        }
        Ok(JwksSource::Given(url))
    }

    /// `audience` then `audiences`, each exact, without duplicates; at least one.
    fn audiences(&self, prefix: &str) -> Result<Vec<String>, RegistrationError> {
        let mut given: Vec<(String, &str)> = Vec::new();
        if let Some(audience) = &self.audience {
            given.push((format!("{prefix}audience"), audience));
        }
        for (index, audience) in self.audiences.iter().flatten().enumerate() {
            given.push((format!("{prefix}audiences[{index}]"), audience));
        }
        if given.is_empty() {
            return Err(RegistrationError::new(format!("{prefix}audience"), "is required"));
        }
        let mut audiences: Vec<String> = Vec::new();
        for (field, audience) in given {
            let audience = required_text(field.clone(), Some(audience), MAX_AUDIENCE_LEN)?;
            if audience.ends_with("/.default") {
                return Err(RegistrationError::new(
                    field,
                    format!(
                        "/.default is the suffix of a token request's scope, never part of a token's aud; register \
                         {} (and, for v2 tokens requested for it, the bare application id)",
                        audience.trim_end_matches("/.default")
                    ),
                ));
            }
            if !audiences.contains(&audience) {
                audiences.push(audience);
            }
        }
        if audiences.len() > MAX_AUDIENCES_PER_CREDENTIAL {
            return Err(RegistrationError::new(
                format!("{prefix}audiences"),
                format!("at most {MAX_AUDIENCES_PER_CREDENTIAL} audiences per credential"),
            ));
        }
        Ok(audiences)
    }

    /// Given, or the tenant of an Entra issuer. A given tid that differs from an Entra issuer's tenant could never
    /// match: Entra writes the same tenant into both claims.
    fn expected_tid(&self, prefix: &str, entra: Option<&EntraIssuer>) -> Result<Option<String>, RegistrationError> {
        let field = format!("{prefix}expected_tid");
        match (self.expected_tid.as_deref(), entra) {
            (None, entra) => Ok(entra.map(|entra| entra.tenant_id.clone())),
            (Some(tid), entra) => {
                let tid = required_text(field.clone(), Some(tid), MAX_TID_LEN)?;
                match entra {
                    Some(entra) if entra.tenant_id != tid => Err(RegistrationError::new(
                        field,
                        format!(
                            "{tid} differs from the tenant in the issuer ({}); Entra writes the same tenant into iss \
                             and tid",
                            entra.tenant_id
                        ),
                    )),
                    _ => Ok(Some(tid)),
                }
            }
        }
    }
}

impl CredentialDraft {
    /// The stored credential, with its JWKS URL (given, or discovered). A credential that already existed keeps
    /// its creation time; `updated_at` moves only when something changed.
    pub fn into_credential(
        self,
        jwks_uri: String,
        existing: Option<&FederatedCredential>,
        now: i64,
    ) -> FederatedCredential {
        let mut credential = FederatedCredential {
            credential_id: super::credential_id(&self.issuer, &self.subject),
            issuer: self.issuer,
            jwks_uri,
            subject: self.subject,
            audiences: self.audiences,
            expected_tid: self.expected_tid,
            created_at: now,
            updated_at: now,
        };
        if let Some(existing) = existing {
            credential.created_at = existing.created_at;
            let unchanged = FederatedCredential {
                updated_at: existing.updated_at,
                created_at: existing.created_at,
                ..credential.clone()
            } == *existing;
            if unchanged {
                credential.updated_at = existing.updated_at;
            }
        }
        credential
    }
}
