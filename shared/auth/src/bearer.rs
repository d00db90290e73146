//! Bearer-token checks for the SCIM API (RFC 6750 §2.1 and §3).
//!
//! The token is looked up by its SHA-256 in the Tokens table; expiry is compared here because DynamoDB's TTL
//! deletes items up to days late. The SCIM function renders [`BearerError`] in its own error format and sets
//! [`BearerError::www_authenticate`] as the `WWW-Authenticate` header.

use http::{HeaderMap, Method, StatusCode, header};

use crate::credentials::{looks_like_access_token, sha256_hex};
use crate::ports::TokenStore;
use crate::scope::Scope;

/// The realm in every challenge.
pub const REALM: &str = "scim";

/// What an accepted access token lets its holder do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub client_id: String,
    /// The ISV-side tenant: every SCIM key is prefixed with it.
    pub tenant_id: String,
    pub scopes: Vec<Scope>,
    pub expires_at: i64,
}

impl AccessGrant {
    pub fn can_write(&self) -> bool {
        self.scopes.iter().any(|scope| scope.allows_write())
    }

    /// Every SCIM scope may read; `events.read` alone may not.
    pub fn can_read(&self) -> bool {
        self.scopes.iter().any(|scope| scope.allows_scim_read())
    }

    /// Whether the token may poll the event feed.
    pub fn can_read_events(&self) -> bool {
        self.scopes.contains(&Scope::EventsRead)
    }

    /// Whether `method` on `path` is allowed: `scim.read` may GET (and HEAD) and POST a `.search`; everything
    /// else needs `scim` or `scim.readwrite`.
    pub fn permits(&self, method: &Method, path: &str) -> bool {
        if self.can_write() {
            return true;
        }
        self.can_read() && is_read_request(method, path)
    }

    /// [`AccessGrant::permits`] as a result carrying the 403 answer.
    pub fn authorize(&self, method: &Method, path: &str) -> Result<(), BearerError> {
        if self.permits(method, path) {
            Ok(())
        } else if !self.can_read() && is_read_request(method, path) {
            Err(BearerError::InsufficientScope {
                required: Scope::ScimRead,
            })
        } else {
            Err(BearerError::InsufficientScope {
                required: Scope::ScimReadWrite,
            })
        }
    }
}

/// Whether a SCIM request only reads: GET/HEAD, or POST to a `.search` endpoint (RFC 7644 §3.4.3).
pub fn is_read_request(method: &Method, path: &str) -> bool {
    if method == Method::GET || method == Method::HEAD {
        return true;
    }
    let path = path.split('?').next().unwrap_or_default().trim_end_matches('/');
    method == Method::POST && path.rsplit('/').next() == Some(".search")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No credentials at all: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    #[error("no bearer token")]
    MissingCredentials,
    #[error("malformed Authorization header: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    #[error("insufficient scope: {required} is required")]
    InsufficientScope { required: Scope },
    /// The Tokens table could not answer: 503, never a verdict on the token.
    #[error("token store unavailable: {0}")]
    Unavailable(String),
}

impl BearerError {
    pub fn status(&self) -> StatusCode {
        match self {
            BearerError::MissingCredentials | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            BearerError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 error code, if the answer has one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            BearerError::MissingCredentials | BearerError::Unavailable(_) => None,
            BearerError::InvalidRequest(_) => Some("invalid_request"),
            BearerError::InvalidToken(_) => Some("invalid_token"),
            BearerError::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// A description safe to show the client.
    pub fn description(&self) -> String {
        match self {
            BearerError::MissingCredentials => "a bearer token is required".to_owned(),
            BearerError::InvalidRequest(what) | BearerError::InvalidToken(what) => (*what).to_owned(),
            BearerError::InsufficientScope { required } => format!("this request requires the {required} scope"),
            BearerError::Unavailable(_) => "the service is temporarily unavailable".to_owned(),
        }
    }

    /// The `WWW-Authenticate` value, when the answer carries one.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            BearerError::MissingCredentials => Some(format!("Bearer realm=\"{REALM}\"")),
            BearerError::Unavailable(_) => None,
            BearerError::InsufficientScope { required } => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{}\", scope=\"{required}\"",
                self.description()
            )),
            _ => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"{}\", error_description=\"{}\"",
                self.error_code().unwrap_or_default(),
                self.description()
            )),
        }
    }
}

