//! The three-level JWKS cache: memory → Keys table → URL, cooldowns, negative caching, rotation and outages.

use std::sync::Arc;
use std::time::Duration;

use wif_auth::jwks_cache::{JwksCache, JwksCacheSettings, KeyLookupError};
use wif_auth::ports::{JwksFetchError, JwksFetchOutcome, KeyStore};
use wif_auth::testing::*;
use wif_common::FixedClock;

const URL: &str = "https://login.microsoftonline.com/t/discovery/v2.0/keys";
const T0: i64 = 1_750_000_000;

struct Setup {
    cache: Arc<JwksCache>,
    store: Arc<InMemoryKeyStore>,
    fetcher: Arc<StaticJwksFetcher>,
    clock: Arc<FixedClock>,
}

fn setup() -> Setup {
    let store = Arc::new(InMemoryKeyStore::default());
    let fetcher = Arc::new(StaticJwksFetcher::default());
    let clock = Arc::new(FixedClock::at(T0));
    let cache = Arc::new(environment(&store, &fetcher, &clock));
    Setup {
        cache,
        store,
        fetcher,
        clock,
    }
}

/// Another Lambda environment: its own memory, the same Keys table and URL.
fn environment(store: &Arc<InMemoryKeyStore>, fetcher: &Arc<StaticJwksFetcher>, clock: &Arc<FixedClock>) -> JwksCache {
    JwksCache::new(
        store.clone(),
        fetcher.clone(),
        clock.clone(),
        JwksCacheSettings::default(),
    )
}

#[tokio::test]
async fn cold_start_fetches_once_then_serves_from_memory() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    assert_eq!(s.cache.key(URL, "k1").await.unwrap().kid(), "k1");
    for _ in 0..10 {
        s.cache.key(URL, "k1").await.unwrap();
    }
    let stats = s.cache.stats();
    assert_eq!((stats.fetches, stats.store_reads), (1, 1));
    // The fetched set went to the Keys table for the other environments.
    let stored = s.store.entry(URL).unwrap();
    assert_eq!(stored.fetched_at, Some(T0));
    assert!(stored.document.unwrap().contains("\"k1\""));
}

#[tokio::test]
async fn the_keys_table_feeds_new_environments_without_fetching() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.store.seed(URL, &jwks_document(&[&key]), T0 - 100);
    s.cache.key(URL, "k1").await.unwrap();
    assert_eq!(s.fetcher.count(), 0);
    assert_eq!(s.cache.stats().store_reads, 1);
}

#[tokio::test]
async fn memory_rereads_the_table_after_its_ttl_and_sees_rotation() {
    let s = setup();
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    s.store.seed(URL, &jwks_document(&[&old]), T0);
    s.cache.key(URL, "old").await.unwrap();
    // jwks-refresh stores a rotated set; memory still has the old one until its TTL passes.
    s.store.seed(URL, &jwks_document(&[&new]), T0 + 10);
    s.clock.advance(299);
    s.cache.key(URL, "old").await.unwrap();
    assert_eq!(s.cache.stats().store_reads, 1);
    s.clock.advance(1);
    assert!(s.cache.key(URL, "new").await.is_ok());
    assert_eq!(s.cache.stats().store_reads, 2);
    assert_eq!(s.fetcher.count(), 0);
}

#[tokio::test]
async fn an_unknown_kid_rechecks_the_table_before_fetching() {
    let s = setup();
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    s.store.seed(URL, &jwks_document(&[&old]), T0);
    s.cache.key(URL, "old").await.unwrap();
    // Another environment fetched the rotated set 61 s later.
    s.store.seed(URL, &jwks_document(&[&old, &new]), T0 + 61);
    s.clock.advance(61);
    assert!(s.cache.key(URL, "new").await.is_ok());
    assert_eq!(s.fetcher.count(), 0);
}

