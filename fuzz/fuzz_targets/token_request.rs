//! `POST /oauth2/token` request parsing: `parse_token_request` over the method, headers and form body, then the
//! OAuth error answer of every rejection.
//!
//! Input: `Content-Type` value + `\n` + `Authorization` values (several separated by NUL; empty for none) + `\n` +
//! the form body. Without two newlines the whole input is the body of a form POST without `Authorization`.
//!
//! Checked beyond "no panic": an accepted request has one well-formed credential, a bounded `client_id` and no
//! repeated scope; a rejection renders as a 4xx OAuth JSON body whose challenge, if any, is a valid header value.

#![no_main]

use http::{HeaderMap, HeaderValue, Method, header};
use libfuzzer_sys::fuzz_target;
use wif_auth::assertion::AssertionPolicy;
use wif_auth::service::body_cap_for;
use wif_auth::token_request::{ClientCredential, parse_token_request};
use wif_fuzz::split_once;

const FORM: &[u8] = b"application/x-www-form-urlencoded";

fuzz_target!(|data: &[u8]| {
    let (content_type, authorization, body) = match split_once(data, b'\n') {
        (content_type, Some(rest)) => match split_once(rest, b'\n') {
            (authorization, Some(body)) => (content_type, authorization, body),
            _ => (FORM, &b""[..], data),
        },
        _ => (FORM, &b""[..], data),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    for value in authorization.split(|&b| b == 0).filter(|value| !value.is_empty()) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(header::AUTHORIZATION, value);
        }
    }
    let cap = body_cap_for(AssertionPolicy::default().max_bytes);
    match parse_token_request(&Method::POST, &headers, body, cap) {
        Ok(request) => {
            if let Some(client_id) = &request.client_id {
                assert!(
                    !client_id.is_empty() && client_id.len() <= 256,
                    "client_id {client_id:?}"
                );
            }
            match &request.credential {
                ClientCredential::Assertion(text) => assert!(!text.is_empty()),
                ClientCredential::SecretPost(secret) | ClientCredential::SecretBasic(secret) => {
                    assert!(!secret.is_empty() && secret.len() <= 512);
                    assert!(request.client_id.is_some(), "a secret without client_id");
                }
            }
            if let Some(scopes) = &request.scopes {
                for (i, scope) in scopes.iter().enumerate() {
                    assert!(!scopes[..i].contains(scope), "repeated scope {scope:?}");
                }
            }
            assert!(!format!("{request:?}").contains("SecretPost("), "Debug must redact");
        }
        Err(err) => {
            let response = err.to_response();
            assert!(response.status().is_client_error(), "{}", response.status());
            let body: serde_json::Value =
                serde_json::from_str(response.body()).unwrap_or_else(|e| panic!("error body is not JSON: {e}"));
            assert_eq!(body["error"], err.code.as_str());
            assert_eq!(
                err.www_authenticate.is_some(),
                response.headers().contains_key(header::WWW_AUTHENTICATE),
                "challenge {:?} is not a valid header value",
                err.www_authenticate
            );
        }
    }
    // The same request by another method is refused before anything is read.
    let err = parse_token_request(&Method::GET, &headers, body, cap).expect_err("GET accepted");
    assert_eq!(err.status, http::StatusCode::METHOD_NOT_ALLOWED);
});
