//! The HTTPS client of Entra's token endpoint (code redemption): no redirects, a timeout, a size cap, and the same
//! URL rules as JWKS fetches (https; http only on loopback in local development).

use std::time::Duration;

use wif_auth::url_policy::JwksUrlPolicy;
use wif_portal::ports::{TokenEndpoint, TokenEndpointAnswer, TokenEndpointUnreachable};

const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub struct HttpTokenEndpoint {
    client: reqwest::Client,
    policy: JwksUrlPolicy,
}

impl HttpTokenEndpoint {
    pub fn new(policy: JwksUrlPolicy, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()?;
        Ok(Self { client, policy })
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
        let mut response = self
            .client
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
