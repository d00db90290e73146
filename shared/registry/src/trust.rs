//! The trust part of a registration's settings: turning the wire settings into wif-auth's validation input and
//! back, merging a change over the stored credentials, checking the whole set (validation, JWKS URL discovery, one
//! Entra tenant per registration), and the answer when a trust is already held by another registration.

use wif_admin_api::{ClientEvents, ClientSettings, CredentialSettings};
use wif_auth::event_settings::EventSettingsRequest;
use wif_auth::registration::discovery::{discover_jwks_uris, into_credentials};
use wif_auth::registration::entra::parse_entra_issuer;
use wif_auth::registration::{
    CredentialRequest, FederatedCredential, Registration, RegistrationRequest, Trust, ValidatedRegistration,
};

use crate::error::RegistryError;
use crate::ports::TrustHolder;
use crate::service::RegistryService;

pub(crate) fn credential_request(settings: CredentialSettings) -> CredentialRequest {
    CredentialRequest {
        issuer: settings.issuer,
        jwks_uri: settings.jwks_uri,
        subject: settings.subject,
        audience: settings.audience,
        audiences: settings.audiences,
        expected_tid: settings.expected_tid,
    }
}

fn credential_settings(credential: &FederatedCredential) -> CredentialSettings {
    let request = CredentialRequest::of(credential);
    CredentialSettings {
        issuer: request.issuer,
        jwks_uri: request.jwks_uri,
        subject: request.subject,
        audience: request.audience,
        audiences: request.audiences,
        expected_tid: request.expected_tid,
    }
}

/// The settings as wif-auth's validation input (the method flags are not part of it).
pub(crate) fn registration_request(tenant_id: Option<String>, settings: ClientSettings) -> RegistrationRequest {
    RegistrationRequest {
        issuer: settings.issuer,
        jwks_uri: settings.jwks_uri,
        subject: settings.subject,
        audience: settings.audience,
        audiences: settings.audiences,
        expected_tid: settings.expected_tid,
        federated_credentials: settings
            .federated_credentials
            .map(|list| list.into_iter().map(credential_request).collect()),
        tenant_id,
        display_name: settings.display_name,
        scopes: settings.scopes,
        token_lifetime_seconds: settings.token_lifetime_seconds,
        allowed_algorithms: settings.allowed_algorithms,
        events: settings.events.map(|events| EventSettingsRequest {
            level: events.level,
            push_url: events.push_url,
        }),
    }
}

/// A stored registration's settings, as a request would send them: one credential as the shorthand, several as
/// the list.
pub(crate) fn stored_settings(registration: &Registration) -> ClientSettings {
    let mut settings = ClientSettings {
        display_name: registration.display_name.clone(),
        scopes: Some(
            registration
                .allowed_scopes
                .iter()
                .map(|scope| scope.as_str().to_owned())
                .collect(),
        ),
        token_lifetime_seconds: Some(registration.token_lifetime_seconds),
        allowed_algorithms: Some(registration.allowed_algorithms.clone()),
        wif_enabled: Some(registration.wif_enabled),
        secrets_enabled: Some(registration.secrets_enabled),
        events: registration.events.as_ref().map(|events| ClientEvents {
            level: Some(events.level.as_str().to_owned()),
            push_url: events.push_url.clone(),
        }),
        ..ClientSettings::default()
    };
    match registration.federated_credentials.as_slice() {
        [] => {}
        [only] => {
            let one = credential_settings(only);
            settings.issuer = one.issuer;
            settings.jwks_uri = one.jwks_uri;
            settings.subject = one.subject;
            settings.audiences = one.audiences;
            settings.expected_tid = one.expected_tid;
        }
        several => settings.federated_credentials = Some(several.iter().map(credential_settings).collect()),
    }
    settings
}

/// The shorthand fields a change sets, by name.
fn shorthand_fields(settings: &ClientSettings) -> Vec<&'static str> {
    let present = settings.present();
    ["issuer", "jwks_uri", "subject", "audience", "audiences", "expected_tid"]
        .into_iter()
        .filter(|name| present.contains(name))
        .collect()
}

/// The trust part of [`ClientSettings`], moved out of it.
#[derive(Default)]
struct TrustFields {
    issuer: Option<String>,
    jwks_uri: Option<String>,
    subject: Option<String>,
    audience: Option<String>,
    audiences: Option<Vec<String>>,
    expected_tid: Option<String>,
    federated_credentials: Option<Vec<CredentialSettings>>,
}

impl TrustFields {
    fn take(settings: &mut ClientSettings) -> Self {
        Self {
            issuer: settings.issuer.take(),
            jwks_uri: settings.jwks_uri.take(),
            subject: settings.subject.take(),
            audience: settings.audience.take(),
            audiences: settings.audiences.take(),
            expected_tid: settings.expected_tid.take(),
            federated_credentials: settings.federated_credentials.take(),
        }
    }

    fn put(self, settings: &mut ClientSettings) {
        settings.issuer = self.issuer;
        settings.jwks_uri = self.jwks_uri;
        settings.subject = self.subject;
        settings.audience = self.audience;
        settings.audiences = self.audiences;
        settings.expected_tid = self.expected_tid;
        settings.federated_credentials = self.federated_credentials;
    }

