//! Turning validated credentials into stored ones. A credential with an Entra issuer may leave its JWKS URL out:
//! it is then read from the issuer's OpenID configuration (`<login host>/<tid>[/v2.0]/.well-known/
//! openid-configuration`) through the same fetcher and URL policy as every JWKS fetch (HTTPS, allow-listed host, no
//! redirects, timeout, size cap). The document must name the registered issuer and a JWKS URL the policy allows,
//! of the same tenant.

use serde_json::Value;

use super::credential::{CredentialDraft, JwksSource};
use super::entra::{check_pair, parse_entra_jwks_url};
use super::request::{RegistrationError, RegistrationPolicy, ValidatedRegistration};
use super::{FederatedCredential, Registration};
use crate::ports::JwksFetcher;

/// Replaces every left-out JWKS URL of `drafts` ([`JwksSource::Discover`]) with the one the issuer's OpenID
/// configuration names.
pub async fn discover_jwks_uris(
    drafts: &mut [CredentialDraft],
    fetcher: &dyn JwksFetcher,
    policy: &RegistrationPolicy,
) -> Result<(), RegistrationError> {
    for draft in drafts.iter_mut() {
        if let JwksSource::Discover { discovery_url } = &draft.jwks {
            let jwks_uri = discover(draft, discovery_url, fetcher, policy).await?;
            draft.jwks = JwksSource::Given(jwks_uri);
        }
    }
    Ok(())
}

/// The stored credentials of `drafts` (after [`discover_jwks_uris`]). A credential that already exists in
/// `existing` (same issuer and subject) keeps its creation time.
pub fn into_credentials(
    drafts: Vec<CredentialDraft>,
    existing: &[FederatedCredential],
    now: i64,
) -> Result<Vec<FederatedCredential>, RegistrationError> {
    drafts
        .into_iter()
        .map(|draft| {
            let JwksSource::Given(jwks_uri) = draft.jwks.clone() else {
                return Err(RegistrationError::new(
                    format!("{}jwks_uri", draft.field_prefix),
                    "was not discovered",
                ));
            };
            let id = super::credential_id(&draft.issuer, &draft.subject);
            let before = existing.iter().find(|credential| credential.credential_id == id);
            Ok(draft.into_credential(jwks_uri, before, now))
        })
        .collect()
}

/// [`discover_jwks_uris`], then [`into_credentials`].
pub async fn resolve(
    drafts: &[CredentialDraft],
    fetcher: &dyn JwksFetcher,
    policy: &RegistrationPolicy,
    existing: &[FederatedCredential],
    now: i64,
) -> Result<Vec<FederatedCredential>, RegistrationError> {
    let mut drafts = drafts.to_vec();
    discover_jwks_uris(&mut drafts, fetcher, policy).await?;
    into_credentials(drafts, existing, now)
}

async fn discover(
    draft: &CredentialDraft,
    discovery_url: &str,
    fetcher: &dyn JwksFetcher,
    policy: &RegistrationPolicy,
) -> Result<String, RegistrationError> {
    let field = format!("{}jwks_uri", draft.field_prefix);
    let failed = |why: String| {
        RegistrationError::new(
            field.clone(),
            format!("could not be discovered from {discovery_url}: {why}; give the JWKS URL explicitly"),
        )
    };
    let document = fetcher
        .fetch_openid_configuration(discovery_url)
        .await
        .map_err(|err| failed(err.to_string()))?;
    let document: Value = serde_json::from_str(&document).map_err(|err| failed(format!("not JSON ({err})")))?;
    let member = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_owned);
    let issuer = member("issuer").ok_or_else(|| failed("the document has no issuer".into()))?;
    if issuer != draft.issuer {
        return Err(RegistrationError::new(
            format!("{}issuer", draft.field_prefix),
            format!(
                "the tenant's OpenID configuration ({discovery_url}) says its tokens carry issuer {issuer}, not {}",
                draft.issuer
            ),
        ));
    }
    let jwks_uri = member("jwks_uri").ok_or_else(|| failed("the document has no jwks_uri".into()))?;
    let jwks_uri = policy
        .url_policy()
        .check(&jwks_uri)
        .map_err(|err| failed(format!("its jwks_uri {jwks_uri} {err}")))?
        .to_string();
    if let (Some(entra), Some(keys)) = (&draft.entra, parse_entra_jwks_url(&jwks_uri)) {
        check_pair(entra, &keys).map_err(|problem| failed(format!("its jwks_uri {jwks_uri} {problem}")))?;
    }
    Ok(jwks_uri)
}

impl ValidatedRegistration {
    /// The stored form of a new registration: enabled, WIF on, secrets off, version 1.
    pub fn into_registration(
        self,
        client_id: String,
        default_tenant_id: String,
        federated_credentials: Vec<FederatedCredential>,
        now: i64,
    ) -> Registration {
        Registration {
            client_id,
            tenant_id: self.tenant_id.unwrap_or(default_tenant_id),
            display_name: self.display_name,
            federated_credentials,
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
            markers_pending: false,
        }
    }
}
