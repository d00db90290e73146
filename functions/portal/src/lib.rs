//! The portal Lambda: a thin adapter from a function-URL event to [`wif_portal::web::Portal`] and back. Its
//! function URL has `AuthType: NONE`; the portal authenticates every request itself (session cookie, or an Entra
//! access token on the JSON API).

pub mod config;
pub mod entra_http;
pub mod permissions;
mod wiring;

use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use wif_edge::{RequestMeta, body_bytes, into_lambda_response};
use wif_portal::signin::RequestInfo;
use wif_portal::web::{Portal, PortalRequest};

pub use wiring::Clients;

/// The portal, or the page that says it is not set up yet (no Entra app configured).
pub enum PortalApp {
    Ready(Box<Portal>),
    NotSetUp { product_name: String },
}

/// Lambda entry: never returns `Err` (that would be an invocation error, not an HTTP answer).
pub async fn handle(app: &PortalApp, request: Request) -> Response<Body> {
    let meta = RequestMeta::of(&request);
    let span = meta.span("portal", request.method().as_str(), request.uri().path());
    async {
        let response = match app {
            PortalApp::Ready(portal) => portal.handle(portal_request(&request, &meta)).await,
            PortalApp::NotSetUp { product_name } => not_set_up(product_name),
        };
        into_lambda_response(response)
    }
    .instrument(span)
    .await
}

fn portal_request(request: &Request, meta: &RequestMeta) -> PortalRequest {
    PortalRequest {
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        headers: request.headers().clone(),
        body: body_bytes(request).to_vec(),
        info: RequestInfo {
            request_id: Some(meta.request_id.clone()),
            source_ip: meta.source_ip.clone(),
            user_agent: meta.user_agent.clone(),
        },
    }
}

fn not_set_up(product_name: &str) -> lambda_http::http::Response<String> {
    let title: String = product_name
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            other => other.to_string(),
        })
        .collect();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><main>\
         <h1>The portal is not set up yet</h1><p>The operator has not configured its Microsoft Entra app \
         (PortalClientId, PortalCertificateThumbprint); see the deployment guide.</p></main></body></html>"
    );
    let mut response = wif_portal::web::respond(
        lambda_http::http::StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=utf-8",
        body,
    );
    response.headers_mut().insert(
        lambda_http::http::header::RETRY_AFTER,
        lambda_http::http::HeaderValue::from_static("3600"),
    );
    wif_portal::web::headers::apply(response.headers_mut(), std::time::Duration::ZERO);
    response
}
