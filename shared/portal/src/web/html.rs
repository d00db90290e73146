//! The pages. Every page but sign-in needs a live session; without one a GET is redirected to
//! `/signin?returnTo=<this page>`, anything else gets 401. Every POST needs the session's CSRF token.

use std::collections::HashMap;

use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::access::Principal;
use crate::error::PortalError;
use crate::model::Session;
use crate::oidc::CallbackParams;
use crate::registrations::{NewRegistration, person_actor};
use crate::return_to;
use crate::sessions::Sessions;
use crate::web::{Portal, PortalRequest, check_body, cookies, error_headers, respond, status_of};
use wif_registry::Actor;

const HTML: &str = "text/html; charset=utf-8";

/// A signed-in request.
pub struct Signed {
    pub session: Session,
    pub principal: Principal,
}

pub async fn handle(portal: &Portal, request: &PortalRequest) -> Response<String> {
    match route(portal, request).await {
        Ok(response) => response,
        Err(error) => error_page(portal, request, &error),
    }
}

async fn route(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    check_body(request)?;
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let get = request.method == Method::GET || request.method == Method::HEAD;
    let post = request.method == Method::POST;
    match (segments.as_slice(), get, post) {
        ([], true, _) => overview(portal, request).await,
        (["signin"], true, _) => signin_page(portal, request).await,
        (["signin", "start"], true, _) => signin_start(portal, request).await,
        (["signin", "callback"], true, _) => Ok(signin_callback(portal, request).await),
        (["signout"], true, _) => signout_page(portal, request).await,
        (["signout"], _, true) => signout(portal, request).await,
        (["registrations"], true, _) => registrations(portal, request).await,
        (["registrations"], _, true) => create_registration(portal, request).await,
        (["registrations", "new"], true, _) => new_registration(portal, request).await,
        (["registrations", id], true, _) => registration(portal, request, id).await,
        (["registrations", id, "test"], true, _) => connection_test(portal, request, id).await,
        (["registrations", id, action @ ("enable" | "disable" | "revoke-tokens")], _, true) => {
            registration_action(portal, request, id, action).await
        }
        (["registrations", id, "secrets"], _, true) => create_secret(portal, request, id).await,
        (["registrations", id, "secrets", secret, "revoke"], _, true) => {
            revoke_secret(portal, request, id, secret).await
        }
        (["activity"], true, _) => activity(portal, request).await,
        (["invite"], true, _) => invite_page(portal, request).await,
        (["invite"], _, true) => redeem_invite(portal, request).await,
        ([] | ["signin" | "activity" | "registrations" | "signout" | "invite", ..], _, _) => {
            Err(PortalError::MethodNotAllowed("GET, POST"))
        }
        _ => Err(PortalError::NotFound("there is no page at this address".into())),
    }
}

/// The session and principal of this request; `Unauthenticated` without a live session.
pub async fn signed_in(portal: &Portal, request: &PortalRequest) -> Result<Signed, PortalError> {
    let cookie =
        cookies::get(request, cookies::SESSION).ok_or_else(|| PortalError::Unauthenticated("please sign in".into()))?;
    let session = portal
        .sessions
        .resume(cookie)
        .await?
        .ok_or_else(|| PortalError::Unauthenticated("your session has ended; please sign in again".into()))?;
    let principal = portal.sessions.principal(session.person.clone(), None).await?;
    Ok(Signed { session, principal })
}

/// The context every page shares.
fn context(portal: &Portal, signed: Option<&Signed>, nav: &str) -> Value {
    let mut context = json!({
        "base": portal.site.base_path,
        "product": portal.site.product_name,
        "nav": nav,
    });
    if let Some(signed) = signed {
        let principal = &signed.principal;
        context["person"] = json!({
            "label": principal.person.label(),
            "upn": principal.person.upn,
            "tid": principal.person.tid,
            "admin": principal.person.admin,
        });
        context["role"] = json!(principal.role.as_str());
        context["can_write"] = json!(principal.for_write().is_ok());
        context["link"] = json!(principal.link);
        context["csrf"] = json!(signed.session.csrf_token);
    }
    context
}

