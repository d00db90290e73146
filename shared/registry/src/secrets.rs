//! Client secrets for the non-WIF mode Microsoft's app gallery requires (`client_secret_basic` /
//! `client_secret_post`): generated here, shown once, stored only as a SHA-256 (wif-auth's credentials module),
//! at most [`MAX_ACTIVE_SECRETS`] unexpired at a time so a rotation can overlap, each expiring after 1–3 years.
//!
//! Every change is a read-modify-write of the registration item guarded by its version, so two admins creating
//! secrets at once can never push a client past the limit or lose each other's secret.

use wif_admin_api::{CreatedSecret, NewSecret, RevokedSecret, SecretList};
use wif_auth::credentials::{MAX_ACTIVE_SECRETS, SecretError, active_secrets, generate_client_secret};
use wif_auth::registration::Registration;

use crate::error::RegistryError;
use crate::service::{Actor, RegistryService};
use crate::view::secret_info;

/// One year: Microsoft's gallery guidance and most customers' policies expect yearly rotation at the most.
pub const MIN_SECRET_LIFETIME_DAYS: i64 = 365;
/// Three years: longer-lived shared secrets are what WIF exists to replace.
pub const MAX_SECRET_LIFETIME_DAYS: i64 = 1095;
/// The shortest allowed lifetime is the default: rotation is cheap with two overlapping secrets, a leaked secret
/// that lives for years is not.
pub const DEFAULT_SECRET_LIFETIME_DAYS: i64 = MIN_SECRET_LIFETIME_DAYS;
const MAX_DESCRIPTION_LEN: usize = 200;

/// The token-endpoint authentication methods a registration accepts, in RFC 8414 names.
pub fn auth_methods(registration: &Registration) -> Vec<&'static str> {
    let mut methods = Vec::new();
    if registration.wif_enabled {
        methods.push("private_key_jwt");
    }
    if registration.secrets_enabled {
        methods.push("client_secret_basic");
        methods.push("client_secret_post");
    }
    methods
}

fn lifetime_days(requested: Option<i64>) -> Result<i64, RegistryError> {
    match requested {
        None => Ok(DEFAULT_SECRET_LIFETIME_DAYS),
        Some(days) if (MIN_SECRET_LIFETIME_DAYS..=MAX_SECRET_LIFETIME_DAYS).contains(&days) => Ok(days),
        Some(_) => Err(RegistryError::Invalid(format!(
            "expires_in_days: must be between {MIN_SECRET_LIFETIME_DAYS} and {MAX_SECRET_LIFETIME_DAYS} (1 to 3 years)"
        ))),
    }
}

fn description(text: Option<String>) -> Result<Option<String>, RegistryError> {
    let Some(text) = text else { return Ok(None) };
    if text.trim().is_empty() {
        return Err(RegistryError::Invalid("description: must not be empty".into()));
    }
    if text.chars().any(char::is_control) {
        return Err(RegistryError::Invalid(
            "description: must not contain control characters".into(),
        ));
    }
    if text.len() > MAX_DESCRIPTION_LEN {
        return Err(RegistryError::Invalid(format!(
            "description: must be at most {MAX_DESCRIPTION_LEN} bytes"
        )));
    }
    Ok(Some(text))
}

/// A secret generated for a registration: its value (shown once), and the expired secrets dropped to make room.
struct AddedSecret {
    value: String,
    secret_id: String,
    pruned: Vec<String>,
}

/// `current` with a new secret of `days` days and without its expired ones, secrets switched on.
fn add_secret(
    current: &Registration,
    now: i64,
    days: i64,
    description: Option<String>,
) -> Result<(Registration, AddedSecret), RegistryError> {
    let client_id = &current.client_id;
    let generated = generate_client_secret(current, now, days * 86_400, description).map_err(|err| match err {
        SecretError::TooManyActive => {
            let active: Vec<&str> = active_secrets(current, now).map(|s| s.secret_id.as_str()).collect();
            RegistryError::Conflict(format!(
                "client {client_id} already has {MAX_ACTIVE_SECRETS} active secrets ({}); revoke one \
                 (DELETE /clients/{client_id}/secrets/<secret_id>) before creating another",
                active.join(", ")
            ))
        }
        SecretError::BadLifetime => RegistryError::Invalid("expires_in_days: must be positive".into()),
        SecretError::Random(err) => RegistryError::Unavailable(err.to_string()),
    })?;
    let mut updated = current.clone();
    let (expired, live): (Vec<_>, Vec<_>) = updated.secrets.into_iter().partition(|secret| secret.expires_at <= now);
    updated.secrets = live;
    let added = AddedSecret {
        value: generated.value,
        secret_id: generated.stored.secret_id.clone(),
        pruned: expired.into_iter().map(|secret| secret.secret_id).collect(),
    };
    updated.secrets.push(generated.stored);
    updated.secrets_enabled = true;
    Ok((updated, added))
}

