//! The admin Lambda: an HTTP adapter over [`wif_registry::RegistryService`]. In AWS its function URL uses
//! `AuthType: AWS_IAM`, so every request arrives SigV4-verified with the caller's IAM identity in the request
//! context; the handler refuses requests without one (unless local-development mode is on) and records the
//! principal in the audit trail.
//!
//! Routes (paths as the handler sees them, after the function-URL prefix):
//! - `POST /clients`, `GET /clients?tenant_id=&cursor=&limit=`
//! - `GET|PATCH|DELETE /clients/{id}` (`DELETE ...?version=N` optional)
//! - `POST /clients/{id}/enable`, `POST /clients/{id}/disable`, `POST /clients/{id}/revoke-tokens` (`?version=N`)
//! - `GET /clients/{id}/test`: the connection checks
//! - `GET /clients/{id}/push`, `POST /clients/{id}/push/redeliver`: RFC 8935 push delivery state (retrying,
//!   dead letter) and redelivery from the dead letter
//! - `POST|GET /clients/{id}/secrets`, `DELETE /clients/{id}/secrets/{secret_id}?version=&revoke_tokens=true`
//! - `GET|POST /clients/{id}/credentials`, `GET|PATCH|DELETE /clients/{id}/credentials/{credential_id}`,
//!   `POST|DELETE /clients/{id}/credentials/{credential_id}/audiences` (`?audience=` on DELETE)
//! - `POST /migrations/trust-markers`: markers for registrations stored before them
//! - `GET /audit?tenant_id=|client_id=&from=&to=&cursor=&limit=&order=asc|desc`
//! - `/tenant-links`, `/invitations`: the customer portal's tenant links and onboarding invitations ([`links`])
//!
//! Responses are JSON with `Cache-Control: no-store` (a created secret's value travels in one of them): the wire
//! types of `wif-admin-api` ([`routes`], [`response`]); errors are `{"error","error_description"}` ([`error`]),
//! mapped once from the typed [`error::AdminError`]. Request parsing is in [`request`].

pub mod config;
pub mod error;
mod links;
pub mod permissions;
pub mod push;
pub mod request;
pub mod response;
pub mod routes;
mod wiring;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use wif_common::Clock;
use wif_edge::{RequestMeta, check_function_url_event, into_lambda_response};
use wif_registry::{Actor, AuditQueries, ConnectionTester, RegistryService};

use crate::error::AdminError;

/// Request bodies above this size are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct AdminApp {
    pub registry: RegistryService,
    pub tester: ConnectionTester,
    pub audit: AuditQueries,
    /// The customer portal's tenant links and invitations.
    pub links: wif_portal::links::TenantLinks,
    /// Push delivery state of the registrations with a push endpoint (the Events table).
    pub push_states: std::sync::Arc<dyn wif_events::delivery::PushStateStore>,
    /// The Directory table, for its one-off membership migration only.
    pub directory: wif_store::directory::DynamoDirectory,
    /// Without IAM auth in front (local stack), requests carry no principal and are accepted as `local-developer`.
    pub local_development: bool,
    /// For the freshness of a function-URL event's `timeEpoch`.
    pub clock: Arc<dyn Clock>,
}

impl wif_edge::HttpFunction for AdminApp {
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>> + Send {
        handle(self, request)
    }
}

/// Lambda entry: never returns `Err` (that would be an invocation error, not an HTTP answer).
pub async fn handle(app: &AdminApp, request: Request) -> Response<Body> {
    let meta = RequestMeta::of(&request);
    let span = meta.span("admin", request.method().as_str(), request.uri().path());
    async {
        let answer = match function_url_event(app, &request).and_then(|()| actor(app, &meta)) {
            Ok(actor) => routes::route(app, &request, &actor).await,
            Err(err) => Err(err),
        };
        let response = answer.unwrap_or_else(AdminError::into_response);
        tracing::info!(status = response.status().as_u16(), "admin request");
        into_lambda_response(response)
    }
    .instrument(span)
    .await
}

