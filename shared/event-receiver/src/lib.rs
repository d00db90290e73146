//! A receiver of the SCIM event feed, written the way an ISV's application would: nothing from this workspace,
//! only HTTP, OAuth client credentials and an ordinary JOSE library (`jsonwebtoken`).
//!
//! 1. Get an `events.read` access token (client credentials).
//! 2. Poll (RFC 8936 §2.4): acknowledge what was processed, wait for what is new.
//! 3. Verify each SET (RFC 8417) against the published JWKS: ES256, `typ: secevent+jwt`, our issuer.
//! 4. Drop duplicates by `jti` (a SET is offered again until acknowledged), process, remember, then acknowledge.

pub mod describe;
pub mod seen;
pub mod verify;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::seen::Seen;
use crate::verify::Verifier;

#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the token endpoint refused us: {0}")]
    Token(String),
    #[error("the feed refused the request ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where the feed is and who we are.
pub struct Settings {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub events_url: String,
    pub jwks_url: String,
    pub issuer: String,
}

pub struct Receiver {
    http: reqwest::Client,
    settings: Settings,
    token: Option<(String, Instant)>,
    verifier: Verifier,
    pub seen: Seen,
    /// Processed and remembered, not yet acknowledged.
    pending_acks: Vec<String>,
}

/// One verified, new event.
pub struct Received {
    pub jti: String,
    pub claims: Value,
}

impl Receiver {
    pub fn new(settings: Settings, seen: Seen) -> Result<Self, ReceiverError> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Self {
            verifier: Verifier::new(settings.jwks_url.clone(), settings.issuer.clone()),
            http,
            settings,
            token: None,
            seen,
            pending_acks: Vec::new(),
        })
    }

    async fn access_token(&mut self) -> Result<String, ReceiverError> {
        if let Some((token, until)) = &self.token
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(&self.settings.token_url)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "events.read")])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let Some(token) = body["access_token"].as_str().filter(|_| status.is_success()) else {
            return Err(ReceiverError::Token(
                body["error_description"].as_str().unwrap_or("no token").into(),
            ));
        };
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600).saturating_sub(60);
        self.token = Some((token.to_owned(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(token.to_owned())
    }

    /// One exchange: acknowledges what was processed, returns the verified new events (duplicates dropped, and
    /// acknowledged again as RFC 8936 §2.4 asks).
    pub async fn poll(&mut self, wait: bool) -> Result<(Vec<Received>, bool), ReceiverError> {
        let token = self.access_token().await?;
        let request = json!({"ack": self.pending_acks, "returnImmediately": !wait, "maxEvents": 100});
        let response = self
            .http
            .post(&self.settings.events_url)
            .bearer_auth(token)
            .json(&request)
            .send()
            .await?;
        let status = response.status().as_u16();
        if status == 401 {
            self.token = None;
        }
        if status == 503 || status == 429 {
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            tokio::time::sleep(Duration::from_secs(retry.unwrap_or(2))).await;
            return Ok((Vec::new(), true));
        }
        let body = response.text().await?;
        if status != 200 {
            return Err(ReceiverError::Refused { status, body });
        }
        self.pending_acks.clear();
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let mut received = Vec::new();
        for (jti, set) in answer["sets"].as_object().into_iter().flatten() {
            let claims = match self.verifier.verify(&self.http, set.as_str().unwrap_or_default()).await {
                Ok(claims) if claims["jti"] == jti.as_str() => claims,
                Ok(_) | Err(_) => {
                    eprintln!("event-receiver: SET {jti} failed verification; not acknowledged");
                    continue;
                }
            };
            if self.seen.insert(jti)? {
                received.push(Received {
                    jti: jti.clone(),
                    claims,
                });
            }
            self.pending_acks.push(jti.clone());
        }
        // `sets` is a JSON object, so it has no order; `seq` (the stream sequence number) orders one item's events.
        received.sort_by_key(|r| {
            let seq = r.claims["seq"].as_str().unwrap_or_default().to_owned();
            (seq.len(), seq)
        });
        Ok((received, answer["moreAvailable"].as_bool().unwrap_or(false)))
    }
}
