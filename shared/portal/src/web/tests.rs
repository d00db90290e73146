//! The portal's pages and API driven like a browser and an automation client would, over in-memory stores and a
//! stub Entra token endpoint, with real ID tokens signed by a test key and checked by the real verifier.

use http::Method;
use serde_json::{Value, json};

use wif_auth::testing::sign_jwt;

use crate::model::NonAdminAccess;
use crate::sessions::SessionSettings;
use crate::web::PortalRequest;

use crate::testing::harness::*;

#[tokio::test]
async fn sign_in_creates_a_session_and_goes_back_where_the_user_was() {
    let h = harness();
    h.link(TENANT_A, "acme", NonAdminAccess::None).await;
    let (cookie, params) = h.start("/registrations").await;
    assert!(cookie.starts_with("__Host-wif-portal-signin="));
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["redirect_uri"],
        format!("http://127.0.0.1:9000{BASE}/signin/callback")
    );
    let who = person(TENANT_A, 1, true);
    h.endpoint.answer(
        200,
        &json!({ "id_token": h.id_token(&who, &params["nonce"]) }).to_string(),
    );
    let callback = h
        .get(
            &format!("/signin/callback?code=c1&state={}", params["state"]),
            Some(&cookie),
        )
        .await;
    assert_eq!(callback.status(), 303, "{}", callback.body());
    assert_eq!(location(&callback), format!("{BASE}/registrations"));
    let form = &h.endpoint.forms()[0];
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("grant_type"), "authorization_code");
    assert_eq!(
        crate::crypto::pkce_challenge(&field("code_verifier")),
        params["code_challenge"]
    );
    assert!(field("client_assertion").starts_with("stub-assertion-for-https://login.example"));
    let audit = h.audit.events();
    let signin = audit.iter().find(|e| e.action == "portal.signin").unwrap();
    assert_eq!(
        (signin.outcome.as_str(), signin.tenant_id.as_deref()),
        ("success", Some("acme"))
    );
    assert_eq!(signin.details["actor_tid"], TENANT_A);
}

#[tokio::test]
async fn sign_in_attacks_are_refused_without_a_session() {
    let h = harness();
    let who = person(TENANT_A, 1, true);
    let foreign_oid = who["oid"].clone();
    // (what the attacker changes, the callback's query given the real state)
    type Tamper = fn(&Harness, &Value, &str, &str) -> (String, String);
    let cases: Vec<(&str, Tamper)> = vec![
        ("missing state", |h, who, nonce, _| {
            (h.id_token(who, nonce), "code=c1".into())
        }),
        ("wrong state", |h, who, nonce, _| {
            (h.id_token(who, nonce), "code=c1&state=forged".into())
        }),
        ("wrong nonce", |h, who, _, state| {
            (h.id_token(who, "other-nonce"), format!("code=c1&state={state}"))
        }),
        ("tampered token", |h, who, nonce, state| {
            let token = h.id_token(who, nonce);
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = wif_auth::testing::b64(json!({"tid": TENANT_B}).to_string().as_bytes());
            parts[1] = &forged;
            (parts.join("."), format!("code=c1&state={state}"))
        }),
        ("entra error", |_, _, _, state| {
            (String::new(), format!("error=access_denied&state={state}"))
        }),
    ];
    for (name, tamper) in cases {
        let (cookie, params) = h.start("/").await;
        let (token, query) = tamper(&h, &who, &params["nonce"], &params["state"]);
        h.endpoint.answer(200, &json!({ "id_token": token }).to_string());
        let response = h.get(&format!("/signin/callback?{query}"), Some(&cookie)).await;
        assert_eq!(response.status(), 400, "{name}");
        assert!(response.body().contains("Sign-in did not complete"), "{name}");
        assert!(!cookies_of(&response).iter().any(|c| c.contains("session=")), "{name}");
    }
    // An ID token whose issuer names another tenant than its tid, and an expired one.
    for (name, token_of) in [
        (
            "foreign tenant",
            Box::new(|h: &Harness, nonce: &str| {
                // The issuer of tenant A with the tid of tenant B.
                let claims = json!({"iss": format!("https://login.microsoftonline.com/{TENANT_A}/v2.0"), "aud": CLIENT,
                "ver": "2.0", "nonce": nonce, "tid": TENANT_B, "oid": foreign_oid, "exp": NOW + 600, "iat": NOW});
                sign_jwt(&h.key, "RS256", &claims)
            }) as Box<dyn Fn(&Harness, &str) -> String>,
        ),
        (
            "expired",
            Box::new(|h: &Harness, nonce: &str| {
                let claims = json!({"iss": format!("https://login.microsoftonline.com/{TENANT_A}/v2.0"), "aud": CLIENT,
                "ver": "2.0", "nonce": nonce, "tid": TENANT_A, "oid": who["oid"], "exp": NOW - 3600, "iat": NOW - 7200});
                sign_jwt(&h.key, "RS256", &claims)
            }),
        ),
    ] {
        let (cookie, params) = h.start("/").await;
        h.endpoint
            .answer(200, &json!({ "id_token": token_of(&h, &params["nonce"]) }).to_string());
        let response = h
            .get(
                &format!("/signin/callback?code=c&state={}", params["state"]),
                Some(&cookie),
            )
            .await;
        assert_eq!(response.status(), 400, "{name}");
    }
    // A replayed answer (same cookie, state and code) finds no pending sign-in.
    let (cookie, params) = h.start("/").await;
    h.endpoint.answer(
        200,
        &json!({ "id_token": h.id_token(&who, &params["nonce"]) }).to_string(),
    );
    let path = format!("/signin/callback?code=c&state={}", params["state"]);
    assert_eq!(h.get(&path, Some(&cookie)).await.status(), 303);
    let replay = h.get(&path, Some(&cookie)).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.body().contains("already used"));
    // An answer arriving in another browser (no sign-in cookie).
    let (_, params) = h.start("/").await;
    assert_eq!(
        h.get(&format!("/signin/callback?code=c&state={}", params["state"]), None)
            .await
            .status(),
        400
    );
    assert_eq!(h.store.session_count(), 1, "only the genuine sign-in made a session");
    let denied = h
        .audit
        .events()
        .iter()
        .filter(|e| e.action == "portal.signin" && e.outcome == "denied")
        .count();
    assert_eq!(denied, 9);
}

