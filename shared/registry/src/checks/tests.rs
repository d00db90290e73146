use super::*;
use wif_auth::ports::{JwksFetchError, StoredJwks};
use wif_auth::registration::StoredSecret;
use wif_auth::testing::{InMemoryKeyStore, StaticJwksFetcher, TestKey, jwks_document, sample_registration};
use wif_common::FixedClock;

const NOW: i64 = 1_800_000_000;

struct Fixture {
    tester: ConnectionTester,
    keys: Arc<InMemoryKeyStore>,
    fetcher: Arc<StaticJwksFetcher>,
}

fn fixture() -> Fixture {
    let keys = Arc::new(InMemoryKeyStore::default());
    let fetcher = Arc::new(StaticJwksFetcher::default());
    let tester = ConnectionTester {
        keys: keys.clone(),
        fetcher: fetcher.clone(),
        clock: Arc::new(FixedClock::at(NOW)),
        policy: RegistrationPolicy::default(),
    };
    Fixture { tester, keys, fetcher }
}

fn check<'a>(report: &'a ConnectionReport, name: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:?}"))
}

#[tokio::test]
async fn a_healthy_wif_client_passes_every_check() {
    let f = fixture();
    let registration = sample_registration("c1");
    let document = jwks_document(&[&TestKey::rsa("k1"), &TestKey::ec256("e1")]);
    f.fetcher
        .serve(&registration.federated_credentials[0].jwks_uri, &document);
    f.keys
        .seed(&registration.federated_credentials[0].jwks_uri, &document, NOW - 120);
    let report = f.tester.test(&registration).await;
    assert!(report.ok, "{report:#?}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "registration",
            "enabled",
            "auth_methods",
            "jwks_url_policy",
            "jwks_reachable",
            "jwks_keys",
            "keys_cache",
            "client_secrets"
        ]
    );
    // Only the RSA key fits RS256.
    assert!(
        check(&report, "jwks_keys")
            .detail
            .starts_with("1 usable with RS256: k1"),
        "{report:#?}"
    );
    assert!(check(&report, "keys_cache").detail.contains("120 s ago"));
    assert!(check(&report, "client_secrets").skipped);
}

#[tokio::test]
async fn each_failure_is_reported_by_name() {
    let f = fixture();
    let mut registration = sample_registration("c2");
    registration.enabled = false;
    f.fetcher.answer(
        &registration.federated_credentials[0].jwks_uri,
        Err(JwksFetchError::Timeout),
    );
    let report = f.tester.test(&registration).await;
    assert!(!report.ok);
    assert!(!check(&report, "enabled").ok);
    assert!(check(&report, "jwks_url_policy").ok);
    assert!(!check(&report, "jwks_reachable").ok);
    assert!(check(&report, "jwks_reachable").detail.contains("timed out"));
    assert!(!check(&report, "jwks_keys").ok);
    // Not cached is not a failure.
    assert!(check(&report, "keys_cache").ok);

    // A JWKS with only EC keys cannot verify RS256 assertions.
    let registration = sample_registration("c3");
    f.fetcher.serve(
        &registration.federated_credentials[0].jwks_uri,
        &jwks_document(&[&TestKey::ec256("e1")]),
    );
    let report = f.tester.test(&registration).await;
    assert!(!check(&report, "jwks_keys").ok);
    assert!(check(&report, "jwks_keys").detail.contains("no key usable with RS256"));
}

#[tokio::test]
async fn a_registration_the_current_policy_refuses_fails_before_any_fetch() {
    let f = fixture();
    let mut registration = sample_registration("c4");
    registration.federated_credentials[0].jwks_uri = "https://keys.example.net/jwks".into();
    let report = f.tester.test(&registration).await;
    assert!(!check(&report, "registration").ok);
    assert!(
        check(&report, "registration")
            .detail
            .contains("jwks_uri: host keys.example.net")
    );
    assert!(!check(&report, "jwks_url_policy").ok);
    assert!(check(&report, "jwks_reachable").detail.starts_with("not attempted"));
    assert_eq!(f.fetcher.count(), 0);
}

