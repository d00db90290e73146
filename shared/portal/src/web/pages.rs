//! Server-rendered pages (minijinja; `.html` templates are auto-escaped, so a registration named `<script>` shows
//! as text) and the two static files (one stylesheet, one small script for the copy buttons), embedded at compile
//! time and served with a content hash in their URL so they can be cached for a year.

use http::{Method, Response, StatusCode};
use minijinja::Environment;
use serde::Serialize;

use crate::web::respond;

const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("signin.html", include_str!("../../templates/signin.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("overview.html", include_str!("../../templates/overview.html")),
    ("registrations.html", include_str!("../../templates/registrations.html")),
    (
        "registration_new.html",
        include_str!("../../templates/registration_new.html"),
    ),
    ("registration.html", include_str!("../../templates/registration.html")),
    ("test.html", include_str!("../../templates/test.html")),
    ("activity.html", include_str!("../../templates/activity.html")),
    ("invite.html", include_str!("../../templates/invite.html")),
    ("signout.html", include_str!("../../templates/signout.html")),
];

pub const STYLESHEET: &str = include_str!("../../static/portal.css");
pub const SCRIPT: &str = include_str!("../../static/portal.js");

/// The template environment, built once.
pub struct Pages {
    env: Environment<'static>,
    asset_version: String,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

impl Pages {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and every one is rendered by the unit tests, so a syntax error
            // cannot reach a deployment; should one slip through, render() answers with a plain error page.
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "template does not compile");
            }
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("{STYLESHEET}{SCRIPT}").as_bytes());
        Self {
            env,
            asset_version: hex::encode(&digest.as_ref()[..6]),
        }
    }

    pub fn asset_version(&self) -> &str {
        &self.asset_version
    }

    /// Renders `name` with `context` (which also gets `asset_version`).
    pub fn render<S: Serialize>(&self, name: &str, context: S) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|err| err.to_string())?;
        template
            .render(minijinja::context! { asset_version => &self.asset_version, ..minijinja::Value::from_serialize(&context) })
            .map_err(|err| err.to_string())
    }
}

/// `GET /static/portal.css` and `/static/portal.js`.
pub fn static_asset(name: &str, method: &Method) -> Response<String> {
    let (content_type, body) = match name {
        "portal.css" => ("text/css; charset=utf-8", STYLESHEET),
        "portal.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => return respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found".into()),
    };
    if method != Method::GET && method != Method::HEAD {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "GET only".into(),
        );
    }
    let mut response = respond(StatusCode::OK, content_type, body.to_owned());
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
