//! The token Lambda's HTTP adapter: routing, request facts, one tracing span per request, and the mapping of every
//! outcome to an `Ok` HTTP response (a `lambda_http` handler error would become an invocation error, not an
//! answer). The grant itself is [`wif_auth::service::TokenService`].
//!
//! Routes: `POST /oauth2/token`, `GET /.well-known/oauth-authorization-server` (RFC 8414); any other path is a
//! 404 and any other method a 405, both as OAuth error JSON.

pub mod config;
pub mod permissions;
mod wiring;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use tracing::Instrument;
use wif_auth::metadata::metadata;
use wif_auth::oauth_error::{OAuthError, OAuthErrorCode};
use wif_auth::service::{RequestContext, TokenService};
use wif_edge::{RequestMeta, body_bytes, into_lambda_response};

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// What the handler needs, built once per Lambda environment.
pub struct TokenApp {
    pub service: TokenService,
    /// The public token URL for the metadata document; derived from the request's host when `None`.
    pub public_token_url: Option<String>,
    /// Behind the custom domain only requests through CloudFront are answered ([`wif_edge::Front`]).
    pub front: wif_edge::Front,
}

impl wif_edge::HttpFunction for TokenApp {
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>> + Send {
        handle(self, request)
    }
}

/// Handles one request. Never fails: every error is an HTTP answer.
pub async fn handle(app: &TokenApp, request: Request) -> Response<Body> {
    let mut meta = RequestMeta::of(&request);
    let admitted = app.front.admit(&request, &mut meta);
    let path = request.uri().path().to_owned();
    let span = meta.span("token", request.method().as_str(), &path);
    async move {
        let response = match admitted {
            Ok(()) => route(app, &request, &meta, &path).await,
            Err(refused) => {
                tracing::warn!("refused a request that did not come through the custom domain");
                OAuthError::new(
                    OAuthErrorCode::InvalidRequest,
                    StatusCode::FORBIDDEN,
                    refused.to_string(),
                )
                .to_response()
            }
        };
        tracing::info!(status = response.status().as_u16(), "request handled");
        into_lambda_response(response)
    }
    .instrument(span)
    .await
}

async fn route(
    app: &TokenApp,
    request: &Request,
    meta: &RequestMeta,
    path: &str,
) -> lambda_http::http::Response<String> {
    match path.trim_end_matches('/') {
        TOKEN_PATH => {
            let context = RequestContext {
                source_ip: meta.source_ip.clone(),
                user_agent: meta.user_agent.clone(),
                request_id: Some(meta.request_id.clone()),
            };
            app.service
                .token_response(request.method(), request.headers(), body_bytes(request), &context)
                .await
        }
        METADATA_PATH => {
            if request.method() != Method::GET && request.method() != Method::HEAD {
                return OAuthError::method_not_allowed("GET").to_response();
            }
            let token_url = app.public_token_url.clone().unwrap_or_else(|| derived_token_url(meta));
            let document = serde_json::to_value(metadata(&token_url)).unwrap_or_default();
            let mut response = wif_common::http_util::json_response(StatusCode::OK, "application/json", &document);
            // Static per deployment: let clients and CDNs keep it for an hour.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            response
        }
        _ => OAuthError::not_found().to_response(),
    }
}

