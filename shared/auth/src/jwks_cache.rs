//! The three-level JWKS cache: memory (this Lambda environment) → [`KeyStore`] (the Keys table shared by every
//! environment and kept fresh by `jwks-refresh`) → [`JwksFetcher`] (the issuer's JWKS URL).
//!
//! - A known kid is answered from memory; memory re-reads the Keys table once `memory_ttl` has passed, so a key
//!   the refresher added (or removed) reaches every environment within that time without any fetch.
//! - An unknown kid first re-reads the Keys table (another environment may already have fetched the rotated set),
//!   then refetches the URL. Fetches of one URL are single-flight (one async lock per URL) and happen at most once
//!   per `refetch_cooldown`, counting failures too; the cooldown is shared across environments through
//!   `StoredJwks::last_attempt_at`. A flood of random kids therefore costs one fetch per cooldown, not one per
//!   request.
//! - Entra may publish a key and sign with it at once. A kid is only declared unknown
//!   ([`KeyLookupError::UnknownKid`], a client error, 401) once a set fetched *after* the kid was first seen lacks
//!   it; such kids are negatively cached until the next fetch is allowed. A kid first seen after the latest fetch,
//!   while the cooldown forbids another, is [`KeyLookupError::NotYetChecked`] (503 with the seconds left in the
//!   cooldown): the next request after that fetches. Time is in whole seconds, so a set fetched in the same second
//!   as a kid's first sighting does not count as fetched after it, unless this environment fetched it for that
//!   very lookup (the URL lock orders the two). A kid withdrawn from a set this environment held is unknown at once.
//! - A fetch that fails, returns malformed JSON or a set without a single usable key never replaces the last good
//!   set: cached keys keep validating while the URL is down. An uncached kid is then [`KeyLookupError::Unavailable`]
//!   (503): we cannot tell a rotated key from a bogus one while the issuer is unreachable.
//! - Cache-Control `max-age` is not used to expire keys: a key stays trusted while it is in the issuer's set, and
//!   freshness comes from the refresher, the memory TTL and the `max_document_age` backstop.
//! - Fetching and storing is [`crate::jwks_fetch::fetch_and_store`], shared with `jwks-refresh`.

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

/// Bound on remembered unknown kids per URL, so a flood cannot grow memory without limit.
const MAX_UNKNOWN_KIDS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLookupError {
    /// Absent from a set fetched after the kid was first seen.
    #[error("signing key {kid} is not in the JWKS at {jwks_uri}")]
    UnknownKid { kid: String, jwks_uri: String },
    /// Not in the set, but the set predates the kid's first sighting and the cooldown forbids a fetch for
    /// `retry_after_seconds` more.
    #[error(
        "signing key {kid} is not in the JWKS at {jwks_uri} as fetched before the kid was first seen; \
         the next fetch is allowed in {retry_after_seconds} s"
    )]
    NotYetChecked {
        kid: String,
        jwks_uri: String,
        retry_after_seconds: u64,
    },
    /// The latest fetch failed, or no set was ever obtained; the next fetch is allowed in `retry_after_seconds`.
    #[error("no usable JWKS for {jwks_uri}: {reason}")]
    Unavailable {
        jwks_uri: String,
        reason: String,
        retry_after_seconds: u64,
    },
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
    /// Kids asked for that the set lacks (at most [`MAX_UNKNOWN_KIDS`]).
    unknown: HashMap<String, Sighting>,
}

/// What is known about a kid the current set lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sighting {
    /// First asked for at `first_seen`, and no set fetched after that has been seen yet: Entra may have just
    /// published it.
    Unchecked { first_seen: i64 },
    /// Absent from a set fetched after it was first seen, or withdrawn from a set this environment held.
    Absent,
}

/// Which unchecked kids a newly taken set answers for.
#[derive(Debug, Clone, Copy)]
enum Checked {
    /// This environment fetched it while holding the URL lock, after every recorded sighting.
    All,
    /// Another environment fetched it at this instant (from the Keys table).
    SeenBefore(i64),
}

