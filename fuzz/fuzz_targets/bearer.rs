//! The SCIM API's `Authorization` check: `bearer_token` and `authenticate_bearer` against an in-memory Tokens table
//! holding one live, one revoked and one expired token, at a fixed clock; then `AccessGrant::authorize`.
//!
//! Input: the `Authorization` header values, several separated by NUL.
//!
//! Checked beyond "no panic": only the live token is accepted, the token handed on is RFC 6750 b64token syntax, and
//! every rejection has the documented status and a `WWW-Authenticate` value that is a valid header value.

#![no_main]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use wif_auth::bearer::{BearerError, authenticate_bearer, bearer_token};
use wif_auth::credentials::sha256_hex;
use wif_auth::ports::{TokenRecord, TokenStore};
use wif_auth::scope::Scope;
use wif_auth::testing::InMemoryTokenStore;
use wif_fuzz::{NOW, runtime};

const LIVE: &str = "wif_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const REVOKED: &str = "wif_at_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const EXPIRED: &str = "wif_at_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

fn tokens() -> &'static InMemoryTokenStore {
    static TOKENS: OnceLock<InMemoryTokenStore> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let store = InMemoryTokenStore::default();
        for (token, revoked, expires_at) in [
            (LIVE, false, NOW + 60),
            (REVOKED, true, NOW + 60),
            (EXPIRED, false, NOW),
        ] {
            let record = TokenRecord {
                token_hash: sha256_hex(token),
                client_id: "fuzz-client".into(),
                tenant_id: "fuzz-tenant".into(),
                scopes: vec![Scope::ScimRead],
                issued_at: NOW - 60,
                expires_at,
                revoked,
            };
            runtime()
                .block_on(store.put_token(&record))
                .unwrap_or_else(|err| panic!("fixture token: {err}"));
        }
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for value in data.split(|&b| b == 0) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(header::AUTHORIZATION, value);
        }
    }
    if let Ok(token) = bearer_token(&headers) {
        assert!(!token.is_empty() && !token.contains(' '), "token {token:?}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)),
            "token {token:?}"
        );
    }
    match runtime().block_on(authenticate_bearer(&headers, tokens(), NOW)) {
        Ok(grant) => {
            assert_eq!(bearer_token(&headers).ok(), Some(LIVE));
            assert_eq!(grant.client_id, "fuzz-client");
            assert!(grant.authorize(&Method::GET, "/Users").is_ok());
            let refused = grant
                .authorize(&Method::PATCH, "/Users/1")
                .expect_err("scim.read may not write");
            check_rejection(&refused);
        }
        Err(err) => check_rejection(&err),
    }
});

fn check_rejection(err: &BearerError) {
    let status = err.status();
    match err {
        BearerError::MissingCredentials | BearerError::InvalidToken(_) => assert_eq!(status, StatusCode::UNAUTHORIZED),
        BearerError::InvalidRequest(_) => assert_eq!(status, StatusCode::BAD_REQUEST),
        BearerError::InsufficientScope { .. } => assert_eq!(status, StatusCode::FORBIDDEN),
        BearerError::Unavailable(_) => panic!("the in-memory store never fails"),
    }
    let challenge = err.www_authenticate().expect("every 401/400/403 carries a challenge");
    assert!(HeaderValue::from_str(&challenge).is_ok(), "challenge {challenge:?}");
}
