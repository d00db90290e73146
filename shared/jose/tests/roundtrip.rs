//! Signing and verifying end to end with software keys of both algorithms: what the KMS signer must also satisfy.

use serde_json::{Map, Value, json};
use wif_jose::{JwsAlgorithm, JwsSigner, LocalSigner, jwk_thumbprint, sign_compact, verify_compact};

fn typ(value: &str) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), json!(value));
    header
}

#[tokio::test]
async fn es256_and_rs256_tokens_verify_with_the_published_jwk() {
    for alg in [JwsAlgorithm::ES256, JwsAlgorithm::RS256] {
        let signer = LocalSigner::generate(alg, "key-1").unwrap();
        let payload = json!({"iss": "https://isv.example", "events": {"a": {}}});
        let token = sign_compact(&signer, &typ("secevent+jwt"), &payload).await.unwrap();
        let verified = verify_compact(&signer.public_jwk(), &token).unwrap();
        assert_eq!(verified.payload, payload);
        assert_eq!(verified.header["alg"], json!(alg.as_str()));
        assert_eq!(verified.header["kid"], json!("key-1"));
        assert_eq!(verified.header["typ"], json!("secevent+jwt"));
        if alg == JwsAlgorithm::ES256 {
            let signature = token.rsplit('.').next().unwrap();
            assert_eq!(signature.len(), 86, "ES256 signatures are 64 raw bytes");
        }
    }
}

#[tokio::test]
async fn extra_header_members_cannot_replace_alg_or_kid() {
    let signer = LocalSigner::generate(JwsAlgorithm::ES256, "real").unwrap();
    let mut extra = typ("JWT");
    extra.insert("alg".into(), json!("none"));
    extra.insert("kid".into(), json!("forged"));
    let token = sign_compact(&signer, &extra, &json!({})).await.unwrap();
    let verified = verify_compact(&signer.public_jwk(), &token).unwrap();
    assert_eq!(verified.header["alg"], json!("ES256"));
    assert_eq!(verified.header["kid"], json!("real"));
}

#[tokio::test]
async fn any_change_or_another_key_is_refused() {
    let signer = LocalSigner::generate(JwsAlgorithm::ES256, "k").unwrap();
    let other = LocalSigner::generate(JwsAlgorithm::ES256, "k").unwrap();
    let rsa = LocalSigner::generate(JwsAlgorithm::RS256, "k").unwrap();
    let token = sign_compact(&signer, &Map::new(), &json!({"sub": "alice"}))
        .await
        .unwrap();
    assert!(verify_compact(&other.public_jwk(), &token).is_err());
    assert!(
        verify_compact(&rsa.public_jwk(), &token).is_err(),
        "ES256 token with an RSA key"
    );
    let (head, _) = token.rsplit_once('.').unwrap();
    let forged_payload = format!(
        "{}.{}.{}",
        head.split('.').next().unwrap(),
        "eyJzdWIiOiJtYWxsb3J5In0",
        token.rsplit('.').next().unwrap()
    );
    assert!(verify_compact(&signer.public_jwk(), &forged_payload).is_err());
    assert!(verify_compact(&signer.public_jwk(), "a.b").is_err());
    let mut wrong_kid = signer.public_jwk();
    wrong_kid["kid"] = json!("other");
    assert!(verify_compact(&wrong_kid, &token).is_err());
}

#[test]
fn published_jwks_carry_kid_alg_use_and_a_stable_thumbprint() {
    let signer = LocalSigner::generate(JwsAlgorithm::ES256, "kid-9").unwrap();
    let jwk = signer.public_jwk();
    assert_eq!(jwk["kty"], json!("EC"));
    assert_eq!(jwk["crv"], json!("P-256"));
    assert_eq!(jwk["use"], json!("sig"));
    assert_eq!(jwk["alg"], json!("ES256"));
    assert_eq!(jwk["kid"], json!("kid-9"));
    assert_eq!(
        jwk_thumbprint(&jwk).unwrap(),
        jwk_thumbprint(&signer.public_jwk()).unwrap()
    );
    let rsa = LocalSigner::generate(JwsAlgorithm::RS256, "r").unwrap().public_jwk();
    assert_eq!(rsa["e"], json!("AQAB"));
    assert!(wif_jose::public_jwk(signer.public_key_der(), "x", JwsAlgorithm::RS256).is_err());
    assert_eq!(signer.key_id(), "kid-9");
}
