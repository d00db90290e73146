//! The portal function's declarations are honest: its real code, wired by its own `from_config` over moto
//! (DynamoDB and KMS through the real SDK), sends exactly the DynamoDB actions its permissions.rs declares while a
//! person signs in, creates and changes a registration, reads the activity and signs out.

mod common;

use std::sync::Arc;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use common::{Dynamo, assert_sent_matches_declared};
use lambda_http::{Body, Request};
use serde_json::json;
use wif_auth::ports::{JwksFetchError, TokenRecord};
use wif_auth::scope::Scope;
use wif_auth::testing::{StaticJwksFetcher, TestKey, jwks_document, sign_jwt};
use wif_common::{Clock, FixedClock};
use wif_portal::model::{NonAdminAccess, TenantLink};
use wif_portal::ports::TenantLinkStore;
use wif_portal::testing::StubTokenEndpoint;
use wif_store::TableKind;
use wif_store::portal::PortalRepository;
use wif_store::tokens::TokenRepository;

const NOW: i64 = 1_750_000_000;
const TID: &str = "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
const LOGIN: &str = "https://login.example";

fn request(method: &str, uri: &str, cookie: &str, form: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "portal.example.com")
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(if form.is_empty() {
            Body::Empty
        } else {
            Body::Text(form.to_owned())
        })
        .unwrap_or_else(|err| panic!("request: {err}"))
}

fn text(response: &lambda_http::Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    }
}

fn header(response: &lambda_http::Response<Body>, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect()
}

async fn signing_key() -> String {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let kms = aws_sdk_kms::Client::new(&config);
    let created = kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates the key");
    created.key_metadata.and_then(|m| m.arn).expect("key arn")
}

struct Driver {
    app: portal::PortalApp,
    endpoint: Arc<StubTokenEndpoint>,
    clock: Arc<FixedClock>,
    key: TestKey,
}

impl Driver {
    async fn send(&self, method: &str, uri: &str, cookie: &str, form: &str) -> lambda_http::Response<Body> {
        portal::handle(&self.app, request(method, uri, cookie, form)).await
    }

    /// Signs Adele in; the session cookie and the page's CSRF token, or the callback's status.
    async fn sign_in(&self) -> Result<(String, String), u16> {
        let start = self.send("GET", "/signin/start?returnTo=%2F", "", "").await;
        let cookie = header(&start, "set-cookie").remove(0);
        let location = header(&start, "location").remove(0);
        let params: std::collections::HashMap<String, String> =
            url::Url::parse(&location).unwrap().query_pairs().into_owned().collect();
        let claims = json!({
            "iss": format!("https://login.microsoftonline.com/{TID}/v2.0"), "aud": CLIENT, "ver": "2.0",
            "tid": TID, "oid": "4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4a01", "preferred_username": "adele@contoso.example",
            "wids": ["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"], "nonce": params["nonce"],
            "iat": self.clock.now_unix(), "exp": self.clock.now_unix() + 3600,
        });
        let id_token = sign_jwt(&self.key, "RS256", &claims);
        self.endpoint.answer(200, &json!({ "id_token": id_token }).to_string());
        let callback = self
            .send(
                "GET",
                &format!("/signin/callback?code=c&state={}", params["state"]),
                &cookie,
                "",
            )
            .await;
        if callback.status() != 303 {
            return Err(callback.status().as_u16());
        }
        let session = header(&callback, "set-cookie")
            .into_iter()
            .find(|c| c.starts_with("__Host-wif-portal-session"))
            .unwrap();
        let page = text(&self.send("GET", "/", &session, "").await);
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        Ok((session, page[at..at + 43].to_owned()))
    }
}

