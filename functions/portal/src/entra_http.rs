//! The HTTPS client of Entra's token endpoint (code redemption): no redirects, a timeout, a size cap, and the same
//! URL rules as JWKS fetches (https; http only on loopback in local development).

use std::time::Duration;

use wif_auth::url_policy::JwksUrlPolicy;
use wif_jwks_http::lazy::LazyClient;
use wif_portal::ports::{TokenEndpoint, TokenEndpointAnswer, TokenEndpointUnreachable};

const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub struct HttpTokenEndpoint {
    client: LazyClient,
    policy: JwksUrlPolicy,
}

impl HttpTokenEndpoint {
    /// The client is built by the first code redemption (see [`wif_jwks_http::lazy`]): a cold start that serves
    /// only pages never loads the system's root certificates.
    pub fn new(policy: JwksUrlPolicy, timeout: Duration) -> Self {
        let client = LazyClient::new(move || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .build()
        });
        Self { client, policy }
    }
}

#[async_trait::async_trait]
impl TokenEndpoint for HttpTokenEndpoint {
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenEndpointAnswer, TokenEndpointUnreachable> {
        self.policy
            .check(url)
            .map_err(|err| TokenEndpointUnreachable(format!("token endpoint URL refused: {err}")))?;
        let client = self
            .client
            .get()
            .map_err(|err| TokenEndpointUnreachable(format!("no HTTP client: {err}")))?;
        let mut response = client
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|err| TokenEndpointUnreachable(err.without_url().to_string()))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| TokenEndpointUnreachable(err.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(TokenEndpointUnreachable("token endpoint answer is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(TokenEndpointAnswer { status, body })
    }
}
