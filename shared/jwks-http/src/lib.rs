//! [`HttpJwksFetcher`]: the network side of the JWKS cache, and of JWKS URL discovery at registration (an issuer's
//! OpenID configuration is fetched under exactly the same rules).
//!
//! Every fetch re-applies the deployment's [`JwksUrlPolicy`] (https, allow-listed host; plain http to loopback
//! only in local development), follows no redirect (a redirect is reported, so an allow-listed host cannot
//! bounce us elsewhere), is bounded by a connect timeout and a total timeout that also covers reading the body,
//! and stops reading as soon as the body exceeds the size cap — a hostile or broken server cannot make us buffer
//! more than `max_bytes`.
//!
//! [`push::HttpSetPoster`] applies the same rules to RFC 8935 pushes, with the push URL policy (any public host)
//! and a resolver that refuses names resolving to private, link-local or loopback addresses.
//!
//! Both build their HTTP client on first use ([`lazy`]), not at construction: a cold start that never fetches
//! never loads the system's root certificates.

pub mod lazy;
pub mod push;

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use wif_auth::ports::{JwksFetchError, JwksFetchOutcome, JwksFetcher};
use wif_auth::url_policy::JwksUrlPolicy;
use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or};

use crate::lazy::LazyClient;

/// `WIF_JWKS_FETCH_TIMEOUT_MS` and `WIF_JWKS_MAX_BYTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// The whole exchange: connect, TLS, headers and body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_bytes: usize,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self::from_timeout(Duration::from_millis(3000), 262_144)
    }
}

impl FetchSettings {
    /// `WIF_JWKS_FETCH_TIMEOUT_MS` (100–30,000, default 3,000) and `WIF_JWKS_MAX_BYTES` (1 KiB–4 MiB, default
    /// 256 KiB), read the same way by every function that fetches a JWKS.
    pub fn from_env(env: &(impl EnvSource + ?Sized)) -> Result<Self, ConfigError> {
        let timeout_ms = bounded_or(env, "WIF_JWKS_FETCH_TIMEOUT_MS", 3000u64, 100, 30_000)?;
        let max_bytes = bounded_or(env, "WIF_JWKS_MAX_BYTES", 262_144usize, 1024, 4 * 1024 * 1024)?;
        Ok(Self::from_timeout(Duration::from_millis(timeout_ms), max_bytes))
    }

    /// Connecting gets at most half of the total budget (but at least 100 ms), so a black-holed address fails
    /// with a connect error rather than an unexplained timeout.
    pub fn from_timeout(timeout: Duration, max_bytes: usize) -> Self {
        Self {
            timeout,
            connect_timeout: (timeout / 2).max(Duration::from_millis(100)).min(timeout),
            max_bytes,
        }
    }
}

/// The fetch policy every outbound client shares: no redirect is followed, connect and total timeouts, no proxy,
/// https only outside local development.
fn client_builder(local_development: bool, settings: &FetchSettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        // The URL policy is the egress policy; an ambient proxy variable must not change where we connect.
        .no_proxy()
        // Belt and braces: outside local development reqwest itself refuses plain http.
        .https_only(!local_development)
}

pub struct HttpJwksFetcher {
    client: LazyClient,
    policy: JwksUrlPolicy,
    settings: FetchSettings,
}

impl HttpJwksFetcher {
    /// The client is built by the first fetch the policy allows; a build failure (no usable root certificate)
    /// is that fetch's transport error, and the next fetch tries again.
    pub fn new(policy: JwksUrlPolicy, settings: FetchSettings) -> Self {
        let local_development = policy.local_development();
        let client = LazyClient::new(move || {
            client_builder(local_development, &settings)
                .user_agent(concat!("wif-jwks-fetcher/", env!("CARGO_PKG_VERSION")))
                .build()
        });
        Self {
            client,
            policy,
            settings,
        }
    }

    pub fn policy(&self) -> &JwksUrlPolicy {
        &self.policy
    }

    /// Whether a fetch has needed (and built) the HTTP client yet.
    pub fn client_built(&self) -> bool {
        self.client.is_built()
    }
}

