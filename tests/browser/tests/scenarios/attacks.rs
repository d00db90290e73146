//! Every attack of the portal's threat list, each against the running stack in a fresh browser (or, where a
//! browser cannot express it, with a plain HTTP client).

use browser_tests::driver::Page;
use browser_tests::stack::Stack;
use fantoccini::Client;
use serde_json::json;

use super::{ensure, fetch_status, sign_in, wait_until};
use crate::Ctx;

/// Runs `body` in a new browser and closes it whatever happens.
async fn with_browser<'a, F, Fut>(ctx: &'a Ctx, body: F) -> Result<(), String>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + 'a,
{
    let client = ctx.driver.browser().await?;
    let outcome = body(client.clone()).await;
    let _ = client.close().await;
    outcome
}

/// The portal's error page is showing `title`, and no session exists (the portal sends us to sign in).
async fn refused(client: &Client, stack: &Stack, title: &str) -> Result<(), String> {
    let page = Page(client);
    let shown = page.text("#error-title").await?;
    ensure(shown == title, format!("error page says {shown:?}, expected {title:?}"))?;
    page.goto(&format!("{}/", stack.portal_url)).await?;
    wait_until(client, |url| url.contains("/signin?returnTo=")).await
}

pub async fn spoiled_id_token(ctx: &Ctx, mode: &'static str) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        let page = Page(&client);
        page.goto(&format!("{}/signin", ctx.stack.portal_url)).await?;
        page.click("#signin").await?;
        ctx.stack.misbehave(mode).await;
        page.click("#user-adele").await?;
        let outcome = refused(&client, &ctx.stack, "Sign-in did not complete").await;
        ctx.stack.misbehave("none").await;
        outcome
    })
    .await
}

pub async fn missing_state(ctx: &Ctx) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        let page = Page(&client);
        page.goto(&format!("{}/signin", ctx.stack.portal_url)).await?;
        page.click("#signin").await?;
        page.text("#user-adele").await?;
        page.goto(&format!("{}/signin/callback?code=stolen-code", ctx.stack.portal_url))
            .await?;
        refused(&client, &ctx.stack, "Sign-in did not complete").await
    })
    .await
}

pub async fn wrong_state(ctx: &Ctx) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        let page = Page(&client);
        page.goto(&format!("{}/signin", ctx.stack.portal_url)).await?;
        page.click("#signin").await?;
        page.text("#user-adele").await?;
        page.script("document.querySelector('input[name=state]').value = 'forged-state'")
            .await?;
        page.click("#user-adele").await?;
        refused(&client, &ctx.stack, "Sign-in did not complete").await
    })
    .await
}

/// A browser follows the callback's redirect at once, so the replay is done with a plain HTTP client that keeps
/// the sign-in cookie and calls the callback URL twice.
pub async fn replayed_code(ctx: &Ctx) -> Result<(), String> {
    let http = Stack::http();
    let error = |e: reqwest::Error| e.to_string();
    let start = http
        .get(format!("{}/signin/start?returnTo=%2F", ctx.stack.portal_url))
        .send()
        .await
        .map_err(error)?;
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let cookie = header(&start, "set-cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let authorize = url::Url::parse(&header(&start, "location")).map_err(|e| e.to_string())?;
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("login_hint".into(), "adele".into()));
    let mut endpoint = authorize.clone();
    endpoint.set_query(None);
    let chosen = http.post(endpoint).form(&form).send().await.map_err(error)?;
    let callback = header(&chosen, "location");
    let first = http
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(error)?;
    ensure(
        first.status() == 303,
        format!("the genuine callback answered {}", first.status()),
    )?;
    let replay = http
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(error)?;
    let status = replay.status();
    let body = replay.text().await.map_err(error)?;
    ensure(
        status == 400 && body.contains("already used"),
        format!("the replay answered {status}"),
    )
}

pub async fn open_redirect(ctx: &Ctx) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        let target = "https%3A%2F%2Fevil.example%2Fphish";
        sign_in(&client, &ctx.stack, "adele", Some(target)).await?;
        let url = Page(&client).url().await?;
        ensure(url == format!("{}/", ctx.stack.portal_url), format!("ended at {url}"))
    })
    .await
}

pub async fn missing_csrf(ctx: &Ctx) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        sign_in(&client, &ctx.stack, "adele", None).await?;
        let page = Page(&client);
        page.goto(&format!("{}/registrations/new", ctx.stack.portal_url))
            .await?;
        page.script("document.querySelectorAll('input[name=csrf]').forEach(input => input.remove())")
            .await?;
        page.fill("#subject", &uuid::Uuid::new_v4().to_string()).await?;
        page.fill("#audience", "api://csrf-test").await?;
        page.click("#create").await?;
        let title = page.text("#error-title").await?;
        ensure(title == "Not allowed", format!("without the token: {title:?}"))?;
        let url = format!("{}/registrations", ctx.stack.portal_url);
        let status = fetch_status(&client, "POST", &url, "subject=x&audience=api%3A%2F%2Fy").await?;
        ensure(
            status == 403,
            format!("a scripted POST without the token answered {status}"),
        )
    })
    .await
}

pub async fn other_tenant(ctx: &Ctx) -> Result<(), String> {
    let id = ctx.registration_id()?;
    with_browser(ctx, |client| async move {
        sign_in(&client, &ctx.stack, "bianca", None).await?;
        let page = Page(&client);
        let url = format!("{}/registrations/{id}", ctx.stack.portal_url);
        page.goto(&url).await?;
        let title = page.text("#error-title").await?;
        ensure(
            title == "Not found",
            format!("another tenant's registration: {title:?}"),
        )?;
        let status = fetch_status(&client, "GET", &url, "").await?;
        ensure(status == 404, format!("answered {status}"))
    })
    .await
}