/// Refuses an event that AWS did not build for the function URL: a direct invocation could otherwise name any
/// IAM principal as the audited actor without a SigV4 signature (see `wif_edge::check_function_url_event`; the local stack's `cargo lambda watch` builds events without
/// `accountId` or `apiId`, so local development skips it).
fn function_url_event(app: &AdminApp, request: &Request) -> Result<(), AdminError> {
    if app.local_development {
        return Ok(());
    }
    check_function_url_event(request, app.clock.now_unix().saturating_mul(1000)).map_err(|reason| {
        tracing::warn!(%reason, "refused an event that is not a function-URL request");
        AdminError::NotAFunctionUrlEvent
    })
}

/// The audited caller: the IAM principal that signed the request, or `local-developer` without IAM auth in front.
fn actor(app: &AdminApp, meta: &RequestMeta) -> Result<Actor, AdminError> {
    let principal = match (&meta.iam_principal, app.local_development) {
        (Some(principal), _) => principal.clone(),
        (None, true) => "local-developer".to_owned(),
        (None, false) => return Err(AdminError::NoPrincipal),
    };
    Ok(Actor {
        principal,
        request_id: Some(meta.request_id.clone()),
        source_ip: meta.source_ip.clone(),
        person: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use serde_json::json;
    use wif_auth::registration::RegistrationPolicy;
    use wif_auth::testing::{InMemoryKeyStore, InMemoryTokenStore, StaticJwksFetcher, TestKey, jwks_document};
    use wif_common::FixedClock;
    use wif_registry::memory::{InMemoryAudit, InMemoryRegistrations};
    use wif_registry::{PublicUrls, RegistryPorts};

    struct Harness {
        app: AdminApp,
        audit: Arc<InMemoryAudit>,
        fetcher: Arc<StaticJwksFetcher>,
    }

    impl std::ops::Deref for Harness {
        type Target = AdminApp;
        fn deref(&self) -> &AdminApp {
            &self.app
        }
    }

    fn app(local_development: bool) -> Harness {
        let audit = Arc::new(InMemoryAudit::default());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        let clock = Arc::new(FixedClock::at(1_800_000_000));
        let policy = RegistrationPolicy {
            local_development: true,
            ..RegistrationPolicy::default()
        };
        let app = AdminApp {
            registry: RegistryService::new(
                RegistryPorts {
                    store: Arc::new(InMemoryRegistrations::default()),
                    tokens: Arc::new(InMemoryTokenStore::default()),
                    audit: audit.clone(),
                    clock: clock.clone(),
                    fetcher: fetcher.clone(),
                },
                policy.clone(),
                PublicUrls {
                    token_url: "http://127.0.0.1:9000/lambda-url/token/oauth2/token".into(),
                    scim_url: "http://127.0.0.1:9000/lambda-url/scim/scim/v2".into(),
                    ..Default::default()
                },
            ),
            tester: ConnectionTester {
                keys: Arc::new(InMemoryKeyStore::default()),
                fetcher: fetcher.clone(),
                clock: clock.clone(),
                policy,
            },
            links: wif_portal::links::TenantLinks::new(
                Arc::new(wif_portal::testing::InMemoryPortalStore::default()),
                audit.clone(),
                clock.clone(),
                Some("https://portal.example".into()),
            ),
            push_states: Arc::new(wif_events::memory::MemoryEventStore::default()),
            directory: wif_store::directory::DynamoDirectory::new(
                aws_sdk_dynamodb::Client::from_conf(
                    aws_sdk_dynamodb::Config::builder()
                        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                        .build(),
                ),
                "Directory",
            ),
            audit: AuditQueries::new(audit.clone()),
            local_development,
            clock,
        };
        Harness { app, audit, fetcher }
    }

    fn request(method: &str, uri: &str, body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(if body.is_empty() {
                Body::Empty
            } else {
                Body::Text(body.into())
            })
            .unwrap()
    }

    async fn call(app: &AdminApp, method: &str, uri: &str, body: &str) -> (u16, serde_json::Value) {
        let response = handle(app, request(method, uri, body)).await;
        let status = response.status().as_u16();
        let json = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            _ => serde_json::Value::Null,
        };
        (status, json)
    }

    const CREATE: &str = r#"{"issuer":"https://sts.windows.net/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/",
        "jwks_uri":"http://127.0.0.1:9100/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/discovery/keys",
        "subject":"0d7c2d0e-1111-4222-8333-444455556666","audience":"api://demo-scim"}"#;

    #[tokio::test]
    async fn create_then_get_round_trips_with_urls() {
        let app = app(true);
        let response = handle(&app, request("POST", "/clients", CREATE)).await;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let Body::Text(text) = response.body() else {
            panic!("no body")
        };
        let created: serde_json::Value = serde_json::from_str(text).unwrap();
        let id = created["client_id"].as_str().unwrap();
        assert_eq!(location, format!("/clients/{id}"));
        assert_eq!(
            created["token_url"],
            "http://127.0.0.1:9000/lambda-url/token/oauth2/token"
        );
        assert_eq!(created["scim_url"], "http://127.0.0.1:9000/lambda-url/scim/scim/v2");
        assert_eq!(
            created["federated_credentials"][0]["expected_tid"],
            "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
        );
        assert!(created.get("secrets").unwrap().as_array().unwrap().is_empty());
        let (status, fetched) = call(&app, "GET", &format!("/clients/{id}"), "").await;
        assert_eq!(status, 200);
        assert_eq!(fetched, created);
    }

    #[tokio::test]
    async fn push_state_and_redelivery_over_http() {
        let app = app(true);
        let (status, created) = call(&app, "POST", "/clients", CREATE).await;
        assert_eq!(status, 201);
        let polled = created["client_id"].as_str().unwrap().to_owned();
        let (status, view) = call(&app, "GET", &format!("/clients/{polled}/push"), "").await;
        assert_eq!((status, view["status"].as_str()), (200, Some("not_configured")));
        let (status, refused) = call(&app, "POST", &format!("/clients/{polled}/push/redeliver"), "").await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_request")));
        let (status, missing) = call(&app, "GET", "/clients/nobody/push", "").await;
        assert_eq!(status, 404, "{missing}");
        let (status, _) = call(&app, "DELETE", &format!("/clients/{polled}/push"), "").await;
        assert_eq!(status, 405);

        let pushing = r#"{"tenant_id":"contoso","wif_enabled":false,"secrets_enabled":true,"scopes":["events.read"],
            "events":{"push_url":"https://app.isv.example/events"}}"#;
        let (status, created) = call(&app, "POST", "/clients", pushing).await;
        assert_eq!(status, 201, "{created}");
        let id = created["client_id"].as_str().unwrap().to_owned();
        let dead = wif_events::delivery::PushState {
            failures: 12,
            last_error: Some("status 503".into()),
            dead_lettered_at_ms: Some(1_800_000_000_000),
            ..Default::default()
        };
        app.push_states.save_push_state(&id, "contoso", &dead).await.unwrap();
        let (_, view) = call(&app, "GET", &format!("/clients/{id}/push"), "").await;
        assert_eq!(view["status"], "dead_letter");
        assert_eq!(
            (view["failures"].as_u64(), view["dead_lettered_at"].as_i64()),
            (Some(12), Some(1_800_000_000))
        );
        let (status, view) = call(&app, "POST", &format!("/clients/{id}/push/redeliver"), "").await;
        assert_eq!(
            (status, view["status"].as_str(), view["failures"].as_u64()),
            (200, Some("active"), Some(0))
        );
        assert_eq!(view["last_error"], "status 503", "the last error stays visible");
    }

    #[tokio::test]
    async fn bad_input_gets_a_clear_400() {
        let app = app(true);
        let (status, body) = call(&app, "POST", "/clients", "{not json").await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], "invalid_request");
        let (status, body) = call(&app, "POST", "/clients", r#"{"issuer":"x","surprise":1}"#).await;
        assert_eq!(status, 400);
        assert!(
            body["error_description"].as_str().unwrap().contains("surprise"),
            "{body}"
        );
        let (status, body) = call(
            &app,
            "POST",
            "/clients",
            &CREATE.replace("api://demo-scim", " api://demo-scim"),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body["error_description"].as_str().unwrap().starts_with("audience:"),
            "{body}"
        );
        let (status, _) = call(&app, "POST", "/clients", &"x".repeat(MAX_BODY_BYTES + 1)).await;
        assert_eq!(status, 413);
        let response = handle(
            &app,
            lambda_http::http::Request::builder()
                .method("POST")
                .uri("/clients")
                .header("content-type", "text/plain")
                .body(Body::Text(CREATE.into()))
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), 415);
        let (status, _) = call(&app, "GET", "/clients?limit=abc", "").await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_are_json_errors() {
        let app = app(true);
        let (status, body) = call(&app, "GET", "/nothing", "").await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        let (status, body) = call(&app, "GET", "/clients/missing", "").await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        let response = handle(&app, request("PUT", "/clients", "")).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET, POST");
    }

    #[tokio::test]
    async fn lifecycle_update_disable_enable_revoke_delete() {
        let app = app(true);
        let (_, created) = call(&app, "POST", "/clients", CREATE).await;
        let id = created["client_id"].as_str().unwrap();
        let (status, updated) = call(
            &app,
            "PATCH",
            &format!("/clients/{id}"),
            r#"{"version":1,"display_name":"Demo","scopes":["scim.read"]}"#,
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["version"], 2);
        assert_eq!(updated["scopes"], json!(["scim.read"]));
        let (status, _) = call(
            &app,
            "PATCH",
            &format!("/clients/{id}"),
            r#"{"version":1,"display_name":"x"}"#,
        )
        .await;
        assert_eq!(status, 409);
        let (status, disabled) = call(&app, "POST", &format!("/clients/{id}/disable"), "").await;
        assert_eq!((status, disabled["enabled"].as_bool()), (200, Some(false)));
        let (status, enabled) = call(&app, "POST", &format!("/clients/{id}/enable?version=3"), "").await;
        assert_eq!((status, enabled["enabled"].as_bool()), (200, Some(true)));
        let (status, revoked) = call(&app, "POST", &format!("/clients/{id}/revoke-tokens"), "").await;
        assert_eq!((status, revoked["revoked_tokens"].as_u64()), (200, Some(0)));
        let (status, listed) = call(&app, "GET", "/clients", "").await;
        assert_eq!((status, listed["clients"].as_array().map(Vec::len)), (200, Some(1)));
        let (status, _) = call(&app, "DELETE", &format!("/clients/{id}?version=1"), "").await;
        assert_eq!(status, 409);
        let (status, deleted) = call(&app, "DELETE", &format!("/clients/{id}"), "").await;
        assert_eq!((status, deleted["deleted"].as_bool()), (200, Some(true)));
        let (status, _) = call(&app, "GET", &format!("/clients/{id}"), "").await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn outside_local_development_an_iam_principal_is_required() {
        let app = app(false);
        let (status, body) = call(&app, "GET", "/clients", "").await;
        assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")));
    }

    #[tokio::test]
    async fn create_may_choose_the_authentication_methods() {
        let app = app(true);
        let body = CREATE.replace("}", r#","wif_enabled":false,"secrets_enabled":true}"#);
        let (status, created) = call(&app, "POST", "/clients", &body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            (created["wif_enabled"].as_bool(), created["secrets_enabled"].as_bool()),
            (Some(false), Some(true))
        );
        let body = CREATE.replace("}", r#","wif_enabled":false}"#);
        let (status, err) = call(&app, "POST", "/clients", &body).await;
        assert_eq!(status, 400);
        assert!(
            err["error_description"]
                .as_str()
                .unwrap()
                .starts_with("wif_enabled: at least one"),
            "{err}"
        );
        let body = CREATE.replace("}", r#","secrets_enabled":"yes"}"#);
        let (status, err) = call(&app, "POST", "/clients", &body).await;
        assert_eq!(status, 400);
        assert_eq!(err["error_description"], "secrets_enabled: must be true or false");
        let (status, err) = call(&app, "POST", "/clients", "[1]").await;
        assert_eq!(
            (status, err["error_description"].as_str()),
            (400, Some("body: must be a JSON object"))
        );
    }

    #[tokio::test]
    async fn secrets_are_created_listed_and_revoked_over_http() {
        let app = app(true);
        let (_, created) = call(&app, "POST", "/clients", CREATE).await;
        let id = created["client_id"].as_str().unwrap().to_owned();
        let secrets = format!("/clients/{id}/secrets");

        let response = handle(&app, request("POST", &secrets, "")).await;
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let Body::Text(text) = response.body() else {
            panic!("no body")
        };
        let first: serde_json::Value = serde_json::from_str(text).unwrap();
        let value = first["client_secret"].as_str().unwrap().to_owned();
        assert!(value.starts_with("wif_cs_"));
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            format!("{secrets}/{}", first["secret_id"].as_str().unwrap())
        );
        let (status, second) = call(
            &app,
            "POST",
            &secrets,
            r#"{"description":"rotation 2027","expires_in_days":1095}"#,
        )
        .await;
        assert_eq!(status, 201, "{second}");
        let (status, third) = call(&app, "POST", &secrets, "{}").await;
        assert_eq!((status, third["error"].as_str()), (409, Some("conflict")));
        let (status, bad) = call(&app, "POST", &secrets, r#"{"expires_in_days":30}"#).await;
        assert_eq!(status, 400);
        assert!(
            bad["error_description"]
                .as_str()
                .unwrap()
                .starts_with("expires_in_days:")
        );
        let (status, bad) = call(&app, "POST", &secrets, r#"{"value":"mine"}"#).await;
        assert_eq!(status, 400);
        assert!(
            bad["error_description"]
                .as_str()
                .unwrap()
                .contains("unknown field `value`"),
            "{bad}"
        );

        let (status, listed) = call(&app, "GET", &secrets, "").await;
        assert_eq!(status, 200);
        assert_eq!(listed["active"], 2);
        let listed_text = listed.to_string();
        assert!(
            !listed_text.contains(&value) && !listed_text.contains("hash"),
            "{listed_text}"
        );
        let (_, client) = call(&app, "GET", &format!("/clients/{id}"), "").await;
        assert_eq!(client["secrets_enabled"], true);
        assert!(!client.to_string().contains(&value));

        let first_id = first["secret_id"].as_str().unwrap();
        let (status, bad) = call(&app, "DELETE", &format!("{secrets}/{first_id}?revoke_tokens=maybe"), "").await;
        assert_eq!(status, 400);
        assert_eq!(bad["error_description"], "revoke_tokens: must be true or false");
        let (status, revoked) = call(&app, "DELETE", &format!("{secrets}/{first_id}?revoke_tokens=true"), "").await;
        assert_eq!(status, 200, "{revoked}");
        assert_eq!(
            (revoked["revoked"].as_bool(), revoked["revoked_tokens"].as_u64()),
            (Some(true), Some(0))
        );
        let (status, _) = call(&app, "DELETE", &format!("{secrets}/{first_id}"), "").await;
        assert_eq!(status, 404);
        let response = handle(&app, request("PUT", &format!("{secrets}/{first_id}"), "")).await;
        assert_eq!(response.status(), 405);

        // The audit trail has every change and never the value.
        let (status, audit) = call(&app, "GET", &format!("/audit?client_id={id}&order=asc"), "").await;
        assert_eq!(status, 200);
        let actions: Vec<&str> = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            vec![
                "admin.client.create",
                "admin.secret.create",
                "admin.secret.create",
                "admin.secret.revoke"
            ]
        );
        assert!(!audit.to_string().contains(&value));
        assert!(
            app.audit
                .events()
                .iter()
                .all(|e| e.actor.as_deref() == Some("local-developer"))
        );
    }

    #[tokio::test]
    async fn the_connection_test_reports_each_check() {
        let app = app(true);
        let (_, created) = call(&app, "POST", "/clients", CREATE).await;
        let id = created["client_id"].as_str().unwrap();
        let jwks_uri = created["federated_credentials"][0]["jwks_uri"].as_str().unwrap();
        let (status, report) = call(&app, "GET", &format!("/clients/{id}/test"), "").await;
        assert_eq!(status, 200);
        assert_eq!(report["ok"], false, "nothing is served at the JWKS URL yet: {report}");
        app.fetcher.serve(jwks_uri, &jwks_document(&[&TestKey::rsa("k1")]));
        let (_, report) = call(&app, "GET", &format!("/clients/{id}/test"), "").await;
        assert_eq!(report["ok"], true, "{report}");
        let reachable = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "jwks_reachable");
        assert_eq!(reachable.unwrap()["ok"], true);
        let (status, _) = call(&app, "GET", "/clients/nope/test", "").await;
        assert_eq!(status, 404);
        let response = handle(&app, request("POST", &format!("/clients/{id}/test"), "")).await;
        assert_eq!(response.status(), 405);
    }

    #[tokio::test]
    async fn credentials_and_audiences_have_their_own_routes() {
        let app = app(true);
        let (_, created) = call(&app, "POST", "/clients", CREATE).await;
        let id = created["client_id"].as_str().unwrap();
        let base = format!("/clients/{id}/credentials");
        let body = CREATE.replace(
            "https://sts.windows.net/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/",
            "https://login.microsoftonline.com/6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/v2.0",
        );
        let response = handle(&app, request("POST", &format!("{base}?version=1"), &body)).await;
        assert_eq!(response.status(), 201);
        let Body::Text(text) = response.body() else {
            panic!("no body")
        };
        let added: serde_json::Value = serde_json::from_str(text).unwrap();
        let credential_id = added["credential"]["credential_id"].as_str().unwrap().to_owned();
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            format!("{base}/{credential_id}")
        );
        assert_eq!(added["version"], 2);
        let one = format!("{base}/{credential_id}");
        let (status, listed) = call(&app, "GET", &base, "").await;
        assert_eq!(
            (status, listed["federated_credentials"].as_array().map(Vec::len)),
            (200, Some(2))
        );
        let (status, changed) = call(&app, "POST", &format!("{one}/audiences"), r#"{"audience":"demo-app"}"#).await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(
            changed["credential"]["audiences"],
            json!(["api://demo-scim", "demo-app"])
        );
        let (status, err) = call(&app, "DELETE", &format!("{one}/audiences"), "").await;
        assert_eq!(
            (status, err["error_description"].as_str()),
            (400, Some("audience: is required (?audience=...)"))
        );
        let (status, changed) = call(&app, "DELETE", &format!("{one}/audiences?audience=demo-app"), "").await;
        assert_eq!(
            (status, changed["credential"]["audiences"].clone()),
            (200, json!(["api://demo-scim"]))
        );
        let (status, err) = call(&app, "PATCH", &one, r#"{"subject":"x"}"#).await;
        assert_eq!(status, 400);
        assert!(
            err["error_description"]
                .as_str()
                .unwrap()
                .contains("unknown field `subject`"),
            "{err}"
        );
        let response = handle(&app, request("PUT", &one, "")).await;
        assert_eq!(
            (
                response.status().as_u16(),
                response.headers()["allow"].to_str().unwrap()
            ),
            (405, "GET, PATCH, DELETE")
        );
        let (status, removed) = call(&app, "DELETE", &one, "").await;
        assert_eq!(
            (status, removed["credential_id"].as_str()),
            (200, Some(credential_id.as_str()))
        );
        let (status, _) = call(&app, "GET", &one, "").await;
        assert_eq!(status, 404);
        let (status, report) = call(&app, "POST", "/migrations/trust-markers", "").await;
        assert_eq!((status, report["examined"].as_u64()), (200, Some(1)));
        let response = handle(&app, request("GET", "/migrations/trust-markers", "")).await;
        assert_eq!(response.status(), 405);
    }

    #[tokio::test]
    async fn audit_queries_validate_their_parameters() {
        let app = app(true);
        for (uri, prefix) in [
            ("/audit", "tenant_id:"),
            ("/audit?tenant_id=t&from=soon", "from:"),
            ("/audit?tenant_id=t&limit=0", "limit:"),
            ("/audit?tenant_id=t&order=up", "order:"),
            ("/audit?tenant_id=t&cursor=forged", "cursor:"),
        ] {
            let (status, body) = call(&app, "GET", uri, "").await;
            assert_eq!(status, 400, "{uri}");
            assert!(
                body["error_description"].as_str().unwrap().starts_with(prefix),
                "{uri}: {body}"
            );
        }
        let (status, body) = call(&app, "GET", "/audit?tenant_id=t&from=2027-01-01T00:00:00Z", "").await;
        assert_eq!(status, 200);
        assert_eq!(body["events"], json!([]));
        let response = handle(&app, request("DELETE", "/audit?tenant_id=t", "")).await;
        assert_eq!(response.status(), 405);
    }

    /// A function-URL event of the admin function, signed by `principal`, as AWS builds it (`tweak` changes it).
    fn iam_event(principal: &str, tweak: impl FnOnce(&mut serde_json::Value)) -> Request {
        let mut event = json!({
          "version": "2.0", "routeKey": "$default", "rawPath": "/clients", "rawQueryString": "",
          "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "application/json"},
          "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "15/Jan/2027:08:00:00 +0000", "timeEpoch": 1_800_000_000_000u64,
            "authorizer": {"iam": {"accessKey": "ASIA", "accountId": "123456789012", "callerId": "AROA:portal",
                                   "userArn": principal, "userId": "AROA:portal"}},
            "http": {"method": "POST", "path": "/clients", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "wif-admin/0.1.0"}
          },
          "body": CREATE,
          "isBase64Encoded": false
        });
        tweak(&mut event);
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[tokio::test]
    async fn the_signing_iam_principal_is_the_audited_actor() {
        let app = app(false);
        let response = handle(
            &app,
            iam_event("arn:aws:sts::123456789012:assumed-role/portal/session", |_| ()),
        )
        .await;
        assert_eq!(response.status(), 201);
        let event = app.audit.events().pop().unwrap();
        assert_eq!(event.action, "admin.client.create");
        assert_eq!(
            event.actor.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/portal/session")
        );
        assert_eq!(event.source_ip.as_deref(), Some("203.0.113.9"));
    }

    /// Issue 14.6: a principal with `lambda:InvokeFunction` sends its own event naming another principal. Events
    /// that lack what the function-URL service sets, or carry another service's domain, are refused and audit
    /// nothing.
    #[tokio::test]
    async fn a_directly_invoked_event_cannot_forge_the_audited_actor() {
        let app = app(false);
        let forged = "arn:aws:iam::123456789012:user/security-officer";
        let tweaks: [fn(&mut serde_json::Value); 4] = [
            |event| drop(event["requestContext"].as_object_mut().unwrap().remove("apiId")),
            |event| drop(event["requestContext"].as_object_mut().unwrap().remove("timeEpoch")),
            |event| event["requestContext"]["domainName"] = "abc.execute-api.eu-west-1.amazonaws.com".into(),
            |event| event["requestContext"]["timeEpoch"] = 1_700_000_000_000u64.into(),
        ];
        for tweak in tweaks {
            let response = handle(&app, iam_event(forged, tweak)).await;
            assert_eq!(response.status(), 403);
        }
        assert!(app.audit.events().is_empty(), "{:?}", app.audit.events());
    }

    #[tokio::test]
    async fn tenant_links_and_invitations_over_http() {
        let app = app(true);
        let tid = "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
        let body = format!(r#"{{"entra_tenant_id":"{tid}","tenant_id":"acme","non_admin_access":"read"}}"#);
        let (status, link) = call(&app, "POST", "/tenant-links", &body).await;
        assert_eq!((status, link["tenant_id"].as_str()), (201, Some("acme")), "{link}");
        let (status, again) = call(&app, "POST", "/tenant-links", &body).await;
        assert_eq!((status, again["error"].as_str()), (409, Some("conflict")));
        let (status, bad) = call(
            &app,
            "POST",
            "/tenant-links",
            r#"{"entra_tenant_id":"x","tenant_id":"a"}"#,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        let (status, listed) = call(&app, "GET", "/tenant-links", "").await;
        assert_eq!(
            (status, listed["tenant_links"].as_array().map(Vec::len)),
            (200, Some(1))
        );
        let (status, invitation) = call(&app, "POST", "/invitations", r#"{"tenant_id":"globex"}"#).await;
        assert_eq!(status, 201, "{invitation}");
        let url = invitation["invitation_url"].as_str().unwrap();
        assert!(url.starts_with("https://portal.example/invite?code="));
        let (status, _) = call(&app, "DELETE", &format!("/tenant-links/{tid}"), "").await;
        assert_eq!(status, 200);
        let (status, _) = call(&app, "GET", &format!("/tenant-links/{tid}"), "").await;
        assert_eq!(status, 404);
        let actions: Vec<String> = app.audit.events().into_iter().map(|e| e.action).collect();
        assert!(
            actions.contains(&"admin.tenant_link.create".to_owned())
                && actions.contains(&"admin.invitation.create".to_owned())
        );
    }
}
