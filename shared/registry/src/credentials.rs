//! A registration's federated credentials as a resource of their own (`/clients/{id}/credentials…`): list, add,
//! change in place (JWKS URL, audiences, expected tid), remove, and add or remove one audience.
//!
//! This is how a customer moves to another workload identity, or from v1 to v2 tokens, without downtime: add the
//! new credential, watch the audit trail show Entra using it (`credential_id` of each `token.granted`), then remove
//! the old one. Every change re-validates the whole set with the rules of `POST /clients` and writes it as one
//! versioned change of the registration, moving the trusts' uniqueness markers in the same transaction.

use wif_admin_api::{
    AudienceChange, CredentialChange, CredentialList, CredentialRemoved, CredentialSettings, CredentialUpdate,
};
use wif_auth::registration::discovery::discover_jwks_uris;
use wif_auth::registration::{CredentialRequest, FederatedCredential, Registration, RegistrationRequest};

use crate::error::RegistryError;
use crate::service::{Actor, RegistryService};
use crate::trust::{credential_request, credentials_detail};
use crate::view::credential_view;

/// The edit a change makes to the list of credentials (as requests); returns the id of the credential it is about.
type Edit<'a> = dyn FnMut(&mut Vec<CredentialRequest>) -> Result<String, RegistryError> + Send + 'a;

fn position(list: &[CredentialRequest], client_id: &str, credential_id: &str) -> Result<usize, RegistryError> {
    list.iter()
        .position(|request| {
            let (issuer, subject) = (request.issuer.as_deref(), request.subject.as_deref());
            issuer
                .zip(subject)
                .map(|(i, s)| wif_auth::registration::credential_id(i, s))
                .as_deref()
                == Some(credential_id)
        })
        .ok_or_else(|| RegistryError::CredentialNotFound {
            client_id: client_id.to_owned(),
            credential_id: credential_id.to_owned(),
        })
}

fn find<'r>(registration: &'r Registration, credential_id: &str) -> Result<&'r FederatedCredential, RegistryError> {
    registration
        .credential(credential_id)
        .ok_or_else(|| RegistryError::CredentialNotFound {
            client_id: registration.client_id.clone(),
            credential_id: credential_id.to_owned(),
        })
}

/// Credential changes that only add a way in: live tokens stay valid.
const TAKES_NOTHING_AWAY: [&str; 2] = ["admin.credential.add", "admin.credential.audience_add"];

impl RegistryService {
    /// `GET /clients/{id}/credentials`.
    pub async fn list_credentials(&self, client_id: &str) -> Result<CredentialList, RegistryError> {
        let registration = self.load(client_id).await?;
        Ok(CredentialList {
            client_id: registration.client_id.clone(),
            version: registration.version,
            federated_credentials: registration.federated_credentials.iter().map(credential_view).collect(),
        })
    }

    /// `GET /clients/{id}/credentials/{credential_id}`.
    pub async fn get_credential(
        &self,
        client_id: &str,
        credential_id: &str,
    ) -> Result<wif_admin_api::FederatedCredential, RegistryError> {
        let registration = self.load(client_id).await?;
        Ok(credential_view(find(&registration, credential_id)?))
    }

    /// `POST /clients/{id}/credentials[?version=N]`. A left-out JWKS URL is discovered first (the network is not
    /// touched inside the versioned read-modify-write).
    pub async fn add_credential(
        &self,
        client_id: &str,
        settings: CredentialSettings,
        version: Option<u64>,
        actor: &Actor,
    ) -> Result<CredentialChange, RegistryError> {
        let invalid = |err: wif_auth::registration::RegistrationError| RegistryError::Invalid(err.to_string());
        let mut request = credential_request(settings);
        let mut draft = [request.validate("", self.policy()).map_err(invalid)?];
        discover_jwks_uris(&mut draft, self.fetcher(), self.policy())
            .await
            .map_err(invalid)?;
        if let wif_auth::registration::JwksSource::Given(url) = &draft[0].jwks {
            request.jwks_uri = Some(url.clone());
        }
        let mut edit = |list: &mut Vec<CredentialRequest>| {
            list.push(request.clone());
            let added = &draft[0];
            Ok(wif_auth::registration::credential_id(&added.issuer, &added.subject))
        };
        self.change_credentials(client_id, version, "admin.credential.add", actor, &mut edit)
            .await
    }

