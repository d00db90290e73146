//! RFC 8414 authorization-server metadata for `GET /.well-known/oauth-authorization-server`.

use serde::Serialize;

use crate::jwks::JwsAlgorithm;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    /// Required by RFC 8414 §2; empty because there is no authorization endpoint (client credentials only).
    pub response_types_supported: Vec<&'static str>,
}

/// The issuer is the token URL without its `/oauth2/token` suffix (RFC 8414 §3: the metadata lives under the
/// issuer's `/.well-known/`), or the token URL's origin when it has another shape.
pub fn issuer_from_token_url(token_url: &str) -> String {
    if let Some(prefix) = token_url.strip_suffix("/oauth2/token") {
        return prefix.to_owned();
    }
    match url::Url::parse(token_url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => token_url.to_owned(),
    }
}

pub fn metadata(token_url: &str) -> AuthorizationServerMetadata {
    AuthorizationServerMetadata {
        issuer: issuer_from_token_url(token_url),
        token_endpoint: token_url.to_owned(),
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec!["private_key_jwt", "client_secret_basic", "client_secret_post"],
        token_endpoint_auth_signing_alg_values_supported: JwsAlgorithm::ALL.iter().map(|alg| alg.as_str()).collect(),
        scopes_supported: Scope::ALL.iter().map(|scope| scope.as_str()).collect(),
        response_types_supported: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_derives_from_the_token_url() {
        assert_eq!(
            issuer_from_token_url("https://auth.example.com/oauth2/token"),
            "https://auth.example.com"
        );
        assert_eq!(
            issuer_from_token_url("http://127.0.0.1:9000/lambda-url/token/oauth2/token"),
            "http://127.0.0.1:9000/lambda-url/token"
        );
        assert_eq!(
            issuer_from_token_url("https://auth.example.com/token"),
            "https://auth.example.com"
        );
    }

    #[test]
    fn document_lists_what_we_support() {
        let json = serde_json::to_value(metadata("https://a.example/oauth2/token")).unwrap();
        assert_eq!(json["token_endpoint"], "https://a.example/oauth2/token");
        assert_eq!(json["grant_types_supported"], serde_json::json!(["client_credentials"]));
        assert!(
            json["token_endpoint_auth_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&"RS256".into())
        );
        assert!(!json.to_string().contains("HS256"));
        assert_eq!(
            json["scopes_supported"],
            serde_json::json!(["scim", "scim.read", "scim.readwrite", "events.read"])
        );
    }
}
