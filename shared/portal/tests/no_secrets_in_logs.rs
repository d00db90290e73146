//! No ID token, code, state, nonce, PKCE verifier, client assertion, cookie value, CSRF token or client secret
//! reaches a log line, on success and failure paths. Its own test binary: a thread-local log capture is only
//! reliable when no other test of the binary touches the same callsites concurrently.

use http::Method;
use serde_json::json;

use wif_portal::model::NonAdminAccess;
use wif_portal::testing::harness::*;
use wif_portal::web::PortalRequest;

/// No ID token, access token, code, state, nonce, PKCE verifier, client assertion, cookie value, CSRF token or
/// client secret reaches a log line (captured at TRACE), on success and failure paths.
#[tokio::test]
async fn logs_never_contain_tokens_codes_or_cookies() {
    let logs = wif_common::telemetry::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(wif_common::telemetry::json_subscriber_into(logs.clone()));
    let h = harness();
    h.link(TENANT_A, "acme", NonAdminAccess::None).await;
    let who = person(TENANT_A, 1, true);
    let (cookie, params) = h.start("/").await;
    let id_token = h.id_token(&who, &params["nonce"]);
    h.endpoint.answer(200, &json!({ "id_token": id_token }).to_string());
    let code = "code-that-must-never-be-logged-0123456789";
    let callback = h
        .get(
            &format!("/signin/callback?code={code}&state={}", params["state"]),
            Some(&cookie),
        )
        .await;
    let session_cookie = cookies_of(&callback)
        .into_iter()
        .find(|c| c.contains("session="))
        .unwrap();
    let session_value = session_cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    let verifier = h.endpoint.forms()[0]
        .iter()
        .find(|(k, _)| k == "code_verifier")
        .unwrap()
        .1
        .clone();
    let assertion = h.endpoint.forms()[0]
        .iter()
        .find(|(k, _)| k == "client_assertion")
        .unwrap()
        .1
        .clone();
    // Failures: a replay, a tampered token, a bad bearer token.
    let _ = h
        .get(
            &format!("/signin/callback?code={code}&state={}", params["state"]),
            Some(&cookie),
        )
        .await;
    let (other_cookie, other) = h.start("/").await;
    let tampered = format!("{}x", h.id_token(&who, &other["nonce"]));
    h.endpoint.answer(200, &json!({ "id_token": tampered }).to_string());
    let _ = h
        .get(
            &format!("/signin/callback?code={code}&state={}", other["state"]),
            Some(&other_cookie),
        )
        .await;
    let browser = Browser {
        cookie: Some(session_cookie.split(';').next().unwrap().to_owned()),
        csrf: None,
    };
    let page = h.get("/", browser.cookie.as_deref()).await;
    let csrf = csrf_of(page.body()).unwrap();
    let browser = Browser {
        csrf: Some(csrf.clone()),
        ..browser
    };
    let created = h.create(&browser, "logged").await;
    let id = location(&created)
        .trim_start_matches(BASE)
        .trim_start_matches("/registrations/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let secret_page = h
        .post_form(
            &format!("/registrations/{id}/secrets"),
            browser.cookie.as_deref(),
            &[("csrf", &csrf)],
        )
        .await;
    let secret = {
        let body = secret_page.body();
        let at = body.find("wif_cs_").unwrap();
        body[at..at + 40].to_owned()
    };
    let mut request = PortalRequest {
        method: Method::GET,
        path: "/api/registrations".into(),
        ..PortalRequest::default()
    };
    request.headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {id_token}").parse().unwrap(),
    );
    assert_eq!(h.portal.handle(request).await.status(), 401);

    let text = logs.contents();
    assert!(text.contains("portal request"), "expected request log lines: {text}");
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap_or_default().to_owned();
    for (name, value) in [
        ("ID token", id_token.clone()),
        ("ID token signature", signature(&id_token)),
        ("code", code.to_owned()),
        ("state", params["state"].clone()),
        ("nonce", params["nonce"].clone()),
        ("PKCE verifier", verifier),
        ("client assertion", assertion),
        ("sign-in cookie", cookie.split('=').nth(1).unwrap().to_owned()),
        ("session cookie", session_value),
        ("CSRF token", csrf),
        ("client secret", secret),
    ] {
        assert!(!text.contains(&value), "the logs contain the {name}");
    }
}
