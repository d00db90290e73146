//! The stand-in's sign-in page ("pick an account") and its error page. Plain HTML, escaped values.

use super::users::DemoUser;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}main{max-width:440px;\
margin:4rem auto;background:#fff;padding:2rem 2.5rem;box-shadow:0 2px 6px rgba(0,0,0,.2)}h1{font-size:1.4rem}\
button{display:block;width:100%;text-align:left;margin:.5rem 0;padding:.75rem 1rem;border:1px solid #8a8886;\
background:#fff;font:inherit;cursor:pointer}button:hover,button:focus{background:#f3f2f1;outline:2px solid #0067b8}\
small{display:block;color:#605e5c}.brand{color:#605e5c;font-weight:600}";

/// "Pick an account": one button per demo user; `hidden` carries the authorize request on.
pub fn pick_account(users: &[DemoUser], hidden: &[(String, String)], action: &str) -> String {
    let fields: String = hidden
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let buttons: String = users
        .iter()
        .map(|user| {
            format!(
                "<button type=\"submit\" name=\"login_hint\" value=\"{key}\" id=\"user-{key}\">{name}<small>{upn} \
                 · {role} · tenant {tid}</small></button>",
                key = escape(&user.key),
                name = escape(&user.name),
                upn = escape(&user.upn),
                role = escape(&user.role_label),
                tid = escape(&user.tid),
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to your account</title>\
         <style>{STYLE}</style></head><body><main><p class=\"brand\">Microsoft Entra ID (local stand-in)</p>\
         <h1>Pick an account</h1><form method=\"post\" action=\"{action}\">{fields}{buttons}</form></main></body></html>",
        action = escape(action)
    )
}

pub fn error(code: &str, description: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in error</title>\
         <style>{STYLE}</style></head><body><main><p class=\"brand\">Microsoft Entra ID (local stand-in)</p>\
         <h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error-code\">{}</p><p>{}</p></main></body></html>",
        escape(code),
        escape(description)
    )
}
