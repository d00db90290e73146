//! The stand-in as Entra's multi-tenant OpenID provider (`/organizations/...`), for the customer portal:
//!
//! - `GET /organizations/v2.0/.well-known/openid-configuration` and `GET /organizations/discovery/v2.0/keys`;
//! - `GET /organizations/oauth2/v2.0/authorize`: checks the app, the exact redirect URI, `response_type=code` and
//!   PKCE S256, then shows a page to pick a demo user; `POST` of that page redirects back with a one-time code;
//! - `POST /organizations/oauth2/v2.0/token`: the code (single use, same client and redirect URI, PKCE verifier)
//!   and the app's `private_key_jwt` (signature checked with the public key of the certificate registered for the
//!   app, found by `x5t#S256`; `aud` = this endpoint; `iss` = `sub` = client id; unexpired; `jti` single use),
//!   answered with an ID token shaped like Entra's v2 tokens (`tid`, `oid`, `preferred_username`, `wids`, `ver`).
//!
//! Control (`/_control/oidc/...`, both ports): register an app (`apps`), make the next ID token tampered, expired,
//! of a foreign issuer or audience (`misbehave`), mint a delegated access token for an API (`token`), list `users`.

mod client_auth;
mod pages;
mod token;
pub mod users;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http_server::{HttpResponse, ReadRequest, json_response};
use crate::keys::SigningKey;
pub use users::{DemoUser, SECOND_TENANT_ID};

/// How the next ID token is spoiled (for the portal's attack tests); reset after one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misbehaviour {
    #[default]
    None,
    TamperedSignature,
    Expired,
    ForeignIssuer,
    WrongAudience,
    WrongNonce,
}

/// An app registration: where it may be sent back to and the certificate of its credential.
#[derive(Debug, Clone)]
pub struct App {
    pub redirect_uris: Vec<String>,
    /// base64url SHA-256 of the certificate DER (`x5t#S256`).
    pub certificate_thumbprint: String,
    /// RSA public key of the certificate: (modulus, exponent), big-endian.
    pub public_key: (Vec<u8>, Vec<u8>),
}

#[derive(Debug, Clone)]
struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scope: String,
    user: String,
    expires_at: i64,
}

pub struct OidcProvider {
    base_url: String,
    key: SigningKey,
    users: Vec<DemoUser>,
    apps: Mutex<HashMap<String, App>>,
    codes: Mutex<HashMap<String, CodeGrant>>,
    seen_jtis: Mutex<HashSet<String>>,
    misbehaviour: Mutex<Misbehaviour>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn random_value() -> String {
    let mut bytes = [0u8; 32];
    // The system random generator does not fail on Linux; a zeroed code would only make one test predictable.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    crate::b64::url(&bytes)
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut response = json_response(status, body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

const PREFIX: &str = "/organizations";

impl OidcProvider {
    pub fn new(base_url: &str, first_tenant: &str) -> crate::Result<Self> {
        Ok(Self {
            base_url: base_url.to_owned(),
            key: SigningKey::generate()?,
            users: users::demo_users(first_tenant),
            apps: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            seen_jtis: Mutex::new(HashSet::new()),
            misbehaviour: Mutex::new(Misbehaviour::None),
        })
    }

    pub fn users(&self) -> &[DemoUser] {
        &self.users
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}{PREFIX}/oauth2/v2.0/token", self.base_url)
    }

    pub fn authorize_endpoint(&self) -> String {
        format!("{}{PREFIX}/oauth2/v2.0/authorize", self.base_url)
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}{PREFIX}/discovery/v2.0/keys", self.base_url)
    }

    /// Registers (or replaces) an app with the certificate (DER) of its `private_key_jwt` credential.
    pub fn register_app(
        &self,
        client_id: &str,
        redirect_uris: Vec<String>,
        certificate_der: &[u8],
    ) -> crate::Result<()> {
        let app = client_auth::app_from_certificate(redirect_uris, certificate_der)?;
        lock(&self.apps).insert(client_id.to_owned(), app);
        Ok(())
    }

    pub fn misbehave(&self, misbehaviour: Misbehaviour) {
        *lock(&self.misbehaviour) = misbehaviour;
    }

    /// Answers the OpenID provider's routes; `None` for any other path.
    pub async fn handle(&self, req: &ReadRequest, control_port: bool) -> Option<HttpResponse> {
        if let Some(action) = req.path.strip_prefix("/_control/oidc/") {
            return Some(self.control(action, req));
        }
        let rest = req.path.strip_prefix(PREFIX)?;
        if control_port {
            return None;
        }
        Some(match (&req.method, rest) {
            (&Method::GET, "/v2.0/.well-known/openid-configuration") => self.discovery(),
            (&Method::GET, "/discovery/v2.0/keys") => {
                json_response(StatusCode::OK, json!({ "keys": [self.key.public_jwk()] }).to_string())
            }
            (&Method::GET, "/oauth2/v2.0/authorize") => self.authorize_page(&req.query),
            (&Method::POST, "/oauth2/v2.0/authorize") => self.authorize_choice(&req.body),
            (&Method::POST, "/oauth2/v2.0/token") => token::answer(self, &req.body),
            _ => json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#),
        })
    }

    fn discovery(&self) -> HttpResponse {
        let document = json!({
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "authorization_endpoint": self.authorize_endpoint(),
            "token_endpoint": self.token_endpoint(),
            "jwks_uri": self.jwks_uri(),
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "preferred_username", "oid", "tid", "ver"],
        });
        json_response(StatusCode::OK, document.to_string())
    }

