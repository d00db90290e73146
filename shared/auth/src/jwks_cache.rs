//! The three-level JWKS cache (DESIGN §5): memory (this Lambda environment) → [`KeyStore`] (the Keys table shared
//! by every environment and kept fresh by `jwks-refresh`) → [`JwksFetcher`] (the issuer's JWKS URL).
//!
//! - A known kid is answered from memory; memory re-reads the Keys table once `memory_ttl` has passed, so a key
//!   the refresher added (or removed) reaches every environment within that time without any fetch.
//! - An unknown kid first re-reads the Keys table (another environment may already have fetched the rotated set),
//!   then refetches the URL. Fetches of one URL are single-flight (one async lock per URL) and happen at most once
//!   per `refetch_cooldown`, counting failures too; the cooldown is shared across environments through
//!   `StoredJwks::last_attempt_at`. Kids that were still not found are negatively cached for the cooldown, so a
//!   flood of random kids costs one fetch per cooldown, not one per request.
//! - A fetch that fails, returns malformed JSON or a set without a single usable key never replaces the last good
//!   set: cached keys keep validating while the URL is down.
//! - A kid that is not in the set is [`KeyLookupError::UnknownKid`] (a client error) when the latest fetch attempt
//!   succeeded; when it failed, or no set was ever obtained, the answer is [`KeyLookupError::Unavailable`] (503):
//!   we cannot tell a rotated key from a bogus one while the issuer is unreachable.
//! - Cache-Control `max-age` is not used to expire keys: a key stays trusted while it is in the issuer's set, and
//!   freshness comes from the refresher, the memory TTL and the `max_document_age` backstop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wif_common::Clock;

use crate::jwks::{JwkSet, VerifyingKey};
use crate::jwks_fetch::{Fetched, HeldDocument, fetch_and_store};
use crate::ports::{JwksFetcher, KeyStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksCacheSettings {
    /// `WIF_JWKS_MEMORY_TTL_SECONDS`.
    pub memory_ttl_seconds: i64,
    /// `WIF_JWKS_REFETCH_COOLDOWN_SECONDS`.
    pub refetch_cooldown_seconds: i64,
    /// A cached set older than this is refetched on use (cooldown permitting), as a backstop should the scheduled
    /// refresher stop: a key Entra withdrew must not stay trusted forever.
    pub max_document_age_seconds: i64,
}

impl Default for JwksCacheSettings {
    fn default() -> Self {
        Self {
            memory_ttl_seconds: 300,
            refetch_cooldown_seconds: 60,
            max_document_age_seconds: 6 * 3600,
        }
    }
}

/// Bound on negatively cached kids per URL, so a flood cannot grow memory without limit.
const MAX_MISSING_KIDS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLookupError {
    #[error("signing key {kid} is not in the JWKS at {jwks_uri}")]
    UnknownKid { kid: String, jwks_uri: String },
    #[error("no usable JWKS for {jwks_uri}: {reason}")]
    Unavailable { jwks_uri: String, reason: String },
}

/// How often each level was consulted (for tests and metrics).
#[derive(Debug, Default)]
pub struct CacheCounters {
    fetches: AtomicU64,
    store_reads: AtomicU64,
    store_writes: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub fetches: u64,
    pub store_reads: u64,
    pub store_writes: u64,
}

#[derive(Default)]
struct UrlState {
    keys: Option<Arc<JwkSet>>,
    document: Option<String>,
    etag: Option<String>,
    /// When the current document was fetched (by anyone).
    fetched_at: Option<i64>,
    /// When the Keys table was last read for this URL.
    store_read_at: Option<i64>,
    /// The latest fetch attempt by any environment (success or failure).
    last_attempt_at: Option<i64>,
    /// The reason if the latest attempt failed.
    last_failure: Option<String>,
    /// Kids not found, with the instant until which they stay "not found" without another lookup.
    missing: HashMap<String, i64>,
}

impl UrlState {
    fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.as_ref().and_then(|keys| keys.get_shared(kid))
    }
}

