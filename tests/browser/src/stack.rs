//! The running local stack (infra/local/start.sh), with the portal and the Entra stand-in's OpenID provider.

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Debug, Clone)]
pub struct Stack {
    pub lambda_base: String,
    pub portal_url: String,
    pub token_url: String,
    pub scim_url: String,
    pub entra_control: String,
    /// The stand-in's state directory (its tenant's keys and workload identity).
    pub entra_state: PathBuf,
}

impl Stack {
    /// The running stack; `None` when it is not running (the caller decides whether that is a failure).
    pub fn find() -> Option<Stack> {
        let lambda = port("WIF_LOCAL_LAMBDA_PORT", 9000);
        let control = port("WIF_LOCAL_ENTRA_CONTROL_PORT", 9101);
        let up = |p: u16| TcpStream::connect_timeout(&([127, 0, 0, 1], p).into(), Duration::from_secs(1)).is_ok();
        if !(up(lambda) && up(control)) {
            return None;
        }
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let state = std::env::var("WIF_LOCAL_STATE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo.join(".local-stack"));
        let lambda_base = format!("http://127.0.0.1:{lambda}/lambda-url");
        Some(Stack {
            portal_url: format!("{lambda_base}/portal"),
            token_url: format!("{lambda_base}/token/oauth2/token"),
            scim_url: format!("{lambda_base}/scim/scim/v2"),
            entra_control: format!("http://127.0.0.1:{control}"),
            entra_state: state.join("entra"),
            lambda_base,
        })
    }

    pub fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client")
    }

    /// Spoils the next ID token the stand-in issues (`tampered_signature`, `expired`, `foreign_issuer`, ...).
    pub async fn misbehave(&self, mode: &str) {
        Self::http()
            .post(format!("{}/_control/oidc/misbehave", self.entra_control))
            .json(&json!({ "mode": mode }))
            .send()
            .await
            .expect("stand-in control");
    }

    /// A delegated access token of a demo user for the portal's API.
    pub async fn access_token(&self, user: &str, scp: &str) -> String {
        let client_id = std::env::var("WIF_LOCAL_PORTAL_CLIENT_ID")
            .unwrap_or_else(|_| "0a5e2c1f-7d3b-4f4e-9c8d-1b2a3c4d5e6f".into());
        let answer: Value = Self::http()
            .post(format!("{}/_control/oidc/token", self.entra_control))
            .json(&json!({ "user": user, "audience": format!("api://{client_id}"), "scp": scp }))
            .send()
            .await
            .expect("stand-in control")
            .json()
            .await
            .expect("token JSON");
        answer["access_token"].as_str().expect("access_token").to_owned()
    }
}
