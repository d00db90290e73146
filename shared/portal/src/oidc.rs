//! The OpenID Connect client side of Entra sign-in (authorization code flow with PKCE, RFC 6749 + RFC 7636 +
//! OpenID Connect Core): the authorize URL and the token request, as plain data. No network here.

use serde::Deserialize;

/// Where Entra is and who the portal is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// `https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize` (multi-tenant, work accounts only).
    pub authorize_url: String,
    pub token_url: String,
    /// The signing keys of every tenant's tokens.
    pub jwks_uri: String,
    /// The portal's application (client) id.
    pub client_id: String,
    /// `openid profile` (plus `email` if configured): ID token claims only; the portal calls no other API.
    pub scope: String,
}

/// The values that make one sign-in unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest<'a> {
    /// Registered in Entra exactly: `<portal URL>/signin/callback`; the code redemption repeats it.
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
}

impl OidcSettings {
    /// The URL the browser is sent to. `prompt=select_account` lets an admin with several accounts pick the one
    /// of the tenant they mean to onboard.
    pub fn authorize_redirect(&self, request: &AuthorizeRequest<'_>) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", &self.scope)
            .append_pair("state", request.state)
            .append_pair("nonce", request.nonce)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "select_account")
            .finish();
        let separator = if self.authorize_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.authorize_url)
    }

    /// The form of the code redemption (`private_key_jwt` client authentication).
    pub fn token_form<'a>(
        &'a self,
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
        assertion: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("client_id", self.client_id.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", self.scope.as_str()),
            ("client_assertion_type", wif_auth::assertion::ASSERTION_TYPE_JWT_BEARER),
            ("client_assertion", assertion),
        ]
    }
}

/// The token endpoint's answer, success or error (RFC 6749 §5.1/§5.2). Only the ID token is used.
#[derive(Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("has_id_token", &self.id_token.is_some())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// What the callback URL carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackParams {
    pub fn from_query(query: &str) -> Self {
        let mut params = Self::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            // A repeated parameter is ambiguous; keep none of it.
            *slot = if slot.is_some() {
                Some(String::new())
            } else {
                Some(value.into_owned())
            };
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            authorize_url: "https://login.example/organizations/oauth2/v2.0/authorize".into(),
            token_url: "https://login.example/organizations/oauth2/v2.0/token".into(),
            jwks_uri: "https://login.example/organizations/discovery/v2.0/keys".into(),
            client_id: "cid".into(),
            scope: "openid profile".into(),
        }
    }

    #[test]
    fn authorize_url_carries_pkce_state_nonce_and_the_exact_redirect_uri() {
        let url = settings().authorize_redirect(&AuthorizeRequest {
            redirect_uri: "https://portal.example/signin/callback",
            state: "s&1",
            nonce: "n",
            code_challenge: "c",
        });
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["redirect_uri"], "https://portal.example/signin/callback");
        assert_eq!(pairs["state"], "s&1");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["scope"], "openid profile");
    }

    #[test]
    fn callback_parameters_are_read_once() {
        let params = CallbackParams::from_query("code=abc&state=xyz&other=1");
        assert_eq!(
            (params.code.as_deref(), params.state.as_deref()),
            (Some("abc"), Some("xyz"))
        );
        let doubled = CallbackParams::from_query("state=a&state=b");
        assert_eq!(doubled.state.as_deref(), Some(""));
        let error = CallbackParams::from_query("error=access_denied&error_description=User+cancelled");
        assert_eq!(error.error_description.as_deref(), Some("User cancelled"));
    }
}