impl RegistryService {
    /// `POST /clients/{id}/secrets`. Also switches `secrets_enabled` on: creating a secret is an unambiguous request
    /// to use one, and a secret that silently cannot authenticate would only surface in a failed Entra test.
    /// Expired secrets are dropped from the registration at this point (they can never authenticate again).
    pub async fn create_secret(
        &self,
        client_id: &str,
        request: NewSecret,
        actor: &Actor,
    ) -> Result<CreatedSecret, RegistryError> {
        let days = lifetime_days(request.expires_in_days)?;
        let description = description(request.description)?;
        let (before, stored, added) = self
            .modify(client_id, request.version, |current, now| {
                add_secret(current, now, days, description.clone())
            })
            .await?;
        let Some(secret) = stored.secrets.iter().find(|s| s.secret_id == added.secret_id) else {
            return Err(RegistryError::Unavailable("the new secret was not stored".into()));
        };
        let mut details = serde_json::json!({
            "secret_id": secret.secret_id,
            "expires_at": secret.expires_at,
            "secrets_enabled": true,
            "secrets_enabled_by_this_change": !before.secrets_enabled,
        });
        if !added.pruned.is_empty() {
            details["pruned_expired_secrets"] = added.pruned.into();
        }
        self.audit(actor, "admin.secret.create", &stored, details).await;
        Ok(CreatedSecret {
            client_id: stored.client_id.clone(),
            secret_id: secret.secret_id.clone(),
            client_secret: added.value,
            created_at: secret.created_at,
            expires_at: secret.expires_at,
            description: secret.description.clone(),
            version: stored.version,
            secrets_enabled: stored.secrets_enabled,
            token_endpoint_auth_methods: auth_methods(&stored).into_iter().map(str::to_owned).collect(),
        })
    }

    /// `GET /clients/{id}/secrets`: ids, dates and status, never a value.
    pub async fn list_secrets(&self, client_id: &str) -> Result<SecretList, RegistryError> {
        let registration = self.load(client_id).await?;
        let now = self.now();
        Ok(SecretList {
            client_id: registration.client_id.clone(),
            secrets_enabled: registration.secrets_enabled,
            active: active_secrets(&registration, now).count(),
            max_active: MAX_ACTIVE_SECRETS,
            secrets: registration.secrets.iter().map(|s| secret_info(s, now)).collect(),
            version: registration.version,
        })
    }

    /// `DELETE /clients/{id}/secrets/{secret_id}`: the secret stops working on the next token request (the token
    /// endpoint reads the registration strongly consistently). Access tokens already issued stay valid until they
    /// expire unless `revoke_tokens` is set — what an admin wants after a leak, not after a planned rotation.
    pub async fn revoke_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        expected_version: Option<u64>,
        revoke_tokens: bool,
        actor: &Actor,
    ) -> Result<RevokedSecret, RegistryError> {
        let (_, stored, ()) = self
            .modify(client_id, expected_version, |current, _| {
                if !current.secrets.iter().any(|s| s.secret_id == secret_id) {
                    return Err(RegistryError::SecretNotFound {
                        client_id: client_id.to_owned(),
                        secret_id: secret_id.to_owned(),
                    });
                }
                let mut updated = current.clone();
                updated.secrets.retain(|s| s.secret_id != secret_id);
                Ok((updated, ()))
            })
            .await?;
        let revoked_tokens = if revoke_tokens {
            Some(self.revoke_client_tokens(client_id).await?)
        } else {
            None
        };
        let mut details = serde_json::json!({ "secret_id": secret_id });
        if let Some(count) = revoked_tokens {
            details["revoked_tokens"] = count.into();
        }
        self.audit(actor, "admin.secret.revoke", &stored, details).await;
        Ok(RevokedSecret {
            client_id: stored.client_id.clone(),
            secret_id: secret_id.to_owned(),
            revoked: true,
            version: stored.version,
            revoked_tokens,
        })
    }
}
