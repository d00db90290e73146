//! The repositories against a real DynamoDB-protocol server (moto) through the real SDK.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use wif_auth::event_settings::{EventDataLevel, EventSettings};
use wif_auth::ports::{KeyStore, RateCounter, StoredJwks, TokenRecord, TokenStore};
use wif_auth::registration::{FederatedCredential, Registration, Trust, credential_id};
use wif_auth::scope::Scope;
use wif_common::FixedClock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};
use wif_registry::ports::TrustHolder;
use wif_store::audit::{AuditQuery, AuditRepository};
use wif_store::clients::{ClientRepository, ClientWriteError};
use wif_store::keys::KeyRepository;
use wif_store::rate_limits::RateLimitRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{CallCounter, TableNames};
use wif_testkit::tables::create_tables;

async fn setup() -> (aws_sdk_dynamodb::Client, TableNames, CallCounter) {
    let counter = CallCounter::new();
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = counter.client(&config);
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    counter.reset();
    (client, names, counter)
}

const TID: &str = "11111111-2222-3333-4444-555555555555";

fn credential(subject: &str, jwks_uri: &str, audiences: &[&str]) -> FederatedCredential {
    let issuer = format!("https://sts.windows.net/{TID}/");
    FederatedCredential {
        credential_id: credential_id(&issuer, subject),
        issuer,
        jwks_uri: jwks_uri.to_owned(),
        subject: subject.to_owned(),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        expected_tid: Some(TID.into()),
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    }
}

fn registration(client_id: &str, tenant: &str) -> Registration {
    Registration {
        client_id: client_id.into(),
        tenant_id: tenant.into(),
        display_name: Some("Contoso".into()),
        federated_credentials: vec![credential(
            &format!("sub-{client_id}"),
            &format!("https://login.microsoftonline.com/{TID}/discovery/keys"),
            &["api://app"],
        )],
        allowed_scopes: vec![Scope::Scim, Scope::ScimRead],
        token_lifetime_seconds: 3600,
        allowed_algorithms: vec!["RS256".into()],
        enabled: true,
        wif_enabled: true,
        secrets_enabled: false,
        secrets: vec![],
        events: None,
        version: 1,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
        markers_pending: false,
    }
}

fn trust(issuer: &str, subject: &str, audience: &str) -> Trust {
    Trust {
        issuer: issuer.into(),
        subject: subject.into(),
        audience: audience.into(),
    }
}

#[tokio::test]
async fn clients_insert_get_replace_delete_with_their_trust_markers() {
    let (client, names, counter) = setup().await;
    let repo = ClientRepository::new(client, &names.clients);
    let reg = registration("c1", "tenant-a");
    let issuer = reg.federated_credentials[0].issuer.clone();
    repo.insert(&reg).await.unwrap();
    assert_eq!(repo.insert(&reg).await, Err(ClientWriteError::AlreadyExists));
    assert_eq!(repo.get("c1").await.unwrap(), Some(reg.clone()));
    assert_eq!(repo.get("nope").await.unwrap(), None);

    // Found through the marker of its trust, exactly: no trailing-slash leniency, no case folding.
    let held = trust(&issuer, "sub-c1", "api://app");
    assert_eq!(repo.find_by_trust(&held).await.unwrap(), Some(reg.clone()));
    for near in [
        trust(issuer.trim_end_matches('/'), "sub-c1", "api://app"),
        trust(&issuer, "SUB-C1", "api://app"),
        trust(&issuer, "sub-c1", "api://app/"),
    ] {
        assert_eq!(repo.find_by_trust(&near).await.unwrap(), None);
    }
    // A marker is not a registration.
    assert_eq!(repo.get(&wif_store::clients::marker_key(&held)).await.unwrap(), None);

    // A change of audience moves the marker in the same write.
    let mut updated = reg.clone();
    updated.federated_credentials[0].audiences = vec!["api://renamed".into(), "renamed".into()];
    updated.version = 2;
    repo.replace(&reg, &updated).await.unwrap();
    assert_eq!(
        repo.replace(&reg, &updated).await,
        Err(ClientWriteError::VersionConflict)
    );
    assert_eq!(repo.find_by_trust(&held).await.unwrap(), None);
    let renamed = trust(&issuer, "sub-c1", "renamed");
    assert_eq!(repo.find_by_trust(&renamed).await.unwrap(), Some(updated.clone()));

    assert_eq!(repo.delete(&reg).await, Err(ClientWriteError::VersionConflict));
    assert!(repo.delete(&updated).await.unwrap());
    assert!(!repo.delete(&updated).await.unwrap());
    assert_eq!(repo.find_by_trust(&renamed).await.unwrap(), None);
    assert_eq!(
        repo.holder(&renamed).await.unwrap(),
        None,
        "markers deleted with the registration"
    );
    assert!(counter.total() >= 10);
}

