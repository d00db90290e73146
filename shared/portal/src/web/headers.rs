//! Security headers on every answer: a strict CSP (scripts and styles only from the portal itself, nothing inline,
//! no framing, forms only to the portal), HSTS, no MIME sniffing, no referrer, no caching of personal pages, and
//! `Server-Timing` with the handler's own time (what the page-time figures in the README measure).

use std::time::Duration;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const FIXED: [(&str, &str); 7] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

pub fn apply(headers: &mut HeaderMap, elapsed: Duration) {
    for (name, value) in FIXED {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if !headers.contains_key(http::header::CACHE_CONTROL) {
        headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let timing = format!("app;dur={:.1}", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&timing) {
        headers.insert(HeaderName::from_static("server-timing"), value);
    }
}
