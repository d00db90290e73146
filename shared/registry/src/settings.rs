//! Creating and changing a registration (`POST /clients`, `PATCH /clients/{id}`). Both turn the wire settings into
//! wif-auth's registration request and validate it with the same rules ([`crate::trust`]); a change is validated
//! merged over the stored settings, which is also how the connection test re-validates a stored registration.

use serde_json::Value;

use wif_admin_api::{Client, ClientUpdate, NewClient};
use wif_auth::registration::Registration;

use crate::error::RegistryError;
use crate::ports::RegistrationWriteError;
use crate::service::{Actor, RegistryService};
use crate::trust::{credentials_detail, overlay, registration_request, stored_settings, trust_conflict};

/// Parses the `POST /clients` body. The two method flags are checked first so that a wrong type gets a message
/// naming the flag; everything else goes through [`NewClient`]'s `deny_unknown_fields`.
pub fn parse_new_client(body: Value) -> Result<NewClient, RegistryError> {
    let Value::Object(mut fields) = body else {
        return Err(RegistryError::Invalid("body: must be a JSON object".into()));
    };
    let mut flag = |name: &'static str| match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(value)),
        Some(_) => Err(RegistryError::Invalid(format!("{name}: must be true or false"))),
    };
    let wif_enabled = flag("wif_enabled")?;
    let secrets_enabled = flag("secrets_enabled")?;
    let mut client: NewClient =
        serde_json::from_value(Value::Object(fields)).map_err(|err| RegistryError::Invalid(format!("body: {err}")))?;
    client.settings.wif_enabled = wif_enabled;
    client.settings.secrets_enabled = secrets_enabled;
    Ok(client)
}

/// Why a registration must keep at least one way to authenticate: with both off it could never get a token, which
/// is what `disable` is for (and disable also revokes live tokens). The error names the flag the caller turned off,
/// else `secrets_enabled`.
fn check_auth_methods(
    requested_wif: Option<bool>,
    wif_enabled: bool,
    secrets_enabled: bool,
) -> Result<(), RegistryError> {
    if wif_enabled || secrets_enabled {
        return Ok(());
    }
    let field = if requested_wif == Some(false) {
        "wif_enabled"
    } else {
        "secrets_enabled"
    };
    Err(RegistryError::Invalid(format!(
        "{field}: at least one client authentication method (wif_enabled or secrets_enabled) must stay on; \
         use POST /clients/{{id}}/disable to stop a client"
    )))
}

impl RegistryService {
    /// `POST /clients`.
    pub async fn create(&self, request: NewClient, actor: &Actor) -> Result<Client, RegistryError> {
        let flags = (request.settings.wif_enabled, request.settings.secrets_enabled);
        let request = registration_request(request.tenant_id, request.settings);
        let (validated, credentials, warnings) = self.check_request(request, flags.0.unwrap_or(true), &[]).await?;
        let mut registration = validated.into_registration(
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            credentials,
            self.now(),
        );
        registration.wif_enabled = flags.0.unwrap_or(registration.wif_enabled);
        registration.secrets_enabled = flags.1.unwrap_or(registration.secrets_enabled);
        check_auth_methods(flags.0, registration.wif_enabled, registration.secrets_enabled)?;
        match self.store().insert(&registration).await {
            Ok(()) => {}
            // A v4 collision is astronomically unlikely; report it rather than overwrite.
            Err(RegistrationWriteError::AlreadyExists) => {
                return Err(RegistryError::Conflict("generated client_id collided; retry".into()));
            }
            Err(RegistrationWriteError::VersionConflict) => {
                return Err(RegistryError::Conflict(
                    "registration changed concurrently; retry".into(),
                ));
            }
            Err(RegistrationWriteError::TrustTaken { trust, holder }) => {
                return Err(trust_conflict(&trust, holder.as_ref(), &registration.tenant_id));
            }
            Err(RegistrationWriteError::Unavailable(err)) => return Err(err.into()),
        }
        let details = serde_json::json!({ "federated_credentials": credentials_detail(&registration.federated_credentials),
                                          "wif_enabled": registration.wif_enabled,
                                          "secrets_enabled": registration.secrets_enabled });
        self.audit(actor, "admin.client.create", &registration, details).await;
        let mut view = self.view(&registration);
        view.warnings = warnings;
        Ok(view)
    }

