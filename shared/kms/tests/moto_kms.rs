//! KMS signing through the real SDK against moto's KMS: the signatures verify with the published JWK, for both
//! algorithms and for signing inputs over KMS's 4 KB raw-message limit.

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use serde_json::{Map, json};
use wif_jose::{JwsAlgorithm, JwsSigner, SignError, sign_compact, verify_compact};
use wif_kms::KmsSigner;

async fn kms_client() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await)
}

async fn new_key(client: &aws_sdk_kms::Client, spec: KeySpec) -> String {
    let created = client
        .create_key()
        .key_spec(spec)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates the key");
    created.key_metadata.expect("key metadata").arn.expect("key arn")
}

#[tokio::test]
async fn kms_signed_tokens_verify_with_the_kms_public_jwk() {
    let client = kms_client().await;
    for (spec, alg) in [
        (KeySpec::EccNistP256, JwsAlgorithm::ES256),
        (KeySpec::Rsa2048, JwsAlgorithm::RS256),
    ] {
        let arn = new_key(&client, spec).await;
        let signer = KmsSigner::new(client.clone(), &arn, alg).unwrap();
        assert!(arn.ends_with(signer.key_id()));
        let jwk = signer.public_jwk().await.unwrap();
        for size in [10, 10_000] {
            let payload = json!({"data": "x".repeat(size)});
            let token = sign_compact(&signer, &Map::new(), &payload).await.unwrap();
            let verified = verify_compact(&jwk, &token).unwrap_or_else(|err| panic!("{alg} {size}: {err}"));
            assert_eq!(verified.payload, payload);
        }
    }
}

#[tokio::test]
async fn a_missing_key_is_a_failure_not_a_retry() {
    let signer = KmsSigner::new(
        kms_client().await,
        "00000000-0000-0000-0000-000000000000",
        JwsAlgorithm::ES256,
    )
    .unwrap();
    let error = signer.sign(b"input").await.unwrap_err();
    assert!(matches!(error, SignError::Failed(_)), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_kms_is_unavailable() {
    let config = wif_testkit::sdk_config("http://127.0.0.1:9").await;
    let client = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&config)
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build(),
    );
    let signer = KmsSigner::new(client, "1234", JwsAlgorithm::ES256).unwrap();
    assert!(matches!(signer.sign(b"x").await, Err(SignError::Unavailable(_))));
}