fn render(portal: &Portal, status: StatusCode, name: &str, context: &Value) -> Result<Response<String>, PortalError> {
    let body = portal.pages.render(name, context).map_err(|err| {
        tracing::error!(template = name, error = %err, "page rendering failed");
        PortalError::Unavailable("this page could not be shown; try again in a moment".into())
    })?;
    Ok(respond(status, HTML, body))
}

/// 303 to a portal path, with optional `Set-Cookie` headers.
fn redirect(portal: &Portal, path: &str, set_cookies: &[String]) -> Response<String> {
    redirect_to(&format!("{}{path}", portal.site.base_path), set_cookies)
}

fn redirect_to(location: &str, set_cookies: &[String]) -> Response<String> {
    let mut response = respond(StatusCode::SEE_OTHER, HTML, String::new());
    let headers = response.headers_mut();
    if let Ok(value) = http::HeaderValue::from_str(location) {
        headers.insert(http::header::LOCATION, value);
    }
    for cookie in set_cookies {
        if let Ok(value) = http::HeaderValue::from_str(cookie) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    response
}

/// The error page, or for a GET without a session the redirect to sign-in.
fn error_page(portal: &Portal, request: &PortalRequest, error: &PortalError) -> Response<String> {
    if matches!(error, PortalError::Unauthenticated(_)) && request.method == Method::GET {
        let target = form_urlencoded::Serializer::new(String::new())
            .append_pair("returnTo", &request.path_and_query())
            .finish();
        return redirect(portal, &format!("/signin?{target}"), &[]);
    }
    if status_of(error).is_server_error() {
        tracing::warn!(error = %error, "portal page failed");
    }
    let mut context = context(portal, None, "");
    context["status"] = json!(error.status());
    context["title"] = json!(error.title());
    context["message"] = json!(error.to_string());
    context["signin"] = json!(matches!(
        error,
        PortalError::Unauthenticated(_) | PortalError::SignInFailed(_)
    ));
    let mut response = match portal.pages.render("error.html", &context) {
        Ok(body) => respond(status_of(error), HTML, body),
        Err(_) => respond(status_of(error), "text/plain; charset=utf-8", error.to_string()),
    };
    error_headers(&mut response, error);
    response
}

/// A POST's form fields, after the CSRF check.
fn form(request: &PortalRequest, session: &Session) -> Result<HashMap<String, String>, PortalError> {
    let form_type = request
        .header("content-type")
        .is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(PortalError::Invalid(
            "send the form as application/x-www-form-urlencoded".into(),
        ));
    }
    let mut fields = HashMap::new();
    for (name, value) in form_urlencoded::parse(&request.body) {
        fields.entry(name.into_owned()).or_insert_with(|| value.into_owned());
    }
    Sessions::check_csrf(&session.csrf_token, fields.get("csrf").map(String::as_str))?;
    Ok(fields)
}

/// A form post that changes something: the live session, its CSRF token, the right to write, and the person as
/// the audited actor.
async fn writer(
    portal: &Portal,
    request: &PortalRequest,
) -> Result<(Signed, HashMap<String, String>, Actor), PortalError> {
    let signed = signed_in(portal, request).await?;
    let fields = form(request, &signed.session)?;
    signed.principal.for_write()?;
    let actor = person_actor(
        &signed.principal,
        request.info.request_id.clone(),
        request.info.source_ip.clone(),
    );
    Ok((signed, fields, actor))
}

async fn overview(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let mut context = context(portal, Some(&signed), "overview");
    context["roles"] = json!(signed.principal.person.roles);
    // The overview stays cheap (one query): the activity, which pages through the audit trail, has its own page.
    if let Ok(link) = signed.principal.for_read() {
        context["registrations"] = json!(portal.registrations.list(link).await?);
    }
    context["linked"] = json!(request.query_param("linked").is_some());
    render(portal, StatusCode::OK, "overview.html", &context)
}

async fn signin_page(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let return_to = return_to::sanitize(request.query_param("returnTo").as_deref());
    if signed_in(portal, request).await.is_ok() {
        return Ok(redirect(portal, &return_to, &[]));
    }
    let mut context = context(portal, None, "signin");
    let start = form_urlencoded::Serializer::new(String::new())
        .append_pair("returnTo", &return_to)
        .finish();
    context["start_url"] = json!(format!("{}/signin/start?{start}", portal.site.base_path));
    context["signed_out"] = json!(request.query_param("signedOut").is_some());
    render(portal, StatusCode::OK, "signin.html", &context)
}

