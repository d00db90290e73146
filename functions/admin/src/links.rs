//! `/tenant-links` and `/invitations`: which Entra tenant may use the customer portal as which customer account.
//!
//! - `POST /tenant-links` `{entra_tenant_id, tenant_id, display_name?, non_admin_access?: none|read}`,
//!   `GET /tenant-links`, `GET|DELETE /tenant-links/{entra_tenant_id}`
//! - `POST /invitations` `{tenant_id, display_name?, non_admin_access?, expires_in_hours?}`: a one-time code
//!   (shown once) and the portal link a customer's administrator opens to link their own tenant.

use lambda_http::Request;
use lambda_http::http::{Method, Response};
use serde_json::json;

use wif_portal::links::{InvitationRequest, LinkRequest};
use wif_registry::Actor;

use crate::AdminApp;
use crate::error::AdminError;
use crate::request::{only, parse_json};
use crate::response::{created, ok};

type Answer = Result<Response<String>, AdminError>;

pub async fn route(app: &AdminApp, request: &Request, actor: &Actor, segments: &[&str]) -> Answer {
    let method = request.method();
    match segments {
        ["tenant-links"] if method == Method::POST => {
            let link = app.links.link(parse_json::<LinkRequest>(request)?, actor).await?;
            Ok(created(&format!("/tenant-links/{}", link.entra_tenant_id), &link))
        }
        ["tenant-links"] => {
            only(request, Method::GET, "GET, POST")?;
            Ok(ok(&json!({ "tenant_links": app.links.list().await? })))
        }
        ["tenant-links", tid] if method == Method::DELETE => {
            app.links.unlink(tid, actor).await?;
            Ok(ok(&json!({ "entra_tenant_id": tid, "deleted": true })))
        }
        ["tenant-links", tid] => {
            only(request, Method::GET, "GET, DELETE")?;
            Ok(ok(&app.links.get(tid).await?))
        }
        ["invitations"] => {
            only(request, Method::POST, "POST")?;
            let invitation = app
                .links
                .invite(parse_json::<InvitationRequest>(request)?, actor)
                .await?;
            Ok(created(
                &format!("/invitations/{}", invitation.invitation_id),
                &invitation,
            ))
        }
        _ => Err(AdminError::NotFound {
            path: request.uri().path().to_owned(),
        }),
    }
}