/// `https://<host>/oauth2/token` from the request, for deployments that do not configure the public URL.
fn derived_token_url(meta: &RequestMeta) -> String {
    format!("https://{}{TOKEN_PATH}", meta.public_host())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use wif_auth::jwks_cache::JwksCacheSettings;
    use wif_auth::service::{TokenPorts, TokenSettings};
    use wif_auth::testing::*;
    use wif_common::FixedClock;

    const NOW: i64 = 1_750_000_000;
    const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

    struct Fixture {
        app: TokenApp,
        key: TestKey,
        registration: wif_auth::registration::Registration,
        fetcher: Arc<StaticJwksFetcher>,
        tokens: Arc<InMemoryTokenStore>,
        audit: Arc<RecordingAudit>,
    }

    fn fixture() -> Fixture {
        let key = TestKey::rsa("k1");
        let registration = sample_registration("c1");
        let clients = Arc::new(InMemoryClients::default());
        clients.insert(registration.clone());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        fetcher.serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
        let tokens = Arc::new(InMemoryTokenStore::default());
        let audit = Arc::new(RecordingAudit::default());
        let service = TokenService::new(
            TokenPorts {
                clients,
                tokens: tokens.clone(),
                key_store: Arc::new(InMemoryKeyStore::default()),
                fetcher: fetcher.clone(),
                rates: Arc::new(InMemoryRateCounter::default()),
                audit: audit.clone(),
                clock: Arc::new(FixedClock::at(NOW)),
            },
            TokenSettings::default(),
            JwksCacheSettings::default(),
        );
        Fixture {
            app: TokenApp {
                service,
                public_token_url: Some("https://auth.example.com/oauth2/token".into()),
                front: wif_edge::Front::FunctionUrl,
            },
            key,
            registration,
            fetcher,
            tokens,
            audit,
        }
    }

    fn request(method: &str, path: &str, content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://auth.example.com{path}"))
            .header("host", "auth.example.com")
            .header("user-agent", "Microsoft.Identity.Provisioning");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_owned())
        };
        builder.body(body).unwrap_or_else(|err| panic!("request: {err}"))
    }

    fn token_form(assertion: &str) -> String {
        format!(
            "grant_type=client_credentials&client_id=c1&client_assertion_type={JWT_BEARER}&client_assertion={assertion}&scope=scim"
        )
    }

    fn json_of(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}")),
            other => panic!("unexpected body {other:?}"),
        }
    }

    fn assertion(f: &Fixture) -> String {
        sign_jwt(&f.key, "RS256", &entra_like_claims(&f.registration, NOW))
    }

    #[tokio::test]
    async fn token_request_succeeds() {
        let f = fixture();
        let response = handle(
            &f.app,
            request(
                "POST",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                &token_form(&assertion(&f)),
            ),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = json_of(&response);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "scim");
        assert_eq!(f.tokens.records().len(), 1);
        let event = f.audit.last().unwrap();
        assert_eq!(event.request_id.as_deref(), Some("-"));
        assert_eq!(event.user_agent.as_deref(), Some("Microsoft.Identity.Provisioning"));
    }

    /// A token request as a function-URL event from `source_ip`, with `headers` added.
    fn url_request(f: &Fixture, source_ip: &str, headers: &[(&str, &str)]) -> Request {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        let mut event = wif_testkit::lambda_runtime::function_url_event(
            "POST",
            "/oauth2/token",
            "",
            &all,
            &token_form(&assertion(f)),
        );
        event["requestContext"]["http"]["sourceIp"] = source_ip.into();
        lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|err| panic!("{err}"))
    }

    #[tokio::test]
    async fn source_ip_comes_from_the_function_url_context() {
        let f = fixture();
        let response = handle(&f.app, url_request(&f, "203.0.113.9", &[])).await;
        assert_eq!(response.status(), 200, "{:?}", response.body());
        assert_eq!(f.audit.last().unwrap().source_ip.as_deref(), Some("203.0.113.9"));
    }

    /// Issue 14.2: behind the custom domain, a request without CloudFront's origin header (e.g. straight to the
    /// function URL) is refused, and the viewer address, not CloudFront's edge, is the source that is audited and
    /// rate-limited.
    #[tokio::test]
    async fn behind_the_custom_domain_only_cloudfront_requests_count_and_the_viewer_is_the_source() {
        let mut f = fixture();
        let secret = "PerDeploymentOriginSecret0123456789";
        f.app.front = wif_edge::Front::CloudFront(wif_edge::OriginSecret::new(secret.into()).unwrap());
        let edge = "130.176.1.1";
        let direct = handle(
            &f.app,
            url_request(&f, edge, &[(wif_edge::VIEWER_ADDRESS_HEADER, "198.51.100.7:443")]),
        )
        .await;
        assert_eq!(direct.status(), 403);
        assert!(f.tokens.records().is_empty());
        assert!(!format!("{:?}", direct.body()).contains(secret));

        let through = url_request(
            &f,
            edge,
            &[
                (wif_edge::ORIGIN_VERIFY_HEADER, secret),
                (wif_edge::VIEWER_ADDRESS_HEADER, "2001:db8:1:2::7:46532"),
            ],
        );
        let response = handle(&f.app, through).await;
        assert_eq!(response.status(), 200, "{:?}", response.body());
        assert_eq!(f.audit.last().unwrap().source_ip.as_deref(), Some("2001:db8:1:2::7"));
    }

    #[tokio::test]
    async fn client_errors_are_oauth_json_responses() {
        let f = fixture();
        let cases = [
            (
                "GET",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                "",
                405,
                "invalid_request",
            ),
            (
                "POST",
                "/oauth2/token",
                Some("application/json"),
                r#"{"grant_type":"client_credentials"}"#,
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/oauth2/token",
                None,
                "grant_type=client_credentials",
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                "grant_type=password",
                400,
                "unsupported_grant_type",
            ),
            (
                "POST",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                "grant_type=client_credentials&client_id=c1",
                401,
                "invalid_client",
            ),
            (
                "POST",
                "/oauth2/token/",
                Some("application/x-www-form-urlencoded"),
                "",
                400,
                "invalid_request",
            ),
            ("GET", "/scim/v2/Users", None, "", 404, "not_found"),
            (
                "POST",
                "/.well-known/oauth-authorization-server",
                None,
                "",
                405,
                "invalid_request",
            ),
        ];
        for (method, path, content_type, body, status, error) in cases {
            let response = handle(&f.app, request(method, path, content_type, body)).await;
            assert_eq!(response.status(), status, "{method} {path}");
            assert_eq!(json_of(&response)["error"], error, "{method} {path}");
        }
        let garbage = handle(
            &f.app,
            request(
                "POST",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                &token_form("x.y.z"),
            ),
        )
        .await;
        assert_eq!(garbage.status(), 401);
        assert_eq!(json_of(&garbage)["error"], "invalid_client");
        let unavailable_key = TestKey::rsa("k2");
        f.fetcher.answer(
            &f.registration.federated_credentials[0].jwks_uri,
            Err(wif_auth::ports::JwksFetchError::Timeout),
        );
        let unknown = sign_jwt(&unavailable_key, "RS256", &entra_like_claims(&f.registration, NOW));
        let response = handle(
            &f.app,
            request(
                "POST",
                "/oauth2/token",
                Some("application/x-www-form-urlencoded"),
                &token_form(&unknown),
            ),
        )
        .await;
        assert_eq!(response.status(), 503);
        assert_eq!(json_of(&response)["error"], "temporarily_unavailable");
    }

    #[tokio::test]
    async fn metadata_document_is_served() {
        let f = fixture();
        let response = handle(
            &f.app,
            request("GET", "/.well-known/oauth-authorization-server", None, ""),
        )
        .await;
        assert_eq!(response.status(), 200);
        let body = json_of(&response);
        assert_eq!(body["issuer"], "https://auth.example.com");
        assert_eq!(body["token_endpoint"], "https://auth.example.com/oauth2/token");
        assert_eq!(body["grant_types_supported"], serde_json::json!(["client_credentials"]));
        let derived = TokenApp {
            public_token_url: None,
            ..f.app
        };
        let response = handle(
            &derived,
            request("GET", "/.well-known/oauth-authorization-server", None, ""),
        )
        .await;
        assert_eq!(
            json_of(&response)["token_endpoint"],
            "https://auth.example.com/oauth2/token"
        );
    }
}
