//! The admin's side of onboarding: the four values copied from Entra into the ISV portal, and (optionally)
//! posting them to our admin API, which answers with client ID, token URL and SCIM URL.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Result, SimError};
use crate::identity::{Identity, TokenVersion};
use crate::token_client::truncate;

/// What an admin copies from Entra's workload identity page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationValues {
    pub issuer: String,
    pub jwks_uri: String,
    pub subject: String,
    pub audience: String,
    /// The Entra tenant; registered as `expected_tid` so assertions from another tenant are refused.
    pub tenant_id: String,
}

impl RegistrationValues {
    /// `jwks_base_url` plays `https://login.microsoftonline.com` (e.g. a [`crate::JwksServer`]'s base URL).
    pub fn new(identity: &Identity, version: TokenVersion, jwks_base_url: &str) -> Self {
        RegistrationValues {
            issuer: identity.issuer(version),
            jwks_uri: format!(
                "{}{}",
                jwks_base_url.trim_end_matches('/'),
                version.jwks_path(identity.tenant_id())
            ),
            subject: identity.workload().object_id.clone(),
            audience: identity.workload().audience.clone(),
            tenant_id: identity.tenant_id().to_string(),
        }
    }
}

/// The admin API's answer, with the three values the admin pastes back into Entra.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Registration {
    pub client_id: String,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub scim_url: Option<String>,
    /// The whole answer, for anything else the caller wants to check.
    #[serde(skip)]
    pub raw: Value,
}

/// `POST <admin_url>` (e.g. `http://127.0.0.1:9000/lambda-url/admin/clients`) with the values.
pub async fn register(
    admin_url: &str,
    values: &RegistrationValues,
    display_name: Option<&str>,
) -> Result<Registration> {
    let mut body = json!({
        "issuer": values.issuer,
        "jwks_uri": values.jwks_uri,
        "subject": values.subject,
        "audience": values.audience,
        "expected_tid": values.tenant_id,
    });
    if let (Some(name), Some(obj)) = (display_name, body.as_object_mut()) {
        obj.insert("display_name".into(), Value::String(name.to_string()));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| SimError::http(admin_url, e))?;
    let resp = http
        .post(admin_url)
        .json(&body)
        .send()
        .await
        .map_err(|e| SimError::http(admin_url, e))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| SimError::http(admin_url, e))?;
    if status != 201 && status != 200 {
        return Err(SimError::UnexpectedResponse {
            url: admin_url.to_string(),
            status,
            body: truncate(&text),
        });
    }
    let raw: Value = serde_json::from_str(&text).map_err(|e| SimError::Json {
        what: "admin API answer".into(),
        detail: e.to_string(),
    })?;
    let mut registration: Registration = serde_json::from_value(raw.clone()).map_err(|e| SimError::Json {
        what: "admin API answer".into(),
        detail: e.to_string(),
    })?;
    registration.raw = raw;
    Ok(registration)
}
