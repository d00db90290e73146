//! HTTP to the SCIM endpoint: bearer token with renewal after a 401, Retry-After on 429, an optional request
//! rate cap, and per-kind request counters for the cycle report.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Result, SimError};
use crate::token_client::{TokenSource, truncate};

/// Entra gives up on a request after 60 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_429_RETRIES: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

pub struct ScimResponse {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

impl ScimResponse {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The SCIM error `detail` (or the raw body) for error reports.
    pub fn detail(&self) -> String {
        self.json()
            .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| truncate(&self.body))
    }
}

/// Spaces requests evenly to stay under a requests-per-second ceiling (Entra sustains about 25/s per job).
struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    async fn acquire(&self) {
        let wait_until = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    tokens: TokenSource,
    limiter: Option<RateLimiter>,
    /// Bounds requests in flight across the whole cycle, however the engine nests its work.
    permits: tokio::sync::Semaphore,
    requests: AtomicU64,
    by_kind: Mutex<BTreeMap<&'static str, u64>>,
}

impl ScimClient {
    pub fn new(
        scim_url: &str,
        tokens: TokenSource,
        concurrency: usize,
        max_requests_per_second: Option<f64>,
        timeout: Duration,
    ) -> Result<Self> {
        if concurrency == 0 {
            return Err(SimError::InvalidArgument("concurrency must be at least 1".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| SimError::http(scim_url, e))?;
        let limiter = match max_requests_per_second {
            Some(rps) if rps > 0.0 && rps.is_finite() => Some(RateLimiter {
                interval: Duration::from_secs_f64(1.0 / rps),
                next: tokio::sync::Mutex::new(Instant::now()),
            }),
            Some(rps) => {
                return Err(SimError::InvalidArgument(format!(
                    "requests per second must be > 0, got {rps}"
                )));
            }
            None => None,
        };
        Ok(ScimClient {
            http,
            base: scim_url.trim_end_matches('/').to_string(),
            tokens,
            limiter,
            permits: tokio::sync::Semaphore::new(concurrency),
            requests: AtomicU64::new(0),
            by_kind: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn requests_by_kind(&self) -> BTreeMap<String, u64> {
        let guard = match self.by_kind.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn count(&self, kind: &'static str) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut guard = match self.by_kind.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard.entry(kind).or_insert(0) += 1;
    }

    /// Sends one request. `path_and_query` starts with `/` and is appended to the SCIM base URL. `kind` names the
    /// request in the report (e.g. "GET /Users?filter=userName").
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
        kind: &'static str,
    ) -> Result<ScimResponse> {
        let url = format!("{}{}", self.base, path_and_query);
        // The semaphore is never closed, so acquiring only fails if it were; treat that as "no limit".
        let _permit = self.permits.acquire().await.ok();
        let mut token = self.tokens.token().await?;
        let mut renewed = false;
        let mut throttled = 0;
        loop {
            if let Some(l) = &self.limiter {
                l.acquire().await;
            }
            self.count(kind);
            let mut req = self.http.request(method.clone(), &url).bearer_auth(&token);
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/scim+json")
                    .body(b.to_string());
            }
            let resp = req.send().await.map_err(|e| SimError::http(&url, e))?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = resp.text().await.map_err(|e| SimError::http(&url, e))?;
            if status == 401 && !renewed {
                // The token expired or was revoked mid-cycle: Entra fetches a new one and retries once.
                token = self.tokens.renew(&token).await?;
                renewed = true;
                continue;
            }
            if status == 429 && throttled < MAX_429_RETRIES {
                throttled += 1;
                let wait = retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_RETRY_AFTER);
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(ScimResponse {
                status,
                body: text,
                content_type,
            });
        }
    }
}
