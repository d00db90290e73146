//! The admin's whole journey: sign in, create a registration, copy the three values, run the connection test,
//! provision with the Entra stand-in, see the activity and the chart change, sign out (and the old session is dead).

use std::sync::Arc;

use browser_tests::driver::Page;
use browser_tests::stack::Stack;
use entra_sim::token_client::AssertionMinter;
use entra_sim::{Credentials, Directory, Identity, ProvisionOptions, Provisioner, TokenClient, TokenVersion};
use fantoccini::Client;
use serde_json::json;

use super::{ensure, wait_until};
use crate::Ctx;

async fn screenshot(ctx: &Ctx, page: &Page<'_>, name: &str) -> Result<(), String> {
    page.screenshot(&ctx.screenshots.join(name)).await?;
    if ctx.update_screenshots {
        let committed = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("screenshots")
            .join(name);
        page.screenshot(&committed).await?;
    }
    Ok(())
}

/// Creates a registration in the form; returns its client id.
pub async fn create_registration(
    client: &Client,
    stack: &Stack,
    name: &str,
    subject: &str,
    audience: &str,
) -> Result<String, String> {
    let page = Page(client);
    page.goto(&format!("{}/registrations/new", stack.portal_url)).await?;
    page.fill("#display_name", name).await?;
    page.fill("#subject", subject).await?;
    page.fill("#audience", audience).await?;
    page.click("#create").await?;
    wait_until(client, |url| url.contains("?created=1")).await?;
    page.text("#client-id").await
}

/// What the activity page shows: (users created, groups created, token grants, requests in the chart).
async fn activity(page: &Page<'_>, stack: &Stack, client_id: &str) -> Result<(u64, u64, u64, u64), String> {
    page.goto(&format!("{}/activity?client_id={client_id}", stack.portal_url))
        .await?;
    let number = |text: String| text.trim().parse::<u64>().map_err(|_| format!("not a number: {text}"));
    let total = page
        .script("return document.getElementById('chart').dataset.total")
        .await?;
    Ok((
        number(page.text("#users-created").await?)?,
        number(page.text("#groups-created").await?)?,
        number(page.text("#token-grants").await?)?,
        number(total.as_str().unwrap_or_default().to_owned())?,
    ))
}

/// A small directory with names no other run used (the demo account already holds the sample directory).
fn directory(run: &str) -> Result<Directory, String> {
    let users: Vec<_> = (1..=12)
        .map(|i| {
            json!({"userName": format!("portal-{run}-{i}@contoso.example"), "externalId": format!("portal-{run}-{i}"),
                   "displayName": format!("Portal User {i}"), "active": true})
        })
        .collect();
    let members: Vec<String> = (1..=6).map(|i| format!("portal-{run}-{i}")).collect();
    let groups = json!([{ "displayName": format!("Portal Group {run}"), "externalId": format!("pg-{run}"), "members": members }]);
    serde_json::from_value(json!({ "users": users, "groups": groups })).map_err(|err| format!("directory: {err}"))
}

/// One provisioning cycle of the stand-in's tenant with a workload identity of our choosing.
async fn provision(stack: &Stack, client_id: &str, subject: &str, audience: &str, run: &str) -> Result<u64, String> {
    let identity = Identity::load(&stack.entra_state).map_err(|err| format!("stand-in identity: {err}"))?;
    let (subject, audience) = (subject.to_owned(), audience.to_owned());
    let minter: AssertionMinter = Arc::new(move || {
        identity
            .assertion(TokenVersion::V2)
            .subject(subject.clone())
            .audience(audience.clone())
            .sign(&identity)
    });
    let credentials = Credentials::ClientAssertion {
        client: TokenClient::new(&stack.token_url).map_err(|err| err.to_string())?,
        client_id: Some(client_id.to_owned()),
        scope: "scim".into(),
        minter,
    };
    let mut provisioner = Provisioner::new(ProvisionOptions::new(&stack.scim_url).concurrency(2), credentials)
        .map_err(|err| err.to_string())?;
    let report = provisioner
        .run_cycle(&directory(run)?)
        .await
        .map_err(|err| format!("cycle: {err}"))?;
    ensure(report.errors.is_empty(), format!("cycle errors: {:?}", report.errors))?;
    Ok(report.users.created)
}

pub async fn happy_path(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.driver.browser().await?;
    let result = journey(ctx, &client).await;
    let _ = client.close().await;
    result
}