    /// Checks an authorize request; the app's redirect URI on success. Errors are shown, never redirected: an
    /// unregistered redirect URI must not receive anything.
    fn check_authorize(&self, params: &HashMap<String, String>) -> Result<(), Box<HttpResponse>> {
        let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
        let apps = lock(&self.apps);
        let Some(app) = apps.get(get("client_id")) else {
            return Err(Box::new(html(
                StatusCode::BAD_REQUEST,
                pages::error("AADSTS700016", "Application not found."),
            )));
        };
        if !app.redirect_uris.iter().any(|uri| uri == get("redirect_uri")) {
            let text = "The redirect URI specified in the request does not match the redirect URIs configured for the application.";
            return Err(Box::new(html(
                StatusCode::BAD_REQUEST,
                pages::error("AADSTS50011", text),
            )));
        }
        let problem = if get("response_type") != "code" {
            Some(("AADSTS700054", "response_type must be code."))
        } else if get("code_challenge").len() < 43 || get("code_challenge_method") != "S256" {
            Some(("AADSTS501491", "PKCE with code_challenge_method S256 is required."))
        } else if !get("scope").split(' ').any(|scope| scope == "openid") {
            Some(("AADSTS90009", "The scope must include openid."))
        } else {
            None
        };
        match problem {
            Some((code, text)) => Err(Box::new(html(StatusCode::BAD_REQUEST, pages::error(code, text)))),
            None => Ok(()),
        }
    }

    fn authorize_page(&self, query: &str) -> HttpResponse {
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        if let Err(response) = self.check_authorize(&params) {
            return *response;
        }
        let keep = [
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        ];
        let hidden: Vec<(String, String)> = keep
            .iter()
            .filter_map(|name| params.get(*name).map(|value| ((*name).to_owned(), value.clone())))
            .collect();
        html(
            StatusCode::OK,
            pages::pick_account(&self.users, &hidden, &self.authorize_endpoint()),
        )
    }

    fn authorize_choice(&self, body: &[u8]) -> HttpResponse {
        let params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        if let Err(response) = self.check_authorize(&params) {
            return *response;
        }
        let get = |name: &str| params.get(name).cloned().unwrap_or_default();
        if !self.users.iter().any(|user| user.key == get("login_hint")) {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("AADSTS50034", "The user account does not exist."),
            );
        }
        let code = random_value();
        lock(&self.codes).insert(
            code.clone(),
            CodeGrant {
                client_id: get("client_id"),
                redirect_uri: get("redirect_uri"),
                code_challenge: get("code_challenge"),
                nonce: params.get("nonce").cloned(),
                scope: get("scope"),
                user: get("login_hint"),
                expires_at: now() + 600,
            },
        );
        let mut back = form_urlencoded::Serializer::new(String::new());
        back.append_pair("code", &code);
        if let Some(state) = params.get("state") {
            back.append_pair("state", state);
        }
        back.append_pair("session_state", &uuid::Uuid::new_v4().to_string());
        let separator = if get("redirect_uri").contains('?') { '&' } else { '?' };
        let mut response = html(StatusCode::FOUND, String::new());
        let location = format!("{}{separator}{}", get("redirect_uri"), back.finish());
        if let Ok(value) = hyper::header::HeaderValue::from_str(&location) {
            response.headers_mut().insert(hyper::header::LOCATION, value);
        }
        response
    }

    fn control(&self, action: &str, req: &ReadRequest) -> HttpResponse {
        let result = match (&req.method, action) {
            (&Method::GET, "users") => Ok(json!({ "users": self.users })),
            (&Method::POST, "apps") => serde_json::from_slice::<AppRequest>(&req.body)
                .map_err(|err| err.to_string())
                .and_then(|app| {
                    let der = crate::b64::decode_standard(&app.certificate).ok_or("certificate is not base64")?;
                    self.register_app(&app.client_id, app.redirect_uris, &der)
                        .map_err(|err| err.to_string())?;
                    Ok(json!({ "client_id": app.client_id, "registered": true }))
                }),
            (&Method::POST, "misbehave") => serde_json::from_slice::<MisbehaveRequest>(&req.body)
                .map_err(|err| err.to_string())
                .map(|request| {
                    self.misbehave(request.mode);
                    json!({ "mode": request.mode == Misbehaviour::None })
                }),
            (&Method::POST, "token") => serde_json::from_slice::<token::AccessTokenRequest>(&req.body)
                .map_err(|err| err.to_string())
                .and_then(|request| {
                    token::mint_access_token(self, &request).map(|token| json!({ "access_token": token }))
                }),
            _ => return json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#),
        };
        match result {
            Ok(value) => json_response(StatusCode::OK, value.to_string()),
            Err(description) => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "error": "invalid_request", "error_description": description }).to_string(),
            ),
        }
    }
}

#[derive(Deserialize)]
struct AppRequest {
    client_id: String,
    redirect_uris: Vec<String>,
    /// Standard base64 of the certificate DER.
    certificate: String,
}

#[derive(Deserialize)]
struct MisbehaveRequest {
    mode: Misbehaviour,
}

/// Claims common to every token of `user` (Entra v2 shape).
fn person_claims(user: &DemoUser, audience: &str, lifetime: i64) -> serde_json::Map<String, Value> {
    let now = now();
    let claims = json!({
        "aud": audience,
        "iss": format!("https://login.microsoftonline.com/{}/v2.0", user.tid),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.upn,
        "rh": "0.AAAA-stand-in.",
        "sub": crate::b64::url(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("{}{audience}", user.oid).as_bytes()).as_ref()[..21]),
        "tid": user.tid,
        "uti": random_value()[..22].to_owned(),
        "ver": "2.0",
        "wids": user.wids,
    });
    match claims {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
