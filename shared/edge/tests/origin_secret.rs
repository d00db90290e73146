//! The CloudFront origin secret is read once at start from Secrets Manager (moto, through the real SDK).

use wif_edge::{Front, OriginSecret, load_front};

#[tokio::test]
async fn the_front_is_cloudfront_with_the_secret_value_when_an_arn_is_configured() {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("{}-origin-verify", wif_testkit::unique_prefix());
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string("Gen3ratedPerDeployment0123456789abcdef")
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap();

    let front = load_front(&config, Some(arn)).await.unwrap();
    let expected = OriginSecret::new("Gen3ratedPerDeployment0123456789abcdef".into()).unwrap();
    assert_eq!(front, Front::CloudFront(expected));
    assert!(!format!("{front:?}").contains("Gen3rated"));

    assert_eq!(load_front(&config, None).await.unwrap(), Front::FunctionUrl);
    let missing = load_front(&config, Some(&format!("{name}-missing"))).await.unwrap_err();
    assert!(missing.to_string().contains("-missing"), "{missing}");
}
