//! A client registration: one customer's Entra workload identity (or secret-based client) as the ISV portal
//! stored it. The token endpoint pins every assertion to these exact strings.

use serde::{Deserialize, Serialize};

use crate::event_settings::{EventSettings, EventSettingsRequest};
use crate::scope::Scope;

/// A stored registration (Clients table item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub client_id: String,
    /// The ISV-side customer id; every SCIM key of this customer is prefixed with it.
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Exact `iss` of the assertions (v1 `https://sts.windows.net/<tid>/` or v2 `https://login.microsoftonline.com/<tid>/v2.0`).
    /// Empty for a secrets-only client (see [`RegistrationRequest::validate_with`]); empty federation fields are not
    /// stored at all, which keeps such clients out of the IssuerSubjectIndex (DynamoDB key values cannot be empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks_uri: String,
    /// Exact `sub` (the workload identity's object id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Exact `aud` (e.g. `api://<appid>`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    /// Exact `tid` claim, when pinned (defaults to the GUID inside an Entra issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    pub allowed_scopes: Vec<Scope>,
    pub token_lifetime_seconds: u32,
    /// JWS algorithms accepted for this registration's assertions (default `["RS256"]`).
    pub allowed_algorithms: Vec<String>,
    pub enabled: bool,
    /// Whether `client_assertion` (Workload Identity Federation) is accepted.
    #[serde(default = "default_true")]
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
}

fn default_true() -> bool {
    true
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
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(default)]
    pub expected_tid: Option<String>,
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
    pub field: &'static str,
    pub problem: String,
}

impl RegistrationError {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// The default token lifetime (Entra's example answer has `expires_in: 3600`).
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: u32 = 3600;
/// Also DynamoDB's limit for a partition-key value (the IssuerSubjectIndex hash key).
pub const MAX_ISSUER_LEN: usize = 2048;
/// Also DynamoDB's limit for a sort-key value (the IssuerSubjectIndex range key).
pub const MAX_SUBJECT_LEN: usize = 1024;
const MAX_AUDIENCE_LEN: usize = 1024;
const MAX_TID_LEN: usize = 128;
const MAX_DISPLAY_NAME_LEN: usize = 200;
const MAX_TENANT_ID_LEN: usize = 64;

/// A registration request that passed every check, normalised (defaults applied) and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedRegistration {
    pub issuer: String,
    pub jwks_uri: String,
    pub subject: String,
    pub audience: String,
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
    pub allowed_scopes: Vec<Scope>,
    pub token_lifetime_seconds: u32,
    pub expected_tid: Option<String>,
    pub allowed_algorithms: Vec<String>,
    pub events: Option<EventSettings>,
}

impl RegistrationRequest {
    /// Checks every field (the first problem found is returned, naming its field) and applies defaults: all
    /// scopes, a 3600 s token lifetime (clamped into the policy's bounds), `RS256`, and `expected_tid` taken from
    /// the GUID inside an Entra v1 or v2 issuer.
    pub fn validate(&self, policy: &RegistrationPolicy) -> Result<ValidatedRegistration, RegistrationError> {
        self.validate_with(policy, true)
    }

