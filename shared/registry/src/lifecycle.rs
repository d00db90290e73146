//! A registration's life after creation: enable and disable, delete, and revocation of its live access tokens.
//! Disabling or deleting a client revokes its tokens in the same call, so the SCIM API (which reads the token
//! record on every request) refuses them on the next request. Every revoking call first writes the registration
//! (a new version, or deletes it), then sweeps the client's token index with a strongly consistent read: a token
//! issued concurrently either committed before that write and is swept, or fails its conditional write
//! (`wif_auth::revocation`).

use wif_admin_api::Client;

use crate::error::RegistryError;
use crate::service::{Actor, RegistryService, versioned_write_error};

impl RegistryService {
    /// `POST /clients/{id}/enable` and `/disable`. Disabling revokes every live token of the client.
    pub async fn set_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Client, RegistryError> {
        let current = self.load(client_id).await?;
        Self::check_version(&current, expected_version)?;
        let registration = if current.enabled == enabled {
            current
        } else {
            let mut updated = current.clone();
            updated.enabled = enabled;
            self.replace(&current, updated).await?
        };
        let mut revoked = 0;
        if !enabled {
            // Also when it was already disabled: a token issued in a race with the first disable is caught here.
            revoked = self.revoke_client_tokens(client_id).await?;
        }
        let action = if enabled {
            "admin.client.enable"
        } else {
            "admin.client.disable"
        };
        let details = serde_json::json!({ "revoked_tokens": revoked });
        self.audit(actor, action, &registration, details).await;
        Ok(self.view(&registration))
    }

    /// `DELETE /clients/{id}`: deletes the registration and revokes its live tokens. Returns the revoked count.
    pub async fn delete(
        &self,
        client_id: &str,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<usize, RegistryError> {
        let current = self.load(client_id).await?;
        Self::check_version(&current, expected_version)?;
        let deleted = self
            .store()
            .delete(&current)
            .await
            .map_err(|err| versioned_write_error(err, &current))?;
        if !deleted {
            return Err(RegistryError::NotFound(client_id.to_owned()));
        }
        let revoked = self.revoke_client_tokens(client_id).await?;
        let details = serde_json::json!({ "revoked_tokens": revoked });
        self.audit(actor, "admin.client.delete", &current, details).await;
        Ok(revoked)
    }

    pub(crate) async fn revoke_client_tokens(&self, client_id: &str) -> Result<usize, RegistryError> {
        Ok(self.tokens().revoke_client_tokens(client_id).await?)
    }

    /// `POST /clients/{id}/revoke-tokens`. The registration's version moves first, so a token being issued at the
    /// same moment (its write is conditioned on the version it authenticated against) either fails or committed
    /// before, and is then in the index the sweep reads.
    pub async fn revoke_tokens(&self, client_id: &str, actor: &Actor) -> Result<usize, RegistryError> {
        let current = self.load(client_id).await?;
        let current = self.replace(&current, current.clone()).await?;
        let revoked = self.revoke_client_tokens(client_id).await?;
        let details = serde_json::json!({ "revoked_tokens": revoked });
        self.audit(actor, "admin.client.revoke_tokens", &current, details).await;
        Ok(revoked)
    }
}
