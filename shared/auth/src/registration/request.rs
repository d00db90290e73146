//! The admin API's registration input (`POST /clients`, and a change merged over the stored settings) and its
//! rules. Credentials come either as the single-credential shorthand (`issuer`, `jwks_uri`, `subject`, `audience`
//! and/or `audiences`, `expected_tid`: the four values Entra shows) or as a `federated_credentials` list; never
//! both.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::credential::{CredentialDraft, CredentialRequest};
use super::{MAX_CREDENTIALS, MAX_TRUSTS};
use crate::event_settings::{EventSettings, EventSettingsRequest};
use crate::scope::Scope;

/// The admin API's `POST /clients` body. Every field is optional here so that a missing one is reported as
/// `"<field>: is required"` by [`RegistrationRequest::validate`] rather than as a serde message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
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
    #[serde(default)]
    pub federated_credentials: Option<Vec<CredentialRequest>>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(default)]
    pub allowed_algorithms: Option<Vec<String>>,
    #[serde(default)]
    pub events: Option<EventSettingsRequest>,
}

/// Deployment settings a registration is validated against (from `WIF_LOCAL_DEVELOPMENT`,
/// `WIF_JWKS_ALLOWED_HOSTS`, `WIF_TOKEN_LIFETIME_MIN_SECONDS`, `WIF_TOKEN_LIFETIME_MAX_SECONDS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    pub local_development: bool,
    pub extra_allowed_jwks_hosts: Vec<String>,
    pub token_lifetime_min: u32,
    pub token_lifetime_max: u32,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            local_development: false,
            extra_allowed_jwks_hosts: Vec::new(),
            token_lifetime_min: 3600,
            token_lifetime_max: 21_600,
        }
    }
}

impl RegistrationPolicy {
    pub fn url_policy(&self) -> crate::url_policy::JwksUrlPolicy {
        crate::url_policy::JwksUrlPolicy::new(self.local_development, &self.extra_allowed_jwks_hosts)
    }

    pub fn push_url_policy(&self) -> crate::url_policy::PushUrlPolicy {
        crate::url_policy::PushUrlPolicy::new(self.local_development)
    }
}

/// A bad registration field: `Display` is `"<field>: <what is wrong>"`, the admin API's error description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RegistrationError {
    pub field: String,
    pub problem: String,
}

impl RegistrationError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The default token lifetime (Entra's example answer has `expires_in: 3600`).
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: u32 = 3600;
const MAX_DISPLAY_NAME_LEN: usize = 200;
const MAX_TENANT_ID_LEN: usize = 64;
const SHORTHAND_FIELDS: &str = "issuer, jwks_uri, subject, audience, audiences or expected_tid";

/// A registration request that passed every check that needs no network, normalised (defaults applied). Its
/// credentials become stored ones through [`crate::registration::discovery::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedRegistration {
    pub credentials: Vec<CredentialDraft>,
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
    pub allowed_scopes: Vec<Scope>,
    pub token_lifetime_seconds: u32,
    pub allowed_algorithms: Vec<String>,
    pub events: Option<EventSettings>,
}

impl ValidatedRegistration {
    /// What was accepted but looks like a copy mistake, each naming its field.
    pub fn warnings(&self) -> Vec<String> {
        self.credentials
            .iter()
            .flat_map(|credential| credential.warnings.iter().cloned())
            .collect()
    }
}

impl RegistrationRequest {
    /// Checks every field (the first problem found is returned, naming its field) and applies defaults: all
    /// scopes, a 3600 s token lifetime (clamped into the policy's bounds), `RS256`, and each credential's
    /// `expected_tid` taken from the GUID inside an Entra issuer.
    pub fn validate(&self, policy: &RegistrationPolicy) -> Result<ValidatedRegistration, RegistrationError> {
        self.validate_with(policy, true)
    }

    /// As [`RegistrationRequest::validate`]; with `federation_required = false` (a client that authenticates with
    /// client secrets only, as app-gallery customers without Workload Identity Federation do) the registration may
    /// have no credential at all. A credential that is given is checked in full, so none is ever half-federated.
    pub fn validate_with(
        &self,
        policy: &RegistrationPolicy,
        federation_required: bool,
    ) -> Result<ValidatedRegistration, RegistrationError> {
        Ok(ValidatedRegistration {
            credentials: self.credentials(policy, federation_required)?,
            tenant_id: self.tenant_id()?,
            display_name: self
                .display_name
                .as_deref()
                .map(|name| required_text("display_name", Some(name), MAX_DISPLAY_NAME_LEN))
                .transpose()?,
            allowed_scopes: self.scopes()?,
            token_lifetime_seconds: self.token_lifetime(policy)?,
            allowed_algorithms: self.algorithms()?,
            events: self
                .events
                .as_ref()
                .map(|request| request.apply(None, policy.push_url_policy()))
                .transpose()
                .map_err(|(field, problem)| RegistrationError::new(field, problem))?,
        })
    }

    /// The single-credential shorthand of this request.
    pub fn shorthand(&self) -> CredentialRequest {
        CredentialRequest {
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            subject: self.subject.clone(),
            audience: self.audience.clone(),
            audiences: self.audiences.clone(),
            expected_tid: self.expected_tid.clone(),
        }
    }

