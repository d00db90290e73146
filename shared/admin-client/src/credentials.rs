//! `wif-admin clients credentials …`: a registration's federated credentials and their audiences. A rotation
//! without downtime is `add` (the new identity), `wif-admin audit --client-id …` until its `credential_id` shows in
//! the `token.granted` events, then `remove` (the old one).

use wif_admin_client::model::{AudienceChange, CredentialSettings, CredentialUpdate};
use wif_admin_client::{AdminClient, ClientError};

use crate::cli::{CredentialFields, CredentialsCommand, audience_fields};
use crate::commands::Outcome;
use crate::output;

fn settings(fields: CredentialFields) -> CredentialSettings {
    let (audience, audiences) = audience_fields(fields.audiences);
    CredentialSettings {
        issuer: Some(fields.issuer),
        jwks_uri: fields.jwks_uri,
        subject: Some(fields.subject),
        audience,
        audiences,
        expected_tid: fields.expected_tid,
    }
}

pub async fn run(client: &AdminClient, command: CredentialsCommand) -> Result<Outcome, ClientError> {
    match command {
        CredentialsCommand::List { client_id } => {
            let reply = client.list_credentials(&client_id).await?;
            Ok(Outcome::new(reply.json, output::credential_list(&reply.value)))
        }
        CredentialsCommand::Get {
            client_id,
            credential_id,
        } => {
            let reply = client.get_credential(&client_id, &credential_id).await?;
            Ok(Outcome::new(reply.json, output::credential(&reply.value, &[])))
        }
        CredentialsCommand::Add {
            client_id,
            fields,
            version,
        } => {
            let reply = client.add_credential(&client_id, &settings(fields), version).await?;
            Ok(Outcome::new(reply.json, output::credential_change(&reply.value)))
        }
        CredentialsCommand::Update {
            client_id,
            credential_id,
            jwks_uri,
            audiences,
            expected_tid,
            version,
        } => {
            let update = CredentialUpdate {
                version,
                jwks_uri,
                audiences: (!audiences.is_empty()).then_some(audiences),
                expected_tid,
            };
            let reply = client.update_credential(&client_id, &credential_id, &update).await?;
            Ok(Outcome::new(reply.json, output::credential_change(&reply.value)))
        }
        CredentialsCommand::Remove {
            client_id,
            credential_id,
            version,
            yes,
        } => remove(client, &client_id, &credential_id, version, yes).await,
        CredentialsCommand::AddAudience {
            client_id,
            credential_id,
            audience,
            version,
        } => {
            let change = AudienceChange {
                audience: Some(audience),
                version,
            };
            let reply = client.add_audience(&client_id, &credential_id, &change).await?;
            Ok(Outcome::new(reply.json, output::credential_change(&reply.value)))
        }
        CredentialsCommand::RemoveAudience {
            client_id,
            credential_id,
            audience,
            version,
        } => {
            let reply = client
                .remove_audience(&client_id, &credential_id, &audience, version)
                .await?;
            Ok(Outcome::new(reply.json, output::credential_change(&reply.value)))
        }
    }
}

async fn remove(
    client: &AdminClient,
    client_id: &str,
    credential_id: &str,
    version: Option<u64>,
    yes: bool,
) -> Result<Outcome, ClientError> {
    if !yes {
        return Err(ClientError::Usage(format!(
            "removing {credential_id} refuses that identity's assertions from now on; add --yes"
        )));
    }
    let reply = client.remove_credential(client_id, credential_id, version).await?;
    let text = format!(
        "removed credential {} of client {} (now version {})",
        reply.value.credential_id, reply.value.client_id, reply.value.version
    );
    Ok(Outcome::new(reply.json, output::View::Text(text)))
}
