//! The SCIM Lambda's HTTP adapter: one tracing span per request (with the Lambda request id), the RFC 6750 bearer
//! check, then [`wif_scim::api::ScimApi`]. Every outcome is an `Ok` HTTP response in the SCIM error format: a
//! `lambda_http` handler error would be an invocation error, not an answer.
//!
//! Paths: `/scim/v2/...` (under `cargo lambda watch` the `/lambda-url/scim` prefix is already stripped). The body is
//! read as raw bytes: the watch emulator base64-encodes `application/scim+json` bodies and lambda_http's
//! `payload()` does not parse that media type.

pub mod config;
pub mod permissions;
mod wiring;

use std::sync::Arc;

use lambda_http::http::{self, HeaderValue, header};
use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use wif_auth::bearer::{BearerError, authenticate_bearer};
use wif_auth::ports::TokenStore;
use wif_common::Clock;
use wif_edge::{RequestMeta, into_lambda_response};
use wif_scim::api::{ScimApi, error_response};
use wif_scim::error::ScimError;
use wif_scim::service::Caller;

pub const SCIM_PREFIX: &str = "/scim/v2";

/// What the handler needs, built once per Lambda environment.
pub struct ScimApp {
    pub api: ScimApi,
    pub tokens: Arc<dyn TokenStore>,
    pub clock: Arc<dyn Clock>,
    /// `meta.location` base; derived from the request's host when `None`.
    pub public_scim_url: Option<String>,
}

impl wif_edge::HttpFunction for ScimApp {
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>> + Send {
        handle(self, request)
    }
}

fn bearer_failure(err: &BearerError) -> http::Response<String> {
    let scim = ScimError::new(err.status().as_u16(), None, err.description());
    let mut response = error_response(&scim);
    if let Some(challenge) = err.www_authenticate().and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// The request as the SCIM API sees it: its path is the part after the SCIM base, and it carries no credentials
/// (they stay out of the API layer, and so out of anything it might log).
fn api_request(request: Request, rest: &str) -> http::Request<Body> {
    let (mut parts, body) = request.into_parts();
    let path = if rest.is_empty() { "/" } else { rest };
    let target = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    // `rest` and the query come from a URI that parsed, so this parses too.
    parts.uri = target.parse().unwrap_or_default();
    parts.headers.remove(header::AUTHORIZATION);
    http::Request::from_parts(parts, body)
}

/// `https://<host>/scim/v2` from the request, for deployments that do not configure the public URL. The host is
/// only used if it looks like a host name (it comes from the client).
fn derived_base_url(meta: &RequestMeta) -> String {
    format!("https://{}{SCIM_PREFIX}", meta.public_host())
}

/// Handles one request. Never fails: every error is an HTTP answer.
pub async fn handle(app: &ScimApp, request: Request) -> Response<Body> {
    let meta = RequestMeta::of(&request);
    let path = request.uri().path().to_owned();
    let span = meta.span("scim", request.method().as_str(), &path);
    async move {
        let started = std::time::Instant::now();
        let response = route(app, request, &meta, &path).await;
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request handled"
        );
        into_lambda_response(response)
    }
    .instrument(span)
    .await
}

