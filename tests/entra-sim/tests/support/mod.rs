//! Test servers on real loopback HTTP: a minimal Entra-tolerant SCIM server (with a token endpoint) that
//! records every request it receives, and a launcher for python's scim2-server.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path below the server root, with the raw (still encoded) query.
    pub target: String,
    pub body: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Default)]
struct Store {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
    next_id: u64,
}

pub struct MiniScim {
    pub addr: SocketAddr,
    recorded: Mutex<Vec<Recorded>>,
    store: Mutex<Store>,
    valid_tokens: Mutex<HashSet<String>>,
    tokens_issued: AtomicU64,
    pub token_forms: Mutex<Vec<String>>,
    pub admin_posts: Mutex<Vec<String>>,
    /// JWKS the token endpoint verifies assertions with (None: accept any assertion).
    pub jwks: Mutex<Option<Value>>,
    pub token_expires_in: AtomicU64,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// Answer user lookups with 404 (what quarantines a real Entra job).
    pub lookups_404: AtomicBool,
    /// Delay each SCIM answer, so concurrency becomes observable.
    pub delay_ms: AtomicU64,
    /// Answer every user PATCH with 503 (a storage outage on the server's side).
    pub user_patches_503: AtomicBool,
}

pub const STATIC_TOKEN: &str = "static-test-token";