    fn credentials(
        &self,
        policy: &RegistrationPolicy,
        federation_required: bool,
    ) -> Result<Vec<CredentialDraft>, RegistrationError> {
        let shorthand = self.shorthand();
        let drafts = match &self.federated_credentials {
            Some(_) if !shorthand.is_empty() => {
                return Err(RegistrationError::new(
                    "federated_credentials",
                    format!("cannot be combined with {SHORTHAND_FIELDS}; put that credential in the list"),
                ));
            }
            Some(list) => {
                if list.is_empty() && federation_required {
                    return Err(RegistrationError::new(
                        "federated_credentials",
                        "must not be empty while client_assertion (WIF) is on",
                    ));
                }
                if list.len() > MAX_CREDENTIALS {
                    return Err(RegistrationError::new(
                        "federated_credentials",
                        format!("at most {MAX_CREDENTIALS} federated credentials per registration"),
                    ));
                }
                list.iter()
                    .enumerate()
                    .map(|(index, credential)| credential.validate(&format!("federated_credentials[{index}]."), policy))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None if shorthand.is_empty() && !federation_required => Vec::new(),
            None => vec![shorthand.validate("", policy)?],
        };
        check_together(&drafts)?;
        Ok(drafts)
    }

    fn tenant_id(&self) -> Result<Option<String>, RegistrationError> {
        let Some(tenant) = self.tenant_id.as_deref() else {
            return Ok(None);
        };
        let tenant = required_text("tenant_id", Some(tenant), MAX_TENANT_ID_LEN)?;
        // The tenant prefixes every Directory key, so it must not contain the key separators.
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(RegistrationError::new(
                "tenant_id",
                "may contain only letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Some(tenant))
    }

    fn scopes(&self) -> Result<Vec<Scope>, RegistrationError> {
        let Some(names) = &self.scopes else {
            return Ok(Scope::DEFAULT.to_vec());
        };
        if names.is_empty() {
            return Err(RegistrationError::new("scopes", "must not be empty"));
        }
        let mut scopes = Vec::new();
        for name in names {
            let scope = Scope::parse(name).ok_or_else(|| {
                RegistrationError::new(
                    "scopes",
                    format!("unknown scope {name:?} (known: scim, scim.read, scim.readwrite, events.read)"),
                )
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.sort();
        Ok(scopes)
    }

    fn token_lifetime(&self, policy: &RegistrationPolicy) -> Result<u32, RegistrationError> {
        match self.token_lifetime_seconds {
            None => Ok(DEFAULT_TOKEN_LIFETIME_SECONDS.clamp(policy.token_lifetime_min, policy.token_lifetime_max)),
            Some(seconds) if (policy.token_lifetime_min..=policy.token_lifetime_max).contains(&seconds) => Ok(seconds),
            Some(_) => Err(RegistrationError::new(
                "token_lifetime_seconds",
                format!(
                    "must be between {} and {}",
                    policy.token_lifetime_min, policy.token_lifetime_max
                ),
            )),
        }
    }

    fn algorithms(&self) -> Result<Vec<String>, RegistrationError> {
        let Some(names) = &self.allowed_algorithms else {
            return Ok(vec![crate::jwks::JwsAlgorithm::RS256.as_str().to_owned()]);
        };
        if names.is_empty() {
            return Err(RegistrationError::new("allowed_algorithms", "must not be empty"));
        }
        let mut algorithms: Vec<String> = Vec::new();
        for name in names {
            let alg = crate::jwks::JwsAlgorithm::parse(name).ok_or_else(|| {
                RegistrationError::new(
                    "allowed_algorithms",
                    format!(
                        "unsupported algorithm {name:?} (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, \
                         ES384)"
                    ),
                )
            })?;
            if !algorithms.iter().any(|known| known == alg.as_str()) {
                algorithms.push(alg.as_str().to_owned());
            }
        }
        Ok(algorithms)
    }
}

/// Rules across credentials: the assertion's `iss` + `sub` choose the credential, so that pair is unique; a
/// registration serves one customer, so every Entra issuer names the same tenant; and the trusts (one per
/// audience) fit the registration's uniqueness transaction.
fn check_together(drafts: &[CredentialDraft]) -> Result<(), RegistrationError> {
    let mut pairs = BTreeSet::new();
    let mut tenant: Option<(&str, &str)> = None;
    for draft in drafts {
        if !pairs.insert((draft.issuer.as_str(), draft.subject.as_str())) {
            return Err(RegistrationError::new(
                format!("{}subject", draft.field_prefix),
                "another credential of this registration has the same issuer and subject; add the audiences to \
                 that credential instead",
            ));
        }
        if let Some(entra) = &draft.entra {
            match tenant {
                Some((tid, field)) if tid != entra.tenant_id => {
                    return Err(RegistrationError::new(
                        format!("{}issuer", draft.field_prefix),
                        format!(
                            "names Entra tenant {}, but {field}issuer names tenant {tid}; a registration serves one \
                             customer tenant",
                            entra.tenant_id
                        ),
                    ));
                }
                Some(_) => {}
                None => tenant = Some((&entra.tenant_id, &draft.field_prefix)),
            }
        }
    }
    let trusts: usize = drafts.iter().map(|draft| draft.audiences.len()).sum();
    if trusts > MAX_TRUSTS {
        return Err(RegistrationError::new(
            "federated_credentials",
            format!("at most {MAX_TRUSTS} audiences across all credentials of a registration ({trusts} given)"),
        ));
    }
    Ok(())
}

/// A pinned string: present, non-empty, no surrounding whitespace (a pasted value with a trailing newline would
/// never match an assertion), no control characters, bounded length.
pub(crate) fn required_text(
    field: impl Into<String>,
    value: Option<&str>,
    max_len: usize,
) -> Result<String, RegistrationError> {
    let field = field.into();
    let value = value.ok_or_else(|| RegistrationError::new(field.clone(), "is required"))?;
    let problem = if value.is_empty() {
        "must not be empty".to_owned()
    } else if value.trim() != value {
        "must not start or end with whitespace".to_owned()
    } else if value.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else if value.len() > max_len {
        format!("must be at most {max_len} bytes")
    } else {
        return Ok(value.to_owned());
    };
    Err(RegistrationError::new(field, problem))
}