impl UrlState {
    fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.as_ref().and_then(|keys| keys.get_shared(kid))
    }

    fn is_absent(&self, kid: &str) -> bool {
        self.unknown.get(kid) == Some(&Sighting::Absent)
    }

    /// Remembers that `kid`, which the set lacks, was asked for at `now` (its first sighting, unless known).
    fn sighted(&mut self, kid: &str, now: i64) {
        if self.unknown.contains_key(kid) {
            return;
        }
        if self.unknown.len() >= MAX_UNKNOWN_KIDS {
            // Forgetting is safe: a forgotten kid counts as new again, which can delay its 401 until the next
            // fetch (503 meanwhile) but never turn a new key into a 401.
            self.unknown.clear();
        }
        self.unknown
            .insert(kid.to_owned(), Sighting::Unchecked { first_seen: now });
    }

    /// Takes a new set with its document. Kids of the previous set that it lacks were withdrawn.
    fn adopt(
        &mut self,
        set: JwkSet,
        document: String,
        etag: Option<String>,
        fetched_at: Option<i64>,
        checked: Checked,
    ) {
        if let Some(previous) = &self.keys {
            for withdrawn in previous.kids().filter(|kid| set.get(kid).is_none()) {
                self.unknown.insert(withdrawn.to_owned(), Sighting::Absent);
            }
        }
        self.unknown.retain(|kid, _| set.get(kid).is_none());
        self.keys = Some(Arc::new(set));
        self.document = Some(document);
        self.etag = etag;
        self.fetched_at = fetched_at;
        self.settle(checked);
    }

    /// Unchecked kids first seen before the current set was fetched are now known to be absent from it.
    fn settle(&mut self, checked: Checked) {
        for sighting in self.unknown.values_mut() {
            if let Sighting::Unchecked { first_seen } = *sighting {
                let answered = match checked {
                    Checked::All => true,
                    Checked::SeenBefore(fetched_at) => first_seen < fetched_at,
                };
                if answered {
                    *sighting = Sighting::Absent;
                }
            }
        }
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
        // Held across store reads and fetches: this is what makes refetching single-flight per URL, and what
        // orders a sighting before the fetch it causes.
        let mut state = slot.lock().await;
        let now = self.clock.now_unix();
        let memory_stale = state
            .store_read_at
            .is_none_or(|read_at| now - read_at >= self.settings.memory_ttl_seconds);
        if memory_stale {
            self.load_from_store(&mut state, jwks_uri, now).await;
        }
        if let Some(key) = state.find(kid) {
            return self.backstop(&mut state, jwks_uri, kid, key, now).await;
        }
        state.sighted(kid, now);
        // Negatively cached: asking again cannot change the answer until the next fetch may happen.
        if state.is_absent(kid) && !self.may_fetch(&state, now) {
            return Err(self.verdict(&state, jwks_uri, kid, now));
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
        Err(self.verdict(&state, jwks_uri, kid, now))
    }

    /// A found key whose set is older than `max_document_age` is refetched first (cooldown permitting), so a
    /// withdrawn key cannot stay trusted forever should the refresher stop.
    async fn backstop(
        &self,
        state: &mut UrlState,
        jwks_uri: &str,
        kid: &str,
        key: Arc<VerifyingKey>,
        now: i64,
    ) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let too_old = state
            .fetched_at
            .is_some_and(|fetched| now - fetched >= self.settings.max_document_age_seconds);
        if !(too_old && self.may_fetch(state, now)) {
            return Ok(key);
        }
        self.refetch(state, jwks_uri, now).await;
        // A failed refresh keeps the old set, so the key is still there; a successful one that dropped the key
        // means Entra withdrew it (and `adopt` marked it absent).
        state.find(kid).ok_or_else(|| self.verdict(state, jwks_uri, kid, now))
    }

    fn may_fetch(&self, state: &UrlState, now: i64) -> bool {
        state
            .last_attempt_at
            .is_none_or(|attempt| now - attempt >= self.settings.refetch_cooldown_seconds)
    }

    /// Seconds until the next fetch of this URL is allowed (at least 1).
    fn cooldown_left(&self, state: &UrlState, now: i64) -> u64 {
        let cooldown = self.settings.refetch_cooldown_seconds;
        let left = state
            .last_attempt_at
            .map_or(cooldown, |attempt| attempt + cooldown - now);
        u64::try_from(left.clamp(1, cooldown.max(1))).unwrap_or(1)
    }

    /// Why `kid` could not be found, after every lookup this request was allowed.
    fn verdict(&self, state: &UrlState, jwks_uri: &str, kid: &str, now: i64) -> KeyLookupError {
        let retry_after_seconds = self.cooldown_left(state, now);
        let unavailable = |reason: String| KeyLookupError::Unavailable {
            jwks_uri: jwks_uri.to_owned(),
            reason,
            retry_after_seconds,
        };
        if let Some(failure) = &state.last_failure {
            return unavailable(format!(
                "kid {kid} not cached and the latest JWKS fetch failed: {failure}"
            ));
        }
        if state.keys.is_none() {
            return unavailable(format!("kid {kid} not cached and no JWKS has been fetched yet"));
        }
        if state.is_absent(kid) {
            KeyLookupError::UnknownKid {
                kid: kid.to_owned(),
                jwks_uri: jwks_uri.to_owned(),
            }
        } else {
            KeyLookupError::NotYetChecked {
                kid: kid.to_owned(),
                jwks_uri: jwks_uri.to_owned(),
                retry_after_seconds,
            }
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
                    let checked = Checked::SeenBefore(entry.fetched_at.unwrap_or(i64::MIN));
                    state.adopt(set, document, entry.etag, entry.fetched_at, checked);
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
                state.adopt(set, document, etag, Some(now), Checked::All);
                state.last_failure = None;
            }
            Fetched::Unchanged => {
                state.fetched_at = Some(now);
                state.last_failure = None;
                state.settle(Checked::All);
            }
            Fetched::Failed { reason } => {
                tracing::warn!(jwks_uri, reason = %reason, "JWKS fetch failed; keeping the last good set");
                state.last_failure = Some(reason);
            }
        }
    }
}