async fn signin_start(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let return_to = return_to::sanitize(request.query_param("returnTo").as_deref());
    let started = portal
        .signin
        .start(return_to, portal.site.redirect_uri(request)?)
        .await?;
    let cookie = cookies::set(
        cookies::SIGNIN,
        &started.cookie_value,
        Some(crate::signin::PENDING_SECONDS),
    );
    Ok(redirect_to(&started.redirect, &[cookie]))
}

async fn signin_callback(portal: &Portal, request: &PortalRequest) -> Response<String> {
    let params = CallbackParams::from_query(&request.query);
    let cookie = cookies::get(request, cookies::SIGNIN);
    let finished = portal
        .signin
        .finish(cookie, &params, &portal.sessions, &request.info)
        .await;
    let clear = cookies::clear(cookies::SIGNIN);
    match finished {
        Ok(done) => {
            let session = cookies::set(cookies::SESSION, &done.cookie_value, None);
            redirect(portal, &done.return_to, &[clear, session])
        }
        Err(error) => {
            let mut response = error_page(portal, request, &error);
            if let Ok(value) = http::HeaderValue::from_str(&clear) {
                response.headers_mut().append(http::header::SET_COOKIE, value);
            }
            response
        }
    }
}

async fn signout_page(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    render(
        portal,
        StatusCode::OK,
        "signout.html",
        &context(portal, Some(&signed), ""),
    )
}

async fn signout(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    form(request, &signed.session)?;
    portal.sessions.end(&signed.session).await?;
    Ok(redirect(
        portal,
        "/signin?signedOut=1",
        &[cookies::clear(cookies::SESSION)],
    ))
}

async fn registrations(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let link = signed.principal.for_read()?;
    let list = portal.registrations.list(link).await?;
    let mut context = context(portal, Some(&signed), "registrations");
    context["registrations"] = json!(list);
    render(portal, StatusCode::OK, "registrations.html", &context)
}

async fn new_registration(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    signed.principal.for_write()?;
    new_registration_form(portal, &signed, StatusCode::OK, &NewRegistration::default(), None)
}

fn new_registration_form(
    portal: &Portal,
    signed: &Signed,
    status: StatusCode,
    values: &NewRegistration,
    problem: Option<String>,
) -> Result<Response<String>, PortalError> {
    let tid = &signed.principal.person.tid;
    let (issuer, jwks) = portal.registrations.trust().trust(tid, "v2")?;
    let (issuer_v1, jwks_v1) = portal.registrations.trust().trust(tid, "v1")?;
    let mut context = context(portal, Some(signed), "registrations");
    context["issuer"] = json!(issuer);
    context["jwks_uri"] = json!(jwks);
    context["issuer_v1"] = json!(issuer_v1);
    context["jwks_uri_v1"] = json!(jwks_v1);
    context["values"] = json!({
        "display_name": values.display_name, "subject": values.subject, "audience": values.audience,
        "token_version": values.token_version.clone().unwrap_or_else(|| "v2".into()),
    });
    context["problem"] = json!(problem);
    render(portal, status, "registration_new.html", &context)
}

async fn create_registration(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let (signed, mut fields, actor) = writer(portal, request).await?;
    let new = NewRegistration {
        display_name: fields.remove("display_name"),
        subject: fields.remove("subject"),
        audience: fields.remove("audience"),
        token_version: fields.remove("token_version"),
    };
    match portal
        .registrations
        .create(&signed.principal, new.clone(), &actor)
        .await
    {
        Ok(view) => Ok(redirect(
            portal,
            &format!("/registrations/{}?created=1", view.client_id),
            &[],
        )),
        Err(PortalError::Invalid(problem)) => {
            new_registration_form(portal, &signed, StatusCode::BAD_REQUEST, &new, Some(problem))
        }
        Err(other) => Err(other),
    }
}

