//! The admin API's routes, one function per resource: each checks the method, reads its parameters and calls the
//! registry. Answers are the wire types of `wif-admin-api`.

use lambda_http::Request;
use lambda_http::http::{Method, Response};

use wif_admin_api::{
    AudienceChange, AuditFilter, ClientUpdate, CredentialSettings, CredentialUpdate, Deleted, NewSecret, TokensRevoked,
};
use wif_registry::{Actor, parse_new_client};

use crate::AdminApp;
use crate::error::AdminError;
use crate::request::{only, parse_flag, parse_json, parse_number, parse_optional_json, query_param};
use crate::response::{created, ok};

type Answer = Result<Response<String>, AdminError>;

pub async fn route(app: &AdminApp, request: &Request, actor: &Actor) -> Answer {
    let path = request.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["clients"] => clients(app, request, actor).await,
        ["clients", id] => client(app, request, id, actor).await,
        ["clients", id, action @ ("enable" | "disable")] => {
            only(request, Method::POST, "POST")?;
            let version = parse_number::<u64>(request, "version")?;
            let view = app
                .registry
                .set_enabled(id, *action == "enable", version, actor)
                .await?;
            Ok(ok(&view))
        }
        ["clients", id, "revoke-tokens"] => {
            only(request, Method::POST, "POST")?;
            let revoked_tokens = app.registry.revoke_tokens(id, actor).await?;
            Ok(ok(&TokensRevoked {
                client_id: (*id).to_owned(),
                revoked_tokens,
            }))
        }
        ["clients", id, "test"] => {
            only(request, Method::GET, "GET")?;
            let registration = app.registry.registration(id).await?;
            Ok(ok(&app.tester.test(&registration).await))
        }
        ["clients", id, "push"] => {
            only(request, Method::GET, "GET")?;
            Ok(ok(&crate::push::status(app, id).await?))
        }
        ["clients", id, "push", "redeliver"] => {
            only(request, Method::POST, "POST")?;
            Ok(ok(&crate::push::redeliver(app, id).await?))
        }
        ["clients", id, "secrets"] => secrets(app, request, id, actor).await,
        ["clients", id, "credentials"] => credentials(app, request, id, actor).await,
        ["clients", id, "credentials", credential_id] => credential(app, request, id, credential_id, actor).await,
        ["clients", id, "credentials", credential_id, "audiences"] => {
            audiences(app, request, id, credential_id, actor).await
        }
        ["migrations", "trust-markers"] => {
            only(request, Method::POST, "POST")?;
            Ok(ok(&app.registry.migrate_trust_markers(actor).await?))
        }
        ["migrations", "directory-memberships"] => {
            only(request, Method::POST, "POST")?;
            migrate_memberships(app, request, actor).await
        }
        ["clients", id, "secrets", secret_id] => revoke_secret(app, request, id, secret_id, actor).await,
        ["tenant-links", ..] | ["invitations", ..] => crate::links::route(app, request, actor, &segments).await,
        ["audit"] => {
            only(request, Method::GET, "GET")?;
            let filter = AuditFilter::from_query(|name| query_param(request, name));
            Ok(ok(&app.audit.query(filter).await?))
        }
        _ => Err(AdminError::NotFound { path: path.to_owned() }),
    }
}