/// The bearer token of a request, if there is exactly one well-formed `Authorization: Bearer` header.
/// Another scheme counts as no bearer credentials (the challenge then tells the client which scheme to use).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::MissingCredentials);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest("several Authorization headers"));
    }
    let text = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("Authorization header is not ASCII"))?;
    let (scheme, token) = match text.split_once(' ') {
        Some((scheme, token)) => (scheme, token),
        None => (text, ""),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::MissingCredentials);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() {
        return Err(BearerError::InvalidRequest("the Bearer credentials are empty"));
    }
    // RFC 6750 §2.1 b64token syntax.
    let b64token = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
        && token.trim_end_matches('=').bytes().all(|b| b != b'=');
    if !b64token {
        return Err(BearerError::InvalidRequest("the Bearer credentials are malformed"));
    }
    Ok(token)
}

/// Authenticates a SCIM request: finds the token by hash and refuses unknown, revoked and expired ones.
pub async fn authenticate_bearer(
    headers: &HeaderMap,
    tokens: &dyn TokenStore,
    now: i64,
) -> Result<AccessGrant, BearerError> {
    let token = bearer_token(headers)?;
    if !looks_like_access_token(token) {
        // Not one of ours: no need to ask the table.
        return Err(BearerError::InvalidToken("the access token is not valid"));
    }
    let record = tokens
        .get_token(&sha256_hex(token))
        .await
        .map_err(|err| BearerError::Unavailable(err.0))?
        .ok_or(BearerError::InvalidToken("the access token is not valid"))?;
    if record.revoked {
        return Err(BearerError::InvalidToken("the access token has been revoked"));
    }
    if record.expires_at <= now {
        return Err(BearerError::InvalidToken("the access token has expired"));
    }
    Ok(AccessGrant {
        client_id: record.client_id,
        tenant_id: record.tenant_id,
        scopes: record.scopes,
        expires_at: record.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::AccessToken;
    use crate::ports::TokenRecord;
    use crate::testing::InMemoryTokenStore;
    use http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    async fn store_with(token: &AccessToken, scopes: Vec<Scope>, expires_at: i64, revoked: bool) -> InMemoryTokenStore {
        let store = InMemoryTokenStore::default();
        store
            .put_token(&TokenRecord {
                token_hash: token.hash().to_owned(),
                client_id: "c1".into(),
                tenant_id: "t1".into(),
                scopes,
                issued_at: 0,
                expires_at,
                revoked,
            })
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn valid_token_yields_the_grant() {
        let token = AccessToken::generate().unwrap();
        let store = store_with(&token, vec![Scope::Scim], 1000, false).await;
        let grant = authenticate_bearer(&headers(&format!("Bearer {}", token.value())), &store, 999)
            .await
            .unwrap();
        assert_eq!((grant.client_id.as_str(), grant.tenant_id.as_str()), ("c1", "t1"));
        assert!(grant.can_write());
        // The scheme is case-insensitive.
        assert!(
            authenticate_bearer(&headers(&format!("bearer {}", token.value())), &store, 999)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn expired_revoked_and_unknown_tokens_are_invalid() {
        let token = AccessToken::generate().unwrap();
        let header = headers(&format!("Bearer {}", token.value()));
        let expired = store_with(&token, vec![Scope::Scim], 1000, false).await;
        let err = authenticate_bearer(&header, &expired, 1000).await.unwrap_err();
        assert_eq!(err, BearerError::InvalidToken("the access token has expired"));
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            err.www_authenticate().unwrap(),
            "Bearer realm=\"scim\", error=\"invalid_token\", error_description=\"the access token has expired\""
        );
        let revoked = store_with(&token, vec![Scope::Scim], 1000, true).await;
        let err = authenticate_bearer(&header, &revoked, 10).await.unwrap_err();
        assert_eq!(err, BearerError::InvalidToken("the access token has been revoked"));
        let empty = InMemoryTokenStore::default();
        let err = authenticate_bearer(&header, &empty, 10).await.unwrap_err();
        assert_eq!(err.error_code(), Some("invalid_token"));
        let err = authenticate_bearer(&headers("Bearer not-ours"), &empty, 10)
            .await
            .unwrap_err();
        assert_eq!(err.error_code(), Some("invalid_token"));
    }

    #[tokio::test]
    async fn missing_and_malformed_credentials() {
        let store = InMemoryTokenStore::default();
        let err = authenticate_bearer(&HeaderMap::new(), &store, 0).await.unwrap_err();
        assert_eq!(err, BearerError::MissingCredentials);
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(err.www_authenticate().unwrap(), "Bearer realm=\"scim\"");
        assert_eq!(err.error_code(), None);
        let err = authenticate_bearer(&headers("Basic YTpi"), &store, 0)
            .await
            .unwrap_err();
        assert_eq!(err, BearerError::MissingCredentials);
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer a=b", "Bearer ä"] {
            let mut map = HeaderMap::new();
            map.insert(header::AUTHORIZATION, HeaderValue::from_bytes(bad.as_bytes()).unwrap());
            let err = authenticate_bearer(&map, &store, 0).await.unwrap_err();
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(err.error_code(), Some("invalid_request"));
        }
        let mut twice = HeaderMap::new();
        twice.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        twice.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(
            authenticate_bearer(&twice, &store, 0).await.unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn store_outage_is_503() {
        let token = AccessToken::generate().unwrap();
        let store = InMemoryTokenStore::default();
        store.fail(true);
        let err = authenticate_bearer(&headers(&format!("Bearer {}", token.value())), &store, 0)
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn the_events_scope_reads_events_and_nothing_through_scim() {
        let grant = AccessGrant {
            client_id: "c".into(),
            tenant_id: "t".into(),
            scopes: vec![Scope::EventsRead],
            expires_at: 0,
        };
        assert!(grant.can_read_events());
        assert!(!grant.can_read() && !grant.can_write());
        let err = grant.authorize(&Method::GET, "/scim/v2/Users").unwrap_err();
        assert_eq!(
            err,
            BearerError::InsufficientScope {
                required: Scope::ScimRead
            }
        );
        let both = AccessGrant {
            scopes: vec![Scope::ScimRead, Scope::EventsRead],
            ..grant
        };
        assert!(both.permits(&Method::GET, "/scim/v2/Users") && both.can_read_events());
    }

    #[test]
    fn read_scope_may_only_read_and_search() {
        let grant = AccessGrant {
            client_id: "c".into(),
            tenant_id: "t".into(),
            scopes: vec![Scope::ScimRead],
            expires_at: 0,
        };
        assert!(grant.permits(&Method::GET, "/scim/v2/Users"));
        assert!(grant.permits(&Method::POST, "/scim/v2/Users/.search"));
        assert!(grant.permits(&Method::POST, "/scim/v2/.search"));
        assert!(!grant.permits(&Method::POST, "/scim/v2/Users"));
        assert!(!grant.permits(&Method::PATCH, "/scim/v2/Users/1"));
        assert!(!grant.permits(&Method::DELETE, "/scim/v2/Users/1"));
        assert!(!grant.permits(&Method::PUT, "/scim/v2/Users/.search"));
        let err = grant.authorize(&Method::DELETE, "/scim/v2/Users/1").unwrap_err();
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.error_code(), Some("insufficient_scope"));
        assert!(err.www_authenticate().unwrap().contains("error=\"insufficient_scope\""));
        let writer = AccessGrant {
            scopes: vec![Scope::ScimReadWrite],
            ..grant
        };
        assert!(writer.permits(&Method::DELETE, "/scim/v2/Users/1"));
    }
}