#[tokio::test]
async fn the_cache_state_is_reported_with_its_last_failure() {
    let f = fixture();
    let registration = sample_registration("c5");
    let document = jwks_document(&[&TestKey::rsa("k1")]);
    let rotated = jwks_document(&[&TestKey::rsa("k1"), &TestKey::rsa("k2")]);
    f.fetcher
        .serve(&registration.federated_credentials[0].jwks_uri, &rotated);
    f.keys
        .put_jwks(&StoredJwks {
            jwks_uri: registration.federated_credentials[0].jwks_uri.clone(),
            document: Some(document),
            fetched_at: Some(NOW - 3600),
            etag: None,
            last_attempt_at: Some(NOW - 60),
            last_failure: Some("JWKS server answered with status 503".into()),
            last_failure_at: Some(NOW - 60),
        })
        .await
        .unwrap();
    let report = f.tester.test(&registration).await;
    let cache = check(&report, "keys_cache");
    assert!(cache.ok, "last known good still validates: {cache:?}");
    assert!(cache.detail.contains("status 503"), "{cache:?}");
    assert!(cache.detail.contains("lacks (k2)"), "{cache:?}");

    let registration = sample_registration("c6");
    f.fetcher
        .serve(&registration.federated_credentials[0].jwks_uri, &rotated);
    f.keys
        .record_fetch_failure(
            &registration.federated_credentials[0].jwks_uri,
            NOW - 5,
            "JWKS fetch timed out",
        )
        .await
        .unwrap();
    let report = f.tester.test(&registration).await;
    let cache = check(&report, "keys_cache");
    assert!(!cache.ok, "{cache:?}");
    assert!(cache.detail.contains("no good JWKS document"), "{cache:?}");
}

#[tokio::test]
async fn secrets_only_clients_skip_the_jwks_and_need_an_active_secret() {
    let f = fixture();
    let mut registration = sample_registration("c7");
    registration.wif_enabled = false;
    registration.secrets_enabled = true;
    let report = f.tester.test(&registration).await;
    assert!(check(&report, "jwks_reachable").skipped);
    assert!(!check(&report, "client_secrets").ok);
    assert_eq!(f.fetcher.count(), 0);
    assert!(!report.ok);

    registration.secrets.push(StoredSecret {
        secret_id: "s1".into(),
        hash: "00".repeat(32),
        created_at: NOW - 350 * 86_400,
        expires_at: NOW + 15 * 86_400,
        description: None,
    });
    let report = f.tester.test(&registration).await;
    assert!(report.ok, "{report:#?}");
    let detail = &check(&report, "client_secrets").detail;
    assert!(detail.contains("in 15 days") && detail.contains("rotate"), "{detail}");

    registration.secrets[0].expires_at = NOW;
    let report = f.tester.test(&registration).await;
    assert!(!check(&report, "client_secrets").ok);
}

#[tokio::test]
async fn each_credential_gets_its_own_jwks_checks() {
    let f = fixture();
    let mut registration = sample_registration("c-two");
    let mut second = registration.federated_credentials[0].clone();
    second.subject = "another-identity".into();
    second.credential_id = wif_auth::registration::credential_id(&second.issuer, &second.subject);
    second.jwks_uri = "https://login.microsoftonline.com/second/discovery/v2.0/keys".into();
    registration.federated_credentials.push(second.clone());
    let first = registration.federated_credentials[0].clone();
    f.fetcher.serve(&first.jwks_uri, &jwks_document(&[&TestKey::rsa("k1")]));
    f.fetcher.answer(&second.jwks_uri, Err(JwksFetchError::Status(404)));
    let report = f.tester.test(&registration).await;
    assert!(!report.ok);
    let reachable: Vec<(Option<&str>, bool)> = report
        .checks
        .iter()
        .filter(|check| check.name == "jwks_reachable")
        .map(|check| (check.credential_id.as_deref(), check.ok))
        .collect();
    assert_eq!(
        reachable,
        vec![
            (Some(first.credential_id.as_str()), true),
            (Some(second.credential_id.as_str()), false)
        ]
    );
    assert!(check(&report, "registration").detail.contains("credential fc-"));
}