pub async fn read_only_write(ctx: &Ctx) -> Result<(), String> {
    let id = ctx.registration_id()?;
    with_browser(ctx, |client| async move {
        sign_in(&client, &ctx.stack, "nestor", None).await?;
        let page = Page(&client);
        page.goto(&format!("{}/registrations/{id}", ctx.stack.portal_url))
            .await?;
        let buttons = page
            .script("return document.querySelectorAll('#toggle, #revoke, #create-secret').length")
            .await?;
        ensure(buttons.as_u64() == Some(0), "a reader is offered no write action")?;
        // The reader forges the form the page did not offer, with their own valid CSRF token.
        let action = format!("{}/registrations/{id}/disable", ctx.stack.portal_url);
        page.script(&format!(
            "const f = document.createElement('form'); f.method = 'post'; f.action = {action:?};
             const t = document.querySelector('input[name=csrf]').cloneNode(); f.appendChild(t);
             document.body.appendChild(f); f.submit();"
        ))
        .await?;
        let title = page.text("#error-title").await?;
        ensure(title == "Not allowed", format!("a reader's write: {title:?}"))?;
        page.goto(&format!("{}/registrations/{id}", ctx.stack.portal_url))
            .await?;
        let status = page.text("#status").await?;
        ensure(status == "enabled", format!("the registration is {status}"))
    })
    .await
}

pub async fn script_in_display_name(ctx: &Ctx) -> Result<(), String> {
    with_browser(ctx, |client| async move {
        sign_in(&client, &ctx.stack, "adele", None).await?;
        let name = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">";
        let subject = uuid::Uuid::new_v4().to_string();
        super::flow::create_registration(&client, &ctx.stack, name, &subject, "api://xss-test").await?;
        let page = Page(&client);
        let shown = page.text("#registration-name").await?;
        ensure(shown == name, format!("the name is shown as {shown:?}"))?;
        let pwned = page.script("return window.__pwned === undefined").await?;
        ensure(pwned.as_bool() == Some(true), "the injected script ran")?;
        page.goto(&format!("{}/registrations", ctx.stack.portal_url)).await?;
        let pwned = page.script("return window.__pwned === undefined").await?;
        ensure(pwned.as_bool() == Some(true), "the injected script ran on the list")
    })
    .await
}

pub async fn security_headers(ctx: &Ctx) -> Result<(), String> {
    let response = Stack::http()
        .get(format!("{}/signin", ctx.stack.portal_url))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    ensure(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        format!("CSP: {csp}"),
    )?;
    ensure(csp.contains("frame-ancestors 'none'"), format!("CSP: {csp}"))?;
    ensure(header("strict-transport-security").starts_with("max-age="), "HSTS")?;
    ensure(header("x-content-type-options") == "nosniff", "nosniff")?;
    ensure(header("x-frame-options") == "DENY", "X-Frame-Options")
}

/// The JSON API with Entra access tokens minted by the stand-in: 401 for no, invalid or provisioning tokens, 403
/// for a missing scope or role, 404 for another tenant's registration.
pub async fn api(ctx: &Ctx) -> Result<(), String> {
    let id = ctx.registration_id()?;
    let stack = &ctx.stack;
    let http = Stack::http();
    let call = |method: reqwest::Method, path: String, token: Option<String>, body: Option<serde_json::Value>| {
        let mut request = http.request(method, format!("{}/api/{path}", stack.portal_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            request
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        }
    };
    let admin = stack.access_token("adele", "registrations.readwrite").await;
    let reader_scope = stack.access_token("adele", "registrations.read").await;
    let nestor = stack.access_token("nestor", "registrations.readwrite").await;
    let bianca = stack.access_token("bianca", "registrations.readwrite").await;
    let new = json!({"subject": uuid::Uuid::new_v4().to_string(), "audience": "api://api-test", "display_name": "API"});
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let cases = [
        (
            post.clone(),
            "registrations".to_owned(),
            Some(admin.clone()),
            Some(new.clone()),
            201,
        ),
        (get.clone(), "registrations".to_owned(), Some(admin.clone()), None, 200),
        (
            get.clone(),
            format!("registrations/{id}"),
            Some(reader_scope.clone()),
            None,
            200,
        ),
        (
            post.clone(),
            "registrations".to_owned(),
            Some(reader_scope),
            Some(new.clone()),
            403,
        ),
        (
            post.clone(),
            format!("registrations/{id}/disable"),
            Some(nestor),
            None,
            403,
        ),
        (
            get.clone(),
            format!("registrations/{id}"),
            Some(bianca.clone()),
            None,
            404,
        ),
        (
            post.clone(),
            format!("registrations/{id}/revoke-tokens"),
            Some(bianca),
            None,
            404,
        ),
        (
            get.clone(),
            "registrations".to_owned(),
            Some("wif_at_0123456789abcdef0123456789".to_owned()),
            None,
            401,
        ),
        (
            get.clone(),
            "registrations".to_owned(),
            Some("not.a.jwt".to_owned()),
            None,
            401,
        ),
        (
            get.clone(),
            "registrations".to_owned(),
            Some(format!("{admin}x")),
            None,
            401,
        ),
        (get, "registrations".to_owned(), None, None, 401),
    ];
    for (method, path, token, body, expected) in cases {
        let status = call(method.clone(), path.clone(), token, body).await?;
        ensure(
            status == expected,
            format!("{method} /api/{path}: {status}, expected {expected}"),
        )?;
    }
    Ok(())
}