impl HttpJwksFetcher {
    /// GET `url` under the policy (re-checked on every call), following no redirect: the response of a 200 or
    /// 304, or the error of anything else.
    async fn get(&self, url: &str, etag: Option<&str>) -> Result<reqwest::Response, JwksFetchError> {
        let checked = self
            .policy
            .check(url)
            .map_err(|err| JwksFetchError::Disallowed(format!("{url}: {err}")))?;
        let client = self.client.get().map_err(transport_error)?;
        let mut request = client.get(checked).header(header::ACCEPT, "application/json");
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("(no Location)")
                .chars()
                .take(200)
                .collect();
            return Err(JwksFetchError::Redirect(location));
        }
        if status != reqwest::StatusCode::OK && status != reqwest::StatusCode::NOT_MODIFIED {
            return Err(JwksFetchError::Status(status.as_u16()));
        }
        Ok(response)
    }

    /// The body as UTF-8, read only up to the size cap.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<String, JwksFetchError> {
        let limit = self.settings.max_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(JwksFetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > limit {
                // Dropping the response here closes the connection: nothing more is read.
                return Err(JwksFetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| JwksFetchError::NotUtf8)
    }
}

#[async_trait::async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch(&self, jwks_uri: &str, etag: Option<&str>) -> Result<JwksFetchOutcome, JwksFetchError> {
        let response = self.get(jwks_uri, etag).await?;
        let max_age = max_age(response.headers());
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(JwksFetchOutcome::NotModified { max_age });
        }
        let new_etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(JwksFetchOutcome::Fresh {
            body: self.read_body(response).await?,
            etag: new_etag,
            max_age,
        })
    }

    async fn fetch_openid_configuration(&self, url: &str) -> Result<String, JwksFetchError> {
        let response = self.get(url, None).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            // We sent no ETag: a 304 is a broken server.
            return Err(JwksFetchError::Status(304));
        }
        self.read_body(response).await
    }
}

fn transport_error(err: reqwest::Error) -> JwksFetchError {
    if err.is_timeout() {
        JwksFetchError::Timeout
    } else if err.is_connect() {
        JwksFetchError::Connect(error_chain(&err))
    } else {
        JwksFetchError::Transport(error_chain(&err))
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause says what happened.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `max-age` from Cache-Control (RFC 9111 §5.2.2.1), if present and numeric.
pub fn max_age(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            if name.trim().eq_ignore_ascii_case("max-age") {
                value.trim().trim_matches('"').parse().ok()
            } else {
                None
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn max_age_is_parsed_from_cache_control() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, MAX-AGE=86400, must-revalidate"),
        );
        assert_eq!(max_age(&headers), Some(86_400));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(max_age(&headers), None);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=soon"));
        assert_eq!(max_age(&headers), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn limits_are_read_from_the_environment() {
        assert_eq!(FetchSettings::from_env(&[][..]), Ok(FetchSettings::default()));
        let env: &[(&str, &str)] = &[("WIF_JWKS_FETCH_TIMEOUT_MS", "1000"), ("WIF_JWKS_MAX_BYTES", "2048")];
        let settings = FetchSettings::from_env(env).unwrap();
        assert_eq!(
            (settings.timeout, settings.max_bytes),
            (Duration::from_millis(1000), 2048)
        );
        for (name, value) in [
            ("WIF_JWKS_FETCH_TIMEOUT_MS", "60000"),
            ("WIF_JWKS_FETCH_TIMEOUT_MS", "soon"),
            ("WIF_JWKS_MAX_BYTES", "1"),
        ] {
            assert!(
                matches!(FetchSettings::from_env(&[(name, value)][..]), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn connect_timeout_is_half_the_budget() {
        let settings = FetchSettings::from_timeout(Duration::from_millis(3000), 10);
        assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
        let tiny = FetchSettings::from_timeout(Duration::from_millis(50), 10);
        assert_eq!(tiny.connect_timeout, Duration::from_millis(50));
    }
}