    /// As [`RegistrationRequest::validate`]; with `federation_required = false` (a client that authenticates with
    /// client secrets only, as app-gallery customers without Workload Identity Federation do) the four federation
    /// fields `issuer`, `jwks_uri`, `subject`, `audience` may be left out. They then come all together or not at
    /// all, so a registration is never half-federated; left out, they are stored empty.
    pub fn validate_with(
        &self,
        policy: &RegistrationPolicy,
        federation_required: bool,
    ) -> Result<ValidatedRegistration, RegistrationError> {
        let federation = [&self.issuer, &self.jwks_uri, &self.subject, &self.audience];
        let (issuer, jwks_uri, subject, audience) = if !federation_required && federation.iter().all(|f| f.is_none()) {
            (String::new(), String::new(), String::new(), String::new())
        } else {
            let issuer = required_text("issuer", self.issuer.as_deref(), MAX_ISSUER_LEN)?;
            let jwks_uri_text = self
                .jwks_uri
                .as_deref()
                .ok_or_else(|| RegistrationError::new("jwks_uri", "is required"))?;
            let jwks_uri = policy
                .url_policy()
                .check(jwks_uri_text)
                .map_err(|err| RegistrationError::new("jwks_uri", err.to_string()))?
                .to_string();
            let subject = required_text("subject", self.subject.as_deref(), MAX_SUBJECT_LEN)?;
            let audience = required_text("audience", self.audience.as_deref(), MAX_AUDIENCE_LEN)?;
            (issuer, jwks_uri, subject, audience)
        };
        let tenant_id = match self.tenant_id.as_deref() {
            None => None,
            Some(tenant) => {
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
                Some(tenant)
            }
        };
        let display_name = match self.display_name.as_deref() {
            None => None,
            Some(name) => Some(required_text("display_name", Some(name), MAX_DISPLAY_NAME_LEN)?),
        };
        let allowed_scopes = parse_scopes(self.scopes.as_deref())?;
        let token_lifetime_seconds = match self.token_lifetime_seconds {
            None => DEFAULT_TOKEN_LIFETIME_SECONDS.clamp(policy.token_lifetime_min, policy.token_lifetime_max),
            Some(seconds) if (policy.token_lifetime_min..=policy.token_lifetime_max).contains(&seconds) => seconds,
            Some(_) => {
                return Err(RegistrationError::new(
                    "token_lifetime_seconds",
                    format!(
                        "must be between {} and {}",
                        policy.token_lifetime_min, policy.token_lifetime_max
                    ),
                ));
            }
        };
        let expected_tid = match self.expected_tid.as_deref() {
            Some(tid) => Some(required_text("expected_tid", Some(tid), MAX_TID_LEN)?),
            None if issuer.is_empty() => None,
            None => entra_tenant_of_issuer(&issuer),
        };
        let allowed_algorithms = match &self.allowed_algorithms {
            None => vec![crate::jwks::JwsAlgorithm::RS256.as_str().to_owned()],
            Some(names) => {
                if names.is_empty() {
                    return Err(RegistrationError::new("allowed_algorithms", "must not be empty"));
                }
                let mut algorithms: Vec<String> = Vec::new();
                for name in names {
                    let alg = crate::jwks::JwsAlgorithm::parse(name).ok_or_else(|| {
                        RegistrationError::new(
                            "allowed_algorithms",
                            format!("unsupported algorithm {name:?} (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384)"),
                        )
                    })?;
                    if !algorithms.iter().any(|known| known == alg.as_str()) {
                        algorithms.push(alg.as_str().to_owned());
                    }
                }
                algorithms
            }
        };
        let events = self
            .events
            .as_ref()
            .map(|request| request.apply(None, policy.push_url_policy()))
            .transpose()
            .map_err(|(field, problem)| RegistrationError::new(field, problem))?;
        Ok(ValidatedRegistration {
            issuer,
            jwks_uri,
            subject,
            audience,
            tenant_id,
            display_name,
            allowed_scopes,
            token_lifetime_seconds,
            expected_tid,
            allowed_algorithms,
            events,
        })
    }
}

