//! OAuth error answers (RFC 6749 §5.2), mapped to HTTP exactly once, here.

use http::{HeaderValue, Response, StatusCode, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    TemporarilyUnavailable,
    ServerError,
    NotFound,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::NotFound => "not_found",
        }
    }
}

/// A token-endpoint failure: what the client is told (`code`, `status`, `description`) and the full internal
/// `reason` for the audit record and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", code.as_str())]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub status: StatusCode,
    pub description: String,
    pub reason: String,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate` value for a 401.
    pub www_authenticate: Option<String>,
    /// `Allow` value for a 405.
    pub allow: Option<&'static str>,
}

/// The challenge for clients that authenticated (or could have authenticated) with HTTP Basic.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"token\", charset=\"UTF-8\"";

impl OAuthError {
    pub fn new(code: OAuthErrorCode, status: StatusCode, description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            code,
            status,
            reason: description.clone(),
            description,
            retry_after: None,
            www_authenticate: None,
            allow: None,
        }
    }

    /// Replaces the internal reason (the public description stays).
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Replaces the `Retry-After` seconds (at least 1) of a 429 or 503.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.www_authenticate = Some(challenge.into());
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, StatusCode::BAD_REQUEST, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, StatusCode::UNAUTHORIZED, description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            OAuthErrorCode::UnsupportedGrantType,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, StatusCode::BAD_REQUEST, description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::UnauthorizedClient, StatusCode::BAD_REQUEST, description)
    }

    /// A dependency (Clients/Tokens table, the issuer's JWKS) is down: 503, and the client should retry.
    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        let mut error = Self::new(
            OAuthErrorCode::TemporarilyUnavailable,
            StatusCode::SERVICE_UNAVAILABLE,
            description,
        );
        error.retry_after = Some(5);
        error
    }

    pub fn rate_limited(retry_after: u64, description: impl Into<String>) -> Self {
        let mut error = Self::new(
            OAuthErrorCode::TemporarilyUnavailable,
            StatusCode::TOO_MANY_REQUESTS,
            description,
        );
        error.retry_after = Some(retry_after.max(1));
        error
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut error = Self::new(
            OAuthErrorCode::InvalidRequest,
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this endpoint accepts only {allow}"),
        );
        error.allow = Some(allow);
        error
    }

    pub fn not_found() -> Self {
        Self::new(OAuthErrorCode::NotFound, StatusCode::NOT_FOUND, "no such endpoint")
    }

    pub fn server_error(reason: impl Into<String>) -> Self {
        Self::new(
            OAuthErrorCode::ServerError,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        )
        .with_reason(reason)
    }

    /// `{"error","error_description"}` with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1/5.2).
    pub fn to_response(&self) -> Response<String> {
        let body = serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let mut response = no_store_json(self.status, &body);
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = &self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// A JSON answer that no cache may keep: token responses and their errors carry credentials or decisions about
/// them.
pub fn no_store_json(status: StatusCode, body: &serde_json::Value) -> Response<String> {
    let mut response = wif_common::http_util::json_response(status, "application/json", body);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_json_with_no_store_headers() {
        let error = OAuthError::invalid_client("bad")
            .with_reason("the full story")
            .with_challenge(BASIC_CHALLENGE);
        let response = error.to_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.body(),
            r#"{"error":"invalid_client","error_description":"bad"}"#
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["www-authenticate"], BASIC_CHALLENGE);
        assert!(!response.body().contains("full story"));
    }

    #[test]
    fn retry_after_and_allow() {
        let limited = OAuthError::rate_limited(17, "slow down").to_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "17");
        let unavailable = OAuthError::temporarily_unavailable("later").to_response();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(unavailable.headers().contains_key("retry-after"));
        let method = OAuthError::method_not_allowed("POST").to_response();
        assert_eq!(method.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(method.headers()["allow"], "POST");
        assert!(method.body().contains("invalid_request"));
    }
}