    /// `change` over `current`: `federated_credentials` replaces every credential; the shorthand changes the one
    /// credential of a registration that has exactly one (or defines the first), and its issuer stays.
    fn overlay(change: Self, current: Self, shorthand: &[&str]) -> Result<Self, RegistryError> {
        if change.federated_credentials.is_some() || shorthand.is_empty() {
            return Ok(if change.federated_credentials.is_some() {
                change
            } else {
                current
            });
        }
        if let Some(list) = &current.federated_credentials {
            return Err(RegistryError::Invalid(format!(
                "{}: this registration has {} federated credentials; change one through \
                 /clients/{{id}}/credentials/{{credential_id}}, or send federated_credentials to replace them all",
                shorthand[0],
                list.len()
            )));
        }
        if let (Some(new), Some(old)) = (&change.issuer, &current.issuer)
            && new != old
        {
            return Err(RegistryError::Invalid(
                "issuer: cannot be changed in place; add a federated credential with the new issuer \
                 (POST /clients/{id}/credentials), watch Entra use it, then remove the old one"
                    .into(),
            ));
        }
        let new_audiences = change.audience.is_some() || change.audiences.is_some();
        Ok(Self {
            issuer: change.issuer.or(current.issuer),
            jwks_uri: change.jwks_uri.or(current.jwks_uri),
            subject: change.subject.or(current.subject),
            audience: if new_audiences {
                change.audience
            } else {
                current.audience
            },
            audiences: if new_audiences {
                change.audiences
            } else {
                current.audiences
            },
            expected_tid: change.expected_tid.or(current.expected_tid),
            federated_credentials: None,
        })
    }
}

/// `change` over `current` (a stored registration's settings): every setting the change has replaces the current
/// one; the trust as [`TrustFields::overlay`] says.
pub(crate) fn overlay(
    mut change: ClientSettings,
    mut current: ClientSettings,
) -> Result<ClientSettings, RegistryError> {
    let shorthand = shorthand_fields(&change);
    let trust = TrustFields::overlay(
        TrustFields::take(&mut change),
        TrustFields::take(&mut current),
        &shorthand,
    )?;
    let mut merged = ClientSettings {
        display_name: change.display_name.or(current.display_name),
        scopes: change.scopes.or(current.scopes),
        token_lifetime_seconds: change.token_lifetime_seconds.or(current.token_lifetime_seconds),
        allowed_algorithms: change.allowed_algorithms.or(current.allowed_algorithms),
        wif_enabled: change.wif_enabled.or(current.wif_enabled),
        secrets_enabled: change.secrets_enabled.or(current.secrets_enabled),
        events: match (change.events, current.events) {
            (Some(change), Some(current)) => Some(ClientEvents {
                level: change.level.or(current.level),
                push_url: change.push_url.or(current.push_url),
            }),
            (change, current) => change.or(current),
        },
        ..ClientSettings::default()
    };
    trust.put(&mut merged);
    Ok(merged)
}

/// A registration serves one customer: new credentials with an Entra issuer must name the Entra tenant the
/// registration's current credentials name.
pub(crate) fn check_tenant(
    current: &[FederatedCredential],
    validated: &ValidatedRegistration,
) -> Result<(), RegistryError> {
    let Some(tenant) = current
        .iter()
        .find_map(|credential| parse_entra_issuer(&credential.issuer).ok().flatten())
        .map(|entra| entra.tenant_id)
    else {
        return Ok(());
    };
    match validated
        .credentials
        .iter()
        .find(|draft| draft.entra.as_ref().is_some_and(|entra| entra.tenant_id != tenant))
    {
        Some(draft) => Err(RegistryError::Invalid(format!(
            "{}issuer: names Entra tenant {}, but this registration serves tenant {tenant}; register the other \
             tenant as a new client",
            draft.field_prefix,
            draft
                .entra
                .as_ref()
                .map(|entra| entra.tenant_id.as_str())
                .unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// The answer when another registration holds one of the trusts: the holder is named only to the same tenant.
pub(crate) fn trust_conflict(trust: &Trust, holder: Option<&TrustHolder>, tenant_id: &str) -> RegistryError {
    let what = format!(
        "the trust (issuer {}, subject {}, audience {})",
        trust.issuer, trust.subject, trust.audience
    );
    RegistryError::Conflict(match holder {
        Some(holder) if holder.tenant_id == tenant_id => format!(
            "{what} is already registered to client {} of this tenant; remove it there first",
            holder.client_id
        ),
        _ => format!("{what} is already registered"),
    })
}

impl RegistryService {
    /// Validates `request` (every rule), discovers left-out JWKS URLs, and builds the stored credentials (those in
    /// `existing` keep their creation time). Returns the validated settings, the credentials and the warnings.
    pub(crate) async fn check_request(
        &self,
        request: RegistrationRequest,
        federation_required: bool,
        existing: &[FederatedCredential],
    ) -> Result<(ValidatedRegistration, Vec<FederatedCredential>, Vec<String>), RegistryError> {
        let invalid = |err: wif_auth::registration::RegistrationError| RegistryError::Invalid(err.to_string());
        let mut validated = request
            .validate_with(self.policy(), federation_required)
            .map_err(invalid)?;
        check_tenant(existing, &validated)?;
        discover_jwks_uris(&mut validated.credentials, self.fetcher(), self.policy())
            .await
            .map_err(invalid)?;
        let warnings = validated.warnings();
        let drafts = std::mem::take(&mut validated.credentials);
        let credentials = into_credentials(drafts, existing, self.now()).map_err(invalid)?;
        Ok((validated, credentials, warnings))
    }
}

/// The credentials as audit details (public values only).
pub(crate) fn credentials_detail(credentials: &[FederatedCredential]) -> serde_json::Value {
    credentials
        .iter()
        .map(|credential| {
            serde_json::json!({
                "credential_id": credential.credential_id, "issuer": credential.issuer,
                "subject": credential.subject, "audiences": credential.audiences, "jwks_uri": credential.jwks_uri,
            })
        })
        .collect()
}