/// The requested scopes, known, deduplicated and sorted; the default ones when none were named.
fn parse_scopes(names: Option<&[String]>) -> Result<Vec<Scope>, RegistrationError> {
    let Some(names) = names else {
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

impl ValidatedRegistration {
    /// The stored form of a new registration: enabled, WIF on, secrets off, version 1.
    pub fn into_registration(self, client_id: String, default_tenant_id: String, now: i64) -> Registration {
        Registration {
            client_id,
            tenant_id: self.tenant_id.unwrap_or(default_tenant_id),
            display_name: self.display_name,
            issuer: self.issuer,
            jwks_uri: self.jwks_uri,
            subject: self.subject,
            audience: self.audience,
            expected_tid: self.expected_tid,
            allowed_scopes: self.allowed_scopes,
            token_lifetime_seconds: self.token_lifetime_seconds,
            allowed_algorithms: self.allowed_algorithms,
            enabled: true,
            wif_enabled: true,
            secrets_enabled: false,
            secrets: Vec::new(),
            events: self.events,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A pinned string: present, non-empty, no surrounding whitespace (a pasted value with a trailing newline would
/// never match an assertion), no control characters, bounded length.
fn required_text(field: &'static str, value: Option<&str>, max_len: usize) -> Result<String, RegistrationError> {
    let value = value.ok_or_else(|| RegistrationError::new(field, "is required"))?;
    if value.is_empty() {
        return Err(RegistrationError::new(field, "must not be empty"));
    }
    if value.trim() != value {
        return Err(RegistrationError::new(field, "must not start or end with whitespace"));
    }
    if value.chars().any(char::is_control) {
        return Err(RegistrationError::new(field, "must not contain control characters"));
    }
    if value.len() > max_len {
        return Err(RegistrationError::new(
            field,
            format!("must be at most {max_len} bytes"),
        ));
    }
    Ok(value.to_owned())
}

/// Hosts that issue Entra tokens (v1 `sts.*`, v2 `login.*`) in the global and national clouds.
const ENTRA_ISSUER_HOSTS: &[&str] = &[
    "sts.windows.net",
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
    "sts.chinacloudapi.cn",
];

/// The tenant GUID inside an Entra issuer: `https://sts.windows.net/<tid>/` (v1) or
/// `https://login.microsoftonline.com/<tid>/v2.0` (v2), on any Entra cloud. `None` for anything else.
pub fn entra_tenant_of_issuer(issuer: &str) -> Option<String> {
    let rest = issuer.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if !ENTRA_ISSUER_HOSTS.contains(&host) {
        return None;
    }
    let tid = path.strip_suffix('/').or_else(|| path.strip_suffix("/v2.0"))?;
    uuid::Uuid::try_parse(tid).ok()?;
    // Only the hyphenated 36-character form appears in Entra issuers; tid claims use the same text.
    (tid.len() == 36).then(|| tid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RegistrationRequest {
        RegistrationRequest {
            issuer: Some("https://login.microsoftonline.com/966ac572-f5b7-4bbe-aa88-c76419c0f851/v2.0".into()),
            jwks_uri: Some(
                "https://login.microsoftonline.com/966ac572-f5b7-4bbe-aa88-c76419c0f851/discovery/v2.0/keys".into(),
            ),
            subject: Some("fbd13a0e-0a74-477d-953a-9f4b520a0e8e".into()),
            audience: Some("api://f407babd-8d0f-4afc-a6e7-46f28612670b".into()),
            ..Default::default()
        }
    }

    fn error_of(request: &RegistrationRequest) -> String {
        request
            .validate(&RegistrationPolicy::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn secrets_only_clients_may_leave_out_all_federation_fields_but_not_some() {
        let policy = RegistrationPolicy::default();
        let bare = RegistrationRequest {
            display_name: Some("App-gallery customer".into()),
            ..Default::default()
        };
        let valid = bare.validate_with(&policy, false).unwrap();
        assert_eq!((valid.issuer.as_str(), valid.jwks_uri.as_str()), ("", ""));
        assert_eq!((valid.subject.as_str(), valid.audience.as_str()), ("", ""));
        assert_eq!(valid.expected_tid, None);
        // Federation required: the same body names the first missing field.
        assert_eq!(bare.validate(&policy).unwrap_err().to_string(), "issuer: is required");
        // Half-federated is refused, naming what is missing.
        let partial = RegistrationRequest {
            issuer: request().issuer,
            ..Default::default()
        };
        assert_eq!(
            partial.validate_with(&policy, false).unwrap_err().to_string(),
            "jwks_uri: is required"
        );
        // Given in full, they are checked as usual even when federation is off.
        let mut full = request();
        full.audience = Some(" api://x".into());
        assert!(
            full.validate_with(&policy, false)
                .unwrap_err()
                .to_string()
                .starts_with("audience:")
        );
        assert!(request().validate_with(&policy, false).is_ok());
    }

    #[test]
    fn empty_federation_fields_are_not_stored() {
        let stored = RegistrationRequest::default()
            .validate_with(&RegistrationPolicy::default(), false)
            .unwrap()
            .into_registration("c".into(), "t".into(), 1);
        let json = serde_json::to_value(&stored).unwrap();
        for field in ["issuer", "jwks_uri", "subject", "audience"] {
            assert!(json.get(field).is_none(), "{field} serialised: {json}");
        }
        let back: Registration = serde_json::from_value(json).unwrap();
        assert_eq!(back, stored);
    }

    #[test]
    fn defaults_are_applied() {
        let valid = request().validate(&RegistrationPolicy::default()).unwrap();
        assert_eq!(valid.allowed_scopes, Scope::DEFAULT.to_vec());
        assert_eq!(valid.token_lifetime_seconds, 3600);
        assert_eq!(valid.allowed_algorithms, vec!["RS256"]);
        assert_eq!(
            valid.expected_tid.as_deref(),
            Some("966ac572-f5b7-4bbe-aa88-c76419c0f851")
        );
        let stored = valid.into_registration("c1".into(), "t1".into(), 10);
        assert!(stored.enabled && stored.wif_enabled && !stored.secrets_enabled);
        assert_eq!(
            (stored.tenant_id.as_str(), stored.version, stored.created_at),
            ("t1", 1, 10)
        );
    }

    #[test]
    fn tenant_guid_comes_from_v1_and_v2_issuers() {
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(
            entra_tenant_of_issuer(&format!("https://sts.windows.net/{tid}/")).as_deref(),
            Some(tid)
        );
        assert_eq!(
            entra_tenant_of_issuer(&format!("https://login.microsoftonline.us/{tid}/v2.0")).as_deref(),
            Some(tid)
        );
        assert_eq!(entra_tenant_of_issuer(&format!("https://sts.windows.net/{tid}")), None);
        assert_eq!(entra_tenant_of_issuer(&format!("https://evil.example/{tid}/")), None);
        assert_eq!(entra_tenant_of_issuer("https://sts.windows.net/common/"), None);
        let mut custom = request();
        custom.issuer = Some("https://issuer.example/".into());
        assert_eq!(
            custom.validate(&RegistrationPolicy::default()).unwrap().expected_tid,
            None
        );
    }

    #[test]
    fn every_field_error_names_its_field() {
        let mut r = request();
        r.issuer = None;
        assert_eq!(error_of(&r), "issuer: is required");
        let mut r = request();
        r.subject = Some(" fbd13a0e ".into());
        assert_eq!(error_of(&r), "subject: must not start or end with whitespace");
        let mut r = request();
        r.audience = Some(String::new());
        assert_eq!(error_of(&r), "audience: must not be empty");
        let mut r = request();
        r.audience = Some("api://a\u{7}b".into());
        assert_eq!(error_of(&r), "audience: must not contain control characters");
        let mut r = request();
        r.issuer = Some("x".repeat(MAX_ISSUER_LEN + 1));
        assert_eq!(error_of(&r), "issuer: must be at most 2048 bytes");
        let mut r = request();
        r.jwks_uri = Some("http://login.microsoftonline.com/keys".into());
        assert_eq!(error_of(&r), "jwks_uri: must use https");
        let mut r = request();
        r.jwks_uri = Some("https://evil.example/keys".into());
        assert_eq!(
            error_of(&r),
            "jwks_uri: host evil.example is not on the JWKS host allow-list"
        );
        let mut r = request();
        r.jwks_uri = Some("https://user@login.microsoftonline.com/keys".into());
        assert_eq!(error_of(&r), "jwks_uri: must not contain user information");
        let mut r = request();
        r.jwks_uri = Some("https://login.microsoftonline.com/keys#frag".into());
        assert_eq!(error_of(&r), "jwks_uri: must not contain a fragment");
        let mut r = request();
        r.scopes = Some(vec!["scim".into(), "admin".into()]);
        assert!(error_of(&r).starts_with("scopes: unknown scope \"admin\""));
        let mut r = request();
        r.scopes = Some(vec![]);
        assert_eq!(error_of(&r), "scopes: must not be empty");
        let mut r = request();
        r.token_lifetime_seconds = Some(60);
        assert_eq!(error_of(&r), "token_lifetime_seconds: must be between 3600 and 21600");
        let mut r = request();
        r.allowed_algorithms = Some(vec!["HS256".into()]);
        assert!(error_of(&r).starts_with("allowed_algorithms: unsupported algorithm \"HS256\""));
        let mut r = request();
        r.allowed_algorithms = Some(vec!["none".into()]);
        assert!(error_of(&r).starts_with("allowed_algorithms: unsupported algorithm \"none\""));
        let mut r = request();
        r.tenant_id = Some("a#b".into());
        assert!(error_of(&r).starts_with("tenant_id: may contain only"));
        let mut r = request();
        r.expected_tid = Some("".into());
        assert_eq!(error_of(&r), "expected_tid: must not be empty");
    }

    #[test]
    fn loopback_jwks_only_in_local_development() {
        let mut r = request();
        r.jwks_uri = Some("http://127.0.0.1:8900/keys".into());
        assert_eq!(
            error_of(&r),
            "jwks_uri: may use http only for a loopback host in local development"
        );
        let policy = RegistrationPolicy {
            local_development: true,
            ..Default::default()
        };
        assert_eq!(r.validate(&policy).unwrap().jwks_uri, "http://127.0.0.1:8900/keys");
    }

    #[test]
    fn explicit_values_are_kept_and_deduplicated() {
        let mut r = request();
        r.scopes = Some(vec!["scim.read".into(), "scim.read".into()]);
        r.allowed_algorithms = Some(vec!["PS256".into(), "RS256".into(), "PS256".into()]);
        r.token_lifetime_seconds = Some(7200);
        r.expected_tid = Some("custom-tid".into());
        let valid = r.validate(&RegistrationPolicy::default()).unwrap();
        assert_eq!(valid.allowed_scopes, vec![Scope::ScimRead]);
        assert_eq!(valid.allowed_algorithms, vec!["PS256", "RS256"]);
        assert_eq!(valid.token_lifetime_seconds, 7200);
        assert_eq!(valid.expected_tid.as_deref(), Some("custom-tid"));
    }

    #[test]
    fn unknown_json_fields_are_rejected() {
        let err = serde_json::from_str::<RegistrationRequest>(r#"{"issuer":"x","admin":true}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `admin`"));
    }
}