#[tokio::test]
async fn key_rotation_is_picked_up_by_one_fetch() {
    let s = setup();
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    s.fetcher.serve(URL, &jwks_document(&[&old]));
    s.cache.key(URL, "old").await.unwrap();
    assert_eq!(s.fetcher.count(), 1);
    // Entra rotates: the new key appears, the old one is withdrawn.
    s.fetcher.serve(URL, &jwks_document(&[&new]));
    s.clock.advance(60);
    assert_eq!(s.cache.key(URL, "new").await.unwrap().kid(), "new");
    assert_eq!(s.fetcher.count(), 2);
    assert!(matches!(
        s.cache.key(URL, "old").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    // Within the cooldown a kid that just appeared cannot be seen yet, after it one fetch finds it.
    let newer = TestKey::rsa("newer");
    s.fetcher.serve(URL, &jwks_document(&[&new, &newer]));
    s.clock.advance(1);
    assert!(matches!(
        s.cache.key(URL, "newer").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    s.clock.advance(60);
    assert!(s.cache.key(URL, "newer").await.is_ok());
    assert_eq!(s.fetcher.count(), 3);
}

#[tokio::test]
async fn a_random_kid_flood_costs_a_handful_of_fetches() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    let before = s.cache.stats();
    for i in 0..40 {
        let kid = format!("random-{i}-{}", uuid::Uuid::new_v4());
        assert!(matches!(
            s.cache.key(URL, &kid).await,
            Err(KeyLookupError::UnknownKid { .. })
        ));
        // Spread over 40 seconds, inside one cooldown.
        s.clock.advance(1);
    }
    let after = s.cache.stats();
    assert!(after.fetches - before.fetches <= 1, "{before:?} -> {after:?}");
    assert!(after.store_reads - before.store_reads <= 1, "{before:?} -> {after:?}");
    // The same kid again is answered from the negative cache.
    s.cache.key(URL, "k1").await.unwrap();
    // Over ten minutes of flood: one fetch per cooldown at most.
    for i in 0..600 {
        let _ = s.cache.key(URL, &format!("flood-{i}")).await;
        s.clock.advance(1);
    }
    let later = s.cache.stats();
    assert!(later.fetches - after.fetches <= 11, "{after:?} -> {later:?}");
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.fetcher.delay(Duration::from_millis(100));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let cache = s.cache.clone();
        tasks.push(tokio::spawn(async move {
            let kid = if i % 2 == 0 { "k1".to_owned() } else { format!("x{i}") };
            cache.key(URL, &kid).await.is_ok()
        }));
    }
    let mut found = 0;
    for task in tasks {
        if task.await.unwrap() {
            found += 1;
        }
    }
    assert_eq!(found, 10);
    assert_eq!(s.fetcher.count(), 1);
}

#[tokio::test]
async fn when_the_url_is_down_cached_keys_still_validate() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    s.fetcher
        .answer(URL, Err(JwksFetchError::Connect("connection refused".into())));
    s.clock.advance(120);
    let err = s.cache.key(URL, "rotated").await.unwrap_err();
    match err {
        KeyLookupError::Unavailable { reason, .. } => assert!(reason.contains("connection refused"), "{reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(s.cache.key(URL, "k1").await.is_ok());
    let stored = s.store.entry(URL).unwrap();
    assert!(stored.last_failure.unwrap().contains("connection refused"));
    assert!(stored.document.is_some(), "the last good document stays");
}

#[tokio::test]
async fn malformed_or_empty_answers_keep_the_last_good_set() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    for bad in [
        "{not json",
        r#"{"keys":[]}"#,
        r#"{"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]}"#,
    ] {
        s.fetcher.serve(URL, bad);
        s.clock.advance(61);
        assert!(matches!(
            s.cache.key(URL, "other").await,
            Err(KeyLookupError::Unavailable { .. })
        ));
        assert!(s.cache.key(URL, "k1").await.is_ok(), "{bad}");
    }
}

#[tokio::test]
async fn nothing_cached_and_fetch_failing_is_unavailable_and_the_cooldown_is_shared() {
    let s = setup();
    s.fetcher.answer(URL, Err(JwksFetchError::Status(500)));
    assert!(matches!(
        s.cache.key(URL, "k1").await,
        Err(KeyLookupError::Unavailable { .. })
    ));
    assert_eq!(s.fetcher.count(), 1);
    // A second environment within the cooldown sees the recorded attempt and does not fetch.
    let other = environment(&s.store, &s.fetcher, &s.clock);
    s.clock.advance(30);
    assert!(matches!(
        other.key(URL, "k1").await,
        Err(KeyLookupError::Unavailable { .. })
    ));
    assert_eq!(s.fetcher.count(), 1);
    // After the cooldown, one of them fetches again and the recovery reaches the other via the table.
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.clock.advance(31);
    assert!(s.cache.key(URL, "k1").await.is_ok());
    assert_eq!(s.fetcher.count(), 2);
    s.clock.advance(300);
    assert!(other.key(URL, "k1").await.is_ok());
    assert_eq!(s.fetcher.count(), 2);
}

#[tokio::test]
async fn not_modified_keeps_the_set_and_counts_as_success() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.answer(
        URL,
        Ok(JwksFetchOutcome::Fresh {
            body: jwks_document(&[&key]),
            etag: Some("\"v1\"".into()),
            max_age: Some(3600),
        }),
    );
    s.cache.key(URL, "k1").await.unwrap();
    s.fetcher
        .answer(URL, Ok(JwksFetchOutcome::NotModified { max_age: None }));
    s.clock.advance(61);
    assert!(matches!(
        s.cache.key(URL, "k2").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    assert!(s.cache.key(URL, "k1").await.is_ok());
    let stored = s.store.get_jwks(URL).await.unwrap().unwrap();
    assert_eq!(stored.etag.as_deref(), Some("\"v1\""));
    assert_eq!(stored.fetched_at, Some(T0 + 61));
}

#[tokio::test]
async fn a_keys_table_outage_does_not_stop_validation() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.store.fail(true);
    // Cold and the table is down: the URL still answers.
    assert!(s.cache.key(URL, "k1").await.is_ok());
    s.clock.advance(301);
    assert!(s.cache.key(URL, "k1").await.is_ok());
    assert_eq!(s.fetcher.count(), 1);
}

#[tokio::test]
async fn very_old_sets_are_refreshed_as_a_backstop() {
    let s = setup();
    let old = TestKey::rsa("old");
    s.store.seed(URL, &jwks_document(&[&old]), T0 - 7 * 3600);
    let new = TestKey::rsa("new");
    s.fetcher.serve(URL, &jwks_document(&[&new]));
    // The stored set is 7 h old and the refresher has stopped: the withdrawn key is no longer trusted.
    assert!(matches!(
        s.cache.key(URL, "old").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    assert!(s.cache.key(URL, "new").await.is_ok());
    assert_eq!(s.fetcher.count(), 1);
}