    /// `PATCH /clients/{id}/credentials/{credential_id}`: JWKS URL, audiences (replaced) or expected tid.
    pub async fn update_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        update: CredentialUpdate,
        actor: &Actor,
    ) -> Result<CredentialChange, RegistryError> {
        if update.jwks_uri.is_none() && update.audiences.is_none() && update.expected_tid.is_none() {
            return Err(RegistryError::Invalid(
                "no field to update was given (jwks_uri, audiences or expected_tid)".into(),
            ));
        }
        let mut edit = |list: &mut Vec<CredentialRequest>| {
            let index = position(list, client_id, credential_id)?;
            let target = &mut list[index];
            target.jwks_uri = update.jwks_uri.clone().or(target.jwks_uri.take());
            target.audiences = update.audiences.clone().or(target.audiences.take());
            target.expected_tid = update.expected_tid.clone().or(target.expected_tid.take());
            Ok(credential_id.to_owned())
        };
        let action = "admin.credential.update";
        self.change_credentials(client_id, update.version, action, actor, &mut edit)
            .await
    }

    /// `POST /clients/{id}/credentials/{credential_id}/audiences`: one more accepted audience (none if present).
    pub async fn add_audience(
        &self,
        client_id: &str,
        credential_id: &str,
        change: AudienceChange,
        actor: &Actor,
    ) -> Result<CredentialChange, RegistryError> {
        let audience = change
            .audience
            .ok_or_else(|| RegistryError::Invalid("audience: is required".into()))?;
        let mut edit = |list: &mut Vec<CredentialRequest>| {
            let index = position(list, client_id, credential_id)?;
            let audiences = list[index].audiences.get_or_insert_with(Vec::new);
            if !audiences.contains(&audience) {
                audiences.push(audience.clone());
            }
            Ok(credential_id.to_owned())
        };
        let action = "admin.credential.audience_add";
        self.change_credentials(client_id, change.version, action, actor, &mut edit)
            .await
    }

    /// `DELETE /clients/{id}/credentials/{credential_id}/audiences?audience=…`. The last audience of a credential
    /// cannot go: remove the credential instead.
    pub async fn remove_audience(
        &self,
        client_id: &str,
        credential_id: &str,
        audience: &str,
        version: Option<u64>,
        actor: &Actor,
    ) -> Result<CredentialChange, RegistryError> {
        let mut edit = |list: &mut Vec<CredentialRequest>| {
            let index = position(list, client_id, credential_id)?;
            let audiences = list[index].audiences.get_or_insert_with(Vec::new);
            let Some(at) = audiences.iter().position(|known| known == audience) else {
                return Err(RegistryError::AudienceNotFound {
                    credential_id: credential_id.to_owned(),
                    audience: audience.to_owned(),
                });
            };
            if audiences.len() == 1 {
                return Err(RegistryError::Invalid(
                    "audience: the last audience of a credential cannot be removed; remove the credential instead"
                        .into(),
                ));
            }
            audiences.remove(at);
            Ok(credential_id.to_owned())
        };
        let action = "admin.credential.audience_remove";
        self.change_credentials(client_id, version, action, actor, &mut edit)
            .await
    }

    /// `DELETE /clients/{id}/credentials/{credential_id}[?version=N]`. The last credential of a client that
    /// accepts assertions cannot go (turn `wif_enabled` off, or add the new credential first).
    pub async fn remove_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        version: Option<u64>,
        actor: &Actor,
    ) -> Result<CredentialRemoved, RegistryError> {
        let (current, stored, ()) = self
            .modify(client_id, version, |current, now| {
                find(current, credential_id)?;
                let mut list: Vec<CredentialRequest> = current
                    .federated_credentials
                    .iter()
                    .map(CredentialRequest::of)
                    .collect();
                list.retain(|request| {
                    let id = wif_auth::registration::credential_id(
                        request.issuer.as_deref().unwrap_or_default(),
                        request.subject.as_deref().unwrap_or_default(),
                    );
                    id != credential_id
                });
                Ok((self.with_credentials(current, list, now)?.0, ()))
            })
            .await?;
        let removed = find(&current, credential_id)?;
        let mut details = serde_json::json!({ "credential": credentials_detail(std::slice::from_ref(removed))[0] });
        details["revoked_tokens"] = self.revoke_client_tokens(client_id).await?.into();
        self.audit(actor, "admin.credential.remove", &stored, details).await;
        Ok(CredentialRemoved {
            client_id: stored.client_id,
            credential_id: credential_id.to_owned(),
            version: stored.version,
        })
    }

    /// Applies `edit` to the credentials as requests, validates the whole set, writes it, audits `action`.
    async fn change_credentials(
        &self,
        client_id: &str,
        version: Option<u64>,
        action: &str,
        actor: &Actor,
        edit: &mut Edit<'_>,
    ) -> Result<CredentialChange, RegistryError> {
        let (_, stored, (credential_id, warnings)) = self
            .modify(client_id, version, |current, now| {
                let mut list: Vec<CredentialRequest> = current
                    .federated_credentials
                    .iter()
                    .map(CredentialRequest::of)
                    .collect();
                let credential_id = edit(&mut list)?;
                let (updated, warnings) = self.with_credentials(current, list, now)?;
                Ok((updated, (credential_id, warnings)))
            })
            .await?;
        let credential = find(&stored, &credential_id)?;
        let mut details = serde_json::json!({ "credential": credentials_detail(std::slice::from_ref(credential))[0] });
        // Adding a credential or an audience takes nothing away (rotation without downtime); any other change of
        // a credential does, so the tokens granted under the old terms go (issue 14.1).
        if !TAKES_NOTHING_AWAY.contains(&action) {
            details["revoked_tokens"] = self.revoke_client_tokens(client_id).await?.into();
        }
        self.audit(actor, action, &stored, details).await;
        Ok(CredentialChange {
            client_id: stored.client_id.clone(),
            version: stored.version,
            credential: credential_view(credential),
            warnings,
        })
    }

    /// `current` with these credentials, validated as a whole with the rules of `POST /clients` (every JWKS URL is
    /// known here: stored, given, or discovered before the read).
    fn with_credentials(
        &self,
        current: &Registration,
        list: Vec<CredentialRequest>,
        now: i64,
    ) -> Result<(Registration, Vec<String>), RegistryError> {
        let invalid = |err: wif_auth::registration::RegistrationError| RegistryError::Invalid(err.to_string());
        let request = RegistrationRequest {
            federated_credentials: Some(list),
            ..RegistrationRequest::default()
        };
        let validated = request
            .validate_with(self.policy(), current.wif_enabled)
            .map_err(invalid)?;
        crate::trust::check_tenant(&current.federated_credentials, &validated)?;
        let warnings = validated.warnings();
        let credentials = wif_auth::registration::discovery::into_credentials(
            validated.credentials,
            &current.federated_credentials,
            now,
        )
        .map_err(invalid)?;
        let mut updated = current.clone();
        updated.federated_credentials = credentials;
        Ok((updated, warnings))
    }
}
