//! [`HttpSetPoster`]: RFC 8935 pushes with the JWKS fetcher's policy (no redirects, connect and total timeouts,
//! no proxy, https only outside local development), the push URL policy (any public https host), and a resolver
//! that only connects to public addresses, so a checked name cannot be pointed inward through DNS later. In local
//! development (`WIF_LOCAL_DEVELOPMENT=true`, refused inside AWS Lambda) loopback is allowed, as for JWKS URLs.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header;
use wif_auth::url_policy::{PushUrlPolicy, is_public_ip};

use crate::lazy::LazyClient;
use crate::{FetchSettings, client_builder, error_chain};

/// The most of an answer's body we read: enough for an RFC 8935 error object.
pub const ANSWER_BYTES: usize = 4096;

/// Why a push got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("push URL refused: {0}")]
    Disallowed(String),
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("transport error: {0}")]
    Transport(String),
}

/// An HTTP answer: the status and at most [`ANSWER_BYTES`] of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Resolves names to public addresses only (and loopback in local development).
struct PublicAddressesOnly {
    allow_loopback: bool,
}

fn allowed(ip: std::net::IpAddr, allow_loopback: bool) -> bool {
    is_public_ip(ip) || allow_loopback && ip.is_loopback()
}

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = found.into_iter().filter(|a| allowed(a.ip(), allow_loopback)).collect();
            if usable.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(usable.into_iter());
            Ok(addrs)
        })
    }
}

pub struct HttpSetPoster {
    client: LazyClient,
    policy: PushUrlPolicy,
}

impl HttpSetPoster {
    /// The client is built by the first push the policy allows (see [`crate::lazy`]).
    pub fn new(policy: PushUrlPolicy, settings: FetchSettings) -> Self {
        let local_development = policy.local_development();
        let client = LazyClient::new(move || {
            let resolver = Arc::new(PublicAddressesOnly {
                allow_loopback: local_development,
            });
            client_builder(local_development, &settings)
                .dns_resolver(resolver)
                .user_agent(concat!("wif-events-push/", env!("CARGO_PKG_VERSION")))
                .build()
        });
        Self { client, policy }
    }

    /// POSTs one SET (`application/secevent+jwt`, RFC 8935 §2.1). A redirect is an answer like any other (its
    /// status), never followed.
    pub async fn post_set(&self, url: &str, set: &str) -> Result<Answer, PostError> {
        let url = self
            .policy
            .check(url)
            .map_err(|err| PostError::Disallowed(err.to_string()))?;
        let client = self.client.get().map_err(post_error)?;
        let mut response = client
            .post(url)
            .header(header::CONTENT_TYPE, "application/secevent+jwt")
            .header(header::ACCEPT, "application/json")
            .body(set.to_owned())
            .send()
            .await
            .map_err(post_error)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < ANSWER_BYTES {
            match response.chunk().await.map_err(post_error)? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        body.truncate(ANSWER_BYTES);
        Ok(Answer { status, body })
    }
}

/// Without the URL: a push URL may carry a credential in its query, and this text is logged and shown in the admin
/// API.
fn post_error(err: reqwest::Error) -> PostError {
    let err = err.without_url();
    if err.is_timeout() {
        PostError::Timeout
    } else if err.is_connect() {
        PostError::Connect(error_chain(&err))
    } else {
        PostError::Transport(error_chain(&err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(host: &str, allow_loopback: bool) -> Result<Vec<SocketAddr>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolver = PublicAddressesOnly { allow_loopback };
        runtime
            .block_on(resolver.resolve(host.parse().unwrap()))
            .map(|addrs| addrs.collect())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn names_resolving_inward_are_refused_outside_local_development() {
        assert!(resolve("localhost", false).unwrap_err().contains("no public address"));
        assert!(resolve("localhost", true).unwrap().iter().all(|a| a.ip().is_loopback()));
        assert!(!allowed("169.254.169.254".parse().unwrap(), true));
        assert!(!allowed("10.1.2.3".parse().unwrap(), true));
        assert!(allowed("93.184.215.14".parse().unwrap(), false));
    }

    #[tokio::test]
    async fn loopback_and_plain_http_are_refused_outside_local_development() {
        let poster = HttpSetPoster::new(PushUrlPolicy::new(false), FetchSettings::default());
        for url in [
            "http://127.0.0.1:9/events",
            "https://127.0.0.1/events",
            "https://10.0.0.1/e",
        ] {
            assert!(
                matches!(poster.post_set(url, "a.b.c").await, Err(PostError::Disallowed(_))),
                "{url}"
            );
        }
        // Refused URLs never needed the client: it is still unbuilt.
        assert!(!poster.client.is_built());
    }
}
