//! The scheduled JWKS refresher. Every registered JWKS URL is fetched (conditionally, with the stored ETag) and the
//! result written to the Keys table that every token-endpoint environment reads, so key rotations reach all of
//! them without each one fetching. A failed fetch never replaces the last good document; it is recorded (and
//! logged with `jwks_refresh_failed = true`, which the template's metric filter and alarm count). The round itself
//! (fetch, 304, parse, store) is [`wif_auth::jwks_fetch::fetch_and_store`], the token endpoint's path too.
//!
//! Shape as in the other functions: [`RefreshApp`] is built once per environment (`wiring.rs`), [`handle`] runs
//! one scheduled invocation, `main.rs` only wires the two to the Lambda runtime.

pub mod config;
pub mod permissions;
mod wiring;

use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;
use tracing::Instrument;

use wif_auth::jwks_fetch::{Fetched, HeldDocument, fetch_and_store};
use wif_auth::ports::{JwksFetcher, KeyStore};
use wif_common::Clock;
use wif_store::clients::ClientRepository;

/// What the handler needs, built once per Lambda environment.
pub struct RefreshApp {
    pub refresher: Refresher,
    /// Where the registered JWKS URLs come from (the Clients table).
    pub clients: ClientRepository,
}

/// Why a whole run failed (a single URL's failure is part of the report instead).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the registered JWKS URLs could not be listed: {0}")]
    ListUrls(#[from] wif_store::StoreError),
}

