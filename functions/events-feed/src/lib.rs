//! The event feed Lambda's HTTP adapter (function URL):
//! - `POST /events`: RFC 8936 poll for the caller's tenant, with an `events.read` access token
//!   (401 without a valid token, 403 without the scope, 400 with the RFC 8936 error body for a bad request);
//! - `GET /events/jwks.json`: the public keys that sign the SETs (RFC 7517), for any JOSE library.
//!
//! One tracing span per request with the Lambda request id; the token never reaches a log line. Every answer is an
//! `Ok` HTTP response (a `lambda_http` error would be an invocation error); 503s carry `Retry-After`.

pub mod config;
pub mod permissions;
pub mod signer;
mod wiring;

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{Method, Response, StatusCode, header};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use tracing::Instrument;
use wif_auth::bearer::{AccessGrant, BearerError, authenticate_bearer};
use wif_auth::ports::{ClientLookup, TokenStore};
use wif_auth::scope::Scope;
use wif_edge::{RequestMeta, body_bytes, into_lambda_response};
use wif_events::feed::{FeedError, FeedService, Receiver};
use wif_events::poll::PollRequest;
use wif_events::{JWKS_PATH, POLL_PATH};

/// Serves the JWKS of the signing key(s).
#[async_trait::async_trait]
pub trait PublicKeys: Send + Sync {
    async fn jwks(&self) -> Result<Value, String>;
}

/// What the handler needs, built once per Lambda environment.
pub struct FeedApp {
    pub feed: FeedService,
    pub tokens: Arc<dyn TokenStore>,
    pub clients: Arc<dyn ClientLookup>,
    pub keys: Arc<dyn PublicKeys>,
    pub clock_ms: fn() -> i64,
    pub long_poll: Duration,
    pub poll_interval: Duration,
}

/// Seconds a client should wait after a 503.
const RETRY_AFTER_SECONDS: &str = "2";

fn json_response(status: StatusCode, body: &Value) -> Response<String> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LANGUAGE, "en")
        .body(body.to_string())
        .unwrap_or_else(|_| Response::new(String::new()))
}

fn error(status: StatusCode, err: &str, description: &str) -> Response<String> {
    let mut response = json_response(status, &json!({"err": err, "description": description}));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response
}

fn method_not_allowed(allow: &'static str) -> Response<String> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        &format!("use {allow}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

fn bearer_failure(err: &BearerError) -> Response<String> {
    let (code, status) = match err {
        BearerError::InsufficientScope { .. } => ("access_denied", err.status()),
        BearerError::Unavailable(_) => ("temporarily_unavailable", err.status()),
        BearerError::InvalidRequest(_) => ("invalid_request", err.status()),
        _ => ("authentication_failed", err.status()),
    };
    let mut response = error(status, code, &err.description());
    if let Some(challenge) = err
        .www_authenticate()
        .and_then(|c| header::HeaderValue::from_str(&c.replace("realm=\"scim\"", "realm=\"events\"")).ok())
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// Handles one request. Never fails: every error is an HTTP answer.
pub async fn handle(app: &FeedApp, request: Request) -> lambda_http::Response<Body> {
    let meta = RequestMeta::of(&request);
    let path = request.uri().path().to_owned();
    let span = meta.span("events-feed", request.method().as_str(), &path);
    async move {
        let response = route(app, &request, &path).await;
        tracing::info!(status = response.status().as_u16(), "request handled");
        into_lambda_response(response)
    }
    .instrument(span)
    .await
}

async fn route(app: &FeedApp, request: &Request, path: &str) -> Response<String> {
    match (request.method(), path) {
        (&Method::POST, POLL_PATH) => poll(app, request).await,
        (_, POLL_PATH) => method_not_allowed("POST"),
        (&Method::GET, JWKS_PATH) => jwks(app).await,
        (_, JWKS_PATH) => method_not_allowed("GET"),
        _ => error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            &format!("no endpoint here; poll at {POLL_PATH}, keys at {JWKS_PATH}"),
        ),
    }
}

async fn jwks(app: &FeedApp) -> Response<String> {
    match app.keys.jwks().await {
        Ok(keys) => {
            let mut response = json_response(StatusCode::OK, &keys);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("public, max-age=300"),
            );
            response
        }
        Err(reason) => {
            tracing::error!(%reason, "the signing key's public half is unavailable");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the keys are unavailable; retry",
            )
        }
    }
}

/// The caller as a receiver: an `events.read` token of an enabled registration.
async fn receiver(app: &FeedApp, request: &Request) -> Result<Receiver, Response<String>> {
    let now = (app.clock_ms)() / 1000;
    let grant: AccessGrant = authenticate_bearer(request.headers(), app.tokens.as_ref(), now)
        .await
        .map_err(|err| bearer_failure(&err))?;
    if !grant.can_read_events() {
        return Err(bearer_failure(&BearerError::InsufficientScope {
            required: Scope::EventsRead,
        }));
    }
    let registration = match app.clients.get_client(&grant.client_id).await {
        Ok(Some(registration)) if registration.enabled => registration,
        Ok(_) => {
            return Err(bearer_failure(&BearerError::InvalidToken(
                "the access token is not valid",
            )));
        }
        Err(err) => return Err(bearer_failure(&BearerError::Unavailable(err.0))),
    };
    Ok(Receiver {
        client_id: grant.client_id,
        tenant: grant.tenant_id,
        level: registration.events.map(|settings| settings.level).unwrap_or_default(),
    })
}

async fn poll(app: &FeedApp, request: &Request) -> Response<String> {
    let receiver = match receiver(app, request).await {
        Ok(receiver) => receiver,
        Err(response) => return response,
    };
    let parsed = match PollRequest::parse(body_bytes(request)) {
        Ok(parsed) => parsed,
        Err(err) => return json_response(StatusCode::BAD_REQUEST, &err.body()),
    };
    let clock = app.clock_ms;
    let now = move || clock();
    match app
        .feed
        .poll(&receiver, &parsed, &now, app.long_poll, app.poll_interval)
        .await
    {
        Ok(answer) => {
            tracing::info!(client_id = %receiver.client_id, sets = answer.sets.len(),
                           acknowledged = parsed.acknowledgements.len(), "poll answered");
            json_response(StatusCode::OK, &answer.body())
        }
        Err(FeedError::Invalid(err)) => json_response(StatusCode::BAD_REQUEST, &err.body()),
        Err(FeedError::Unavailable(reason)) => {
            tracing::warn!(%reason, "poll could not be answered");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the feed is unavailable; retry",
            )
        }
    }
}

#[cfg(test)]
mod tests;
