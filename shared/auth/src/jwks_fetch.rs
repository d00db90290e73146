//! One fetch-and-store round for one JWKS URL, the only place that does it. The token endpoint's
//! [`crate::jwks_cache::JwksCache`] runs it for an unknown kid (and for the age backstop); the scheduled
//! `jwks-refresh` function runs it for every registered URL.
//!
//! A round fetches (conditionally, with the ETag of the document the caller holds), treats 304 as "the held
//! document is current", parses, and records the outcome in the Keys table: a new set with at least one usable key
//! replaces the stored document; anything else (transport error, bad status, malformed JSON, no usable key, a 304
//! to an unconditional request) is recorded as a failure and the last good document stays.

use crate::jwks::JwkSet;
use crate::ports::{JwksFetchOutcome, JwksFetcher, KeyStore, StoreUnavailable, StoredJwks};

/// The last good document the caller holds for the URL: what a 304 confirms and what a failure keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldDocument<'a> {
    pub document: &'a str,
    pub etag: Option<&'a str>,
}

impl<'a> HeldDocument<'a> {
    /// The document of a Keys table entry, if a fetch ever succeeded.
    pub fn of(entry: &'a StoredJwks) -> Option<Self> {
        Some(Self {
            document: entry.document.as_deref()?,
            etag: entry.etag.as_deref(),
        })
    }
}

/// What the fetch brought.
#[derive(Debug)]
pub enum Fetched {
    /// A new document with at least one usable key.
    Updated {
        set: JwkSet,
        document: String,
        etag: Option<String>,
    },
    /// The server confirmed the held document (304).
    Unchanged,
    /// Nothing usable came back; the held document stays.
    Failed { reason: String },
}

/// One round: what was fetched, and whether the Keys table took the outcome (the caller decides how much a lost
/// write matters: the cache keeps serving from memory, the refresher reports the URL as failed).
#[derive(Debug)]
pub struct FetchRound {
    pub fetched: Fetched,
    pub recorded: Result<(), StoreUnavailable>,
}

/// Fetches `jwks_uri` at `now` and records the outcome in `store`.
pub async fn fetch_and_store(
    fetcher: &dyn JwksFetcher,
    store: &dyn KeyStore,
    jwks_uri: &str,
    held: Option<HeldDocument<'_>>,
    now: i64,
) -> FetchRound {
    // Without a document to fall back on, a conditional request could only be answered usefully with 200.
    let etag = held.and_then(|held| held.etag);
    match (fetcher.fetch(jwks_uri, etag).await, held) {
        (Ok(JwksFetchOutcome::Fresh { body, etag, .. }), _) => match parse(jwks_uri, &body) {
            Ok(set) => FetchRound {
                recorded: store
                    .put_jwks(&fetched_entry(jwks_uri, &body, etag.as_deref(), now))
                    .await,
                fetched: Fetched::Updated {
                    set,
                    document: body,
                    etag,
                },
            },
            Err(reason) => failed(store, jwks_uri, reason, now).await,
        },
        (Ok(JwksFetchOutcome::NotModified { .. }), Some(held)) => FetchRound {
            recorded: store
                .put_jwks(&fetched_entry(jwks_uri, held.document, held.etag, now))
                .await,
            fetched: Fetched::Unchanged,
        },
        (Ok(JwksFetchOutcome::NotModified { .. }), None) => {
            let reason = "JWKS server answered 304 to an unconditional request".to_owned();
            failed(store, jwks_uri, reason, now).await
        }
        (Err(err), _) => failed(store, jwks_uri, err.to_string(), now).await,
    }
}

async fn failed(store: &dyn KeyStore, jwks_uri: &str, reason: String, now: i64) -> FetchRound {
    FetchRound {
        recorded: store.record_fetch_failure(jwks_uri, now, &reason).await,
        fetched: Fetched::Failed { reason },
    }
}

/// A set with at least one usable key, or why there is none.
fn parse(jwks_uri: &str, body: &str) -> Result<JwkSet, String> {
    match JwkSet::parse(body) {
        Ok(set) if !set.is_empty() => {
            if !set.skipped().is_empty() {
                tracing::info!(jwks_uri, skipped = ?set.skipped(), "JWKS keys skipped");
            }
            Ok(set)
        }
        Ok(set) => Err(format!(
            "JWKS has no usable signing key (skipped: {})",
            set.skipped().join("; ")
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// The Keys table entry of a successful round (a new document, or the held one confirmed by a 304).
fn fetched_entry(jwks_uri: &str, document: &str, etag: Option<&str>, now: i64) -> StoredJwks {
    StoredJwks {
        jwks_uri: jwks_uri.to_owned(),
        document: Some(document.to_owned()),
        fetched_at: Some(now),
        etag: etag.map(str::to_owned),
        last_attempt_at: Some(now),
        last_failure: None,
        last_failure_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{InMemoryKeyStore, StaticJwksFetcher, TestKey, jwks_document};

    const URL: &str = "https://login.microsoftonline.com/t/discovery/v2.0/keys";

    #[tokio::test]
    async fn each_outcome_is_recorded_once_and_a_failure_keeps_the_document() {
        let store = InMemoryKeyStore::default();
        let fetcher = StaticJwksFetcher::default();
        let good = jwks_document(&[&TestKey::rsa("k1")]);
        fetcher.serve(URL, &good);
        let round = fetch_and_store(&fetcher, &store, URL, None, 100).await;
        assert!(matches!(round.fetched, Fetched::Updated { ref set, .. } if set.len() == 1));
        assert_eq!(round.recorded, Ok(()));
        assert_eq!(store.entry(URL).and_then(|e| e.fetched_at), Some(100));

        fetcher.answer(URL, Ok(JwksFetchOutcome::NotModified { max_age: None }));
        let entry = store.entry(URL).unwrap_or_else(|| panic!("stored"));
        let round = fetch_and_store(&fetcher, &store, URL, HeldDocument::of(&entry), 200).await;
        assert!(matches!(round.fetched, Fetched::Unchanged));
        assert_eq!(store.entry(URL).and_then(|e| e.fetched_at), Some(200));

        // A 304 to a request that named no ETag cannot confirm anything.
        let round = fetch_and_store(&fetcher, &store, URL, None, 300).await;
        assert!(matches!(round.fetched, Fetched::Failed { ref reason } if reason.contains("unconditional")));
        fetcher.serve(URL, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#);
        let round = fetch_and_store(&fetcher, &store, URL, HeldDocument::of(&entry), 400).await;
        assert!(matches!(round.fetched, Fetched::Failed { ref reason } if reason.contains("no usable signing key")));
        let stored = store.entry(URL).unwrap_or_else(|| panic!("stored"));
        assert_eq!((stored.fetched_at, stored.last_failure_at), (Some(200), Some(400)));
        assert_eq!(
            stored.document.as_deref(),
            Some(good.as_str()),
            "the last good document stays"
        );

        store.fail(true);
        let round = fetch_and_store(&fetcher, &store, URL, None, 500).await;
        assert!(round.recorded.is_err());
    }
}
