//! The tenant's key-publication endpoints on 127.0.0.1, like `login.microsoftonline.com` serves them:
//!
//! - `GET /<tid>/discovery/keys` (v1 JWKS) and `GET /<tid>/discovery/v2.0/keys` (v2 JWKS, keys carry `issuer`)
//! - `GET /<tid>/v2.0/.well-known/openid-configuration` and `GET /<tid>/.well-known/openid-configuration`
//!
//! plus test controls: key rotation, outages (503, refused connections, slow answers, a replacement body) and
//! counters of how often the keys were fetched. The `/_control/*` endpoints (rotate, outage, stats, mint) answer
//! on the main port and on a separate control port, which stays reachable while the main port refuses connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::assertion::AssertionBuilder;
use crate::error::{Result, SimError};
use crate::http_server::{HttpResponse, ReadRequest, bind_loopback, json_response, read_request, spawn_connection};
use crate::identity::{Identity, TokenVersion};
use crate::oidc::OidcProvider;

/// Entra answers its JWKS with this cache policy; relying parties (our jwks-refresh) may honour it.
const JWKS_CACHE_CONTROL: &str = "max-age=86400, private";

/// What the key endpoints do instead of answering normally.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Outage {
    /// Normal service.
    #[default]
    Off,
    /// `503 Service Unavailable` with a JSON error body.
    Unavailable,
    /// The main port is closed: connections are refused (the control port keeps answering).
    Refuse,
    /// Answer normally but only after this delay (to exercise fetch timeouts).
    Delay { millis: u64 },
    /// Answer `200` with exactly this body (malformed JSON, keys with bad members, a huge document, ...).
    Body { body: String },
}

/// How often each endpoint was asked (every request that reached the server, including 503 answers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchStats {
    pub keys_v1: u64,
    pub keys_v2: u64,
    pub openid_configuration: u64,
    /// Requests answered 503 because of [`Outage::Unavailable`].
    pub unavailable: u64,
}

impl FetchStats {
    /// JWKS requests of both versions.
    pub fn key_fetches(&self) -> u64 {
        self.keys_v1 + self.keys_v2
    }
}

/// Where and how to run a [`JwksServer`].
#[derive(Clone, Debug, Default)]
pub struct JwksServerOptions {
    /// Main port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Control port on 127.0.0.1; 0 picks a free one.
    pub control_port: u16,
    /// When set, key rotations are saved there (see [`Identity::save`]).
    pub state_dir: Option<PathBuf>,
}

#[derive(Default)]
struct Counters {
    keys_v1: AtomicU64,
    keys_v2: AtomicU64,
    openid_configuration: AtomicU64,
    unavailable: AtomicU64,
}

struct Shared {
    identity: RwLock<Identity>,
    oidc: OidcProvider,
    outage: Mutex<Outage>,
    counters: Counters,
    state_dir: Option<PathBuf>,
    base_url: String,
    /// true while the main port must refuse connections.
    refusing: watch::Sender<bool>,
}

/// A running loopback JWKS/OIDC server. Dropping it stops both listeners.
pub struct JwksServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    control_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl JwksServer {
    /// Serves `identity` on a random port.
    pub async fn start(identity: Identity) -> Result<Self> {
        Self::start_with(identity, JwksServerOptions::default()).await
    }

    pub async fn start_with(identity: Identity, options: JwksServerOptions) -> Result<Self> {
        let listener = bind_loopback(options.port).await?;
        let control = bind_loopback(options.control_port).await?;
        let addr = local_addr(&listener)?;
        let control_addr = local_addr(&control)?;
        let (refusing, refusing_rx) = watch::channel(false);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let oidc = OidcProvider::new(&format!("http://{addr}"), identity.tenant_id())?;
        let shared = Arc::new(Shared {
            identity: RwLock::new(identity),
            oidc,
            outage: Mutex::new(Outage::Off),
            counters: Counters::default(),
            state_dir: options.state_dir,
            base_url: format!("http://{addr}"),
            refusing,
        });
        tokio::spawn(main_accept_loop(
            listener,
            addr,
            shared.clone(),
            refusing_rx,
            shutdown_rx.clone(),
        ));
        tokio::spawn(control_accept_loop(control, shared.clone(), shutdown_rx));
        Ok(JwksServer {
            shared,
            addr,
            control_addr,
            shutdown,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: plays the role of `https://login.microsoftonline.com`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The multi-tenant OpenID provider served beside the keys (`/organizations/...`).
    pub fn oidc(&self) -> &OidcProvider {
        &self.shared.oidc
    }

    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_addr)
    }

    pub fn tenant_id(&self) -> String {
        self.identity().tenant_id().to_string()
    }

    /// The JWKS URL an admin copies into the ISV portal.
    pub fn jwks_url(&self, version: TokenVersion) -> String {
        format!("{}{}", self.shared.base_url, version.jwks_path(&self.tenant_id()))
    }

    pub fn openid_configuration_url(&self) -> String {
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            self.shared.base_url,
            self.tenant_id()
        )
    }

