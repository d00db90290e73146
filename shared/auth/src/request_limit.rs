//! A per-client request limit shared by every Lambda environment through the RateLimits table, cheap enough for
//! every SCIM request: fixed one-minute windows, and each environment adds its hits to the shared counter in
//! batches (the first hit of a window, then every `batch` hits), deciding on the shared count it last saw plus its
//! own hits since. A request therefore costs a counter write once per `batch` requests per environment, and the
//! limit is exceeded by at most `batch - 1` hits per concurrently running environment before every environment
//! refuses.
//!
//! When the counter table is unavailable the limit fails open (the request is served): the limit protects
//! capacity, not data, and a broken counter table must not stop provisioning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ports::RateCounter;

/// The window every limit counts in.
pub const WINDOW_SECONDS: i64 = 60;

/// What the limiter decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: retry after this many seconds (the rest of the window, at least 1).
    Refused {
        retry_after_seconds: u64,
    },
}

/// One environment's view of one key's current window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: i64,
    /// The shared count as of this environment's last addition.
    shared: u64,
    /// Hits of this environment not yet added.
    pending: u64,
}

pub struct RequestLimit {
    counter: Arc<dyn RateCounter>,
    per_minute: u64,
    batch: u64,
    prefix: &'static str,
    windows: Mutex<HashMap<String, Window>>,
}

impl RequestLimit {
    /// `per_minute` 0 disables the limit; `batch` 1 writes the counter on every request.
    pub fn new(counter: Arc<dyn RateCounter>, prefix: &'static str, per_minute: u64, batch: u64) -> Self {
        Self {
            counter,
            per_minute,
            batch: batch.max(1),
            prefix,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(&self) -> u64 {
        self.per_minute
    }

    /// Counts one request of `client` at `now` (unix seconds) and decides.
    pub async fn check(&self, client: &str, now: i64) -> Verdict {
        if self.per_minute == 0 {
            return Verdict::Allowed;
        }
        let start = now - now.rem_euclid(WINDOW_SECONDS);
        let refused = Verdict::Refused {
            retry_after_seconds: u64::try_from(start + WINDOW_SECONDS - now).unwrap_or(1).max(1),
        };
        let to_add = {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            let window = windows.entry(client.to_owned()).or_default();
            if window.start != start {
                *window = Window {
                    start,
                    ..Window::default()
                };
            }
            window.pending += 1;
            if window.shared + window.pending > self.per_minute {
                return refused;
            }
            if window.shared > 0 && window.pending < self.batch {
                return Verdict::Allowed;
            }
            std::mem::take(&mut window.pending)
        };
        let key = format!("{}:{client}", self.prefix);
        match self.counter.add(&key, to_add, start, start + 2 * WINDOW_SECONDS).await {
            Ok(shared) => {
                let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(window) = windows.get_mut(client).filter(|w| w.start == start) {
                    window.shared = window.shared.max(shared);
                }
                if shared > self.per_minute {
                    tracing::info!(key, shared, limit = self.per_minute, "request limit reached");
                    return refused;
                }
                Verdict::Allowed
            }
            Err(err) => {
                tracing::warn!(key, error = %err, "rate counter unavailable; not limiting");
                Verdict::Allowed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::InMemoryRateCounter;

    const NOW: i64 = 1_800_000_000;

    #[tokio::test]
    async fn refuses_above_the_limit_until_the_window_ends() {
        let counter = Arc::new(InMemoryRateCounter::default());
        let limit = RequestLimit::new(counter.clone(), "scim:client", 30, 10);
        for i in 0..30 {
            assert_eq!(limit.check("c1", NOW).await, Verdict::Allowed, "request {i}");
        }
        let start = NOW - NOW.rem_euclid(60);
        assert_eq!(
            limit.check("c1", NOW).await,
            Verdict::Refused {
                retry_after_seconds: u64::try_from(start + 60 - NOW).unwrap()
            }
        );
        assert_eq!(
            limit.check("c2", NOW).await,
            Verdict::Allowed,
            "clients are counted apart"
        );
        assert_eq!(limit.check("c1", start + 60).await, Verdict::Allowed, "a new window");
    }

    #[tokio::test]
    async fn the_counter_is_written_once_per_batch() {
        let counter = Arc::new(InMemoryRateCounter::default());
        let limit = RequestLimit::new(counter.clone(), "scim:client", 1_000, 10);
        let start = NOW - NOW.rem_euclid(60);
        for _ in 0..25 {
            limit.check("c1", NOW).await;
        }
        // The first hit, then 10 and 10 more; 4 hits wait for the next batch.
        assert_eq!(counter.count("scim:client:c1", start), 21);
    }

    #[tokio::test]
    async fn environments_share_the_count() {
        let counter = Arc::new(InMemoryRateCounter::default());
        let environments: Vec<RequestLimit> = (0..4)
            .map(|_| RequestLimit::new(counter.clone(), "scim:client", 100, 5))
            .collect();
        let mut allowed = 0;
        for round in 0..100 {
            if limit_allows(&environments[round % 4]).await {
                allowed += 1;
            }
        }
        // Four environments, batches of 5: at most 4 × 4 hits beyond the limit go unseen.
        assert_eq!(allowed, 100);
        let mut refused = 0;
        for round in 0..100 {
            if !limit_allows(&environments[round % 4]).await {
                refused += 1;
            }
        }
        assert!(refused >= 100 - 4 * 4, "{refused}");
    }

    async fn limit_allows(limit: &RequestLimit) -> bool {
        limit.check("c1", NOW).await == Verdict::Allowed
    }

    #[tokio::test]
    async fn an_unavailable_counter_fails_open() {
        let counter = Arc::new(InMemoryRateCounter::default());
        counter.fail(true);
        let limit = RequestLimit::new(counter, "scim:client", 1, 1);
        for _ in 0..5 {
            assert_eq!(limit.check("c1", NOW).await, Verdict::Allowed);
        }
    }
}