#[tokio::test]
async fn a_trust_is_held_by_one_registration_only() {
    let (client, names, counter) = setup().await;
    let repo = ClientRepository::new(client, &names.clients);
    let a = registration("a", "tenant-a");
    repo.insert(&a).await.unwrap();
    let mut b = registration("b", "tenant-b");
    b.federated_credentials = a.federated_credentials.clone();
    b.federated_credentials[0].audiences.insert(0, "api://other".into());
    let taken = trust(&a.federated_credentials[0].issuer, "sub-a", "api://app");
    let holder = TrustHolder {
        client_id: "a".into(),
        tenant_id: "tenant-a".into(),
    };
    assert_eq!(
        repo.insert(&b).await,
        Err(ClientWriteError::TrustTaken {
            trust: taken.clone(),
            holder: Some(holder.clone())
        })
    );
    assert_eq!(repo.get("b").await.unwrap(), None, "nothing of b was written");
    let free = trust(&a.federated_credentials[0].issuer, "sub-a", "api://other");
    assert_eq!(repo.holder(&free).await.unwrap(), None);
    // Without the taken audience b is fine; adding it later is refused the same way.
    let mut b_alone = b.clone();
    b_alone.federated_credentials[0].audiences = vec!["api://other".into()];
    repo.insert(&b_alone).await.unwrap();
    let mut b_grab = b_alone.clone();
    b_grab.federated_credentials[0].audiences.push("api://app".into());
    b_grab.version = 2;
    counter.reset();
    assert!(matches!(
        repo.replace(&b_alone, &b_grab).await,
        Err(ClientWriteError::TrustTaken { holder: Some(ref h), .. }) if *h == holder
    ));
    // One transaction, then one read of the holder's marker.
    let calls = counter.snapshot();
    assert_eq!(
        (calls.get("TransactWriteItems"), calls.get("GetItem")),
        (Some(&1), Some(&1))
    );
    assert_eq!(repo.get("b").await.unwrap(), Some(b_alone));
}

#[tokio::test]
async fn an_item_in_the_shape_before_credentials_reads_and_migrates() {
    let (client, names, _) = setup().await;
    let repo = ClientRepository::new(client.clone(), &names.clients);
    let issuer = format!("https://sts.windows.net/{TID}/");
    let jwks_uri = format!("https://login.microsoftonline.com/{TID}/discovery/keys");
    let s = |value: &str| AttributeValue::S(value.to_owned());
    let n = |value: i64| AttributeValue::N(value.to_string());
    // Exactly what the previous version of this repository wrote.
    let legacy = std::collections::HashMap::from([
        ("client_id".to_owned(), s("old")),
        ("tenant_id".to_owned(), s("tenant-old")),
        ("issuer".to_owned(), s(&issuer)),
        ("jwks_uri".to_owned(), s(&jwks_uri)),
        ("subject".to_owned(), s("sub-old")),
        ("audience".to_owned(), s("api://app")),
        ("expected_tid".to_owned(), s(TID)),
        ("allowed_scopes".to_owned(), AttributeValue::L(vec![s("scim")])),
        ("token_lifetime_seconds".to_owned(), n(3600)),
        ("allowed_algorithms".to_owned(), AttributeValue::L(vec![s("RS256")])),
        ("enabled".to_owned(), AttributeValue::Bool(true)),
        ("wif_enabled".to_owned(), AttributeValue::Bool(true)),
        ("secrets_enabled".to_owned(), AttributeValue::Bool(false)),
        ("secrets".to_owned(), AttributeValue::L(vec![])),
        ("version".to_owned(), n(3)),
        ("created_at".to_owned(), n(1_600_000_000)),
        ("updated_at".to_owned(), n(1_600_000_100)),
    ]);
    client
        .put_item()
        .table_name(&names.clients)
        .set_item(Some(legacy))
        .send()
        .await
        .unwrap();
    let read = repo.get("old").await.unwrap().unwrap();
    assert!(read.markers_pending);
    let [credential] = read.federated_credentials.as_slice() else {
        panic!("one credential: {read:?}")
    };
    assert_eq!(
        (
            credential.issuer.as_str(),
            credential.subject.as_str(),
            credential.jwks_uri.as_str()
        ),
        (issuer.as_str(), "sub-old", jwks_uri.as_str())
    );
    assert_eq!(credential.audiences, vec!["api://app"]);
    assert_eq!(repo.all_jwks_uris().await.unwrap(), vec![jwks_uri.clone()]);
    // No marker yet: found by client_id only.
    let held = trust(&issuer, "sub-old", "api://app");
    assert_eq!(repo.find_by_trust(&held).await.unwrap(), None);
    // Its next write stores today's shape and every marker.
    let mut migrated = read.clone();
    migrated.version = 4;
    migrated.markers_pending = false;
    repo.replace(&read, &migrated).await.unwrap();
    let again = repo.get("old").await.unwrap().unwrap();
    assert!(!again.markers_pending);
    assert_eq!(again, migrated);
    assert_eq!(repo.find_by_trust(&held).await.unwrap(), Some(migrated));
    assert_eq!(repo.all_jwks_uris().await.unwrap(), vec![jwks_uri]);
}