#[tokio::test]
async fn portal_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let key_arn = signing_key().await;
    let clock = Arc::new(FixedClock::at(NOW));
    let key = TestKey::rsa("entra-1");
    let fetcher = Arc::new(StaticJwksFetcher::default());
    let jwks_uri = format!("{LOGIN}/organizations/discovery/v2.0/keys");
    // Entra's keys are unreachable at first, so the failed fetch is recorded in the Keys table.
    fetcher.answer(&jwks_uri, Err(JwksFetchError::Status(503)));
    let endpoint = Arc::new(StubTokenEndpoint::default());
    let env = dynamo.env(&[
        ("WIF_PUBLIC_TOKEN_URL", "https://wif.example.com/oauth2/token"),
        ("WIF_PUBLIC_SCIM_URL", "https://wif.example.com/scim/v2"),
        ("WIF_PORTAL_ENTRA_CLIENT_ID", CLIENT),
        (
            "WIF_PORTAL_CERTIFICATE_THUMBPRINT",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        ("WIF_PORTAL_SIGNING_KEY", &key_arn),
        ("WIF_PORTAL_ENTRA_LOGIN_URL", LOGIN),
    ]);
    let config = portal::config::PortalConfig::from_env(&env).unwrap_or_else(|err| panic!("{err}"));
    let sdk = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let clients = portal::Clients {
        dynamo: dynamo.recorded.clone(),
        kms: aws_sdk_kms::Client::new(&sdk),
        clock: clock.clone(),
        fetcher: fetcher.clone(),
        token_endpoint: endpoint.clone(),
    };
    let app = portal::PortalApp::from_config(&config, clients).unwrap_or_else(|err| panic!("{err}"));
    let driver = Driver {
        app,
        endpoint,
        clock: clock.clone(),
        key,
    };
    PortalRepository::new(dynamo.unrecorded.clone(), dynamo.names.get(TableKind::Portal))
        .insert_link(&TenantLink {
            entra_tenant_id: TID.into(),
            tenant_id: "contoso".into(),
            display_name: None,
            non_admin_access: NonAdminAccess::None,
            created_at: NOW,
            created_by: "ops".into(),
        })
        .await
        .unwrap();

    assert_eq!(driver.sign_in().await.err(), Some(503), "Entra's keys are down");
    fetcher.serve(&jwks_uri, &jwks_document(&[&driver.key]));
    clock.advance(120);
    let (session, csrf) = driver
        .sign_in()
        .await
        .unwrap_or_else(|status| panic!("sign-in answered {status}"));
    let form = format!("csrf={csrf}&subject=fbd13a0e-0a74-477d-953a-9f4b520a0e8e&audience=api%3A%2F%2Fx");
    let created = driver.send("POST", "/registrations", &session, &form).await;
    assert_eq!(created.status(), 303, "{}", text(&created));
    let id = header(&created, "location")[0]
        .trim_start_matches("/registrations/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    TokenRepository::new(
        dynamo.unrecorded.clone(),
        dynamo.names.get(TableKind::Tokens),
        clock.clone(),
    )
    .put(&TokenRecord {
        token_hash: "0".repeat(64),
        client_id: id.clone(),
        tenant_id: "contoso".into(),
        scopes: vec![Scope::Scim],
        issued_at: NOW,
        expires_at: NOW + 7200,
        revoked: false,
    })
    .await
    .unwrap();
    clock.advance(90);
    for (method, uri, expected) in [
        ("GET", "/registrations".to_owned(), 200),
        ("GET", format!("/registrations/{id}"), 200),
        ("GET", format!("/registrations/{id}/test"), 200),
        ("POST", format!("/registrations/{id}/revoke-tokens"), 303),
        ("POST", format!("/registrations/{id}/disable"), 303),
        ("GET", "/activity".to_owned(), 200),
        ("GET", format!("/activity?client_id={id}"), 200),
        ("POST", "/signout".to_owned(), 303),
    ] {
        let form = if method == "POST" {
            format!("csrf={csrf}")
        } else {
            String::new()
        };
        let response = driver.send(method, &uri, &session, &form).await;
        assert_eq!(response.status(), expected, "{method} {uri}: {}", text(&response));
    }

    assert_sent_matches_declared(&dynamo, "PortalFunction", "PortalRole");
}
