//! `/tenant-links` and `/invitations`: which Entra tenant may use the customer portal as which customer account.
//!
//! - `POST /tenant-links` `{entra_tenant_id, tenant_id, display_name?, non_admin_access?: none|read}`,
//!   `GET /tenant-links`, `GET|DELETE /tenant-links/{entra_tenant_id}`
//! - `POST /invitations` `{tenant_id, display_name?, non_admin_access?, expires_in_hours?}`: a one-time code
//!   (shown once) and the portal link a customer's administrator opens to link their own tenant.

use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use serde_json::json;

use wif_portal::PortalError;
use wif_portal::links::{InvitationRequest, LinkRequest};
use wif_registry::Actor;

use crate::{AdminApp, ApiResponse, parse_json};

impl From<PortalError> for ApiResponse {
    fn from(err: PortalError) -> Self {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        if status.is_server_error() {
            tracing::error!(error = %err, "admin request failed");
        }
        let code = match &err {
            PortalError::NotFound(_) => "not_found",
            other => other.code(),
        };
        ApiResponse {
            status,
            body: json!({ "error": code, "error_description": err.to_string() }),
            location: None,
            allow: None,
        }
    }
}

fn created(body: serde_json::Value, location: String) -> ApiResponse {
    ApiResponse {
        status: StatusCode::CREATED,
        body,
        location: Some(location),
        allow: None,
    }
}

pub async fn route(app: &AdminApp, request: &Request, actor: &Actor, segments: &[&str]) -> ApiResponse {
    let method = request.method();
    let result = match (segments, method) {
        (["tenant-links"], &Method::POST) => match parse_json::<LinkRequest>(request) {
            Ok(body) => app.links.link(body, actor).await.map(|link| {
                let location = format!("/tenant-links/{}", link.entra_tenant_id);
                created(json!(link), location)
            }),
            Err(response) => return response,
        },
        (["tenant-links"], &Method::GET) => app
            .links
            .list()
            .await
            .map(|links| ApiResponse::ok(json!({ "tenant_links": links }))),
        (["tenant-links"], _) => return ApiResponse::method_not_allowed("GET, POST"),
        (["tenant-links", tid], &Method::GET) => app.links.get(tid).await.map(|link| ApiResponse::ok(json!(link))),
        (["tenant-links", tid], &Method::DELETE) => app
            .links
            .unlink(tid, actor)
            .await
            .map(|()| ApiResponse::ok(json!({ "entra_tenant_id": tid, "deleted": true }))),
        (["tenant-links", _], _) => return ApiResponse::method_not_allowed("GET, DELETE"),
        (["invitations"], &Method::POST) => match parse_json::<InvitationRequest>(request) {
            Ok(body) => app.links.invite(body, actor).await.map(|invitation| {
                let location = format!("/invitations/{}", invitation.invitation_id);
                created(json!(invitation), location)
            }),
            Err(response) => return response,
        },
        (["invitations"], _) => return ApiResponse::method_not_allowed("POST"),
        _ => Err(PortalError::NotFound("no admin resource at this path".into())),
    };
    result.unwrap_or_else(ApiResponse::from)
}
