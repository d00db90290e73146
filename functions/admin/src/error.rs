//! Everything the admin API answers with an error, typed, and its one mapping to an HTTP answer:
//! `{"error","error_description"}` JSON with `Cache-Control: no-store` and the status of the error.

use lambda_http::http::{HeaderValue, Response, StatusCode, header};

use wif_registry::RegistryError;

use crate::response::json;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// What the registry refused or could not do; its own status and code.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A request the API cannot read: a bad query parameter or body (400), too large (413), of another media
    /// type (415). The description names the parameter or `body`.
    #[error("{description}")]
    BadRequest { status: StatusCode, description: String },
    #[error("this resource supports {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("no admin resource at {path:?}")]
    NotFound { path: String },
    /// What the customer portal's tenant links and invitations refused or could not do.
    #[error(transparent)]
    Portal(#[from] wif_portal::PortalError),
    /// Defence in depth: the function URL's AWS_IAM auth should make this unreachable in AWS.
    #[error("the admin API requires a SigV4-signed request from an IAM principal")]
    NoPrincipal,
}

impl AdminError {
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::BadRequest {
            status: StatusCode::BAD_REQUEST,
            description: description.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Registry(err) => StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            AdminError::Portal(err) => StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            AdminError::BadRequest { status, .. } => *status,
            AdminError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AdminError::NotFound { .. } => StatusCode::NOT_FOUND,
            AdminError::NoPrincipal => StatusCode::FORBIDDEN,
        }
    }

    /// The `error` member of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Registry(err) => err.code(),
            AdminError::Portal(wif_portal::PortalError::NotFound(_)) => "not_found",
            AdminError::Portal(err) => err.code(),
            AdminError::BadRequest { .. } => "invalid_request",
            AdminError::MethodNotAllowed { .. } => "method_not_allowed",
            AdminError::NotFound { .. } => "not_found",
            AdminError::NoPrincipal => "access_denied",
        }
    }

    pub fn into_response(self) -> Response<String> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin request failed");
        }
        let body = serde_json::json!({ "error": self.code(), "error_description": self.to_string() });
        let mut response = json(status, &body);
        if let AdminError::MethodNotAllowed { allow } = self {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}
