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
//! - `POST|GET /clients/{id}/secrets`, `DELETE /clients/{id}/secrets/{secret_id}?version=&revoke_tokens=true`
//! - `GET /audit?tenant_id=|client_id=&from=&to=&cursor=&limit=&order=asc|desc`
//!
//! Responses are JSON with `Cache-Control: no-store` (a created secret's value travels in one of them); errors are
//! `{"error","error_description"}` with the status of [`wif_registry::RegistryError`].

pub mod config;
pub mod permissions;
mod wiring;

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::Instrument;

use wif_edge::{RequestMeta, body_bytes, into_lambda_response};
use wif_registry::secrets::SecretRequest;
use wif_registry::service::RegistrationUpdate;
use wif_registry::{Actor, AuditQueries, AuditRequest, ClientCreate, ConnectionTester, RegistryError, RegistryService};

/// Request bodies above this size are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct AdminApp {
    pub registry: RegistryService,
    pub tester: ConnectionTester,
    pub audit: AuditQueries,
    /// Without IAM auth in front (local stack), requests carry no principal and are accepted as `local-developer`.
    pub local_development: bool,
}

/// An admin-API answer before conversion to the Lambda type.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub location: Option<String>,
    pub allow: Option<&'static str>,
}

impl ApiResponse {
    fn ok(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            location: None,
            allow: None,
        }
    }

    fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": code, "error_description": description.into() }),
            location: None,
            allow: None,
        }
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        let mut response = Self::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this resource supports {allow}"),
        );
        response.allow = Some(allow);
        response
    }

    fn into_response(self) -> Response<Body> {
        let mut builder = lambda_http::http::Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(location) = &self.location {
            builder = builder.header(header::LOCATION, location);
        }
        if let Some(allow) = self.allow {
            builder = builder.header(header::ALLOW, allow);
        }
        let body = serde_json::to_string(&self.body).unwrap_or_else(|_| "{}".into());
        match builder.body(body) {
            Ok(response) => into_lambda_response(response),
            Err(_) => Response::new(Body::Empty),
        }
    }
}

impl From<RegistryError> for ApiResponse {
    fn from(err: RegistryError) -> Self {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        if status.is_server_error() {
            tracing::error!(error = %err, "admin request failed");
        }
        Self {
            status,
            body: err.to_json(),
            location: None,
            allow: None,
        }
    }
}

/// Lambda entry: never returns `Err` (that would be an invocation error, not an HTTP answer).
pub async fn handle(app: &AdminApp, request: Request) -> Response<Body> {
    let meta = RequestMeta::of(&request);
    let span = meta.span("admin", request.method().as_str(), request.uri().path());
    async {
        let response = route(app, &request, &meta).await;
        tracing::info!(status = response.status.as_u16(), "admin request");
        response.into_response()
    }
    .instrument(span)
    .await
}

fn query_param(request: &Request, name: &str) -> Option<String> {
    request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    })
}

fn parse_number<T: std::str::FromStr>(request: &Request, name: &str) -> Result<Option<T>, ApiResponse> {
    match query_param(request, name) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiResponse::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{name}: must be a non-negative integer"),
            )
        }),
    }
}

fn parse_flag(request: &Request, name: &str) -> Result<bool, ApiResponse> {
    match query_param(request, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiResponse::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{name}: must be true or false"),
        )),
    }
}

/// A JSON body that may be absent altogether (`POST /clients/{id}/secrets` with no options).
fn parse_optional_json<T: DeserializeOwned + Default>(request: &Request) -> Result<T, ApiResponse> {
    if body_bytes(request).iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(request)
}

fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, ApiResponse> {
    let body = body_bytes(request);
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiResponse::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("body: larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    if let Some(kind) = wif_common::http_util::media_type(request.headers())
        && kind != "application/json"
    {
        return Err(ApiResponse::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            format!("Content-Type must be application/json, not {kind}"),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|err| ApiResponse::error(StatusCode::BAD_REQUEST, "invalid_request", format!("body: {err}")))
}

async fn route(app: &AdminApp, request: &Request, meta: &RequestMeta) -> ApiResponse {
    let actor = match (&meta.iam_principal, app.local_development) {
        (Some(principal), _) => Actor {
            principal: principal.clone(),
            request_id: Some(meta.request_id.clone()),
            source_ip: meta.source_ip.clone(),
        },
        (None, true) => Actor {
            principal: "local-developer".into(),
            request_id: Some(meta.request_id.clone()),
            source_ip: meta.source_ip.clone(),
        },
        // Defence in depth: the function URL's AWS_IAM auth should make this unreachable in AWS.
        (None, false) => {
            return ApiResponse::error(
                StatusCode::FORBIDDEN,
                "access_denied",
                "the admin API requires a SigV4-signed request from an IAM principal",
            );
        }
    };
    let path = request.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method();
    let result = match segments.as_slice() {
        ["clients"] => match *method {
            Method::POST => create(app, request, &actor).await,
            Method::GET => list(app, request).await,
            _ => return ApiResponse::method_not_allowed("GET, POST"),
        },
        ["clients", id] => match *method {
            Method::GET => app.registry.get(id).await.map(|view| ApiResponse::ok(json!(view))),
            Method::PATCH => match parse_json::<RegistrationUpdate>(request) {
                Ok(update) => app
                    .registry
                    .update(id, update, &actor)
                    .await
                    .map(|view| ApiResponse::ok(json!(view))),
                Err(response) => return response,
            },
            Method::DELETE => match parse_number::<u64>(request, "version") {
                Ok(version) => app.registry.delete(id, version, &actor).await.map(|revoked| {
                    ApiResponse::ok(json!({ "client_id": id, "deleted": true, "revoked_tokens": revoked }))
                }),
                Err(response) => return response,
            },
            _ => return ApiResponse::method_not_allowed("GET, PATCH, DELETE"),
        },
        ["clients", id, action @ ("enable" | "disable")] => {
            if *method != Method::POST {
                return ApiResponse::method_not_allowed("POST");
            }
            match parse_number::<u64>(request, "version") {
                Ok(version) => app
                    .registry
                    .set_enabled(id, *action == "enable", version, &actor)
                    .await
                    .map(|view| ApiResponse::ok(json!(view))),
                Err(response) => return response,
            }
        }
        ["clients", id, "revoke-tokens"] => {
            if *method != Method::POST {
                return ApiResponse::method_not_allowed("POST");
            }
            app.registry
                .revoke_tokens(id, &actor)
                .await
                .map(|revoked| ApiResponse::ok(json!({ "client_id": id, "revoked_tokens": revoked })))
        }
        ["clients", id, "test"] => {
            if *method != Method::GET {
                return ApiResponse::method_not_allowed("GET");
            }
            match app.registry.registration(id).await {
                Ok(registration) => Ok(ApiResponse::ok(json!(app.tester.test(&registration).await))),
                Err(err) => Err(err),
            }
        }
        ["clients", id, "secrets"] => match *method {
            Method::GET => app
                .registry
                .list_secrets(id)
                .await
                .map(|list| ApiResponse::ok(json!(list))),
            Method::POST => match parse_optional_json::<SecretRequest>(request) {
                Ok(body) => app
                    .registry
                    .create_secret(id, body, &actor)
                    .await
                    .map(|created| ApiResponse {
                        status: StatusCode::CREATED,
                        location: Some(format!("/clients/{id}/secrets/{}", created.secret_id)),
                        body: json!(created),
                        allow: None,
                    }),
                Err(response) => return response,
            },
            _ => return ApiResponse::method_not_allowed("GET, POST"),
        },
        ["clients", id, "secrets", secret_id] => {
            if *method != Method::DELETE {
                return ApiResponse::method_not_allowed("DELETE");
            }
            let options = parse_number::<u64>(request, "version")
                .and_then(|version| parse_flag(request, "revoke_tokens").map(|revoke| (version, revoke)));
            match options {
                Ok((version, revoke_tokens)) => app
                    .registry
                    .revoke_secret(id, secret_id, version, revoke_tokens, &actor)
                    .await
                    .map(|revoked| ApiResponse::ok(json!(revoked))),
                Err(response) => return response,
            }
        }
        ["audit"] => {
            if *method != Method::GET {
                return ApiResponse::method_not_allowed("GET");
            }
            let param = |name: &str| query_param(request, name);
            app.audit
                .query(AuditRequest {
                    tenant_id: param("tenant_id"),
                    client_id: param("client_id"),
                    from: param("from"),
                    to: param("to"),
                    cursor: param("cursor"),
                    limit: param("limit"),
                    order: param("order"),
                })
                .await
                .map(|page| ApiResponse::ok(json!(page)))
        }
        _ => {
            return ApiResponse::error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no admin resource at {path:?}"),
            );
        }
    };
    result.unwrap_or_else(ApiResponse::from)
}

async fn create(app: &AdminApp, request: &Request, actor: &Actor) -> Result<ApiResponse, RegistryError> {
    let body: serde_json::Value = match parse_json(request) {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let view = app.registry.create(ClientCreate::from_json(body)?, actor).await?;
    Ok(ApiResponse {
        status: StatusCode::CREATED,
        location: Some(format!("/clients/{}", view.client_id)),
        body: json!(view),
        allow: None,
    })
}

async fn list(app: &AdminApp, request: &Request) -> Result<ApiResponse, RegistryError> {
    let limit = match parse_number::<u32>(request, "limit") {
        Ok(limit) => limit,
        Err(response) => return Ok(response),
    };
    let tenant = query_param(request, "tenant_id");
    let cursor = query_param(request, "cursor");
    let page = app.registry.list(tenant.as_deref(), cursor.as_deref(), limit).await?;
    Ok(ApiResponse::ok(json!(page)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use wif_auth::registration::RegistrationPolicy;
    use wif_auth::testing::{InMemoryKeyStore, InMemoryTokenStore, StaticJwksFetcher, TestKey, jwks_document};
    use wif_common::FixedClock;
    use wif_registry::PublicUrls;
    use wif_registry::memory::{InMemoryAudit, InMemoryRegistrations};

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
                Arc::new(InMemoryRegistrations::default()),
                Arc::new(InMemoryTokenStore::default()),
                audit.clone(),
                clock.clone(),
                policy.clone(),
                PublicUrls {
                    token_url: "http://127.0.0.1:9000/lambda-url/token/oauth2/token".into(),
                    scim_url: "http://127.0.0.1:9000/lambda-url/scim/scim/v2".into(),
                    ..Default::default()
                },
            ),
            tester: ConnectionTester::new(Arc::new(InMemoryKeyStore::default()), fetcher.clone(), clock, policy),
            audit: AuditQueries::new(audit.clone()),
            local_development,
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
        assert_eq!(created["expected_tid"], "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b");
        assert!(created.get("secrets").unwrap().as_array().unwrap().is_empty());
        let (status, fetched) = call(&app, "GET", &format!("/clients/{id}"), "").await;
        assert_eq!(status, 200);
        assert_eq!(fetched, created);
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
        let jwks_uri = created["jwks_uri"].as_str().unwrap();
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

    #[tokio::test]
    async fn the_signing_iam_principal_is_the_audited_actor() {
        let app = app(false);
        let body = serde_json::to_string(CREATE).unwrap();
        let event = format!(
            r#"{{
          "version": "2.0", "routeKey": "$default", "rawPath": "/clients", "rawQueryString": "",
          "headers": {{"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "application/json"}},
          "requestContext": {{
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "02/Dec/2026:02:07:16 +0000", "timeEpoch": 1796177236000,
            "authorizer": {{"iam": {{"accessKey": "ASIA", "accountId": "123456789012", "callerId": "AROA:portal",
                                   "userArn": "arn:aws:sts::123456789012:assumed-role/portal/session",
                                   "userId": "AROA:portal"}}}},
            "http": {{"method": "POST", "path": "/clients", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "wif-admin/0.1.0"}}
          }},
          "body": {body},
          "isBase64Encoded": false
        }}"#
        );
        let request = lambda_http::request::from_str(&event).unwrap();
        let response = handle(&app, request).await;
        assert_eq!(response.status(), 201);
        let event = app.audit.events().pop().unwrap();
        assert_eq!(event.action, "admin.client.create");
        assert_eq!(
            event.actor.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/portal/session")
        );
        assert_eq!(event.source_ip.as_deref(), Some("203.0.113.9"));
    }
}
