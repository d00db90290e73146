//! The proxy's control API (loopback only), JSON in and out:
//!
//! | request              | answer                                                        |
//! |----------------------|---------------------------------------------------------------|
//! | `POST /rules`        | 201 `{"id": n}` for a [`Rule`]; 400 with `{"error"}` if invalid |
//! | `GET /rules`         | 200, every [`RuleReport`] (rule, `matched`, `fired`)          |
//! | `GET /rules/{id}`    | 200 [`RuleReport`], or 404                                    |
//! | `DELETE /rules/{id}` | 204, or 404                                                   |
//! | `DELETE /rules`      | 204: back to pass-through                                     |
//! | `GET /stats`         | 200 [`Stats`]: requests by operation, faults injected         |
//!
//! [`FaultControl`] is the client tests use.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use super::rules::{Rule, RuleReport, RuleSet, Stats};

pub(super) async fn serve(listener: TcpListener, rules: Arc<RuleSet>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let rules = rules.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let rules = rules.clone();
                async move { Ok::<_, Infallible>(route(&rules, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn error(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message }))
}

async fn route(rules: &RuleSet, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let id = path.strip_prefix("/rules/").map(str::parse::<u64>);
    match (&method, path.as_str(), id) {
        (&Method::POST, "/rules", _) => add_rule(rules, request).await,
        (&Method::GET, "/rules", _) => json(StatusCode::OK, &rules.reports()),
        (&Method::DELETE, "/rules", _) => {
            rules.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "/stats", _) => json(StatusCode::OK, &rules.stats()),
        (&Method::GET, _, Some(Ok(id))) => match rules.report(id) {
            Some(report) => json(StatusCode::OK, &report),
            None => error(StatusCode::NOT_FOUND, format!("no rule {id}")),
        },
        (&Method::DELETE, _, Some(Ok(id))) if rules.remove(id) => empty(StatusCode::NO_CONTENT),
        (&Method::DELETE, _, Some(Ok(id))) => error(StatusCode::NOT_FOUND, format!("no rule {id}")),
        _ => error(StatusCode::NOT_FOUND, format!("no control endpoint {method} {path}")),
    }
}

async fn add_rule(rules: &RuleSet, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let rule: Rule = match serde_json::from_slice(&body) {
        Ok(rule) => rule,
        Err(err) => return error(StatusCode::BAD_REQUEST, format!("not a rule: {err}")),
    };
    if let Some(problem) = rule.invalid() {
        return error(StatusCode::BAD_REQUEST, problem);
    }
    json(StatusCode::CREATED, &serde_json::json!({ "id": rules.add(rule) }))
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("fault proxy control API unreachable: {0}")]
    Unreachable(String),
    #[error("fault proxy control API answered {status}: {body}")]
    Refused { status: u16, body: String },
}

/// A client of the control API.
#[derive(Clone)]
pub struct FaultControl {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl FaultControl {
    /// `base` is the control API's URL, e.g. `http://127.0.0.1:8011`.
    pub fn new(base: &str) -> Self {
        FaultControl {
            base: base.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<(u16, Bytes), ControlError> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ControlError::Unreachable(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| ControlError::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ControlError::Unreachable(e.to_string()))?
            .to_bytes();
        if status >= 300 {
            return Err(ControlError::Refused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok((status, body))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ControlError> {
        let (status, body) = self.call(Method::GET, path, None).await?;
        serde_json::from_slice(&body).map_err(|e| ControlError::Refused {
            status,
            body: format!("unreadable answer ({e}): {}", String::from_utf8_lossy(&body)),
        })
    }

    /// Adds a rule; its id.
    pub async fn add(&self, rule: &Rule) -> Result<u64, ControlError> {
        let body = serde_json::to_vec(rule).map_err(|e| ControlError::Unreachable(e.to_string()))?;
        let (status, answer) = self.call(Method::POST, "/rules", Some(body)).await?;
        serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v["id"].as_u64())
            .ok_or_else(|| ControlError::Refused {
                status,
                body: String::from_utf8_lossy(&answer).into_owned(),
            })
    }

    pub async fn report(&self, id: u64) -> Result<RuleReport, ControlError> {
        self.get(&format!("/rules/{id}")).await
    }

    pub async fn reports(&self) -> Result<Vec<RuleReport>, ControlError> {
        self.get("/rules").await
    }

    pub async fn stats(&self) -> Result<Stats, ControlError> {
        self.get("/stats").await
    }

    pub async fn remove(&self, id: u64) -> Result<(), ControlError> {
        self.call(Method::DELETE, &format!("/rules/{id}"), None).await.map(drop)
    }

    /// Removes every rule: pass-through again.
    pub async fn clear(&self) -> Result<(), ControlError> {
        self.call(Method::DELETE, "/rules", None).await.map(drop)
    }
}