async fn route(app: &ScimApp, request: Request, meta: &RequestMeta, path: &str) -> http::Response<String> {
    let Some(rest) = path
        .strip_prefix(SCIM_PREFIX)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return error_response(&ScimError::not_found(format!(
            "no SCIM endpoint at {path}; the SCIM base is {SCIM_PREFIX}"
        )));
    };
    let grant = match authenticate_bearer(request.headers(), app.tokens.as_ref(), app.clock.now_unix()).await {
        Ok(grant) => grant,
        Err(err) => {
            if let BearerError::Unavailable(reason) = &err {
                tracing::error!(%reason, "token store unavailable");
            } else {
                tracing::info!(reason = %err, "bearer token refused");
            }
            return bearer_failure(&err);
        }
    };
    // The tenant and client come from the verified token only; from here on they are typed, never a request value.
    let caller = Caller {
        tenant_id: wif_common::TenantId::new(grant.tenant_id.clone()),
        client_id: wif_common::ClientId::new(grant.client_id.clone()),
        can_write: grant.can_write(),
    };
    tracing::debug!(client_id = %grant.client_id, tenant_id = %grant.tenant_id, "bearer token accepted");
    let base_url = app.public_scim_url.clone().unwrap_or_else(|| derived_base_url(meta));
    let response = app
        .api
        .handle(
            &api_request(request, rest),
            caller,
            &base_url,
            Some(meta.request_id.clone()),
        )
        .await;
    if response.status().is_server_error() {
        tracing::error!(status = response.status().as_u16(), "SCIM request failed on our side");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;
    use serde_json::{Value, json};
    use wif_auth::credentials::{AccessToken, sha256_hex};
    use wif_auth::ports::TokenRecord;
    use wif_auth::scope::Scope;
    use wif_auth::testing::InMemoryTokenStore;
    use wif_common::FixedClock;
    use wif_common::audit::LogOnlyAudit;
    use wif_scim::api::SCIM_CONTENT_TYPE;
    use wif_scim::memory::MemoryDirectory;
    use wif_scim::service::{DirectoryService, ServiceConfig};

    const NOW: i64 = 1_767_225_600;
    struct Tokens {
        writer: String,
        reader: String,
        other: String,
    }

    async fn app() -> (ScimApp, Tokens) {
        let tokens = Arc::new(InMemoryTokenStore::default());
        let minted = Tokens {
            writer: AccessToken::generate().unwrap().value().to_owned(),
            reader: AccessToken::generate().unwrap().value().to_owned(),
            other: AccessToken::generate().unwrap().value().to_owned(),
        };
        for (token, tenant, scopes) in [
            (&minted.writer, "tenant-a", vec![Scope::Scim]),
            (&minted.reader, "tenant-a", vec![Scope::ScimRead]),
            (&minted.other, "tenant-b", vec![Scope::Scim]),
        ] {
            tokens
                .put_token(&TokenRecord {
                    token_hash: sha256_hex(token),
                    client_id: format!("client-{tenant}"),
                    tenant_id: tenant.into(),
                    scopes,
                    issued_at: NOW - 10,
                    expires_at: NOW + 3_600,
                    revoked: false,
                })
                .await
                .unwrap();
        }
        let clock = Arc::new(FixedClock::at(NOW));
        let service = DirectoryService::new(
            Arc::new(MemoryDirectory::new()),
            Arc::new(LogOnlyAudit),
            clock.clone(),
            ServiceConfig {
                password_iterations: 1_000,
                ..ServiceConfig::default()
            },
        );
        let app = ScimApp {
            api: ScimApi::new(service),
            tokens,
            clock,
            public_scim_url: None,
        };
        (app, minted)
    }

    fn request(method: &str, uri: &str, token: Option<&String>, body: Body) -> Request {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "scim.example.com")
            .header("content-type", "application/scim+json");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder.body(body).unwrap()
    }

    fn json_of(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap(),
            _ => Value::Null,
        }
    }

    #[tokio::test]
    async fn test_connection_round_trip() {
        let (app, t) = app().await;
        let response = handle(
            &app,
            request(
                "GET",
                "/scim/v2/Users?filter=userName+eq+%22x%22",
                Some(&t.writer),
                Body::Empty,
            ),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], SCIM_CONTENT_TYPE);
        assert_eq!(json_of(&response)["totalResults"], 0);
    }

    #[tokio::test]
    async fn bearer_failures_are_scim_errors_with_a_challenge() {
        let (app, t) = app().await;
        let response = handle(&app, request("GET", "/scim/v2/Users", None, Body::Empty)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"scim\"");
        assert_eq!(
            json_of(&response)["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let response = handle(
            &app,
            request("GET", "/scim/v2/Users", Some(&"wif_at_unknown".to_owned()), Body::Empty),
        )
        .await;
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let response = handle(&app, request("GET", "/elsewhere", Some(&t.writer), Body::Empty)).await;
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn an_unavailable_token_store_is_a_503_with_retry_after() {
        let (mut app, t) = app().await;
        let down = Arc::new(InMemoryTokenStore::default());
        down.fail(true);
        app.tokens = down;
        let response = handle(&app, request("GET", "/scim/v2/Users", Some(&t.writer), Body::Empty)).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(response.headers()["content-type"], SCIM_CONTENT_TYPE);
        assert_eq!(json_of(&response)["status"], "503");
    }

    #[tokio::test]
    async fn binary_bodies_create_and_tenants_stay_apart() {
        let (app, t) = app().await;
        // What lambda_http hands over after decoding the emulator's base64 body.
        let body = Body::Binary(serde_json::to_vec(&json!({"userName": "bin@x.com"})).unwrap());
        let response = handle(&app, request("POST", "/scim/v2/Users", Some(&t.writer), body)).await;
        assert_eq!(response.status(), 201, "{:?}", json_of(&response));
        let created = json_of(&response);
        let id = created["id"].as_str().unwrap();
        assert_eq!(
            response.headers()["location"],
            format!("https://scim.example.com/scim/v2/Users/{id}").as_str()
        );
        let path = format!("/scim/v2/Users/{id}");
        assert_eq!(
            handle(&app, request("GET", &path, Some(&t.reader), Body::Empty))
                .await
                .status(),
            200
        );
        assert_eq!(
            handle(&app, request("GET", &path, Some(&t.other), Body::Empty))
                .await
                .status(),
            404
        );
        assert_eq!(
            handle(&app, request("DELETE", &path, Some(&t.other), Body::Empty))
                .await
                .status(),
            404
        );
        assert_eq!(
            handle(&app, request("DELETE", &path, Some(&t.reader), Body::Empty))
                .await
                .status(),
            403
        );
        let response = handle(&app, request("DELETE", &path, Some(&t.writer), Body::Empty)).await;
        assert_eq!(response.status(), 204);
    }

    #[test]
    fn derived_base_url_ignores_strange_hosts() {
        let meta = RequestMeta {
            domain_name: Some("evil.com/<script>".into()),
            ..RequestMeta::default()
        };
        assert_eq!(derived_base_url(&meta), "https://localhost/scim/v2");
        let meta = RequestMeta {
            domain_name: Some("abc.lambda-url.eu-west-1.on.aws".into()),
            ..RequestMeta::default()
        };
        assert_eq!(
            derived_base_url(&meta),
            "https://abc.lambda-url.eu-west-1.on.aws/scim/v2"
        );
    }
}