impl MiniScim {
    pub async fn start() -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = Arc::new(MiniScim {
            addr,
            recorded: Mutex::new(Vec::new()),
            store: Mutex::new(Store::default()),
            valid_tokens: Mutex::new(HashSet::from([STATIC_TOKEN.to_string()])),
            tokens_issued: AtomicU64::new(0),
            token_forms: Mutex::new(Vec::new()),
            admin_posts: Mutex::new(Vec::new()),
            jwks: Mutex::new(None),
            token_expires_in: AtomicU64::new(3600),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            lookups_404: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            user_patches_503: AtomicBool::new(false),
        });
        let s = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(s.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    pub fn scim_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}/admin/clients", self.addr)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/oauth2/token", self.addr)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }

    pub fn clear_recorded(&self) {
        self.recorded.lock().expect("lock").clear();
    }

    /// Every issued access token stops working (as if they expired).
    pub fn expire_tokens(&self) {
        self.valid_tokens.lock().expect("lock").retain(|t| t == STATIC_TOKEN);
    }

    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::SeqCst)
    }

    pub fn users(&self) -> Vec<Value> {
        self.store.lock().expect("lock").users.values().cloned().collect()
    }

    pub fn groups(&self) -> Vec<Value> {
        self.store.lock().expect("lock").groups.values().cloned().collect()
    }

    pub fn user_by_name(&self, name: &str) -> Option<Value> {
        self.users()
            .into_iter()
            .find(|u| u["userName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    pub fn group_by_name(&self, name: &str) -> Option<Value> {
        self.groups().into_iter().find(|g| g["displayName"] == name)
    }

    async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let target = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorization = header("authorization");
        let content_type = header("content-type");
        let body = req
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body).to_string();

        if target == "/oauth2/token" {
            return self.token(&body);
        }
        if target == "/admin/clients" && method == "POST" {
            self.admin_posts.lock().expect("lock").push(body.clone());
            let Ok(Value::Object(mut reg)) = serde_json::from_str::<Value>(&body) else {
                return respond(
                    400,
                    json!({"error": "invalid_request", "error_description": "body: not JSON"}),
                );
            };
            reg.insert("client_id".into(), json!("c-0001"));
            reg.insert("token_url".into(), json!(self.token_url()));
            reg.insert("scim_url".into(), json!(self.scim_url()));
            return respond(201, Value::Object(reg));
        }
        let Some(rest) = target.strip_prefix("/scim/v2") else {
            return respond(404, json!({"error": "not found"}));
        };
        self.recorded.lock().expect("lock").push(Recorded {
            method: method.clone(),
            target: rest.to_string(),
            body: body.clone(),
            authorization: authorization.clone(),
            content_type,
        });
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let token_ok = authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|t| self.valid_tokens.lock().expect("lock").contains(t));
        let resp = if token_ok {
            self.scim(&method, rest, &body)
        } else {
            scim_error(401, "invalid token")
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        resp
    }

    fn token(&self, body: &str) -> Response<Full<Bytes>> {
        self.token_forms.lock().expect("lock").push(body.to_string());
        let form: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return respond(
                400,
                json!({"error": "invalid_request", "error_description": "bad form"}),
            );
        }
        let assertion = form.get("client_assertion").cloned().unwrap_or_default();
        if let Some(jwks) = self.jwks.lock().expect("lock").clone()
            && entra_sim::verify_rs256_with_jwks(&assertion, &jwks).is_err()
        {
            return respond(
                401,
                json!({"error": "invalid_client", "error_description": "signature"}),
            );
        }
        let n = self.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("wif_at_test_{n}");
        self.valid_tokens.lock().expect("lock").insert(token.clone());
        respond(
            200,
            json!({"access_token": token, "token_type": "Bearer",
                   "expires_in": self.token_expires_in.load(Ordering::SeqCst), "scope": "scim"}),
        )
    }

    fn scim(&self, method: &str, target: &str, body: &str) -> Response<Full<Bytes>> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut store = self.store.lock().expect("lock");
        let exclude_members = params.get("excludedAttributes").is_some_and(|a| a == "members");
        match (method, segments.as_slice()) {
            ("GET", ["Users"]) => {
                if self.lookups_404.load(Ordering::SeqCst) {
                    return scim_error(404, "no such endpoint");
                }
                let terms = match params.get("filter").map(|f| parse_filter(f)) {
                    Some(Ok(t)) => t,
                    Some(Err(e)) => return scim_error(400, &e),
                    None => Vec::new(),
                };
                let hits: Vec<Value> = store
                    .users
                    .values()
                    .filter(|u| terms.iter().all(|(attr, v)| user_matches(u, attr, v)))
                    .cloned()
                    .collect();
                list(hits)
            }
            ("GET", ["Users", id]) => match store.users.get(*id) {
                Some(u) => respond(200, u.clone()),
                None => scim_error(404, "not found"),
            },
            ("POST", ["Users"]) => {
                let Ok(Value::Object(mut u)) = serde_json::from_str::<Value>(body) else {
                    return scim_error(400, "invalid JSON");
                };
                let name = u
                    .get("userName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                if store
                    .users
                    .values()
                    .any(|x| x["userName"].as_str().map(str::to_lowercase) == Some(name.clone()))
                {
                    return scim_error(409, "uniqueness");
                }
                store.next_id += 1;
                let id = format!("u{:04}", store.next_id);
                u.insert("id".into(), json!(id));
                u.insert("meta".into(), json!({"resourceType": "User"}));
                u.remove("roles");
                store.users.insert(id, Value::Object(u.clone()));
                respond(201, Value::Object(u))
            }
            ("PATCH", ["Users", _]) if self.user_patches_503.load(Ordering::SeqCst) => {
                scim_error(503, "temporarily unavailable")
            }
            ("PATCH", ["Users", id]) => {
                let Some(user) = store.users.get_mut(*id) else {
                    return scim_error(404, "not found");
                };
                match apply_user_patch(user, body) {
                    Ok(()) => respond(200, user.clone()),
                    Err(e) => scim_error(400, &e),
                }
            }
            ("DELETE", ["Users", id]) => {
                if store.users.remove(*id).is_none() {
                    return scim_error(404, "not found");
                }
                for g in store.groups.values_mut() {
                    if let Some(Value::Array(m)) = g.get_mut("members") {
                        m.retain(|x| x["value"] != *id);
                    }
                }
                empty(204)
            }
            ("GET", ["Groups"]) => {
                let terms = match params.get("filter").map(|f| parse_filter(f)) {
                    Some(Ok(t)) => t,
                    Some(Err(e)) => return scim_error(400, &e),
                    None => Vec::new(),
                };
                let hits: Vec<Value> = store
                    .groups
                    .values()
                    .filter(|g| terms.iter().all(|(attr, v)| group_matches(g, attr, v)))
                    .map(|g| project(g, exclude_members))
                    .collect();
                list(hits)
            }
            ("GET", ["Groups", id]) => match store.groups.get(*id) {
                Some(g) => respond(200, project(g, exclude_members)),
                None => scim_error(404, "not found"),
            },
            ("POST", ["Groups"]) => {
                let Ok(Value::Object(mut g)) = serde_json::from_str::<Value>(body) else {
                    return scim_error(400, "invalid JSON");
                };
                store.next_id += 1;
                let id = format!("g{:04}", store.next_id);
                g.insert("id".into(), json!(id));
                g.insert("members".into(), json!([]));
                store.groups.insert(id, Value::Object(g.clone()));
                respond(201, Value::Object(g))
            }
            ("PATCH", ["Groups", id]) => {
                let Some(group) = store.groups.get_mut(*id) else {
                    return scim_error(404, "not found");
                };
                match apply_group_patch(group, body) {
                    Ok(()) => empty(204),
                    Err(e) => scim_error(400, &e),
                }
            }
            ("DELETE", ["Groups", id]) => match store.groups.remove(*id) {
                Some(_) => empty(204),
                None => scim_error(404, "not found"),
            },
            _ => scim_error(404, "no route"),
        }
    }
}

