//! Issue 14.1: revocation cannot be raced. Token requests run in parallel, in a loop, while the client is
//! disabled (the registry's order: write the registration, then sweep). Afterwards every token ever issued is
//! refused on its next SCIM call, and no token is issued once the disable has answered. Twenty rounds, against
//! moto through the real SDK (TransactWriteItems with a condition check on the Clients item).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use wif_auth::bearer::authenticate_bearer;
use wif_auth::credentials::AccessToken;
use wif_auth::ports::TokenRecord;
use wif_auth::revocation::IssueError;
use wif_auth::scope::Scope;
use wif_common::{Clock, SystemClock};
use wif_store::TableNames;
use wif_store::clients::ClientRepository;
use wif_store::tokens::TokenRepository;
use wif_testkit::tables::create_tables;

const ROUNDS: usize = 20;
const ISSUERS: usize = 6;

/// What the token service does: read the registration, authenticate (signature, rate-limit counter: `work`),
/// mint, write conditionally.
async fn issue_once(
    clients: &ClientRepository,
    tokens: &TokenRepository,
    client_id: &str,
    work: std::time::Duration,
) -> Option<AccessToken> {
    let registration = clients.get(client_id).await.ok()??;
    if !registration.enabled {
        return None;
    }
    tokio::time::sleep(work).await;
    let token = AccessToken::generate().unwrap();
    let now = SystemClock.now_unix();
    let record = TokenRecord {
        token_hash: token.hash().to_owned(),
        client_id: client_id.to_owned(),
        tenant_id: registration.tenant_id.clone(),
        scopes: vec![Scope::Scim],
        issued_at: now,
        expires_at: now + 3600,
        revoked: false,
    };
    match tokens.issue(&record, registration.version).await {
        Ok(()) => Some(token),
        Err(IssueError::RegistrationChanged) => None,
        Err(other) => panic!("issuing failed: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_token_survives_a_disable_raced_by_parallel_token_requests() {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.unwrap();
    let clients = Arc::new(ClientRepository::new(client.clone(), &names.clients));
    let tokens = Arc::new(
        TokenRepository::new(client.clone(), &names.tokens, Arc::new(SystemClock)).with_clients_table(&names.clients),
    );
    let mut issued_total = 0;
    for round in 0..ROUNDS {
        let client_id = format!("race-{round}");
        // Each round's registration holds its own trust (trusts are unique across registrations).
        let mut registration = wif_auth::testing::sample_registration(&client_id);
        let credential = &mut registration.federated_credentials[0];
        credential.subject = format!("race-subject-{round}");
        credential.credential_id = wif_auth::registration::credential_id(&credential.issuer, &credential.subject);
        clients.insert(&registration).await.unwrap();
        let answered = Arc::new(AtomicBool::new(false));
        let issuers: Vec<_> = (0..ISSUERS)
            .map(|worker| {
                let (clients, tokens, answered, client_id) =
                    (clients.clone(), tokens.clone(), answered.clone(), client_id.clone());
                tokio::spawn(async move {
                    let mut issued = Vec::new();
                    let mut after_answer = 0;
                    // Keep asking until well after the disable answered.
                    for attempt in 0..40u64 {
                        let done_before = answered.load(Ordering::SeqCst);
                        let work = std::time::Duration::from_millis((attempt * 7 + worker as u64 * 5) % 30);
                        if let Some(token) = issue_once(&clients, &tokens, &client_id, work).await {
                            issued.push(token);
                            after_answer += usize::from(done_before);
                        }
                        if done_before && after_answer == 0 && issued.len() > 1 {
                            break;
                        }
                    }
                    (issued, after_answer)
                })
            })
            .collect();
        // Let some tokens through, then disable in the middle of the stream, as the registry does.
        tokio::time::sleep(std::time::Duration::from_millis(20 + 7 * round as u64)).await;
        let current = clients.get(&client_id).await.unwrap().unwrap();
        let mut disabled = current.clone();
        disabled.enabled = false;
        disabled.version += 1;
        clients.replace(&current, &disabled).await.unwrap();
        tokens.revoke_for_client(&client_id).await.unwrap();
        answered.store(true, Ordering::SeqCst);

        for issuer in issuers {
            let (issued, after_answer) = issuer.await.unwrap();
            assert_eq!(
                after_answer, 0,
                "round {round}: a token was minted after the disable answered"
            );
            for token in issued {
                issued_total += 1;
                let mut headers = HeaderMap::new();
                headers.insert("authorization", format!("Bearer {}", token.value()).parse().unwrap());
                let verdict = authenticate_bearer(&headers, tokens.as_ref(), SystemClock.now_unix()).await;
                assert!(verdict.is_err(), "round {round}: token {} still works", token.hash());
            }
        }
    }
    assert!(
        issued_total > 0,
        "the race never issued a token; the test would prove nothing"
    );
    println!("revocation race: {ROUNDS} rounds, {issued_total} tokens issued, every one refused afterwards");
}
