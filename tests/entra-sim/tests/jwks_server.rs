//! The JWKS/OIDC server over real loopback HTTP: documents, rotation, outages, counters, control endpoints.

use std::time::Duration;

use entra_sim::{Identity, JwksServer, JwksServerOptions, Outage, TokenVersion, verify_rs256_with_jwks};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn get_json(url: &str) -> (u16, Value) {
    let resp = client().get(url).send().await.expect("request");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn serves_v1_and_v2_jwks_and_openid_configuration_for_the_tenant_only() {
    let server = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("start");
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    let tid = server.tenant_id();
    assert_eq!(
        server.jwks_url(TokenVersion::V1),
        format!("{}/{tid}/discovery/keys", server.base_url())
    );

    let (status, v1) = get_json(&server.jwks_url(TokenVersion::V1)).await;
    assert_eq!(status, 200);
    let key = &v1["keys"][0];
    for member in ["kty", "use", "kid", "x5t", "n", "e", "x5c"] {
        assert!(key.get(member).is_some(), "v1 key lacks {member}: {key}");
    }
    assert!(key.get("issuer").is_none());
    let (_, v2) = get_json(&server.jwks_url(TokenVersion::V2)).await;
    assert_eq!(
        v2["keys"][0]["issuer"],
        format!("https://login.microsoftonline.com/{tid}/v2.0")
    );

    let (status, oidc) = get_json(&server.openid_configuration_url()).await;
    assert_eq!(status, 200);
    assert_eq!(oidc["issuer"], server.issuer(TokenVersion::V2).as_str());
    assert_eq!(oidc["jwks_uri"], server.jwks_url(TokenVersion::V2).as_str());

    let (status, _) = get_json(&format!("{}/someone-else/discovery/keys", server.base_url())).await;
    assert_eq!(status, 404);

    // A minted assertion verifies against the served document.
    let token = server.mint(TokenVersion::V1).expect("mint");
    verify_rs256_with_jwks(&token, &v1).expect("verifies with served JWKS");

    let stats = server.stats();
    assert_eq!((stats.keys_v1, stats.keys_v2, stats.openid_configuration), (1, 1, 1));
}

#[tokio::test]
async fn rotation_changes_the_served_keys_and_old_tokens_stop_verifying_after_drop() {
    let server = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("start");
    let url = server.jwks_url(TokenVersion::V2);
    let old_kid = server.identity().signing_kid().to_string();
    let old_token = server.mint(TokenVersion::V2).expect("mint");

    let new_kid = server.rotate_keys(false).expect("rotate");
    let (_, both) = get_json(&url).await;
    let kids: Vec<&str> = both["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);
    let new_token = server.mint(TokenVersion::V2).expect("mint");
    assert_eq!(
        verify_rs256_with_jwks(&new_token, &both).expect("new").header["kid"],
        new_kid.as_str()
    );
    verify_rs256_with_jwks(&old_token, &both).expect("old key still published");

    server.remove_key(&old_kid).expect("drop old");
    let (_, only_new) = get_json(&url).await;
    assert_eq!(only_new["keys"].as_array().map(Vec::len), Some(1));
    assert!(verify_rs256_with_jwks(&old_token, &only_new).is_err());
    assert_eq!(server.key_fetches(), 2);
}

#[tokio::test]
async fn outages_answer_503_refuse_connections_delay_or_serve_a_given_body() {
    let server = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("start");
    let url = server.jwks_url(TokenVersion::V1);

    server.set_outage(Outage::Unavailable);
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(server.stats().unavailable, 1);

    server.set_outage(Outage::Refuse);
    // The listener closes asynchronously; the next connection attempt fails at connect time.
    let mut refused = false;
    for _ in 0..50 {
        match client().get(&url).send().await {
            Err(e) if e.is_connect() => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(refused, "connections must be refused during a Refuse outage");
    // The control port keeps answering, so a CLI can end the outage.
    let (status, stats) = get_json(&format!("{}/_control/stats", server.control_url())).await;
    assert_eq!(status, 200);
    assert_eq!(stats["outage"]["mode"], "refuse");

    server.set_outage(Outage::Off);
    let mut back = false;
    for _ in 0..50 {
        if let Ok(resp) = client().get(&url).send().await {
            back = resp.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back, "service resumes on the same port");

    server.set_outage(Outage::Delay { millis: 300 });
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    assert!(quick.get(&url).send().await.expect_err("times out").is_timeout());

    server.set_outage(Outage::Body {
        body: r#"{"keys":[{"kty":"RSA","kid":"broken"}]}"#.into(),
    });
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body["keys"][0]["kid"], "broken");
}

#[tokio::test]
async fn etag_allows_conditional_fetches() {
    let server = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("start");
    let url = server.jwks_url(TokenVersion::V1);
    let first = client().get(&url).send().await.expect("get");
    assert_eq!(
        first.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("max-age=86400, private")
    );
    let etag = first
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_string();
    let again = client()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    server.rotate_keys(false).expect("rotate");
    let changed = client()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(changed.status(), 200);
    assert_eq!(server.key_fetches(), 3);
}

#[tokio::test]
async fn control_endpoints_rotate_switch_outages_mint_and_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let identity = Identity::load_or_create(dir.path(), Some("tenant-ctl")).expect("identity");
    let server = JwksServer::start_with(
        identity,
        JwksServerOptions {
            state_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await
    .expect("start");
    let control = server.control_url();
    let http = client();

    let rotated: Value = http
        .post(format!("{control}/_control/rotate"))
        .json(&json!({"drop_old": true}))
        .send()
        .await
        .expect("rotate")
        .json()
        .await
        .expect("json");
    let kid = rotated["signing_kid"].as_str().expect("kid").to_string();
    assert_eq!(rotated["kids"], json!([kid]));
    // Rotation is persisted: a restarted simulator publishes the same key.
    assert_eq!(Identity::load(dir.path()).expect("reload").signing_kid(), kid);

    let resp = http
        .post(format!("{}/_control/outage", server.base_url()))
        .json(&json!({"mode": "unavailable"}))
        .send()
        .await
        .expect("outage");
    assert_eq!(resp.status(), 200);
    assert_eq!(server.outage(), Outage::Unavailable);
    let bad = http
        .post(format!("{control}/_control/outage"))
        .json(&json!({"mode": "sideways"}))
        .send()
        .await
        .expect("outage");
    assert_eq!(bad.status(), 400);

    let minted: Value = http
        .post(format!("{control}/_control/mint"))
        .json(&json!({"version": "v1", "claims": {"xms_mirid": "/x", "aio": null}}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let token = minted["assertion"].as_str().expect("assertion");
    let verified = verify_rs256_with_jwks(token, &server.identity().jwks(TokenVersion::V1)).expect("verify");
    assert_eq!(verified.claims["xms_mirid"], "/x");
    assert!(verified.claims.get("aio").is_none());
    assert_eq!(verified.claims["tid"], "tenant-ctl");

    server.set_outage(Outage::Off);
    let _ = get_json(&server.jwks_url(TokenVersion::V1)).await;
    assert_eq!(server.key_fetches(), 1);
    http.post(format!("{control}/_control/reset-stats"))
        .send()
        .await
        .expect("reset");
    assert_eq!(server.key_fetches(), 0);
}

#[tokio::test]
async fn wait_for_key_fetches_sees_concurrent_fetchers() {
    let server = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("start");
    let url = server.jwks_url(TokenVersion::V2);
    let fetches = (0..5).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { client().get(url).send().await.map(|r| r.status().as_u16()) })
    });
    for f in fetches {
        assert_eq!(f.await.expect("join").expect("get"), 200);
    }
    assert_eq!(server.wait_for_key_fetches(5, Duration::from_secs(2)).await, 5);
}
