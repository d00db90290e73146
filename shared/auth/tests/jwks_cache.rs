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
    // Within the cooldown a kid that just appeared cannot be fetched yet: "retry later", never "unknown". Once
    // the cooldown allows, one fetch finds it.
    let newer = TestKey::rsa("newer");
    s.fetcher.serve(URL, &jwks_document(&[&new, &newer]));
    s.clock.advance(1);
    assert!(matches!(
        s.cache.key(URL, "newer").await,
        Err(KeyLookupError::NotYetChecked {
            retry_after_seconds: 59,
            ..
        })
    ));
    s.clock.advance(59);
    assert!(s.cache.key(URL, "newer").await.is_ok());
    assert_eq!(s.fetcher.count(), 3);
}

#[tokio::test]
async fn a_random_kid_flood_costs_one_fetch_per_cooldown() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    let before = s.cache.stats();
    let mut answers = std::collections::BTreeMap::<&str, u64>::new();
    // Ten minutes of a new random kid every second, then each of them asked for again.
    let mut kids = Vec::new();
    for i in 0..600 {
        let kid = format!("random-{i}-{}", uuid::Uuid::new_v4());
        let answer = match s.cache.key(URL, &kid).await {
            Err(KeyLookupError::NotYetChecked { .. }) => "503 not yet checked",
            Err(KeyLookupError::UnknownKid { .. }) => "401 unknown",
            other => panic!("{kid}: {other:?}"),
        };
        *answers.entry(answer).or_default() += 1;
        kids.push(kid);
        s.clock.advance(1);
    }
    let flood = s.cache.stats();
    // Fetches were allowed at +60 s, +120 s, ... +540 s: nine, one per cooldown, each answering its own kid.
    assert_eq!(flood.fetches - before.fetches, 9, "{before:?} -> {flood:?}");
    assert_eq!(answers.get("401 unknown"), Some(&9), "{answers:?}");
    assert_eq!(answers.get("503 not yet checked"), Some(&591), "{answers:?}");
    assert!(flood.store_reads - before.store_reads <= 11, "{before:?} -> {flood:?}");
    // Asked again at +600 s: the first request may fetch again (the cooldown allows it), which answers every kid
    // of the flood; all of them are then negatively cached, 401 without another lookup.
    for kid in &kids {
        assert!(matches!(
            s.cache.key(URL, kid).await,
            Err(KeyLookupError::UnknownKid { .. })
        ));
    }
    let again = s.cache.stats();
    assert_eq!(again.fetches - flood.fetches, 1, "{flood:?} -> {again:?}");
    assert!(again.store_reads - flood.store_reads <= 1, "{flood:?} -> {again:?}");
    // The known key never stopped working.
    s.cache.key(URL, "k1").await.unwrap();
    println!(
        "flood: 600 random kids over 600 s cost {} JWKS fetches and {} Keys table reads; answers {answers:?}",
        flood.fetches - before.fetches,
        flood.store_reads - before.store_reads
    );
}

/// Entra publishes a key and signs with it seconds after someone else's unknown-kid fetch: the new kid waits for
/// the cooldown (503 with the seconds left), then one fetch finds it. Never a 401.
#[tokio::test]
async fn a_key_used_right_after_an_unrelated_fetch_waits_for_the_cooldown() {
    let s = setup();
    let old = TestKey::rsa("old");
    s.fetcher.serve(URL, &jwks_document(&[&old]));
    s.cache.key(URL, "old").await.unwrap();
    s.clock.advance(60);
    // Someone else's unknown kid uses up the cooldown's fetch.
    assert!(matches!(
        s.cache.key(URL, "bogus").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    assert_eq!(s.fetcher.count(), 2);
    // Three seconds later Entra publishes a new key and signs with it at once.
    let new = TestKey::rsa("new");
    s.fetcher.serve(URL, &jwks_document(&[&old, &new]));
    for (advance, left) in [(3, 57), (20, 37), (36, 1)] {
        s.clock.advance(advance);
        match s.cache.key(URL, "new").await {
            Err(KeyLookupError::NotYetChecked {
                retry_after_seconds, ..
            }) => assert_eq!(retry_after_seconds, left),
            other => panic!("expected NotYetChecked, got {other:?}"),
        }
    }
    assert_eq!(s.fetcher.count(), 2, "no fetch inside the cooldown");
    s.clock.advance(1);
    assert_eq!(s.cache.key(URL, "new").await.unwrap().kid(), "new");
    assert_eq!(s.fetcher.count(), 3);
    // The unrelated kid was checked by that fetch too (it was seen before it) and stays unknown.
    assert!(matches!(
        s.cache.key(URL, "bogus").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    assert_eq!(s.fetcher.count(), 3);
    println!(
        "rotation inside the cooldown: the new kid cost 1 JWKS fetch (3 in all, with the warm-up and the unrelated kid)"
    );
}

/// A kid seen in one environment is answered by a set another environment fetched later (read from the Keys table),
/// but not by one fetched in the same second or earlier.
#[tokio::test]
async fn a_set_fetched_elsewhere_counts_only_if_fetched_after_the_first_sighting() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    let other = environment(&s.store, &s.fetcher, &s.clock);
    other.key(URL, "k1").await.unwrap();
    assert_eq!(s.fetcher.count(), 1);
    // `other` fetches at +60 s for a kid of its own; the same second, `s` first sees "fresh".
    s.clock.advance(60);
    assert!(other.key(URL, "elsewhere").await.is_err());
    assert_eq!(s.fetcher.count(), 2);
    assert!(matches!(
        s.cache.key(URL, "fresh").await,
        Err(KeyLookupError::NotYetChecked { .. })
    ));
    // `other` fetches again 60 s later: that set was fetched after the sighting and lacks the kid.
    s.clock.advance(60);
    assert!(other.key(URL, "elsewhere-2").await.is_err());
    assert_eq!(s.fetcher.count(), 3);
    s.clock.advance(1);
    assert!(matches!(
        s.cache.key(URL, "fresh").await,
        Err(KeyLookupError::UnknownKid { .. })
    ));
    assert_eq!(
        s.fetcher.count(),
        3,
        "answered from the Keys table, inside the shared cooldown"
    );
}

/// 200 random kids at once, when the cooldown allows a fetch: one fetch, whose own kid is unknown (401); every
/// other kid arrived after that fetch began and waits for the next one (503).
#[tokio::test]
async fn a_concurrent_flood_shares_one_fetch() {
    let s = setup();
    let key = TestKey::rsa("k1");
    s.fetcher.serve(URL, &jwks_document(&[&key]));
    s.cache.key(URL, "k1").await.unwrap();
    s.clock.advance(60);
    s.fetcher.delay(Duration::from_millis(50));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let cache = s.cache.clone();
            tokio::spawn(async move { cache.key(URL, &format!("burst-{i}")).await.err() })
        })
        .collect();
    let (mut unknown, mut unchecked) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Some(KeyLookupError::UnknownKid { .. }) => unknown += 1,
            Some(KeyLookupError::NotYetChecked { .. }) => unchecked += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((unknown, unchecked), (1, 199));
    assert_eq!(s.fetcher.count(), 2);
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
