//! The declarations are honest: each function's real code, driven through its real handler or service over
//! moto with the real SDK, sends exactly the DynamoDB actions its permissions.rs declares (nothing undeclared,
//! which AWS would deny; nothing declared but unused, which would be excess privilege), and queries exactly the
//! indexes its role is granted.

mod common;

use std::sync::Arc;

use common::{Dynamo, assert_sent_matches_declared};
use lambda_http::{Body, Request};
use wif_auth::ports::{JwksFetchError, JwksFetchOutcome, StoredJwks, TokenRecord};
use wif_auth::registration::Registration;
use wif_auth::scope::Scope;
use wif_auth::testing::{StaticJwksFetcher, TestKey, entra_like_claims, jwks_document, sample_registration, sign_jwt};
use wif_common::FixedClock;
use wif_store::TableKind;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::tokens::TokenRepository;

const NOW: i64 = 1_750_000_000;

fn http(method: &str, uri: &str, content_type: &str, body: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "wif.example.com")
        .header("content-type", content_type)
        .body(if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_owned())
        })
        .unwrap_or_else(|err| panic!("request: {err}"))
}

fn json_body(response: &lambda_http::Response<Body>) -> serde_json::Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or_default(),
        _ => serde_json::Value::Null,
    }
}

async fn seed_registration(dynamo: &Dynamo, registration: &Registration) {
    ClientRepository::new(dynamo.unrecorded.clone(), dynamo.names.get(TableKind::Clients))
        .insert(registration)
        .await
        .unwrap_or_else(|err| panic!("seed registration: {err}"));
}

#[tokio::test]
async fn token_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let client = dynamo.recorded.clone();
    let clock = Arc::new(FixedClock::at(NOW));

    let key = TestKey::rsa("k1");
    let known = sample_registration("c1");
    let mut unreachable = sample_registration("c2");
    unreachable.federated_credentials[0].subject = "another-workload-identity".into();
    seed_registration(&dynamo, &known).await;
    seed_registration(&dynamo, &unreachable).await;
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(&known.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
    fetcher.answer(
        &unreachable.federated_credentials[0].jwks_uri,
        Err(JwksFetchError::Status(503)),
    );

    let config = token::config::TokenConfig::from_env(&dynamo.env(&[])).unwrap_or_else(|err| panic!("{err}"));
    let app =
        token::TokenApp::from_config(&config, &client, clock, fetcher.clone()).unwrap_or_else(|err| panic!("{err}"));
    let form = |client_id: Option<&str>, registration: &Registration| {
        let assertion = sign_jwt(&key, "RS256", &entra_like_claims(registration, NOW));
        let client_id = client_id.map(|id| format!("client_id={id}&")).unwrap_or_default();
        format!(
            "grant_type=client_credentials&{client_id}client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&scope=scim"
        )
    };
    let post = |body: String| http("POST", "/oauth2/token", "application/x-www-form-urlencoded", &body);

    // A grant by client_id: registration, rate counters, shared key cache (miss, then the fetched JWKS stored),
    // the token, the audit record.
    let granted = token::handle(&app, post(form(Some("c1"), &known))).await;
    assert_eq!(granted.status(), 200, "{}", json_body(&granted));
    // Without client_id the registration is found through the marker of the assertion's trust.
    let by_subject = token::handle(&app, post(form(None, &known))).await;
    assert_eq!(by_subject.status(), 200, "{}", json_body(&by_subject));
    // A registration whose JWKS URL is down: the failed fetch is recorded in the Keys table.
    let unavailable = token::handle(&app, post(form(Some("c2"), &unreachable))).await;
    assert!(unavailable.status().is_client_error() || unavailable.status().is_server_error());
    // The metadata document touches no table.
    let metadata = token::handle(
        &app,
        http("GET", "/.well-known/oauth-authorization-server", "text/plain", ""),
    )
    .await;
    assert_eq!(metadata.status(), 200);

    assert_sent_matches_declared(&dynamo, "TokenFunction", "TokenRole");
}