pub struct JwksCache {
    store: Arc<dyn KeyStore>,
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    settings: JwksCacheSettings,
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<UrlState>>>>,
    counters: CacheCounters,
}

impl JwksCache {
    pub fn new(
        store: Arc<dyn KeyStore>,
        fetcher: Arc<dyn JwksFetcher>,
        clock: Arc<dyn Clock>,
        settings: JwksCacheSettings,
    ) -> Self {
        Self {
            store,
            fetcher,
            clock,
            settings,
            slots: std::sync::Mutex::new(HashMap::new()),
            counters: CacheCounters::default(),
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            fetches: self.counters.fetches.load(Ordering::Relaxed),
            store_reads: self.counters.store_reads.load(Ordering::Relaxed),
            store_writes: self.counters.store_writes.load(Ordering::Relaxed),
        }
    }

    fn slot(&self, jwks_uri: &str) -> Arc<tokio::sync::Mutex<UrlState>> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Look up before inserting: the hot path must not allocate the URL string on every request.
        if let Some(slot) = slots.get(jwks_uri) {
            return slot.clone();
        }
        slots.entry(jwks_uri.to_owned()).or_default().clone()
    }

    /// The key `kid` of the JWKS at `jwks_uri`.
    pub async fn key(&self, jwks_uri: &str, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let slot = self.slot(jwks_uri);
        // Held across store reads and fetches: this is what makes refetching single-flight per URL.
        let mut state = slot.lock().await;
        let now = self.clock.now_unix();
        let memory_stale = state
            .store_read_at
            .is_none_or(|read_at| now - read_at >= self.settings.memory_ttl_seconds);
        if memory_stale {
            self.load_from_store(&mut state, jwks_uri, now).await;
        }
        if let Some(key) = state.find(kid) {
            let too_old = state
                .fetched_at
                .is_some_and(|fetched| now - fetched >= self.settings.max_document_age_seconds);
            if too_old && self.may_fetch(&state, now) {
                self.refetch(&mut state, jwks_uri, now).await;
                // A failed backstop refresh keeps the old set, so the key is still there; a successful one that
                // dropped the key means Entra withdrew it.
                return state
                    .find(kid)
                    .ok_or_else(|| self.not_found(&mut state, jwks_uri, kid, now));
            }
            return Ok(key);
        }
        if state.missing.get(kid).is_some_and(|until| *until > now) {
            return Err(self.describe_missing(&state, jwks_uri, kid));
        }
        // Another environment may have fetched the rotated set already; asking the table is cheaper than the
        // issuer, but still rate-limited like fetches so random kids cannot turn into a read flood either.
        let recheck = !memory_stale
            && state
                .store_read_at
                .is_none_or(|read_at| now - read_at >= self.settings.refetch_cooldown_seconds);
        if recheck {
            self.load_from_store(&mut state, jwks_uri, now).await;
            if let Some(key) = state.find(kid) {
                return Ok(key);
            }
        }
        if self.may_fetch(&state, now) {
            self.refetch(&mut state, jwks_uri, now).await;
            if let Some(key) = state.find(kid) {
                return Ok(key);
            }
        }
        Err(self.not_found(&mut state, jwks_uri, kid, now))
    }

    fn may_fetch(&self, state: &UrlState, now: i64) -> bool {
        state
            .last_attempt_at
            .is_none_or(|attempt| now - attempt >= self.settings.refetch_cooldown_seconds)
    }

    fn not_found(&self, state: &mut UrlState, jwks_uri: &str, kid: &str, now: i64) -> KeyLookupError {
        if state.missing.len() >= MAX_MISSING_KIDS {
            state.missing.retain(|_, until| *until > now);
            if state.missing.len() >= MAX_MISSING_KIDS {
                state.missing.clear();
            }
        }
        // Until the next fetch may happen, asking again cannot change the answer.
        let until = state.last_attempt_at.unwrap_or(now) + self.settings.refetch_cooldown_seconds;
        state.missing.insert(kid.to_owned(), until.max(now + 1));
        self.describe_missing(state, jwks_uri, kid)
    }

    fn describe_missing(&self, state: &UrlState, jwks_uri: &str, kid: &str) -> KeyLookupError {
        match (&state.keys, &state.last_failure) {
            (Some(_), None) => KeyLookupError::UnknownKid {
                kid: kid.to_owned(),
                jwks_uri: jwks_uri.to_owned(),
            },
            (_, Some(failure)) => KeyLookupError::Unavailable {
                jwks_uri: jwks_uri.to_owned(),
                reason: format!("kid {kid} not cached and the latest JWKS fetch failed: {failure}"),
            },
            (None, None) => KeyLookupError::Unavailable {
                jwks_uri: jwks_uri.to_owned(),
                reason: format!("kid {kid} not cached and no JWKS has been fetched yet"),
            },
        }
    }

    async fn load_from_store(&self, state: &mut UrlState, jwks_uri: &str, now: i64) {
        self.counters.store_reads.fetch_add(1, Ordering::Relaxed);
        // Marked read even when the read fails: an unavailable table is retried after the memory TTL, not on
        // every request (cached keys keep working meanwhile, and an unknown kid still goes to the URL).
        state.store_read_at = Some(now);
        let entry = match self.store.get_jwks(jwks_uri).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(jwks_uri, error = %err, "keys table read failed; using the in-memory JWKS");
                return;
            }
        };
        if entry.last_attempt_at > state.last_attempt_at {
            state.last_attempt_at = entry.last_attempt_at;
            let failed_last = match (entry.last_failure_at, entry.fetched_at) {
                (Some(failed), Some(fetched)) => failed >= fetched,
                (Some(_), None) => true,
                _ => false,
            };
            state.last_failure = if failed_last { entry.last_failure.clone() } else { None };
        }
        let newer = match (entry.fetched_at, state.fetched_at) {
            (Some(stored), Some(ours)) => stored > ours,
            (Some(_), None) => true,
            _ => false,
        };
        if newer || state.keys.is_none() {
            let Some(document) = entry.document else { return };
            match JwkSet::parse(&document) {
                Ok(set) if !set.is_empty() => {
                    state.keys = Some(Arc::new(set));
                    state.document = Some(document);
                    state.etag = entry.etag;
                    state.fetched_at = entry.fetched_at;
                    state.missing.clear();
                }
                Ok(_) => tracing::warn!(jwks_uri, "stored JWKS has no usable key; ignoring it"),
                Err(err) => tracing::warn!(jwks_uri, error = %err, "stored JWKS is unreadable; ignoring it"),
            }
        }
    }

    async fn refetch(&self, state: &mut UrlState, jwks_uri: &str, now: i64) {
        self.counters.fetches.fetch_add(1, Ordering::Relaxed);
        self.counters.store_writes.fetch_add(1, Ordering::Relaxed);
        state.last_attempt_at = Some(now);
        let held = state.document.as_deref().map(|document| HeldDocument {
            document,
            etag: state.etag.as_deref(),
        });
        let round = fetch_and_store(&*self.fetcher, &*self.store, jwks_uri, held, now).await;
        if let Err(err) = &round.recorded {
            tracing::warn!(jwks_uri, error = %err, "could not record the JWKS fetch in the keys table");
        }
        match round.fetched {
            Fetched::Updated { set, document, etag } => {
                state.keys = Some(Arc::new(set));
                state.document = Some(document);
                state.etag = etag;
                state.fetched_at = Some(now);
                state.last_failure = None;
                state.missing.clear();
            }
            Fetched::Unchanged => {
                state.fetched_at = Some(now);
                state.last_failure = None;
            }
            Fetched::Failed { reason } => {
                tracing::warn!(jwks_uri, reason = %reason, "JWKS fetch failed; keeping the last good set");
                state.last_failure = Some(reason);
            }
        }
    }
}
