//! The portal's two cookies. Both are `__Host-` cookies (`Secure`, `Path=/`, no `Domain`: no other host can set
//! or read them), `HttpOnly` (no script reads them) and `SameSite=Lax` (sent on the top-level redirect back from
//! Entra, not on cross-site subrequests or POSTs).

use crate::web::PortalRequest;

pub const SESSION: &str = "__Host-wif-portal-session";
pub const SIGNIN: &str = "__Host-wif-portal-signin";

/// `Set-Cookie` for a browser-session cookie (no `Max-Age`: the server decides when it ends).
pub fn set(name: &str, value: &str, max_age: Option<i64>) -> String {
    let age = max_age
        .map(|seconds| format!("; Max-Age={seconds}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; Secure; SameSite=Lax{age}")
}

pub fn clear(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0")
}

/// The value of cookie `name`; a cookie sent twice is treated as absent (it may have been injected).
pub fn get<'a>(request: &'a PortalRequest, name: &str) -> Option<&'a str> {
    let mut found = None;
    for header in request.headers.get_all(http::header::COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key == name {
                if found.is_some() {
                    return None;
                }
                found = Some(value);
            }
        }
    }
    found.filter(|value| !value.is_empty())
}
