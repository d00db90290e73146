//! The client side of RFC 7523 §2.2 client authentication, exactly as Entra's provisioning service sends it to
//! an ISV token endpoint, and a token cache that renews when a token expires or the SCIM API answers 401.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{Result, SimError};
use crate::identity::{Identity, TokenVersion};

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The scope Entra requests in its example (our endpoint treats it as `scim.readwrite`).
pub const DEFAULT_SCOPE: &str = "scim";

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    // Access tokens are credentials: never in logs or assertion messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TokenClient {
    http: reqwest::Client,
    token_url: String,
}

impl TokenClient {
    pub fn new(token_url: impl Into<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SimError::http("token client", e))?;
        Ok(TokenClient {
            http,
            token_url: token_url.into(),
        })
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The form body, members in Entra's order. `client_id` is optional in RFC 7523 (our endpoint can find the
    /// registration by issuer and subject), so `None` leaves it out.
    pub fn form_body(client_id: Option<&str>, assertion: &str, scope: &str) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(id) = client_id {
            form.append_pair("client_id", id);
        }
        form.append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE);
        form.append_pair("client_assertion", assertion);
        form.append_pair("scope", scope);
        form.finish()
    }

    /// Exchanges an assertion for an access token. OAuth error answers become [`SimError::OAuth`].
    pub async fn request_token(&self, client_id: Option<&str>, assertion: &str, scope: &str) -> Result<TokenResponse> {
        self.post_form(Self::form_body(client_id, assertion, scope)).await
    }

    /// Posts any form body (for tests of malformed requests) and parses the answer like [`Self::request_token`].
    pub async fn post_form(&self, body: String) -> Result<TokenResponse> {
        let resp = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| SimError::http(&self.token_url, e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| SimError::http(&self.token_url, e))?;
        if status == 200 {
            return serde_json::from_str(&text).map_err(|e| SimError::UnexpectedResponse {
                url: self.token_url.clone(),
                status,
                body: format!("not a token response ({e}): {}", truncate(&text)),
            });
        }
        match serde_json::from_str::<OAuthErrorBody>(&text) {
            Ok(err) => Err(SimError::OAuth {
                status,
                error: err.error,
                description: err.error_description,
            }),
            Err(_) => Err(SimError::UnexpectedResponse {
                url: self.token_url.clone(),
                status,
                body: truncate(&text),
            }),
        }
    }
}

pub(crate) fn truncate(text: &str) -> String {
    const MAX: usize = 500;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Produces a fresh client assertion each time a token is needed (Entra mints a new one per token request).
pub type AssertionMinter = Arc<dyn Fn() -> Result<String> + Send + Sync>;

/// Where SCIM requests get their bearer token.
#[derive(Clone)]
pub enum Credentials {
    /// A token obtained elsewhere (a long-lived secret token, or one printed by `entra-sim token`).
    Static(String),
    /// Entra's WIF flow: mint an assertion, exchange it at the token endpoint, renew when needed.
    ClientAssertion {
        client: TokenClient,
        client_id: Option<String>,
        scope: String,
        minter: AssertionMinter,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Static(_) => f.write_str("Credentials::Static(<redacted>)"),
            Credentials::ClientAssertion {
                client,
                client_id,
                scope,
                ..
            } => f
                .debug_struct("Credentials::ClientAssertion")
                .field("token_url", &client.token_url())
                .field("client_id", client_id)
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

impl Credentials {
    /// The usual WIF setup: assertions from `identity` (a snapshot), exchanged at `token_url`.
    pub fn client_assertion(
        token_url: impl Into<String>,
        client_id: Option<String>,
        identity: Identity,
        version: TokenVersion,
    ) -> Result<Self> {
        Ok(Credentials::ClientAssertion {
            client: TokenClient::new(token_url)?,
            client_id,
            scope: DEFAULT_SCOPE.to_string(),
            minter: Arc::new(move || identity.mint(version)),
        })
    }
}

struct Cached {
    token: String,
    expires_at: Option<Instant>,
}

/// Caches the access token for a provisioning cycle; renews it before expiry and on demand after a 401.
pub struct TokenSource {
    credentials: Credentials,
    cached: Mutex<Option<Cached>>,
    token_requests: AtomicU64,
}

/// Renew this long before the announced expiry so a request in flight never carries an expiring token.
const RENEW_MARGIN: Duration = Duration::from_secs(30);

impl TokenSource {
    pub fn new(credentials: Credentials) -> Self {
        TokenSource {
            credentials,
            cached: Mutex::new(None),
            token_requests: AtomicU64::new(0),
        }
    }

    /// Token requests sent to the token endpoint so far.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::SeqCst)
    }

    pub async fn token(&self) -> Result<String> {
        let mut guard = self.cached.lock().await;
        if let Some(c) = guard.as_ref()
            && c.expires_at.is_none_or(|t| Instant::now() + RENEW_MARGIN < t)
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    /// Called after a 401 with the token that was rejected. Only the first caller renews; concurrent callers
    /// that saw the same stale token get the renewed one (single flight).
    pub async fn renew(&self, rejected: &str) -> Result<String> {
        let mut guard = self.cached.lock().await;
        if let Some(c) = guard.as_ref()
            && c.token != rejected
        {
            return Ok(c.token.clone());
        }
        if matches!(self.credentials, Credentials::Static(_)) {
            return Err(SimError::InvalidArgument(
                "the SCIM endpoint rejected the supplied token (401) and a static token cannot be renewed".into(),
            ));
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    async fn fetch(&self) -> Result<Cached> {
        match &self.credentials {
            Credentials::Static(token) => Ok(Cached {
                token: token.clone(),
                expires_at: None,
            }),
            Credentials::ClientAssertion {
                client,
                client_id,
                scope,
                minter,
            } => {
                let assertion = minter()?;
                self.token_requests.fetch_add(1, Ordering::SeqCst);
                let resp = client.request_token(client_id.as_deref(), &assertion, scope).await?;
                Ok(Cached {
                    expires_at: resp.expires_in.map(|s| Instant::now() + Duration::from_secs(s)),
                    token: resp.access_token,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_body_is_entras_exact_request() {
        let body = TokenClient::form_body(Some("client-1"), "aaa.bbb.ccc", "scim");
        assert_eq!(
            body,
            "grant_type=client_credentials&client_id=client-1\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion=aaa.bbb.ccc&scope=scim"
        );
        assert!(!TokenClient::form_body(None, "a.b.c", "scim").contains("client_id"));
    }

    #[test]
    fn token_response_debug_redacts_the_token() {
        let resp: TokenResponse =
            serde_json::from_str(r#"{"access_token":"wif_at_secret","token_type":"Bearer","expires_in":3600}"#)
                .expect("parse");
        assert!(!format!("{resp:?}").contains("wif_at_secret"));
        assert!(!format!("{:?}", Credentials::Static("wif_at_secret".into())).contains("wif_at_secret"));
    }
}