#[tokio::test]
async fn return_to_never_leaves_the_portal() {
    let h = harness();
    for evil in ["https://evil.example/", "//evil.example", "/%5Cevil.example"] {
        let (cookie, params) = h
            .start(&form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>())
            .await;
        h.endpoint.answer(
            200,
            &json!({ "id_token": h.id_token(&person(TENANT_A, 1, true), &params["nonce"]) }).to_string(),
        );
        let done = h
            .get(
                &format!("/signin/callback?code=c&state={}", params["state"]),
                Some(&cookie),
            )
            .await;
        assert_eq!(location(&done), format!("{BASE}/"), "{evil}");
    }
}

#[tokio::test]
async fn pages_need_a_session_and_carry_security_headers() {
    let h = harness();
    let response = h.get("/registrations?x=1", None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("{BASE}/signin?returnTo=%2Fregistrations%3Fx%3D1")
    );
    let post = h.post_form("/registrations", None, &[("csrf", "x")]).await;
    assert_eq!(post.status(), 401);
    let page = h.get("/signin", None).await;
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'")
    );
    assert!(
        headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(h.get("/nothing/here", None).await.status(), 404);
    assert_eq!(h.get("/static/portal.js", None).await.status(), 200);
}

#[tokio::test]
async fn an_admin_creates_a_registration_for_their_own_tenant_only() {
    let h = harness();
    h.link(TENANT_A, "acme", NonAdminAccess::Read).await;
    h.link(TENANT_B, "globex", NonAdminAccess::None).await;
    let admin = h.sign_in(&person(TENANT_A, 1, true)).await;
    let created = h.create(&admin, "<script>alert(1)</script>").await;
    assert_eq!(created.status(), 303, "{}", created.body());
    let page_path = location(&created).trim_start_matches(BASE).to_owned();
    let id = page_path
        .trim_start_matches("/registrations/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = h.get(&page_path, admin.cookie.as_deref()).await;
    assert_eq!(page.status(), 200);
    let html = page.body();
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "the display name must be escaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"));
    // minijinja escapes `/` as well; the browser shows (and copies) the plain text.
    let shown = html.replace("&#x2f;", "/");
    assert!(
        shown.contains(&id)
            && shown.contains("https://wif.example/oauth2/token")
            && shown.contains("https://wif.example/scim/v2")
    );
    assert!(shown.contains(&format!("https://login.microsoftonline.com/{TENANT_A}/v2.0")));
    let event = h
        .audit
        .events()
        .into_iter()
        .find(|e| e.action == "admin.client.create")
        .unwrap();
    assert_eq!(event.details["actor_tid"], TENANT_A);
    assert_eq!(event.details["actor_upn"], "user1@6b1f.example");
    assert_eq!(
        event.actor.as_deref(),
        Some(format!("entra:{TENANT_A}/0d7c2d0e-1111-4222-8333-444455556601").as_str())
    );

    // Without the CSRF token: 403, nothing created.
    let no_csrf = h
        .post_form(
            "/registrations",
            admin.cookie.as_deref(),
            &[("subject", "x"), ("audience", "api://y")],
        )
        .await;
    assert_eq!(no_csrf.status(), 403);
    // Another tenant's admin: 404 for the id, on pages and actions alike.
    let other = h.sign_in(&person(TENANT_B, 2, true)).await;
    assert_eq!(
        h.get(&format!("/registrations/{id}"), other.cookie.as_deref())
            .await
            .status(),
        404
    );
    let csrf = other.csrf.clone().unwrap();
    let disable = h
        .post_form(
            &format!("/registrations/{id}/disable"),
            other.cookie.as_deref(),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(disable.status(), 404);
    // A reader of tenant A sees it but cannot change it.
    let reader = h.sign_in(&person(TENANT_A, 3, false)).await;
    assert_eq!(
        h.get(&format!("/registrations/{id}"), reader.cookie.as_deref())
            .await
            .status(),
        200
    );
    assert_eq!(h.create(&reader, "mine").await.status(), 403);
    let csrf = reader.csrf.clone().unwrap();
    let write = h
        .post_form(
            &format!("/registrations/{id}/disable"),
            reader.cookie.as_deref(),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(write.status(), 403);
    // The admin's actions work and are reflected.
    let csrf = admin.csrf.clone().unwrap();
    let disabled = h
        .post_form(
            &format!("/registrations/{id}/disable"),
            admin.cookie.as_deref(),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&disabled), format!("{BASE}/registrations/{id}?done=disabled"));
    let secret = h
        .post_form(
            &format!("/registrations/{id}/secrets"),
            admin.cookie.as_deref(),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(secret.body().contains("wif_cs_"), "the new secret is shown once");
    assert_eq!(
        h.get(&format!("/registrations/{id}/test"), admin.cookie.as_deref())
            .await
            .status(),
        200
    );
    assert_eq!(h.get("/activity", admin.cookie.as_deref()).await.status(), 200);
    assert_eq!(h.get("/", admin.cookie.as_deref()).await.status(), 200);
}

#[tokio::test]
async fn sessions_end_at_sign_out_and_when_idle() {
    let h = harness();
    h.link(TENANT_A, "acme", NonAdminAccess::None).await;
    let admin = h.sign_in(&person(TENANT_A, 1, true)).await;
    let csrf = admin.csrf.clone().unwrap();
    let out = h
        .post_form("/signout", admin.cookie.as_deref(), &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status(), 303);
    assert!(cookies_of(&out)[0].contains("Max-Age=0"));
    assert_eq!(h.get("/", admin.cookie.as_deref()).await.status(), 303);
    let api = h.get("/api/registrations", admin.cookie.as_deref()).await;
    assert_eq!(api.status(), 401);

    let idle = h.sign_in(&person(TENANT_A, 1, true)).await;
    h.clock.advance(SessionSettings::default().idle_seconds + 1);
    assert_eq!(h.get("/", idle.cookie.as_deref()).await.status(), 303);
    assert_eq!(h.store.session_count(), 0);
}

#[tokio::test]
async fn an_invitation_links_the_redeeming_admins_tenant_once() {
    let h = harness();
    let actor = wif_registry::Actor {
        principal: "ops".into(),
        ..Default::default()
    };
    let invitation = h
        .portal
        .links
        .invite(
            crate::links::InvitationRequest {
                tenant_id: Some("initech".into()),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
    let reader = h.sign_in(&person(TENANT_B, 4, false)).await;
    let csrf = reader.csrf.clone().unwrap();
    let refused = h
        .post_form(
            "/invite",
            reader.cookie.as_deref(),
            &[("csrf", &csrf), ("code", &invitation.code)],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let admin = h.sign_in(&person(TENANT_B, 5, true)).await;
    let page = h
        .get(&format!("/invite?code={}", invitation.code), admin.cookie.as_deref())
        .await;
    assert_eq!(page.status(), 200);
    let csrf = admin.csrf.clone().unwrap();
    let accepted = h
        .post_form(
            "/invite",
            admin.cookie.as_deref(),
            &[("csrf", &csrf), ("code", &invitation.code)],
        )
        .await;
    assert_eq!(location(&accepted), format!("{BASE}/?linked=1"));
    let again = h
        .post_form(
            "/invite",
            admin.cookie.as_deref(),
            &[("csrf", &csrf), ("code", &invitation.code)],
        )
        .await;
    assert_eq!(again.status(), 404);
    let link = h.portal.links.get(TENANT_B).await.unwrap();
    assert_eq!(link.tenant_id, "initech");
}

mod api {
    use super::*;

    fn access_token(h: &Harness, who: &Value, scp: &str) -> String {
        let mut claims = json!({
            "iss": format!("https://login.microsoftonline.com/{}/v2.0", who["tid"].as_str().unwrap()),
            "aud": API, "ver": "2.0", "scp": scp, "iat": NOW - 5, "exp": NOW + 3600,
        });
        claims.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
        sign_jwt(&h.key, "RS256", &claims)
    }

    async fn call(h: &Harness, method: Method, path: &str, bearer: Option<&str>, body: &str) -> (u16, Value) {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut request = PortalRequest {
            method,
            path: path.into(),
            query: query.into(),
            body: body.as_bytes().to_vec(),
            ..PortalRequest::default()
        };
        if let Some(token) = bearer {
            request
                .headers
                .insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        }
        request
            .headers
            .insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        let response = h.portal.handle(request).await;
        let status = response.status().as_u16();
        if status == 401 {
            assert!(response.headers().contains_key("www-authenticate"));
        }
        (status, serde_json::from_str(response.body()).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn delegated_tokens_scopes_roles_and_tenants() {
        let h = harness();
        h.link(TENANT_A, "acme", NonAdminAccess::Read).await;
        h.link(TENANT_B, "globex", NonAdminAccess::None).await;
        let admin = access_token(&h, &person(TENANT_A, 1, true), "registrations.readwrite");
        let body =
            json!({"subject": "fbd13a0e-0a74-477d-953a-9f4b520a0e8e", "audience": "api://x", "display_name": "api"});
        let (status, created) = call(&h, Method::POST, "/api/registrations", Some(&admin), &body.to_string()).await;
        assert_eq!(status, 201, "{created}");
        let id = created["client_id"].as_str().unwrap().to_owned();
        let (status, list) = call(&h, Method::GET, "/api/registrations", Some(&admin), "").await;
        assert_eq!((status, list["registrations"].as_array().unwrap().len()), (200, 1));

        let read_only = access_token(&h, &person(TENANT_A, 1, true), "registrations.read");
        assert_eq!(
            call(
                &h,
                Method::GET,
                &format!("/api/registrations/{id}"),
                Some(&read_only),
                ""
            )
            .await
            .0,
            200
        );
        assert_eq!(
            call(
                &h,
                Method::POST,
                "/api/registrations",
                Some(&read_only),
                &body.to_string()
            )
            .await
            .0,
            403
        );
        let reader = access_token(&h, &person(TENANT_A, 3, false), "registrations.readwrite");
        assert_eq!(
            call(
                &h,
                Method::POST,
                &format!("/api/registrations/{id}/disable"),
                Some(&reader),
                ""
            )
            .await
            .0,
            403
        );
        let no_scope = access_token(&h, &person(TENANT_A, 1, true), "User.Read");
        assert_eq!(
            call(&h, Method::GET, "/api/registrations", Some(&no_scope), "").await.0,
            403
        );
        let other = access_token(&h, &person(TENANT_B, 2, true), "registrations.readwrite");
        assert_eq!(
            call(&h, Method::GET, &format!("/api/registrations/{id}"), Some(&other), "")
                .await
                .0,
            404
        );
        assert_eq!(
            call(
                &h,
                Method::POST,
                &format!("/api/registrations/{id}/revoke-tokens"),
                Some(&other),
                ""
            )
            .await
            .0,
            404
        );

        for bad in ["wif_at_0123456789abcdef", "not-a-jwt", &admin[..admin.len() - 4]] {
            assert_eq!(
                call(&h, Method::GET, "/api/registrations", Some(bad), "").await.0,
                401,
                "{bad}"
            );
        }
        assert_eq!(call(&h, Method::GET, "/api/registrations", None, "").await.0, 401);
        let (status, me) = call(&h, Method::GET, "/api/me", Some(&admin), "").await;
        assert_eq!((status, me["tenant_id"].as_str()), (200, Some("acme")));
        let (status, activity) = call(&h, Method::GET, "/api/activity", Some(&read_only), "").await;
        assert_eq!((status, activity["hourly"].as_array().map(Vec::len)), (200, Some(168)));
    }

    #[tokio::test]
    async fn session_cookies_need_the_csrf_header_for_writes() {
        let h = harness();
        h.link(TENANT_A, "acme", NonAdminAccess::None).await;
        let browser = h.sign_in(&person(TENANT_A, 1, true)).await;
        let cookie = browser.cookie.clone().unwrap();
        let body = json!({"subject": "fbd13a0e-0a74-477d-953a-9f4b520a0e8e", "audience": "api://x"}).to_string();
        let without = h
            .send(
                Method::POST,
                "/api/registrations",
                Some(&cookie),
                &body,
                "application/json",
            )
            .await;
        assert_eq!(without.status(), 403);
        let mut request = PortalRequest {
            method: Method::POST,
            path: "/api/registrations".into(),
            body: body.into_bytes(),
            ..PortalRequest::default()
        };
        request.headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        request
            .headers
            .insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        request
            .headers
            .insert("x-csrf-token", browser.csrf.clone().unwrap().parse().unwrap());
        assert_eq!(h.portal.handle(request).await.status(), 201);
    }
}