/// One scheduled run: every registered JWKS URL, refreshed and reported. Only listing the URLs fails the run, so
/// Lambda counts an error and the event is retried; a URL that fails is logged and reported, not an error.
pub async fn handle(app: &RefreshApp, request_id: &str) -> Result<RefreshReport, RefreshError> {
    let span = tracing::info_span!("refresh", function = "jwks-refresh", request_id);
    async move {
        let uris = app.clients.all_jwks_uris().await?;
        let report = app.refresher.refresh_all(uris).await;
        tracing::info!(
            updated = report.updated,
            unchanged = report.unchanged,
            failed = report.failed,
            "refresh done"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// How many URLs are fetched at once.
pub const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A new document with at least one usable key was stored.
    Updated { keys: usize },
    /// The server confirmed the stored document (304).
    Unchanged,
    /// The fetch failed or the document had no usable key; the last good document stays.
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlReport {
    pub jwks_uri: String,
    #[serde(flatten)]
    pub outcome: RefreshOutcome,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub urls: Vec<UrlReport>,
}

pub struct Refresher {
    pub store: Arc<dyn KeyStore>,
    pub fetcher: Arc<dyn JwksFetcher>,
    pub clock: Arc<dyn Clock>,
}

impl Refresher {
    /// Refreshes one URL. Storage failures are reported as failures of that URL, never a panic or abort.
    pub async fn refresh_one(&self, jwks_uri: &str) -> RefreshOutcome {
        let previous = match self.store.get_jwks(jwks_uri).await {
            Ok(previous) => previous,
            Err(err) => {
                return RefreshOutcome::Failed {
                    reason: err.to_string(),
                };
            }
        };
        let held = previous.as_ref().and_then(HeldDocument::of);
        let round = fetch_and_store(&*self.fetcher, &*self.store, jwks_uri, held, self.clock.now_unix()).await;
        match (round.fetched, round.recorded) {
            (Fetched::Failed { reason }, recorded) => {
                if let Err(err) = recorded {
                    tracing::error!(jwks_uri, error = %err, "could not record the JWKS fetch failure");
                }
                RefreshOutcome::Failed { reason }
            }
            // Every environment reads the Keys table: a set that did not reach it was not refreshed.
            (_, Err(err)) => RefreshOutcome::Failed {
                reason: err.to_string(),
            },
            (Fetched::Updated { set, .. }, Ok(())) => RefreshOutcome::Updated { keys: set.len() },
            (Fetched::Unchanged, Ok(())) => RefreshOutcome::Unchanged,
        }
    }

    /// Refreshes every URL, a few at a time, and logs one line per URL.
    pub async fn refresh_all(&self, jwks_uris: Vec<String>) -> RefreshReport {
        let mut urls: Vec<UrlReport> = futures::stream::iter(jwks_uris)
            .map(|jwks_uri| async move {
                let outcome = self.refresh_one(&jwks_uri).await;
                UrlReport { jwks_uri, outcome }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        urls.sort_by(|a, b| a.jwks_uri.cmp(&b.jwks_uri));
        let mut report = RefreshReport::default();
        for url in &urls {
            match &url.outcome {
                RefreshOutcome::Updated { keys } => {
                    report.updated += 1;
                    tracing::info!(jwks_uri = %url.jwks_uri, keys, "JWKS refreshed");
                }
                RefreshOutcome::Unchanged => {
                    report.unchanged += 1;
                    tracing::info!(jwks_uri = %url.jwks_uri, "JWKS unchanged");
                }
                RefreshOutcome::Failed { reason } => {
                    report.failed += 1;
                    tracing::warn!(jwks_uri = %url.jwks_uri, reason = %reason, jwks_refresh_failed = true, "JWKS refresh failed");
                }
            }
        }
        report.urls = urls;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wif_auth::ports::{JwksFetchError, JwksFetchOutcome};
    use wif_auth::testing::{InMemoryKeyStore, StaticJwksFetcher, TestKey, jwks_document};
    use wif_common::FixedClock;

    fn refresher() -> (Refresher, Arc<InMemoryKeyStore>, Arc<StaticJwksFetcher>) {
        let store = Arc::new(InMemoryKeyStore::default());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        let refresher = Refresher {
            store: store.clone(),
            fetcher: fetcher.clone(),
            clock: Arc::new(FixedClock::at(5_000)),
        };
        (refresher, store, fetcher)
    }

    const A: &str = "https://login.microsoftonline.com/a/discovery/keys";
    const B: &str = "https://login.microsoftonline.com/b/discovery/keys";
    const C: &str = "https://login.microsoftonline.com/c/discovery/keys";

    #[tokio::test]
    async fn refreshes_good_urls_and_keeps_last_good_document_on_failure() {
        let (refresher, store, fetcher) = refresher();
        let key = TestKey::rsa("k1");
        let good = jwks_document(&[&key]);
        fetcher.serve(A, &good);
        store.seed(B, &good, 1_000);
        fetcher.answer(B, Err(JwksFetchError::Status(503)));
        fetcher.serve(C, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#);

        let report = refresher.refresh_all(vec![C.into(), A.into(), B.into()]).await;
        assert_eq!((report.updated, report.unchanged, report.failed), (1, 0, 2));
        assert_eq!(report.urls[0].jwks_uri, A);
        assert_eq!(report.urls[0].outcome, RefreshOutcome::Updated { keys: 1 });

        let a = store.entry(A).unwrap();
        assert_eq!(a.document.as_deref(), Some(good.as_str()));
        assert_eq!(a.fetched_at, Some(5_000));
        let b = store.entry(B).unwrap();
        assert_eq!(b.document.as_deref(), Some(good.as_str()), "last good document kept");
        assert_eq!(b.fetched_at, Some(1_000));
        assert_eq!(b.last_attempt_at, Some(5_000));
        assert!(b.last_failure.unwrap().contains("503"));
        let c = store.entry(C).unwrap();
        assert_eq!(c.document, None, "a set without usable keys is never stored");
        assert!(c.last_failure.unwrap().contains("no usable signing key"));
    }

    #[tokio::test]
    async fn not_modified_renews_the_stored_document() {
        let (refresher, store, fetcher) = refresher();
        let good = jwks_document(&[&TestKey::rsa("k1")]);
        store.seed(A, &good, 1_000);
        fetcher.answer(A, Ok(JwksFetchOutcome::NotModified { max_age: None }));
        let report = refresher.refresh_all(vec![A.into()]).await;
        assert_eq!(report.unchanged, 1);
        let entry = store.entry(A).unwrap();
        assert_eq!(entry.fetched_at, Some(5_000));
        assert_eq!(entry.document.as_deref(), Some(good.as_str()));
    }

    #[tokio::test]
    async fn storage_outage_is_a_reported_failure() {
        let (refresher, store, fetcher) = refresher();
        fetcher.serve(A, &jwks_document(&[&TestKey::rsa("k1")]));
        store.fail(true);
        let report = refresher.refresh_all(vec![A.into()]).await;
        assert_eq!(report.failed, 1);
        assert_eq!(fetcher.count(), 0, "no fetch without being able to record it");
    }
}