async fn journey(ctx: &Ctx, client: &Client) -> Result<(), String> {
    let stack = &ctx.stack;
    let page = Page(client);
    page.goto(&format!("{}/", stack.portal_url)).await?;
    wait_until(client, |url| url.contains("/signin?returnTo=")).await?;
    screenshot(ctx, &page, "signin.png").await?;
    page.click("#signin").await?;
    page.click("#user-adele").await?;
    wait_until(client, |url| {
        url.starts_with(&stack.portal_url) && !url.contains("/signin")
    })
    .await?;
    ensure(
        page.source().await?.contains("Application Administrator"),
        "the overview names the role",
    )?;

    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let subject = uuid::Uuid::new_v4().to_string();
    let audience = format!("api://{}", uuid::Uuid::new_v4());
    let id = create_registration(client, stack, "HR system (browser test)", &subject, &audience).await?;
    *ctx.registration_id.lock().map_err(|_| "poisoned")? = Some(id.clone());
    screenshot(ctx, &page, "registration.png").await?;
    copy_buttons(&page, &id, stack).await?;

    page.click("#run-test").await?;
    let result = page.text("#test-result").await?;
    ensure(
        result.contains("Every check passed"),
        format!("connection test: {result}"),
    )?;
    let reachable = page
        .script("return document.querySelector('[data-check=jwks_reachable]').className")
        .await?;
    ensure(
        reachable.as_str() == Some("check ok"),
        format!("jwks_reachable: {reachable}"),
    )?;

    let before = activity(&page, stack, &id).await?;
    ensure(
        before == (0, 0, 0, 0),
        format!("a new registration has no activity: {before:?}"),
    )?;
    let created = provision(stack, &id, &subject, &audience, &run).await?;
    ensure(created == 12, format!("the cycle created {created} users"))?;
    let after = activity(&page, stack, &id).await?;
    ensure(
        after.0 == 12 && after.1 == 1 && after.2 >= 1,
        format!("activity after the cycle: {after:?}"),
    )?;
    ensure(
        after.3 > 12,
        format!("the chart counts the cycle's audited requests: {after:?}"),
    )?;
    let bars = page
        .script("return document.querySelectorAll('#chart rect.bar').length")
        .await?;
    ensure(bars.as_u64().unwrap_or(0) >= 1, "the chart has a bar for this hour")?;
    screenshot(ctx, &page, "activity.png").await?;

    sign_out_and_check(client, stack).await
}

/// Clicks each copy button and reads the clipboard back.
async fn copy_buttons(page: &Page<'_>, id: &str, stack: &Stack) -> Result<(), String> {
    browser_tests::driver::grant_clipboard(page.0).await?;
    for (field, expected) in [
        ("client-id", id.to_owned()),
        ("token-url", stack.token_url.clone()),
        ("scim-url", stack.scim_url.clone()),
    ] {
        page.click(&format!("button[data-copy={field}]")).await?;
        let copied = page
            .async_script("const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done('error: ' + e));")
            .await?;
        ensure(
            copied.as_str() == Some(expected.as_str()),
            format!("{field}: clipboard has {copied}, not {expected}"),
        )?;
    }
    let label = page.text("button[data-copy=scim-url]").await?;
    ensure(label == "Copied", format!("the button says {label:?}"))
}

async fn sign_out_and_check(client: &Client, stack: &Stack) -> Result<(), String> {
    let page = Page(client);
    let cookie = client
        .get_named_cookie("__Host-wif-portal-session")
        .await
        .map_err(|err| format!("session cookie: {err}"))?;
    ensure(
        cookie.http_only() == Some(true) && cookie.secure() == Some(true),
        "HttpOnly and Secure",
    )?;
    let old = format!("__Host-wif-portal-session={}", cookie.value());
    page.goto(&format!("{}/", stack.portal_url)).await?;
    page.click("#signout").await?;
    wait_until(client, |url| url.contains("signedOut=1")).await?;
    let http = Stack::http();
    let portal = &stack.portal_url;
    let home = http
        .get(format!("{portal}/"))
        .header("cookie", &old)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = home
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ensure(
        home.status() == 303 && location.contains("/signin"),
        format!("old session: {} {location}", home.status()),
    )?;
    let api = http
        .get(format!("{portal}/api/me"))
        .header("cookie", &old)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(api.status() == 401, format!("old session on the API: {}", api.status()))
}
