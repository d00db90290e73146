//! The scenarios, in order (the first creates the registration the attack scenarios aim at).

mod attacks;
mod flow;
mod metrics;

use std::future::Future;
use std::pin::Pin;

use browser_tests::driver::Page;
use browser_tests::stack::Stack;
use fantoccini::Client;

use crate::Ctx;

type Run = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

pub const ALL: &[(&str, Run)] = &[
    ("sign_in_create_copy_test_provision_activity_sign_out", |c| {
        Box::pin(flow::happy_path(c))
    }),
    ("security_headers_strict_csp_no_framing_hsts", |c| {
        Box::pin(attacks::security_headers(c))
    }),
    ("tampered_id_token_is_refused", |c| {
        Box::pin(attacks::spoiled_id_token(c, "tampered_signature"))
    }),
    ("expired_id_token_is_refused", |c| {
        Box::pin(attacks::spoiled_id_token(c, "expired"))
    }),
    ("foreign_tenant_id_token_is_refused", |c| {
        Box::pin(attacks::spoiled_id_token(c, "foreign_issuer"))
    }),
    ("id_token_for_another_audience_is_refused", |c| {
        Box::pin(attacks::spoiled_id_token(c, "wrong_audience"))
    }),
    ("id_token_with_another_nonce_is_refused", |c| {
        Box::pin(attacks::spoiled_id_token(c, "wrong_nonce"))
    }),
    ("missing_state_is_refused", |c| Box::pin(attacks::missing_state(c))),
    ("wrong_state_is_refused", |c| Box::pin(attacks::wrong_state(c))),
    ("replayed_code_is_refused", |c| Box::pin(attacks::replayed_code(c))),
    ("open_redirect_in_return_to_stays_in_the_portal", |c| {
        Box::pin(attacks::open_redirect(c))
    }),
    ("missing_csrf_token_gives_403", |c| Box::pin(attacks::missing_csrf(c))),
    ("another_tenants_registration_gives_404", |c| {
        Box::pin(attacks::other_tenant(c))
    }),
    ("read_only_user_writing_gets_403", |c| {
        Box::pin(attacks::read_only_write(c))
    }),
    ("script_in_display_name_is_shown_escaped", |c| {
        Box::pin(attacks::script_in_display_name(c))
    }),
    ("api_tokens_scopes_roles_and_tenants", |c| Box::pin(attacks::api(c))),
    ("page_weight_and_server_time_p50", |c| Box::pin(metrics::pages(c))),
];

/// Signs `user` in through the stand-in's sign-in page; ends on the portal page the sign-in returned to.
pub async fn sign_in(client: &Client, stack: &Stack, user: &str, return_to: Option<&str>) -> Result<(), String> {
    let page = Page(client);
    let start = match return_to {
        Some(path) => format!("{}/signin?returnTo={path}", stack.portal_url),
        None => format!("{}/signin", stack.portal_url),
    };
    page.goto(&start).await?;
    page.click("#signin").await?;
    page.click(&format!("#user-{user}")).await?;
    wait_until(client, |url| {
        url.starts_with(&stack.portal_url) && !url.contains("/signin")
    })
    .await
}

/// Waits (30 s at most) until the browser's URL satisfies `done`.
pub async fn wait_until(client: &Client, done: impl Fn(&str) -> bool) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let url = Page(client).url().await?;
        if done(&url) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("still at {url}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The HTTP status of a same-origin request made by the page itself (with its cookies).
pub async fn fetch_status(client: &Client, method: &str, url: &str, form: &str) -> Result<u64, String> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         fetch({url:?}, {{method: {method:?}, credentials: 'same-origin', redirect: 'manual',
           headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
           body: {method:?} === 'GET' ? undefined : {form:?}}}).then(r => done(r.status), e => done(-1));"
    );
    Page(client)
        .async_script(&script)
        .await?
        .as_u64()
        .ok_or_else(|| "no status".into())
}

pub fn ensure(condition: bool, message: impl Into<String>) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message.into()) }
}