    /// `PATCH /clients/{id}`: re-validates the merged registration with the same rules as create. A change of
    /// anything but the display name and the lifetime of future tokens (scopes, WIF or secrets on/off, issuer,
    /// subject, audience, JWKS URL, tid, algorithms) revokes the live tokens, which were granted under the old
    /// terms; Entra then gets a new token on its next request.
    pub async fn update(&self, client_id: &str, update: ClientUpdate, actor: &Actor) -> Result<Client, RegistryError> {
        let expected = update
            .version
            .ok_or_else(|| RegistryError::Invalid("version: is required (the version you read)".into()))?;
        let current = self.load(client_id).await?;
        Self::check_version(&current, Some(expected))?;
        let changed = update.settings.present();
        if changed.is_empty() {
            return Err(RegistryError::Invalid("no field to update was given".into()));
        }
        let requested_wif = update.settings.wif_enabled;
        let merged = overlay(update.settings, stored_settings(&current))?;
        let wif_enabled = merged.wif_enabled.unwrap_or(current.wif_enabled);
        let secrets_enabled = merged.secrets_enabled.unwrap_or(current.secrets_enabled);
        let request = registration_request(Some(current.tenant_id.clone()), merged);
        let (validated, credentials, warnings) = self
            .check_request(request, wif_enabled, &current.federated_credentials)
            .await?;
        check_auth_methods(requested_wif, wif_enabled, secrets_enabled)?;
        let updated = Registration {
            wif_enabled,
            secrets_enabled,
            federated_credentials: credentials,
            display_name: validated.display_name,
            allowed_scopes: validated.allowed_scopes,
            token_lifetime_seconds: validated.token_lifetime_seconds,
            allowed_algorithms: validated.allowed_algorithms,
            events: validated.events,
            ..current.clone()
        };
        let updated = self.replace(&current, updated).await?;
        let mut details = serde_json::json!({ "changed": changed, "wif_enabled": updated.wif_enabled,
                                              "secrets_enabled": updated.secrets_enabled,
                                              "federated_credentials": credentials_detail(&updated.federated_credentials) });
        if revokes_live_tokens(&current, &updated) {
            details["revoked_tokens"] = self.revoke_client_tokens(client_id).await?.into();
        }
        self.audit(actor, "admin.client.update", &updated, details).await;
        let mut view = self.view(&updated);
        view.warnings = warnings;
        Ok(view)
    }
}

/// Whether changing `before` into `after` takes away what live tokens were granted on. Every field counts except
/// the cosmetic and bookkeeping ones, so a field added later counts too.
pub(crate) fn revokes_live_tokens(before: &Registration, after: &Registration) -> bool {
    let neutral = |registration: &Registration| Registration {
        display_name: None,
        token_lifetime_seconds: 0,
        version: 0,
        updated_at: 0,
        ..registration.clone()
    };
    neutral(before) != neutral(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wif_auth::scope::Scope;
    use wif_auth::testing::sample_registration;

    /// Issue 14.1: what a PATCH does to live tokens.
    #[test]
    fn changing_the_terms_of_tokens_revokes_them_cosmetic_changes_do_not() {
        let before = sample_registration("c1");
        let changed = |change: fn(&mut Registration)| {
            let mut after = before.clone();
            after.version += 1;
            after.updated_at += 60;
            change(&mut after);
            revokes_live_tokens(&before, &after)
        };
        assert!(!changed(|r| r.display_name = Some("Contoso (prod)".into())));
        assert!(!changed(|r| r.token_lifetime_seconds = 900));
        assert!(changed(|r| r.allowed_scopes = vec![Scope::ScimRead]));
        assert!(changed(|r| r.wif_enabled = false));
        assert!(changed(
            |r| r.federated_credentials[0].subject = "another-subject".into()
        ));
        assert!(changed(
            |r| r.federated_credentials[0].jwks_uri = "https://login.microsoftonline.com/common/discovery/keys".into()
        ));
        assert!(changed(
            |r| r.federated_credentials[0].audiences = vec!["api://other".into()]
        ));
        assert!(changed(|r| r.federated_credentials.clear()));
        assert!(changed(|r| r.secrets_enabled = !r.secrets_enabled));
    }
}