#[tokio::test]
async fn jwks_refresh_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let names = &dynamo.names;
    // Three workload identities (a trust belongs to one registration), each with a JWKS URL of its own.
    let identity = |name: &str| {
        let mut registration = sample_registration(name);
        registration.federated_credentials[0].subject = format!("sub-{name}");
        registration
    };
    let (mut fresh, failing, unchanged) = (identity("fresh"), identity("failing"), identity("unchanged"));
    // A registration with two credentials: each credential's JWKS is refreshed.
    let mut second = fresh.federated_credentials[0].clone();
    second.subject = "sub-fresh-second".into();
    second.jwks_uri = "https://login.microsoftonline.com/fresh-second/discovery/v2.0/keys".into();
    fresh.federated_credentials.push(second.clone());
    for registration in [&fresh, &failing, &unchanged] {
        seed_registration(&dynamo, registration).await;
    }
    let document = jwks_document(&[&TestKey::rsa("k1")]);
    KeyRepository::new(dynamo.unrecorded.clone(), names.get(TableKind::Keys))
        .put(&StoredJwks {
            jwks_uri: unchanged.federated_credentials[0].jwks_uri.clone(),
            document: Some(document.clone()),
            fetched_at: Some(NOW - 900),
            etag: Some("\"v1\"".into()),
            last_attempt_at: Some(NOW - 900),
            last_failure: None,
            last_failure_at: None,
        })
        .await
        .unwrap();
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(&fresh.federated_credentials[0].jwks_uri, &document);
    fetcher.serve(&second.jwks_uri, &document);
    fetcher.answer(
        &failing.federated_credentials[0].jwks_uri,
        Err(JwksFetchError::Status(503)),
    );
    fetcher.answer(
        &unchanged.federated_credentials[0].jwks_uri,
        Ok(JwksFetchOutcome::NotModified { max_age: None }),
    );

    // The function's own wiring and handler, as functions/jwks-refresh/src/main.rs runs them.
    let config = jwks_refresh::config::RefreshConfig::from_env(&dynamo.env(&[])).unwrap_or_else(|err| panic!("{err}"));
    let app = jwks_refresh::RefreshApp::from_config(&config, &dynamo.recorded, Arc::new(FixedClock::at(NOW)), fetcher)
        .unwrap_or_else(|err| panic!("{err}"));
    let report = jwks_refresh::handle(&app, "scheduled-run")
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(report.urls.len(), 4);
    assert_eq!(
        (report.updated, report.unchanged, report.failed),
        (2, 1, 1),
        "{report:?}"
    );

    assert_sent_matches_declared(&dynamo, "JwksRefreshFunction", "JwksRefreshRole");
}

/// Directory items of the release before group-of-user items, for the membership migration: a user, a group, its
/// membership (migrated) and a membership of a user that no longer exists (removed).
async fn seed_old_memberships(dynamo: &Dynamo) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let items = [
        vec![("pk", "T#contoso#U#u1"), ("sk", "USER"), ("type", "User")],
        vec![("pk", "T#contoso#G#g1"), ("sk", "#G"), ("type", "Group")],
        vec![
            ("pk", "T#contoso#G#g1"),
            ("sk", "M#u1"),
            ("type", "Membership"),
            ("group_id", "g1"),
            ("user_id", "u1"),
            ("gsi1pk", "T#contoso#UG#u1"),
            ("gsi1sk", "g1"),
        ],
        vec![
            ("pk", "T#contoso#G#g1"),
            ("sk", "M#gone"),
            ("type", "Membership"),
            ("group_id", "g1"),
            ("user_id", "gone"),
            ("gsi1pk", "T#contoso#UG#gone"),
            ("gsi1sk", "g1"),
        ],
    ];
    for item in items {
        dynamo
            .unrecorded
            .put_item()
            .table_name(&dynamo.names.directory)
            .set_item(Some(item.into_iter().map(|(k, v)| (k.to_owned(), s(v))).collect()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("seed: {err}"));
    }
}

