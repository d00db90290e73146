//! The token endpoint (authorization code grant with PKCE and `private_key_jwt`) and token minting.

use std::collections::HashMap;

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Misbehaviour, OidcProvider, lock, now, person_claims};
use crate::http_server::{HttpResponse, json_response};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    json_response(
        status,
        json!({ "error": error, "error_description": description, "error_codes": [], "timestamp": now() }).to_string(),
    )
}

/// Signs claims as an RS256 JWT with the provider's key.
fn sign(provider: &OidcProvider, claims: &Value) -> crate::Result<String> {
    let header = json!({ "typ": "JWT", "alg": "RS256", "kid": provider.key.kid() });
    let input = format!(
        "{}.{}",
        crate::b64::url(header.to_string().as_bytes()),
        crate::b64::url(claims.to_string().as_bytes())
    );
    let signature = provider.key.sign_rs256(input.as_bytes())?;
    Ok(format!("{input}.{}", crate::b64::url(&signature)))
}

pub fn answer(provider: &OidcProvider, body: &[u8]) -> HttpResponse {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: only authorization_code",
        );
    }
    let client_id = get("client_id");
    let app = lock(&provider.apps).get(client_id).cloned();
    let Some(app) = app else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application not found",
        );
    };
    if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000218: client_assertion required",
        );
    }
    let verified = super::client_auth::verify(
        &app,
        client_id,
        get("client_assertion"),
        &provider.token_endpoint(),
        now(),
        &mut lock(&provider.seen_jtis),
    );
    if let Err(reason) = verified {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &reason);
    }
    // A code is removed on its first use, successful or not: a replay finds nothing.
    let Some(grant) = lock(&provider.codes).remove(get("code")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "AADSTS54005: OAuth2 Authorization code was already redeemed, or it does not exist",
        );
    };
    let challenge = crate::b64::url(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, get("code_verifier").as_bytes()).as_ref(),
    );
    let problem = if grant.client_id != client_id {
        Some("AADSTS70000: the code was issued to another client")
    } else if grant.redirect_uri != get("redirect_uri") {
        Some("AADSTS50148: the redirect_uri does not match the one of the authorization request")
    } else if grant.expires_at <= now() {
        Some("AADSTS70008: the authorization code has expired")
    } else if challenge != grant.code_challenge {
        Some("AADSTS501481: the code_verifier does not match the code_challenge")
    } else {
        None
    };
    if let Some(description) = problem {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    }
    match id_token(provider, &grant.user, client_id, grant.nonce.as_deref()) {
        Ok(id_token) => json_response(
            StatusCode::OK,
            json!({
                "token_type": "Bearer", "scope": grant.scope, "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": graph_placeholder(provider), "id_token": id_token,
            })
            .to_string(),
        ),
        Err(err) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &err.to_string()),
    }
}

/// Entra always returns an access token (for Microsoft Graph when only OpenID scopes were asked); the portal
/// does not use it. Ours is opaque.
fn graph_placeholder(provider: &OidcProvider) -> String {
    let _ = provider;
    format!("graph-placeholder-{}", super::random_value())
}

fn id_token(provider: &OidcProvider, user_key: &str, client_id: &str, nonce: Option<&str>) -> crate::Result<String> {
    let user = provider
        .users
        .iter()
        .find(|user| user.key == user_key)
        .ok_or_else(|| crate::SimError::Crypto(format!("no demo user {user_key}")))?;
    let mut claims = person_claims(user, client_id, 3600);
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let misbehaviour = std::mem::take(&mut *lock(&provider.misbehaviour));
    match misbehaviour {
        Misbehaviour::Expired => {
            claims.insert("iat".into(), json!(now() - 7200));
            claims.insert("nbf".into(), json!(now() - 7200));
            claims.insert("exp".into(), json!(now() - 3600));
        }
        Misbehaviour::ForeignIssuer => {
            let other = if user.tid == super::SECOND_TENANT_ID {
                "00000000-0000-4000-8000-000000000001"
            } else {
                super::SECOND_TENANT_ID
            };
            claims.insert(
                "iss".into(),
                json!(format!("https://login.microsoftonline.com/{other}/v2.0")),
            );
        }
        Misbehaviour::WrongAudience => {
            claims.insert("aud".into(), json!("00000000-0000-4000-8000-00000000beef"));
        }
        Misbehaviour::WrongNonce => {
            claims.insert("nonce".into(), json!("not-the-nonce-of-this-sign-in"));
        }
        Misbehaviour::None | Misbehaviour::TamperedSignature => {}
    }
    let token = sign(provider, &Value::Object(claims))?;
    if misbehaviour == Misbehaviour::TamperedSignature {
        // Same signature, changed claims: promote the user to another object id.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: Value =
            serde_json::from_slice(&crate::b64::decode_url(&parts[1]).unwrap_or_default()).unwrap_or(Value::Null);
        payload["oid"] = json!("4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4aff");
        parts[1] = crate::b64::url(payload.to_string().as_bytes());
        return Ok(parts.join("."));
    }
    Ok(token)
}

/// `POST /_control/oidc/token`: a delegated access token of a demo user for an API (`aud`) with scopes.
#[derive(Debug, Deserialize)]
pub struct AccessTokenRequest {
    pub user: String,
    pub audience: String,
    pub scp: String,
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    /// The app that asked for the token (`azp`).
    #[serde(default)]
    pub client_id: Option<String>,
}

pub fn mint_access_token(provider: &OidcProvider, request: &AccessTokenRequest) -> Result<String, String> {
    let user = provider
        .users
        .iter()
        .find(|user| user.key == request.user)
        .ok_or_else(|| format!("no demo user {:?}", request.user))?;
    let mut claims = person_claims(user, &request.audience, request.lifetime_seconds.unwrap_or(3600));
    claims.insert("scp".into(), json!(request.scp));
    claims.insert(
        "azp".into(),
        json!(
            request
                .client_id
                .clone()
                .unwrap_or_else(|| "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into())
        ),
    );
    claims.insert("azpacr".into(), json!("0"));
    sign(provider, &Value::Object(claims)).map_err(|err| err.to_string())
}