fn project(g: &Value, exclude_members: bool) -> Value {
    let mut g = g.clone();
    if exclude_members && let Some(o) = g.as_object_mut() {
        o.remove("members");
    }
    g
}

/// Only what Entra sends: `attr eq "value"` terms joined by `and`.
fn parse_filter(filter: &str) -> Result<Vec<(String, String)>, String> {
    filter
        .split(" and ")
        .map(|term| {
            let (attr, value) = term
                .split_once(" eq ")
                .ok_or_else(|| format!("unsupported filter {term:?}"))?;
            let value: String = serde_json::from_str(value.trim()).map_err(|_| format!("bad literal in {term:?}"))?;
            Ok((attr.trim().to_string(), value))
        })
        .collect()
}

fn user_matches(u: &Value, attr: &str, value: &str) -> bool {
    match attr {
        "userName" => u["userName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(value)),
        "id" => u["id"] == value,
        "externalId" => u["externalId"] == value,
        "manager" => u[entra_sim::provision::shapes::ENTERPRISE_SCHEMA]["manager"]["value"] == value,
        _ => false,
    }
}

fn group_matches(g: &Value, attr: &str, value: &str) -> bool {
    match attr {
        "displayName" => g["displayName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(value)),
        "id" => g["id"] == value,
        "members" => g["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["value"] == value)),
        _ => false,
    }
}

fn ops(body: &str) -> Result<Vec<Map<String, Value>>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let ops = v["Operations"].as_array().ok_or("no Operations")?;
    ops.iter()
        .map(|o| {
            o.as_object()
                .cloned()
                .ok_or_else(|| "operation is not an object".to_string())
        })
        .collect()
}

/// Entra-tolerant PATCH: any op casing, "True"/"False" booleans, path-less replace with path keys, filtered
/// email/phone paths, the enterprise URN prefix, raw-string or object manager, `manager[value eq ..]` removal.
fn apply_user_patch(user: &mut Value, body: &str) -> Result<(), String> {
    for op in ops(body)? {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let path = op.get("path").and_then(Value::as_str);
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match (kind.as_str(), path) {
            ("add" | "replace", Some(p)) => set_user_path(user, p, value)?,
            ("add" | "replace", None) => {
                let obj = value.as_object().ok_or("path-less value must be an object")?;
                for (p, v) in obj {
                    set_user_path(user, p, v.clone())?;
                }
            }
            ("remove", Some(p)) if p.starts_with("manager[") || p.ends_with(":manager") => {
                if let Some(e) = user
                    .get_mut(entra_sim::provision::shapes::ENTERPRISE_SCHEMA)
                    .and_then(Value::as_object_mut)
                {
                    e.remove("manager");
                }
            }
            _ => return Err(format!("unsupported op {kind} {path:?}")),
        }
    }
    Ok(())
}

fn set_user_path(user: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let enterprise = entra_sim::provision::shapes::ENTERPRISE_SCHEMA;
    let obj = user.as_object_mut().ok_or("user is not an object")?;
    if let Some(attr) = path.strip_prefix(&format!("{enterprise}:")) {
        let ext = obj.entry(enterprise).or_insert_with(|| json!({}));
        let value = if attr == "manager" {
            match value {
                Value::String(s) => json!({"value": s}),
                other => other,
            }
        } else {
            value
        };
        ext[attr] = value;
        return Ok(());
    }
    if let Some((attr, rest)) = path.split_once('[') {
        let kind = rest.split('"').nth(1).ok_or("bad filter")?.to_string();
        let list = obj.entry(attr).or_insert_with(|| json!([]));
        let items = list.as_array_mut().ok_or("not multi-valued")?;
        match items.iter_mut().find(|i| i["type"] == kind.as_str()) {
            Some(i) => i["value"] = value,
            None => items.push(json!({"type": kind, "value": value})),
        }
        return Ok(());
    }
    if let Some((parent, child)) = path.split_once('.') {
        let p = obj.entry(parent).or_insert_with(|| json!({}));
        p[child] = value;
        return Ok(());
    }
    let value = match (path, value) {
        ("active", Value::String(s)) => Value::Bool(s.eq_ignore_ascii_case("true")),
        (_, v) => v,
    };
    obj.insert(path.to_string(), value);
    Ok(())
}

fn apply_group_patch(group: &mut Value, body: &str) -> Result<(), String> {
    for op in ops(body)? {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let path = op.get("path").and_then(Value::as_str);
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m["value"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let members = group["members"].as_array().cloned().unwrap_or_default();
        match (kind.as_str(), path) {
            ("add", Some("members")) => {
                let mut m = members;
                for id in ids(&value) {
                    if !m.iter().any(|x| x["value"] == id.as_str()) {
                        m.push(json!({"value": id}));
                    }
                }
                group["members"] = Value::Array(m);
            }
            ("remove", Some("members")) => {
                let gone = ids(&value);
                if gone.is_empty() {
                    return Err("refusing to remove all members".into());
                }
                group["members"] = Value::Array(
                    members
                        .into_iter()
                        .filter(|x| !gone.iter().any(|g| x["value"] == g.as_str()))
                        .collect(),
                );
            }
            ("remove", Some(p)) if p.starts_with("members[value eq ") => {
                let id = p.split('"').nth(1).ok_or("bad member filter")?.to_string();
                group["members"] = Value::Array(members.into_iter().filter(|x| x["value"] != id.as_str()).collect());
            }
            ("add" | "replace", Some(p)) => group[p] = value,
            ("replace", None) => {
                for (k, v) in value.as_object().ok_or("path-less value must be an object")? {
                    group[k.as_str()] = v.clone();
                }
            }
            _ => return Err(format!("unsupported op {kind} {path:?}")),
        }
    }
    Ok(())
}

fn list(resources: Vec<Value>) -> Response<Full<Bytes>> {
    respond(
        200,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": resources.len(),
               "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources}),
    )
}

fn respond(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/scim+json"),
    );
    r
}

fn empty(status: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    r
}

fn scim_error(status: u16, detail: &str) -> Response<Full<Bytes>> {
    respond(
        status,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.to_string(), "detail": detail}),
    )
}

/// python scim2-server, started on a free loopback port and stopped by PID when dropped.
pub struct Scim2Server {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Scim2Server {
    /// None when scim2-server is not installed (then the caller skips), unless ENTRA_SIM_REQUIRE_SCIM2=1.
    pub async fn start() -> Option<Self> {
        let bin = std::env::var("SCIM2_SERVER_BIN")
            .ok()
            .or_else(|| find_on_path("scim2-server"));
        let Some(bin) = bin else {
            assert!(
                std::env::var("ENTRA_SIM_REQUIRE_SCIM2").is_err(),
                "scim2-server is required (pip install scim2-server) but not found"
            );
            eprintln!("skipping: scim2-server not installed (pip install scim2-server)");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let token = format!("scim2-test-{}", uuid::Uuid::new_v4());
        let child = Command::new(&bin)
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                &token,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scim2-server");
        let server = Scim2Server {
            child,
            url: format!("http://127.0.0.1:{port}/v2"),
            token,
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            let ok = http
                .get(format!("{}/ServiceProviderConfig", server.url))
                .bearer_auth(&server.token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("scim2-server did not come up on port {port}");
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}