    pub fn issuer(&self, version: TokenVersion) -> String {
        version.issuer(&self.tenant_id())
    }

    /// A snapshot of the published identity (keys as of now).
    pub fn identity(&self) -> Identity {
        read_identity(&self.shared)
    }

    /// A builder prefilled from the current identity; sign it with `server.identity()`.
    pub fn assertion(&self, version: TokenVersion) -> AssertionBuilder {
        self.identity().assertion(version)
    }

    /// A default assertion signed with the current signing key.
    pub fn mint(&self, version: TokenVersion) -> Result<String> {
        self.identity().mint(version)
    }

    /// Adds a key, signs with it from now on, optionally withdraws the older ones; returns the new kid.
    pub fn rotate_keys(&self, drop_old: bool) -> Result<String> {
        change_identity(&self.shared, |id| id.rotate(drop_old))
    }

    /// Publishes a key without signing with it yet.
    pub fn add_key(&self) -> Result<String> {
        change_identity(&self.shared, |id| id.add_key())
    }

    pub fn use_key(&self, kid: &str) -> Result<()> {
        change_identity(&self.shared, |id| id.use_key(kid))
    }

    pub fn remove_key(&self, kid: &str) -> Result<()> {
        change_identity(&self.shared, |id| id.remove_key(kid))
    }

    pub fn set_outage(&self, outage: Outage) {
        set_outage(&self.shared, outage);
    }

    pub fn outage(&self) -> Outage {
        current_outage(&self.shared)
    }

    pub fn stats(&self) -> FetchStats {
        stats(&self.shared)
    }

    /// JWKS requests (v1 + v2) that reached the server since start or the last reset.
    pub fn key_fetches(&self) -> u64 {
        self.stats().key_fetches()
    }

    pub fn reset_stats(&self) {
        reset_stats(&self.shared);
    }