#[tokio::test]
async fn admin_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let names = &dynamo.names;
    let client = dynamo.recorded.clone();
    let clock = Arc::new(FixedClock::at(NOW));
    let jwks_uri = "https://login.microsoftonline.com/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/discovery/keys";
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(jwks_uri, &jwks_document(&[&TestKey::rsa("k1")]));
    // No IAM request context in this test (local-development mode); the IAM check itself is the admin crate's own.
    let env = dynamo.env(&[
        ("WIF_LOCAL_DEVELOPMENT", "true"),
        ("WIF_PUBLIC_TOKEN_URL", "https://wif.example.com/oauth2/token"),
        ("WIF_PUBLIC_SCIM_URL", "https://wif.example.com/scim/v2"),
    ]);
    let config = admin::config::AdminConfig::from_env(&env).unwrap_or_else(|err| panic!("{err}"));
    let app = admin::AdminApp::from_config(&config, &client, clock, fetcher).unwrap_or_else(|err| panic!("{err}"));
    let call = |method: &str, uri: &str, body: &str| {
        let request = http(method, uri, "application/json", body);
        let app = &app;
        async move {
            let response = admin::handle(app, request).await;
            (response.status().as_u16(), json_body(&response))
        }
    };

    seed_old_memberships(&dynamo).await;

    let create = format!(
        r#"{{"issuer":"https://sts.windows.net/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/","jwks_uri":"{jwks_uri}",
        "subject":"0d7c2d0e-1111-4222-8333-444455556666","audience":"api://demo-scim","tenant_id":"contoso",
        "secrets_enabled":true}}"#
    );
    let (status, created) = call("POST", "/clients", &create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap_or_default().to_owned();
    // A live token of the client, so revocation has something to revoke.
    TokenRepository::new(
        dynamo.unrecorded.clone(),
        names.get(TableKind::Tokens),
        Arc::new(FixedClock::at(NOW)),
    )
    .put(&TokenRecord {
        token_hash: "0".repeat(64),
        client_id: id.clone(),
        tenant_id: "contoso".into(),
        scopes: vec![Scope::Scim],
        issued_at: NOW,
        expires_at: NOW + 3600,
        revoked: false,
    })
    .await
    .unwrap();

    let (status, secret) = call("POST", &format!("/clients/{id}/secrets"), "").await;
    assert_eq!(status, 201, "{secret}");
    let secret_id = secret["secret_id"].as_str().unwrap_or_default().to_owned();
    let v2_issuer = "https://login.microsoftonline.com/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/v2.0";
    let add_credential = format!(
        r#"{{"issuer":"{v2_issuer}","jwks_uri":"{jwks_uri}","subject":"0d7c2d0e-1111-4222-8333-444455556666",
        "audience":"api://demo-scim"}}"#
    );
    let second = wif_auth::registration::credential_id(v2_issuer, "0d7c2d0e-1111-4222-8333-444455556666");
    for (method, uri, body, expected) in [
        ("GET", format!("/clients/{id}"), "", 200),
        ("GET", "/clients?tenant_id=contoso".to_owned(), "", 200),
        ("GET", "/clients?limit=10".to_owned(), "", 200),
        (
            "PATCH",
            format!("/clients/{id}"),
            r#"{"version":2,"display_name":"Contoso"}"#,
            200,
        ),
        ("GET", format!("/clients/{id}/secrets"), "", 200),
        ("GET", format!("/clients/{id}/credentials"), "", 200),
        (
            "POST",
            format!("/clients/{id}/credentials"),
            add_credential.as_str(),
            201,
        ),
        ("GET", format!("/clients/{id}/credentials/{second}"), "", 200),
        (
            "PATCH",
            format!("/clients/{id}/credentials/{second}"),
            r#"{"audiences":["api://v2-scim"]}"#,
            200,
        ),
        (
            "POST",
            format!("/clients/{id}/credentials/{second}/audiences"),
            r#"{"audience":"v2-app"}"#,
            200,
        ),
        (
            "DELETE",
            format!("/clients/{id}/credentials/{second}/audiences?audience=v2-app"),
            "",
            200,
        ),
        ("DELETE", format!("/clients/{id}/credentials/{second}"), "", 200),
        ("POST", "/migrations/trust-markers".to_owned(), "", 200),
        ("POST", "/migrations/directory-memberships".to_owned(), "", 200),
        ("DELETE", format!("/clients/{id}/secrets/{secret_id}"), "", 200),
        ("GET", format!("/clients/{id}/test"), "", 200),
        ("POST", format!("/clients/{id}/revoke-tokens"), "", 200),
        ("POST", format!("/clients/{id}/disable"), "", 200),
        ("POST", format!("/clients/{id}/enable"), "", 200),
        ("GET", "/audit?tenant_id=contoso".to_owned(), "", 200),
        ("GET", format!("/audit?client_id={id}"), "", 200),
        ("DELETE", format!("/clients/{id}"), "", 200),
        (
            "POST",
            "/tenant-links".to_owned(),
            r#"{"entra_tenant_id":"6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b","tenant_id":"contoso"}"#,
            201,
        ),
        ("GET", "/tenant-links".to_owned(), "", 200),
        (
            "GET",
            "/tenant-links/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
            "",
            200,
        ),
        ("POST", "/invitations".to_owned(), r#"{"tenant_id":"fabrikam"}"#, 201),
        (
            "DELETE",
            "/tenant-links/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
            "",
            200,
        ),
    ] {
        let (status, body) = call(method, &uri, body).await;
        assert_eq!(status, expected, "{method} {uri}: {body}");
    }

    // Push delivery state: a dead-lettered push endpoint is shown and redelivered.
    let pushing = r#"{"tenant_id":"contoso","wif_enabled":false,"secrets_enabled":true,"scopes":["events.read"],
        "events":{"push_url":"https://app.isv.example/events"}}"#;
    let (status, created) = call("POST", "/clients", pushing).await;
    assert_eq!(status, 201, "{created}");
    let pushing_id = created["client_id"].as_str().unwrap_or_default().to_owned();
    let dead = wif_events::delivery::PushState {
        failures: 12,
        dead_lettered_at_ms: Some(1),
        ..Default::default()
    };
    wif_store::events::EventRepository::new(
        dynamo.unrecorded.clone(),
        names.get(TableKind::Events),
        std::time::Duration::from_secs(86_400),
    )
    .store_push_state(&pushing_id, "contoso", &dead)
    .await
    .unwrap();
    let (status, body) = call("GET", &format!("/clients/{pushing_id}/push"), "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("dead_letter")), "{body}");
    let (status, body) = call("POST", &format!("/clients/{pushing_id}/push/redeliver"), "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("active")), "{body}");

    assert_sent_matches_declared(&dynamo, "AdminFunction", "AdminRole");
}

#[tokio::test]
async fn scim_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let names = &dynamo.names;
    let client = dynamo.recorded.clone();
    let clock = Arc::new(FixedClock::at(NOW));
    let access = wif_auth::credentials::AccessToken::generate().unwrap();
    TokenRepository::new(dynamo.unrecorded.clone(), names.get(TableKind::Tokens), clock.clone())
        .put(&TokenRecord {
            token_hash: access.hash().to_owned(),
            client_id: "c1".into(),
            tenant_id: "contoso".into(),
            scopes: vec![Scope::Scim],
            issued_at: NOW,
            expires_at: NOW + 3600,
            revoked: false,
        })
        .await
        .unwrap();
    let config = scim::config::ScimConfig::from_env(&dynamo.env(&[])).unwrap_or_else(|err| panic!("{err}"));
    let app = scim::ScimApp::from_config(&config, &client, clock).unwrap_or_else(|err| panic!("{err}"));
    let bearer = format!("Bearer {}", access.value());
    let call = |method: &str, uri: &str, body: &str| {
        let mut request = http(method, &format!("/scim/v2{uri}"), "application/scim+json", body);
        request
            .headers_mut()
            .insert("authorization", bearer.parse().unwrap_or_else(|err| panic!("{err}")));
        let app = &app;
        async move {
            let response = scim::handle(app, request).await;
            (response.status().as_u16(), json_body(&response))
        }
    };
    let user = |user_name: &str, external_id: &str, manager: Option<&str>| {
        let manager = manager
            .map(|id| {
                format!(
                    r#","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{{"manager":{{"value":"{id}"}}}}"#
                )
            })
            .unwrap_or_default();
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{user_name}",
            "externalId":"{external_id}","active":true,"name":{{"givenName":"A","familyName":"B"}},
            "emails":[{{"type":"work","value":"{user_name}","primary":true}}]{manager}}}"#
        )
    };

    // An Entra provisioning cycle: test connection, lookups, creates, memberships, updates, renames, deletes.
    let (status, _) = call(
        "GET",
        "/Users?filter=userName+eq+%22f3b4c1e0-0000-4000-8000-000000000000%22",
        "",
    )
    .await;
    assert_eq!(status, 200);
    let (status, alice) = call("POST", "/Users", &user("alice@contoso.com", "a1", None)).await;
    assert_eq!(status, 201, "{alice}");
    let alice = alice["id"].as_str().unwrap_or_default().to_owned();
    let (status, bob) = call("POST", "/Users", &user("bob@contoso.com", "b1", Some(&alice))).await;
    assert_eq!(status, 201, "{bob}");
    let bob = bob["id"].as_str().unwrap_or_default().to_owned();
    let group = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","externalId":"g1",
        "members":[{{"value":"{alice}"}}]}}"#
    );
    let (status, created) = call("POST", "/Groups", &group).await;
    assert_eq!(status, 201, "{created}");
    let group = created["id"].as_str().unwrap_or_default().to_owned();
    let add = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Add","path":"members","value":[{{"value":"{bob}"}}]}}]}}"#
    );
    let remove = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Remove","path":"members[value eq \"{alice}\"]"}}]}}"#
    );
    let rename = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"name.givenName","value":"Alicia"}]}"#;
    for (method, uri, body, expected) in [
        (
            "GET",
            "/Users?filter=externalId+eq+%22a1%22".to_owned(),
            String::new(),
            200,
        ),
        (
            "GET",
            "/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22alice%40contoso.com%22".to_owned(),
            String::new(),
            200,
        ),
        (
            "GET",
            "/Users?filter=userName+eq+%22alice%40contoso.com%22".to_owned(),
            String::new(),
            200,
        ),
        ("PATCH", format!("/Groups/{group}"), add, 204),
        (
            "GET",
            format!("/Groups?filter=id+eq+%22{group}%22+and+members+eq+%22{bob}%22"),
            String::new(),
            200,
        ),
        (
            "GET",
            "/Groups?filter=displayName+eq+%22Engineering%22&excludedAttributes=members".to_owned(),
            String::new(),
            200,
        ),
        ("GET", format!("/Groups/{group}"), String::new(), 200),
        ("GET", format!("/Users/{alice}"), String::new(), 200),
        (
            "GET",
            format!("/Users?filter=id+eq+%22{bob}%22+and+manager+eq+%22{alice}%22"),
            String::new(),
            200,
        ),
        ("PATCH", format!("/Users/{alice}"), rename.to_owned(), 200),
        (
            "PUT",
            format!("/Users/{bob}"),
            user("robert@contoso.com", "b1", None),
            200,
        ),
        (
            "GET",
            "/Users?filter=name.givenName+sw+%22A%22".to_owned(),
            String::new(),
            200,
        ),
        ("GET", "/Groups".to_owned(), String::new(), 200),
        ("PATCH", format!("/Groups/{group}"), remove, 204),
        ("DELETE", format!("/Users/{bob}"), String::new(), 204),
        ("DELETE", format!("/Groups/{group}"), String::new(), 204),
        ("DELETE", format!("/Users/{alice}"), String::new(), 204),
    ] {
        let (status, body) = call(method, &uri, &body).await;
        assert_eq!(status, expected, "{method} {uri}: {body}");
    }

    assert_sent_matches_declared(&dynamo, "ScimFunction", "ScimRole");
}
