//! The portal over HTTP, pure: a [`PortalRequest`] in, an `http::Response<String>` out. Routes:
//!
//! - pages: `/` (overview, or a redirect to sign-in), `/signin?returnTo=`, `/signin/start`, `/signin/callback`,
//!   `/signout`, `/registrations` (GET lists, POST creates), `/registrations/new`, `/registrations/{id}` and its
//!   actions, `/activity`, `/invite?code=`, `/static/*`;
//! - the JSON API under `/api/` ([`api`]), for a session cookie or an Entra delegated access token.
//!
//! Every answer carries the security headers ([`headers`]); every failure is a [`PortalError`] mapped here, once,
//! to an HTML error page or a JSON error (never a panic or a bare 500).

pub mod api;
pub mod cookies;
pub mod headers;
pub mod html;
pub mod pages;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use http::{HeaderMap, Method, Response, StatusCode};

use wif_common::Clock;

use crate::activity::ActivityReader;
use crate::error::PortalError;
use crate::links::TenantLinks;
use crate::registrations::PortalRegistrations;
use crate::sessions::Sessions;
use crate::signin::{RequestInfo, SignIn};
use crate::verifier::EntraVerifier;

/// Form and JSON bodies above this size are refused before parsing.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// One HTTP request, as the function adapter read it from the event.
#[derive(Debug, Clone, Default)]
pub struct PortalRequest {
    pub method: Method,
    /// The path below the portal's base path (`/registrations`).
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub info: RequestInfo,
}

impl PortalRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The path with its query, as a `returnTo`.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// Where the portal is (`https://portal.example.com`, or `http://127.0.0.1:9000/lambda-url/portal` locally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSite {
    /// Scheme, host and base path, without a trailing slash. `None`: `https://<the request's Host>` (a function URL
    /// only answers requests for its own host, so the Host header cannot be chosen by a caller).
    pub public_url: Option<String>,
    /// The base path alone (`""` or `/lambda-url/portal`): every link and redirect starts with it.
    pub base_path: String,
    /// The product name shown in the header.
    pub product_name: String,
}

impl PortalSite {
    pub fn new(public_url: Option<&str>, product_name: &str) -> Self {
        let public_url = public_url.map(|url| url.trim_end_matches('/').to_owned());
        let base_path = public_url
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Self {
            public_url,
            base_path,
            product_name: product_name.to_owned(),
        }
    }

    /// The exact redirect URI registered in Entra: `<public URL>/signin/callback`.
    pub fn redirect_uri(&self, request: &PortalRequest) -> Result<String, PortalError> {
        let origin = match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let host = request
                    .header("host")
                    .filter(|host| {
                        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
                    })
                    .ok_or_else(|| PortalError::Invalid("the request has no usable Host header".into()))?;
                format!("https://{host}")
            }
        };
        Ok(format!("{origin}/signin/callback"))
    }
}

/// Everything the portal needs, built once per Lambda environment.
pub struct Portal {
    pub site: PortalSite,
    pub signin: SignIn,
    pub sessions: Sessions,
    pub links: TenantLinks,
    pub registrations: PortalRegistrations,
    pub activity: ActivityReader,
    pub verifier: Arc<EntraVerifier>,
    pub clock: Arc<dyn Clock>,
    pub pages: pages::Pages,
}

impl Portal {
    /// Answers one request; never fails.
    pub async fn handle(&self, request: PortalRequest) -> Response<String> {
        let started = std::time::Instant::now();
        let mut response = if request.path.starts_with("/api/") || request.path == "/api" {
            api::handle(self, &request).await
        } else if let Some(asset) = request.path.strip_prefix("/static/") {
            pages::static_asset(asset, &request.method)
        } else {
            html::handle(self, &request).await
        };
        headers::apply(response.headers_mut(), started.elapsed());
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "portal request"
        );
        response
    }
}

/// A response with a body and content type (headers are added by [`Portal::handle`]).
pub fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// The status of an error, as an `http` status.
pub fn status_of(error: &PortalError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// Adds the `Retry-After` and `Allow` headers some errors need.
pub fn error_headers(response: &mut Response<String>, error: &PortalError) {
    let headers = response.headers_mut();
    match error {
        PortalError::Unavailable(_) => {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("5"));
        }
        PortalError::MethodNotAllowed(allow) => {
            if let Ok(value) = http::HeaderValue::from_str(allow) {
                headers.insert(http::header::ALLOW, value);
            }
        }
        _ => {}
    }
}

/// Refuses a body above [`MAX_BODY_BYTES`].
pub fn check_body(request: &PortalRequest) -> Result<(), PortalError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(PortalError::PayloadTooLarge(format!(
            "the request body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(())
}