#[tokio::test]
async fn secrets_only_clients_are_stored_without_credentials() {
    let (client, names, _) = setup().await;
    let repo = ClientRepository::new(client.clone(), &names.clients);
    let mut reg = registration("s1", "tenant-s");
    reg.federated_credentials.clear();
    reg.wif_enabled = false;
    reg.secrets_enabled = true;
    repo.insert(&reg).await.unwrap();
    assert_eq!(repo.get("s1").await.unwrap(), Some(reg.clone()));
    let raw = client
        .get_item()
        .table_name(&names.clients)
        .key("client_id", AttributeValue::S("s1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    for attribute in ["issuer", "subject", "jwks_uri", "audience", "federated_credentials"] {
        assert!(!raw.contains_key(attribute), "{attribute} stored");
    }
    assert!(repo.all_jwks_uris().await.unwrap().is_empty());
    assert_eq!(repo.list(Some("tenant-s"), None, 10).await.unwrap().items, vec![reg]);
}

#[tokio::test]
async fn listings_skip_markers_and_page_and_jwks_uris_come_from_every_credential() {
    let (client, names, _) = setup().await;
    let repo = ClientRepository::new(client, &names.clients);
    for i in 0..5 {
        let mut reg = registration(&format!("a{i}"), "tenant-a");
        reg.federated_credentials[0].jwks_uri = format!("https://login.microsoftonline.com/t{}/discovery/keys", i % 2);
        reg.federated_credentials[0].audiences.push(format!("aud-{i}"));
        repo.insert(&reg).await.unwrap();
    }
    let mut b = registration("b0", "tenant-b");
    b.federated_credentials.push(credential(
        "sub-b0-second",
        "https://login.microsoftonline.com/second/discovery/v2.0/keys",
        &["api://app"],
    ));
    repo.insert(&b).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = repo.list(Some("tenant-a"), cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|r| r.client_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["a0", "a1", "a2", "a3", "a4"]);
    // All tenants: a scan over 6 registrations and 13 markers, in pages of 2 registrations.
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = repo.list(None, cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        all.extend(page.items.into_iter().map(|r| r.client_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    all.sort();
    assert_eq!(all, vec!["a0", "a1", "a2", "a3", "a4", "b0"]);
    assert_eq!(repo.list(None, None, 100).await.unwrap().items.len(), 6);
    assert!(repo.list(None, Some("garbage!"), 10).await.is_err());

    let uris = repo.all_jwks_uris().await.unwrap();
    assert_eq!(uris.len(), 4, "{uris:?}");
}

#[tokio::test]
async fn registrations_with_a_push_endpoint_are_found_by_the_sweep() {
    let (client, names, _) = setup().await;
    let repo = ClientRepository::new(client, &names.clients);
    let mut pushing = registration("p1", "tenant-a");
    pushing.events = Some(EventSettings {
        level: EventDataLevel::Ids,
        push_url: Some("https://app.isv.example/events".into()),
    });
    repo.insert(&pushing).await.unwrap();
    let mut polling = registration("p2", "tenant-a");
    polling.events = Some(EventSettings::default());
    repo.insert(&polling).await.unwrap();
    repo.insert(&registration("p3", "tenant-b")).await.unwrap();
    let found = repo.with_push_endpoints().await.unwrap();
    assert_eq!(found, vec![pushing]);
}

#[tokio::test]
async fn tokens_round_trip_and_revoke_only_live_tokens_of_the_client() {
    let (client, names, counter) = setup().await;
    let clock = Arc::new(FixedClock::at(10_000));
    let repo = TokenRepository::new(client, &names.tokens, clock.clone());
    let token = |hash: &str, client_id: &str, expires_at: i64| TokenRecord {
        token_hash: hash.into(),
        client_id: client_id.into(),
        tenant_id: "t".into(),
        scopes: vec![Scope::Scim],
        issued_at: 9_000,
        expires_at,
        revoked: false,
    };
    repo.put_token(&token("h1", "c1", 20_000)).await.unwrap();
    repo.put_token(&token("h2", "c1", 30_000)).await.unwrap();
    repo.put_token(&token("h3", "c1", 5_000)).await.unwrap(); // already expired
    repo.put_token(&token("h4", "c2", 20_000)).await.unwrap();
    assert_eq!(repo.get_token("h1").await.unwrap(), Some(token("h1", "c1", 20_000)));
    assert_eq!(repo.get_token("unknown").await.unwrap(), None);

    assert_eq!(repo.revoke_client_tokens("c1").await.unwrap(), 2);
    assert!(repo.get_token("h1").await.unwrap().unwrap().revoked);
    assert!(repo.get_token("h2").await.unwrap().unwrap().revoked);
    assert!(!repo.get_token("h3").await.unwrap().unwrap().revoked);
    assert!(!repo.get_token("h4").await.unwrap().unwrap().revoked);
    // Idempotent, and already revoked tokens cost nothing beyond the index read and the one query.
    counter.reset();
    assert_eq!(repo.revoke_client_tokens("c1").await.unwrap(), 0);
    assert_eq!(
        counter.snapshot().into_iter().collect::<Vec<_>>(),
        vec![("GetItem".to_owned(), 1), ("Query".to_owned(), 1)]
    );
}

#[tokio::test]
async fn keys_keep_last_good_document_across_failures() {
    let (client, names, _) = setup().await;
    let repo = KeyRepository::new(client, &names.keys);
    let uri = "https://login.microsoftonline.com/t/discovery/keys";
    assert_eq!(repo.get_jwks(uri).await.unwrap(), None);
    // A failure before any success still records the attempt (cooldown across environments).
    repo.record_fetch_failure(uri, 50, "connect refused").await.unwrap();
    let entry = repo.get_jwks(uri).await.unwrap().unwrap();
    assert_eq!(entry.document, None);
    assert_eq!(entry.last_attempt_at, Some(50));

    let good = StoredJwks {
        jwks_uri: uri.into(),
        document: Some(r#"{"keys":[]}"#.into()),
        fetched_at: Some(100),
        etag: Some("\"e1\"".into()),
        last_attempt_at: Some(100),
        last_failure: None,
        last_failure_at: None,
    };
    repo.put_jwks(&good).await.unwrap();
    repo.record_fetch_failure(uri, 200, "HTTP 503").await.unwrap();
    let entry = repo.get_jwks(uri).await.unwrap().unwrap();
    assert_eq!(entry.document, good.document);
    assert_eq!(entry.fetched_at, Some(100));
    assert_eq!(entry.last_attempt_at, Some(200));
    assert_eq!(entry.last_failure.as_deref(), Some("HTTP 503"));
}

#[tokio::test]
async fn rate_counters_count_atomically_per_window() {
    let (client, names, _) = setup().await;
    let repo = RateLimitRepository::new(client, &names.rate_limits);
    let mut handles = Vec::new();
    for _ in 0..10 {
        let repo = repo.clone();
        handles.push(tokio::spawn(async move {
            RateCounter::hit(&repo, "client#c1", 60, 180).await.unwrap()
        }));
    }
    let mut counts = Vec::new();
    for handle in handles {
        counts.push(handle.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (1..=10).collect::<Vec<u64>>());
    assert_eq!(RateCounter::hit(&repo, "client#c1", 120, 240).await.unwrap(), 1);
    assert_eq!(RateCounter::hit(&repo, "client#c2", 60, 180).await.unwrap(), 1);
}

#[tokio::test]
async fn audit_events_query_by_tenant_and_client_in_time_order() {
    let (client, names, _) = setup().await;
    let repo = AuditRepository::new(client, &names.audit, 30);
    for (at, tenant, client_id) in [
        (100, "ta", "c1"),
        (200, "ta", "c2"),
        (300, "ta", "c1"),
        (150, "tb", "c3"),
    ] {
        let mut event = AuditEvent::new(at, AuditCategory::Token, "token.granted", "success").detail("kid", "k1");
        event.tenant_id = Some(tenant.into());
        event.client_id = Some(client_id.into());
        repo.record(event).await.unwrap();
    }
    let mut unknown = AuditEvent::new(120, AuditCategory::Token, "token.denied", "denied");
    unknown.reason = Some("unknown client".into());
    repo.record(unknown).await.unwrap();

    let page = repo
        .query(&AuditQuery {
            tenant_id: Some("ta".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.at).collect::<Vec<_>>(),
        vec![100, 200, 300]
    );
    assert_eq!(page.events[0].details["kid"], "k1");

    let page = repo
        .query(&AuditQuery {
            client_id: Some("c1".into()),
            from: Some(150),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![300]);

    let first = repo
        .query(&AuditQuery {
            tenant_id: Some("ta".into()),
            limit: 2,
            descending: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![300, 200]);
    let rest = repo
        .query(&AuditQuery {
            tenant_id: Some("ta".into()),
            limit: 2,
            descending: true,
            cursor: first.next_cursor.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![100]);

    let none = repo
        .query(&AuditQuery {
            tenant_id: Some(wif_store::audit::NO_TENANT.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none.events.len(), 1);
    assert!(
        repo.query(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .is_err()
    );
}