/// `POST /clients`, `GET /clients?tenant_id=&cursor=&limit=`.
async fn clients(app: &AdminApp, request: &Request, actor: &Actor) -> Answer {
    match *request.method() {
        Method::POST => {
            let new_client = parse_new_client(parse_json(request)?)?;
            let view = app.registry.create(new_client, actor).await?;
            Ok(created(&format!("/clients/{}", view.client_id), &view))
        }
        Method::GET => {
            let limit = parse_number::<u32>(request, "limit")?;
            let tenant = query_param(request, "tenant_id");
            let cursor = query_param(request, "cursor");
            let page = app.registry.list(tenant.as_deref(), cursor.as_deref(), limit).await?;
            Ok(ok(&page))
        }
        _ => Err(AdminError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

/// `GET|PATCH|DELETE /clients/{id}`.
async fn client(app: &AdminApp, request: &Request, id: &str, actor: &Actor) -> Answer {
    match *request.method() {
        Method::GET => Ok(ok(&app.registry.get(id).await?)),
        Method::PATCH => {
            let update: ClientUpdate = parse_json(request)?;
            Ok(ok(&app.registry.update(id, update, actor).await?))
        }
        Method::DELETE => {
            let version = parse_number::<u64>(request, "version")?;
            let revoked_tokens = app.registry.delete(id, version, actor).await?;
            Ok(ok(&Deleted {
                client_id: id.to_owned(),
                deleted: true,
                revoked_tokens,
            }))
        }
        _ => Err(AdminError::MethodNotAllowed {
            allow: "GET, PATCH, DELETE",
        }),
    }
}

/// `GET|POST /clients/{id}/credentials[?version=N]`.
async fn credentials(app: &AdminApp, request: &Request, id: &str, actor: &Actor) -> Answer {
    match *request.method() {
        Method::GET => Ok(ok(&app.registry.list_credentials(id).await?)),
        Method::POST => {
            let settings: CredentialSettings = parse_json(request)?;
            let version = parse_number::<u64>(request, "version")?;
            let change = app.registry.add_credential(id, settings, version, actor).await?;
            let location = format!("/clients/{id}/credentials/{}", change.credential.credential_id);
            Ok(created(&location, &change))
        }
        _ => Err(AdminError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

/// `GET|PATCH|DELETE /clients/{id}/credentials/{credential_id}` (`DELETE ...?version=N` optional).
async fn credential(app: &AdminApp, request: &Request, id: &str, credential_id: &str, actor: &Actor) -> Answer {
    match *request.method() {
        Method::GET => Ok(ok(&app.registry.get_credential(id, credential_id).await?)),
        Method::PATCH => {
            let update: CredentialUpdate = parse_json(request)?;
            Ok(ok(&app
                .registry
                .update_credential(id, credential_id, update, actor)
                .await?))
        }
        Method::DELETE => {
            let version = parse_number::<u64>(request, "version")?;
            Ok(ok(&app
                .registry
                .remove_credential(id, credential_id, version, actor)
                .await?))
        }
        _ => Err(AdminError::MethodNotAllowed {
            allow: "GET, PATCH, DELETE",
        }),
    }
}

/// `POST /clients/{id}/credentials/{credential_id}/audiences` (`{"audience","version"}`) and
/// `DELETE ...?audience=&version=`.
async fn audiences(app: &AdminApp, request: &Request, id: &str, credential_id: &str, actor: &Actor) -> Answer {
    match *request.method() {
        Method::POST => {
            let change: AudienceChange = parse_json(request)?;
            Ok(ok(&app.registry.add_audience(id, credential_id, change, actor).await?))
        }
        Method::DELETE => {
            let audience = query_param(request, "audience")
                .ok_or_else(|| AdminError::bad_request("audience: is required (?audience=...)"))?;
            let version = parse_number::<u64>(request, "version")?;
            Ok(ok(&app
                .registry
                .remove_audience(id, credential_id, &audience, version, actor)
                .await?))
        }
        _ => Err(AdminError::MethodNotAllowed { allow: "POST, DELETE" }),
    }
}

/// `GET|POST /clients/{id}/secrets`.
async fn secrets(app: &AdminApp, request: &Request, id: &str, actor: &Actor) -> Answer {
    match *request.method() {
        Method::GET => Ok(ok(&app.registry.list_secrets(id).await?)),
        Method::POST => {
            let options: NewSecret = parse_optional_json(request)?;
            let secret = app.registry.create_secret(id, options, actor).await?;
            Ok(created(&format!("/clients/{id}/secrets/{}", secret.secret_id), &secret))
        }
        _ => Err(AdminError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

/// `DELETE /clients/{id}/secrets/{secret_id}?version=&revoke_tokens=true`.
async fn revoke_secret(app: &AdminApp, request: &Request, id: &str, secret_id: &str, actor: &Actor) -> Answer {
    only(request, Method::DELETE, "DELETE")?;
    let version = parse_number::<u64>(request, "version")?;
    let revoke_tokens = parse_flag(request, "revoke_tokens")?;
    let revoked = app
        .registry
        .revoke_secret(id, secret_id, version, revoke_tokens, actor)
        .await?;
    Ok(ok(&revoked))
}

/// Items of the Directory table one `POST /migrations/directory-memberships` scans: a few seconds of work.
const MIGRATION_ITEMS_PER_CALL: usize = 2_000;

/// `POST /migrations/directory-memberships[?cursor=]`: one bounded slice of the Directory membership migration.
async fn migrate_memberships(app: &AdminApp, request: &Request, actor: &Actor) -> Answer {
    let cursor = query_param(request, "cursor");
    let report = app
        .directory
        .migrate_memberships(cursor.as_deref(), MIGRATION_ITEMS_PER_CALL)
        .await
        .map_err(|err| match err {
            wif_scim::store::DirectoryError::InvalidCursor => {
                AdminError::bad_request("cursor: not a cursor of this migration")
            }
            other => AdminError::Unavailable(other.to_string()),
        })?;
    tracing::info!(
        principal = %actor.principal,
        examined = report.examined,
        migrated = report.migrated,
        orphans_removed = report.orphans_removed,
        "directory membership migration step"
    );
    Ok(ok(&wif_admin_api::MembershipMigration {
        examined: report.examined,
        migrated: report.migrated,
        orphans_removed: report.orphans_removed,
        skipped: report.skipped,
        next_cursor: report.next_cursor,
    }))
}
