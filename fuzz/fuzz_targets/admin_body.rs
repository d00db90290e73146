//! The admin API's request bodies, through the registry service the admin Lambda hands them to: `POST /clients`
//! (`parse_new_client`, `create`), `PATCH /clients/{id}` (`update`), `POST /clients/{id}/credentials`
//! (`add_credential`), `PATCH /clients/{id}/credentials/{cid}` (`update_credential`),
//! `POST .../audiences` (`add_audience`) and `POST /clients/{id}/secrets` (`create_secret`), each over fresh
//! in-memory stores holding one fixed registration, at a fixed clock.
//!
//! Input: one byte choosing the request (`0`–`5`, taken modulo 6), then the JSON body as the Lambda reads it
//! (serde_json from the bytes, with the wire types' `deny_unknown_fields`).
//!
//! Checked beyond "no panic": refusals are 400, 404 or 409 with a JSON error body (the stores never fail, so
//! never 503); after any answer, every stored registration holds exactly the trust markers of its credentials.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wif_admin_api::{
    AudienceChange, ClientSettings, ClientUpdate, CredentialSettings, CredentialUpdate, NewClient, NewSecret,
};
use wif_auth::registration::{Registration, RegistrationPolicy};
use wif_auth::testing::{InMemoryTokenStore, RecordingAudit, StaticJwksFetcher};
use wif_common::FixedClock;
use wif_fuzz::{NOW, runtime};
use wif_registry::memory::InMemoryRegistrations;
use wif_registry::ports::RegistrationStore;
use wif_registry::{Actor, PublicUrls, RegistryError, RegistryPorts, RegistryService, parse_new_client};

const TID: &str = "11111111-2222-3333-4444-555555555555";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (service, store) = service();
    let registration = template();
    runtime()
        .block_on(store.insert(registration))
        .unwrap_or_else(|err| panic!("fixture insert: {err:?}"));
    let outcome = runtime().block_on(run(&service, registration, selector % 6, body));
    match &outcome {
        Some(Ok(answer)) => {
            assert!(answer.is_object(), "{answer}");
        }
        Some(Err(err)) => {
            assert!(matches!(err.status(), 400 | 404 | 409), "{} {err}", err.status());
            assert!(err.to_json().is_object());
        }
        None => {}
    }
    for client_id in [registration.client_id.clone()].into_iter().chain(created_id(&outcome)) {
        let stored = runtime()
            .block_on(store.get(&client_id))
            .unwrap_or_else(|err| panic!("get: {err}"))
            .unwrap_or_else(|| panic!("{client_id} vanished"));
        for trust in stored.trusts() {
            assert_eq!(store.holder(&trust).as_deref(), Some(client_id.as_str()), "{trust:?}");
        }
    }
});

/// The answer as JSON, an error, or `None` when the bytes are not the body's type (the Lambda's 400 `body: ...`).
async fn run(
    service: &RegistryService,
    registration: &Registration,
    selector: u8,
    body: &[u8],
) -> Option<Result<Value, RegistryError>> {
    let actor = Actor {
        principal: "arn:aws:iam::123456789012:user/fuzz".into(),
        ..Default::default()
    };
    let id = registration.client_id.as_str();
    let credential_id = registration.federated_credentials[0].credential_id.as_str();
    Some(match selector {
        0 => match parse_new_client(serde_json::from_slice(body).ok()?) {
            Ok(request) => service.create(request, &actor).await.map(to_json),
            Err(err) => Err(err),
        },
        1 => {
            let update: ClientUpdate = serde_json::from_slice(body).ok()?;
            service.update(id, update, &actor).await.map(to_json)
        }
        2 => {
            let settings: CredentialSettings = serde_json::from_slice(body).ok()?;
            service.add_credential(id, settings, None, &actor).await.map(to_json)
        }
        3 => {
            let update: CredentialUpdate = serde_json::from_slice(body).ok()?;
            service
                .update_credential(id, credential_id, update, &actor)
                .await
                .map(to_json)
        }
        4 => {
            let change: AudienceChange = serde_json::from_slice(body).ok()?;
            service
                .add_audience(id, credential_id, change, &actor)
                .await
                .map(to_json)
        }
        _ => {
            let options: NewSecret = if body.iter().all(u8::is_ascii_whitespace) {
                NewSecret::default()
            } else {
                serde_json::from_slice(body).ok()?
            };
            service.create_secret(id, options, &actor).await.map(to_json)
        }
    })
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|err| panic!("answer does not serialise: {err}"))
}

/// The `client_id` of a registration the request created.
fn created_id(outcome: &Option<Result<Value, RegistryError>>) -> Option<String> {
    match &outcome {
        Some(Ok(answer)) => answer
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|id| *id != template().client_id)
            .map(str::to_owned),
        _ => None,
    }
}

fn service() -> (RegistryService, Arc<InMemoryRegistrations>) {
    let store = Arc::new(InMemoryRegistrations::default());
    let service = RegistryService::new(
        RegistryPorts {
            store: store.clone(),
            tokens: Arc::new(InMemoryTokenStore::default()),
            audit: Arc::new(RecordingAudit::default()),
            clock: Arc::new(FixedClock::at(NOW)),
            fetcher: Arc::new(StaticJwksFetcher::default()),
        },
        RegistrationPolicy::default(),
        PublicUrls {
            token_url: "https://auth.example.com/oauth2/token".into(),
            scim_url: "https://scim.example.com/scim/v2".into(),
            ..Default::default()
        },
    );
    (service, store)
}

/// One registration as `POST /clients` creates it (v1 Entra issuer, one audience), made once.
fn template() -> &'static Registration {
    static TEMPLATE: OnceLock<Registration> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let (service, _) = service();
        let request = NewClient {
            settings: ClientSettings {
                issuer: Some(format!("https://sts.windows.net/{TID}/")),
                jwks_uri: Some(format!("https://login.microsoftonline.com/{TID}/discovery/keys")),
                subject: Some("fbd13a0e-0a74-477d-953a-9f4b520a0e8e".into()),
                audience: Some("api://contoso-scim".into()),
                display_name: Some("Contoso".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        runtime().block_on(async {
            let client = service
                .create(request, &Actor::default())
                .await
                .unwrap_or_else(|err| panic!("fixture create: {err}"));
            service
                .registration(&client.client_id)
                .await
                .unwrap_or_else(|err| panic!("fixture read: {err}"))
        })
    })
}
