//! The JSON API: the portal's operations for automation. A request authenticates with either
//!
//! - `Authorization: Bearer <Entra access token>`: a delegated user token for the portal's API (validated like the
//!   ID token: signature, issuer of its `tid`, audience, expiry) whose `scp` grants `registrations.read` (GET) or
//!   `registrations.readwrite` (everything), and whose person has the role; or
//! - the session cookie of a signed-in browser, with `X-CSRF-Token` on every write.
//!
//! Our opaque provisioning tokens (`wif_at_…`) are refused (401): system identities never manage registrations.
//! Missing or invalid credentials are 401 with `WWW-Authenticate`, a valid one without scope or role is 403,
//! another account's registration is 404.

use http::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::access::{Principal, holds_admin_role};
use crate::error::PortalError;
use crate::model::Person;
use crate::registrations::{NewRegistration, person_actor};
use crate::sessions::Sessions;
use crate::verifier::VerifyError;
use crate::web::{Portal, PortalRequest, check_body, error_headers, html, respond, status_of};

const JSON: &str = "application/json";

/// How the request authenticated.
struct Caller {
    principal: Principal,
    /// The session's CSRF token when the caller is a browser session (writes must send it back).
    csrf: Option<String>,
}

pub async fn handle(portal: &Portal, request: &PortalRequest) -> Response<String> {
    match route(portal, request).await {
        Ok((status, body)) => respond(status, JSON, body.to_string()),
        Err(error) => error_response(&error),
    }
}

fn error_response(error: &PortalError) -> Response<String> {
    if status_of(error).is_server_error() {
        tracing::warn!(error = %error, "portal API request failed");
    }
    let body = json!({ "error": error.code(), "error_description": error.to_string() });
    let mut response = respond(status_of(error), JSON, body.to_string());
    error_headers(&mut response, error);
    if let PortalError::Unauthenticated(_) = error {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

async fn route(portal: &Portal, request: &PortalRequest) -> Result<(StatusCode, Value), PortalError> {
    check_body(request)?;
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    let caller = authenticate(portal, request).await?;
    let method = &request.method;
    let write = !(method == Method::GET || method == Method::HEAD);
    if write {
        check_csrf(&caller, request)?;
    }
    let principal = &caller.principal;
    let actor = person_actor(
        principal,
        request.info.request_id.clone(),
        request.info.source_ip.clone(),
    );
    let ok = |value: Value| Ok((StatusCode::OK, value));
    match (segments.as_slice(), method.as_str()) {
        (["me"], "GET") => ok(me(principal)),
        (["registrations"], "GET") => {
            ok(json!({ "registrations": portal.registrations.list(principal.for_read()?).await? }))
        }
        (["registrations"], "POST") => {
            let new: NewRegistration = parse_json(request)?;
            Ok((
                StatusCode::CREATED,
                json!(portal.registrations.create(principal, new, &actor).await?),
            ))
        }
        (["registrations", id], "GET") => ok(json!(portal.registrations.get(principal.for_read()?, id).await?)),
        (["registrations", id, action @ ("enable" | "disable")], "POST") => {
            let link = principal.for_write()?;
            ok(json!(
                portal
                    .registrations
                    .set_enabled(link, id, *action == "enable", &actor)
                    .await?
            ))
        }
        (["registrations", id, "revoke-tokens"], "POST") => {
            let revoked = portal
                .registrations
                .revoke_tokens(principal.for_write()?, id, &actor)
                .await?;
            ok(json!({ "client_id": id, "revoked_tokens": revoked }))
        }
        (["registrations", id, "test"], "GET") => {
            ok(json!(portal.registrations.test(principal.for_read()?, id).await?))
        }
        (["registrations", id, "secrets"], "POST") => {
            let body: SecretBody = parse_optional_json(request)?;
            let link = principal.for_write()?;
            let created = portal
                .registrations
                .create_secret(link, id, body.description, &actor)
                .await?;
            Ok((StatusCode::CREATED, json!(created)))
        }
        (["registrations", id, "secrets", secret], "DELETE") => ok(json!(
            portal
                .registrations
                .revoke_secret(principal.for_write()?, id, secret, &actor)
                .await?
        )),
        (["activity"], "GET") => {
            let link = principal.for_read()?;
            let client_id = request.query_param("client_id").filter(|id| !id.is_empty());
            if let Some(id) = &client_id {
                portal.registrations.get(link, id).await?;
            }
            let now = portal.clock.now_unix();
            ok(json!(
                portal.activity.read(&link.tenant_id, client_id.as_deref(), now).await?
            ))
        }
        (["me" | "registrations" | "activity", ..], _) => Err(PortalError::MethodNotAllowed("GET, POST, DELETE")),
        _ => Err(PortalError::NotFound("no API resource at this path".into())),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretBody {
    #[serde(default)]
    description: Option<String>,
}

fn me(principal: &Principal) -> Value {
    json!({
        "tid": principal.person.tid,
        "oid": principal.person.oid,
        "upn": principal.person.upn,
        "role": principal.role.as_str(),
        "roles": principal.person.roles,
        "tenant_id": principal.link.as_ref().map(|link| link.tenant_id.clone()),
        "scopes": principal.scopes,
    })
}

async fn authenticate(portal: &Portal, request: &PortalRequest) -> Result<Caller, PortalError> {
    let Some(authorization) = request.header("authorization") else {
        let signed = html::signed_in(portal, request).await?;
        return Ok(Caller {
            csrf: Some(signed.session.csrf_token.clone()),
            principal: signed.principal,
        });
    };
    let token = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| PortalError::Unauthenticated("use Authorization: Bearer <Entra access token>".into()))?;
    if token.starts_with("wif_at_") {
        return Err(PortalError::Unauthenticated(
            "provisioning access tokens cannot manage registrations; use an Entra user access token".into(),
        ));
    }
    let claims = portal
        .verifier
        .access_token(token, portal.clock.now_unix())
        .await
        .map_err(|err| match err {
            VerifyError::Invalid(reason) => {
                tracing::info!(reason = %reason, "portal API token refused");
                PortalError::Unauthenticated("the access token is not valid for this API".into())
            }
            VerifyError::KeysUnavailable(reason) => PortalError::Unavailable(reason),
        })?;
    let person = Person {
        admin: holds_admin_role(&claims.wids),
        roles: crate::access::admin_role_names(&claims.wids)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        tid: claims.tid,
        oid: claims.oid,
        upn: claims.upn,
        name: claims.name,
    };
    let principal = portal.sessions.principal(person, Some(claims.scopes)).await?;
    Ok(Caller { principal, csrf: None })
}

fn check_csrf(caller: &Caller, request: &PortalRequest) -> Result<(), PortalError> {
    match &caller.csrf {
        // A bearer token is never sent by a browser on its own: no cross-site request can carry it.
        None => Ok(()),
        Some(expected) => Sessions::check_csrf(expected, request.header("x-csrf-token")),
    }
}

fn parse_json<T: DeserializeOwned>(request: &PortalRequest) -> Result<T, PortalError> {
    let json_type = request
        .header("content-type")
        .is_some_and(|kind| kind.starts_with("application/json"));
    if !json_type {
        return Err(PortalError::Invalid("send the body as application/json".into()));
    }
    serde_json::from_slice(&request.body).map_err(|err| PortalError::Invalid(format!("body: {err}")))
}

fn parse_optional_json<T: DeserializeOwned + Default>(request: &PortalRequest) -> Result<T, PortalError> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(request)
}
