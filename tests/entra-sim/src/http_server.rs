//! The small HTTP plumbing shared by the loopback servers: bind 127.0.0.1 only, serve HTTP/1.1 with hyper.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Result, SimError};

pub type HttpResponse = Response<Full<Bytes>>;

/// Bodies we accept on control endpoints are tiny; anything larger is a client bug.
const MAX_REQUEST_BODY: usize = 64 * 1024;

pub async fn bind_loopback(port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr).await.map_err(|source| SimError::Bind {
        addr: addr.to_string(),
        source,
    })
}

/// A request with its body read (bounded), so handlers are plain functions of (method, path, query, body).
pub struct ReadRequest {
    pub method: hyper::Method,
    pub path: String,
    pub query: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

pub async fn read_request(req: Request<Incoming>) -> std::result::Result<ReadRequest, HttpResponse> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                r#"{"error":"body_too_large"}"#,
            ));
        }
    };
    Ok(ReadRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
    })
}

pub fn json_response(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// Serves one accepted connection. Keep-alive is off so every request opens a new connection: an outage
/// switched on between two requests then applies to the very next one, like a real endpoint going down.
pub fn spawn_connection<H, F>(stream: TcpStream, handler: Arc<H>)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler(req).await) }
        });
        // A client hanging up mid-request is routine for a test server; nothing to report.
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(false)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}