async fn registration(portal: &Portal, request: &PortalRequest, id: &str) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let link = signed.principal.for_read()?;
    let view = portal.registrations.get(link, id).await?;
    let mut context = context(portal, Some(&signed), "registrations");
    context["registration"] = json!(view);
    context["created"] = json!(request.query_param("created").is_some());
    context["done"] = json!(request.query_param("done"));
    render(portal, StatusCode::OK, "registration.html", &context)
}

async fn connection_test(portal: &Portal, request: &PortalRequest, id: &str) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let link = signed.principal.for_read()?;
    let view = portal.registrations.get(link, id).await?;
    let report = portal.registrations.test(link, id).await?;
    let mut context = context(portal, Some(&signed), "registrations");
    context["registration"] = json!(view);
    context["report"] = json!(report);
    render(portal, StatusCode::OK, "test.html", &context)
}

async fn registration_action(
    portal: &Portal,
    request: &PortalRequest,
    id: &str,
    action: &str,
) -> Result<Response<String>, PortalError> {
    let (signed, _, actor) = writer(portal, request).await?;
    let link = signed.principal.for_write()?;
    let done = match action {
        "enable" | "disable" => {
            portal
                .registrations
                .set_enabled(link, id, action == "enable", &actor)
                .await?;
            format!("{action}d")
        }
        _ => format!(
            "revoked-{}",
            portal.registrations.revoke_tokens(link, id, &actor).await?
        ),
    };
    Ok(redirect(portal, &format!("/registrations/{id}?done={done}"), &[]))
}

async fn create_secret(portal: &Portal, request: &PortalRequest, id: &str) -> Result<Response<String>, PortalError> {
    let (signed, mut fields, actor) = writer(portal, request).await?;
    let link = signed.principal.for_write()?;
    let created = portal
        .registrations
        .create_secret(link, id, fields.remove("description"), &actor)
        .await?;
    let view = portal.registrations.get(link, id).await?;
    let mut context = context(portal, Some(&signed), "registrations");
    context["registration"] = json!(view);
    context["new_secret"] = json!(created);
    render(portal, StatusCode::OK, "registration.html", &context)
}

async fn revoke_secret(
    portal: &Portal,
    request: &PortalRequest,
    id: &str,
    secret_id: &str,
) -> Result<Response<String>, PortalError> {
    let (signed, _, actor) = writer(portal, request).await?;
    let link = signed.principal.for_write()?;
    portal.registrations.revoke_secret(link, id, secret_id, &actor).await?;
    Ok(redirect(
        portal,
        &format!("/registrations/{id}?done=secret-revoked"),
        &[],
    ))
}

async fn activity(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let link = signed.principal.for_read()?;
    let client_id = request.query_param("client_id").filter(|id| !id.is_empty());
    if let Some(id) = &client_id {
        portal.registrations.get(link, id).await?;
    }
    let report = portal
        .activity
        .read(&link.tenant_id, client_id.as_deref(), portal.clock.now_unix())
        .await?;
    let mut context = context(portal, Some(&signed), "activity");
    context["activity"] = json!(report);
    context["client_id"] = json!(client_id);
    context["chart"] = json!({"width": crate::activity::CHART_WIDTH, "height": crate::activity::CHART_HEIGHT});
    render(portal, StatusCode::OK, "activity.html", &context)
}

async fn invite_page(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let code = request.query_param("code").unwrap_or_default();
    let invitation = portal.links.pending_invitation(&code).await?;
    let mut context = context(portal, Some(&signed), "");
    context["code"] = json!(code);
    context["invitation"] = json!({
        "display_name": invitation.display_name, "tenant_id": invitation.tenant_id,
        "expires_at": wif_common::clock::rfc3339(invitation.expires_at),
    });
    render(portal, StatusCode::OK, "invite.html", &context)
}

async fn redeem_invite(portal: &Portal, request: &PortalRequest) -> Result<Response<String>, PortalError> {
    let signed = signed_in(portal, request).await?;
    let fields = form(request, &signed.session)?;
    let code = fields.get("code").cloned().unwrap_or_default();
    let actor = person_actor(
        &signed.principal,
        request.info.request_id.clone(),
        request.info.source_ip.clone(),
    );
    portal.links.redeem(&code, &signed.principal.person, &actor).await?;
    Ok(redirect(portal, "/?linked=1", &[]))
}