    /// Waits until `count` JWKS requests have arrived or `timeout` passes; returns the count seen.
    pub async fn wait_for_key_fetches(&self, count: u64, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let seen = self.key_fetches();
            if seen >= count || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops accepting connections on both ports.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr> {
    listener.local_addr().map_err(|source| SimError::Bind {
        addr: "127.0.0.1".into(),
        source,
    })
}

fn read_identity(shared: &Shared) -> Identity {
    // A poisoned lock only means a panic elsewhere while holding it; the identity itself is still consistent
    // because every mutation is a single assignment at the end of `change_identity`.
    match shared.identity.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn change_identity<T>(shared: &Shared, change: impl FnOnce(&mut Identity) -> Result<T>) -> Result<T> {
    let mut next = read_identity(shared);
    let out = change(&mut next)?;
    if let Some(dir) = &shared.state_dir {
        next.save(dir)?;
    }
    match shared.identity.write() {
        Ok(mut guard) => *guard = next,
        Err(poisoned) => *poisoned.into_inner() = next,
    }
    Ok(out)
}

fn current_outage(shared: &Shared) -> Outage {
    match shared.outage.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn set_outage(shared: &Shared, outage: Outage) {
    let refusing = outage == Outage::Refuse;
    match shared.outage.lock() {
        Ok(mut g) => *g = outage,
        Err(p) => *p.into_inner() = outage,
    }
    let _ = shared.refusing.send(refusing);
}

fn stats(shared: &Shared) -> FetchStats {
    let c = &shared.counters;
    FetchStats {
        keys_v1: c.keys_v1.load(Ordering::SeqCst),
        keys_v2: c.keys_v2.load(Ordering::SeqCst),
        openid_configuration: c.openid_configuration.load(Ordering::SeqCst),
        unavailable: c.unavailable.load(Ordering::SeqCst),
    }
}

fn reset_stats(shared: &Shared) {
    let c = &shared.counters;
    for counter in [&c.keys_v1, &c.keys_v2, &c.openid_configuration, &c.unavailable] {
        counter.store(0, Ordering::SeqCst);
    }
}

async fn main_accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut refusing: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let handler = Arc::new({
        let shared = shared.clone();
        move |req: Request<Incoming>| handle(req, shared.clone(), Port::Main)
    });
    let mut listener = Some(listener);
    loop {
        if let Some(active) = &listener {
            tokio::select! {
                accepted = active.accept() => {
                    if let Ok((stream, _)) = accepted {
                        spawn_connection(stream, handler.clone());
                    }
                }
                changed = refusing.changed() => {
                    if changed.is_err() { return; }
                    if *refusing.borrow() {
                        // Closing the socket makes the kernel refuse new connections (RST), a real outage.
                        listener = None;
                    }
                }
                _ = shutdown.changed() => return,
            }
        } else {
            tokio::select! {
                changed = refusing.changed() => {
                    if changed.is_err() { return; }
                    if !*refusing.borrow() {
                        listener = rebind(addr, &mut shutdown).await;
                        if listener.is_none() { return; }
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Re-opens the main port after a refused-connection outage, retrying briefly if the port is still in TIME_WAIT.
async fn rebind(addr: SocketAddr, shutdown: &mut watch::Receiver<bool>) -> Option<TcpListener> {
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Some(l),
            Err(e) => {
                eprintln!("entra-sim: re-binding {addr} after outage failed ({e}); retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shutdown.changed() => return None,
                }
            }
        }
    }
}

async fn control_accept_loop(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let handler = Arc::new(move |req: Request<Incoming>| handle(req, shared.clone(), Port::Control));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    spawn_connection(stream, handler.clone());
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Port {
    Main,
    Control,
}

enum Route {
    Keys(TokenVersion),
    OpenIdConfiguration(TokenVersion),
    Control(String),
    NotFound,
}

fn route(path: &str, tenant_id: &str) -> Route {
    if let Some(action) = path.strip_prefix("/_control/") {
        return Route::Control(action.to_string());
    }
    let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(tenant_id)) else {
        return Route::NotFound;
    };
    match rest {
        "/discovery/keys" => Route::Keys(TokenVersion::V1),
        "/discovery/v2.0/keys" => Route::Keys(TokenVersion::V2),
        "/.well-known/openid-configuration" => Route::OpenIdConfiguration(TokenVersion::V1),
        "/v2.0/.well-known/openid-configuration" => Route::OpenIdConfiguration(TokenVersion::V2),
        _ => Route::NotFound,
    }
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>, port: Port) -> HttpResponse {
    let req = match read_request(req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Some(response) = shared.oidc.handle(&req, port == Port::Control).await {
        return response;
    }
    let tenant_id = read_identity(&shared).tenant_id().to_string();
    match (route(&req.path, &tenant_id), port) {
        (Route::Control(action), _) => control(&shared, &action, &req),
        (_, Port::Control) => not_found(),
        (Route::Keys(version), Port::Main) => {
            let counter = match version {
                TokenVersion::V1 => &shared.counters.keys_v1,
                TokenVersion::V2 => &shared.counters.keys_v2,
            };
            counter.fetch_add(1, Ordering::SeqCst);
            publish(&shared, &req, || read_identity(&shared).jwks(version)).await
        }
        (Route::OpenIdConfiguration(version), Port::Main) => {
            shared.counters.openid_configuration.fetch_add(1, Ordering::SeqCst);
            let base = shared.base_url.clone();
            publish(&shared, &req, || openid_configuration(&base, &tenant_id, version)).await
        }
        (Route::NotFound, Port::Main) => not_found(),
    }
}

fn not_found() -> HttpResponse {
    json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#)
}

/// Answers a key or metadata request, honouring the current outage and `If-None-Match`.
async fn publish(shared: &Shared, req: &ReadRequest, document: impl FnOnce() -> Value) -> HttpResponse {
    if req.method != Method::GET && req.method != Method::HEAD {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, r#"{"error":"method_not_allowed"}"#);
    }
    let body = match current_outage(shared) {
        Outage::Unavailable => {
            shared.counters.unavailable.fetch_add(1, Ordering::SeqCst);
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"error":"temporarily_unavailable","error_description":"entra-sim outage"}"#,
            );
        }
        Outage::Delay { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            document().to_string()
        }
        Outage::Body { body } => body,
        Outage::Off | Outage::Refuse => document().to_string(),
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    let etag = format!("\"{}\"", crate::b64::url(&digest.as_ref()[..12]));
    let matches = req
        .headers
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if matches {
        json_response(StatusCode::NOT_MODIFIED, "")
    } else {
        json_response(StatusCode::OK, body)
    };
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static(JWKS_CACHE_CONTROL),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&etag) {
        headers.insert(hyper::header::ETAG, v);
    }
    resp
}

fn openid_configuration(base: &str, tenant_id: &str, version: TokenVersion) -> Value {
    let (authorize, token, jwks) = match version {
        TokenVersion::V1 => ("oauth2/authorize", "oauth2/token", "discovery/keys"),
        TokenVersion::V2 => ("oauth2/v2.0/authorize", "oauth2/v2.0/token", "discovery/v2.0/keys"),
    };
    json!({
        "token_endpoint": format!("{base}/{tenant_id}/{token}"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant_id}/{jwks}"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": version.issuer(tenant_id),
        "authorization_endpoint": format!("{base}/{tenant_id}/{authorize}"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RotateRequest {
    drop_old: bool,
}

#[derive(Deserialize)]
struct MintRequest {
    #[serde(default = "default_version")]
    version: TokenVersion,
    /// Claims to set (null removes the claim).
    #[serde(default)]
    claims: serde_json::Map<String, Value>,
    lifetime_seconds: Option<i64>,
}

fn default_version() -> TokenVersion {
    TokenVersion::V2
}

fn control(shared: &Shared, action: &str, req: &ReadRequest) -> HttpResponse {
    let result = match (req.method.clone(), action) {
        (Method::GET, "stats") => Ok(json!({
            "stats": stats(shared),
            "outage": current_outage(shared),
            "tenant_id": read_identity(shared).tenant_id(),
            "signing_kid": read_identity(shared).signing_kid(),
            "kids": read_identity(shared).keys().iter().map(|k| k.kid().to_string()).collect::<Vec<_>>(),
        })),
        (Method::POST, "reset-stats") => {
            reset_stats(shared);
            Ok(json!({"stats": stats(shared)}))
        }
        (Method::POST, "rotate") => parse_body::<RotateRequest>(&req.body).and_then(|r| {
            change_identity(shared, |id| id.rotate(r.drop_old)).map(|kid| {
                let id = read_identity(shared);
                json!({"signing_kid": kid, "kids": id.keys().iter().map(|k| k.kid().to_string()).collect::<Vec<_>>()})
            })
        }),
        (Method::POST, "outage") => parse_body::<Outage>(&req.body).map(|o| {
            set_outage(shared, o.clone());
            json!({ "outage": o })
        }),
        (Method::POST, "mint") => parse_body::<MintRequest>(&req.body).and_then(|m| {
            let id = read_identity(shared);
            let mut builder = id.assertion(m.version);
            if let Some(l) = m.lifetime_seconds {
                builder = builder.lifetime_seconds(l);
            }
            for (name, value) in m.claims {
                builder = if value.is_null() {
                    builder.without_claim(name)
                } else {
                    builder.claim(name, value)
                };
            }
            builder.sign(&id).map(|assertion| json!({ "assertion": assertion }))
        }),
        _ => return not_found(),
    };
    match result {
        Ok(v) => json_response(StatusCode::OK, v.to_string()),
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": e.to_string()}).to_string(),
        ),
    }
}

fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| SimError::Json {
        what: "control request".into(),
        detail: e.to_string(),
    })
}

impl Default for MintRequest {
    fn default() -> Self {
        MintRequest {
            version: default_version(),
            claims: serde_json::Map::new(),
            lifetime_seconds: None,
        }
    }
}
