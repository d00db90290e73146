//! Arbitrary input never panics: random bytes and random mutations of valid inputs go through every parser.

use http::{HeaderMap, HeaderValue, Method, header};
use wif_auth::assertion::{AssertionPolicy, UnverifiedAssertion};
use wif_auth::bearer::bearer_token;
use wif_auth::jwks::JwkSet;
use wif_auth::testing::*;
use wif_auth::token_request::parse_token_request;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut bytes = input.to_vec();
        for _ in 0..=self.below(4) {
            let alphabet = b"{}[]\":,.=-_+/%&\\ aAzZ09\x00\xff\xc3";
            match self.below(3) {
                0 if !bytes.is_empty() => {
                    let at = self.below(bytes.len());
                    bytes[at] = alphabet[self.below(alphabet.len())];
                }
                1 => {
                    let at = self.below(bytes.len() + 1);
                    bytes.insert(at, alphabet[self.below(alphabet.len())]);
                }
                _ if !bytes.is_empty() => {
                    let at = self.below(bytes.len());
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    }
}

#[test]
fn parsers_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let key = TestKey::rsa("k1");
    let registration = sample_registration("c1");
    let jwt = sign_jwt(&key, "RS256", &entra_like_claims(&registration, 1_750_000_000));
    let jwks = jwks_document(&[&key]);
    let keys = JwkSet::parse(&jwks).unwrap();
    let verifying = keys.get_shared("k1").unwrap();
    let form = format!(
        "grant_type=client_credentials&client_id=c1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={jwt}&scope=scim"
    );
    let policy = AssertionPolicy::default();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    for _ in 0..3000 {
        let mutated = rng.mutate(jwt.as_bytes());
        let text = String::from_utf8_lossy(&mutated);
        if let Ok(assertion) = UnverifiedAssertion::parse(&text, &policy) {
            let _ = assertion.unverified_ids();
            let _ = assertion.verify(
                &registration,
                &registration.federated_credentials[0],
                &verifying,
                &policy,
                1_750_000_000,
            );
        }
        let _ = JwkSet::parse(&String::from_utf8_lossy(&rng.mutate(jwks.as_bytes())));
        let body = rng.mutate(form.as_bytes());
        let _ = parse_token_request(&Method::POST, &headers, &body, 1 << 20);
        let mut auth = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&rng.mutate(b"Bearer wif_at_abc")) {
            auth.insert(header::AUTHORIZATION, value.clone());
            let _ = bearer_token(&auth);
            let mut basic = headers.clone();
            basic.insert(header::AUTHORIZATION, value);
            let _ = parse_token_request(&Method::POST, &basic, b"grant_type=client_credentials", 1 << 20);
        }
    }
}

#[test]
fn signed_but_mangled_headers_and_claims_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let key = TestKey::rsa("k1");
    let registration = sample_registration("c1");
    let keys = JwkSet::parse(&jwks_document(&[&key])).unwrap();
    let verifying = keys.get_shared("k1").unwrap();
    let claims = entra_like_claims(&registration, 1_750_000_000).to_string();
    let header = r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#;
    let policy = AssertionPolicy::default();
    let mut accepted = 0;
    for round in 0..400 {
        // Alternate: mangle the claims under a good header, or the header over good claims.
        let (h, c) = if round % 2 == 0 {
            (
                header.to_owned(),
                String::from_utf8_lossy(&rng.mutate(claims.as_bytes())).into_owned(),
            )
        } else {
            (
                String::from_utf8_lossy(&rng.mutate(header.as_bytes())).into_owned(),
                claims.clone(),
            )
        };
        let jwt = sign_raw(&key, "RS256", &h, &c);
        if let Ok(assertion) = UnverifiedAssertion::parse(&jwt, &policy)
            && assertion.kid() == "k1"
            && assertion
                .verify(
                    &registration,
                    &registration.federated_credentials[0],
                    &verifying,
                    &policy,
                    1_750_000_000,
                )
                .is_ok()
        {
            accepted += 1;
        }
    }
    // Some mutations are harmless (inside an unread claim), most are not; both paths ran.
    assert!(accepted < 400);
}
