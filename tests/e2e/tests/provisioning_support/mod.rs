//! Shared by the `provisioning_*` end-to-end tests: the Entra stand-in's provisioning engine drives the running
//! local stack, and these helpers check the outcome from the outside.
//!
//! - [`Tenant`]: a fresh Entra tenant registered through the admin API, whose provisioner mints every assertion
//!   from the *live* JWKS server identity, so a key rotation in the middle of a cycle reaches the next token
//!   request exactly as it would with Entra.
//! - [`ScimProxy`]: a loopback pass-through in front of the SCIM API that numbers the requests of a cycle and can
//!   hold the cycle at request N (a deterministic "mid-cycle": no sleeps, no racing timers), counts the statuses it
//!   relayed and remembers the last bearer token (never printed) so a test can expire it in the Tokens table.
//! - [`ServerDirectory::read`] + [`state_differences`]: everything read back through the SCIM API and compared
//!   field by field with the source directory file.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e_tests::{Customer, LocalStack, http};
use entra_sim::provision::CycleReport;
use entra_sim::{
    Credentials, Dialect, Directory, DirectoryUser, JwksServer, ProvisionOptions, Provisioner, RemovalAction,
    TokenClient, TokenVersion,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// How long a test waits for something that should happen within seconds on an idle machine; generous because
/// the machine is shared and moto answers one DynamoDB call at a time.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// `WIF_JWKS_REFETCH_COOLDOWN_SECONDS` of the running stack (infra/local/start.sh writes it to functions.env).
pub fn jwks_refetch_cooldown() -> Duration {
    let dir = std::env::var("WIF_LOCAL_STATE_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local-stack").to_owned());
    let seconds = std::fs::read_to_string(format!("{dir}/functions.env"))
        .ok()
        .and_then(|env| {
            env.lines()
                .find_map(|line| line.strip_prefix("WIF_JWKS_REFETCH_COOLDOWN_SECONDS="))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        // The function's own default (INTERFACES.md).
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// Waits until one full refetch cooldown (plus a second of rounding: the cache counts whole Unix seconds) has
/// passed since `last_attempt`, so the next unknown kid is allowed to trigger a JWKS fetch. This is the server's
/// documented window, not a guess about how fast anything runs.
pub async fn wait_out_cooldown(last_attempt: Instant) {
    let until = last_attempt + jwks_refetch_cooldown() + Duration::from_secs(1);
    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
}

/// A customer tenant: its Entra stand-in (shared with the provisioner's assertion minter) and its registration.
pub struct Tenant {
    pub stack: LocalStack,
    pub jwks: Arc<JwksServer>,
    pub version: TokenVersion,
    pub client_id: String,
    pub tenant_id: String,
    http: reqwest::Client,
}

impl Tenant {
    pub async fn register(stack: &LocalStack, version: TokenVersion) -> Tenant {
        let Customer {
            jwks,
            version,
            client_id,
            tenant_id,
            ..
        } = Customer::register(stack, version).await;
        Tenant {
            stack: stack.clone(),
            jwks: Arc::new(jwks),
            version,
            client_id,
            tenant_id,
            http: http(),
        }
    }

    /// Entra's WIF credentials: every token request carries a fresh assertion signed with whatever key the JWKS
    /// server signs with *at that moment*.
    pub fn credentials(&self) -> Credentials {
        let jwks = self.jwks.clone();
        let version = self.version;
        Credentials::ClientAssertion {
            client: TokenClient::new(self.stack.token_url.clone()).expect("token client"),
            client_id: Some(self.client_id.clone()),
            scope: "scim".to_owned(),
            minter: Arc::new(move || jwks.mint(version)),
        }
    }

    /// A provisioning job against `scim_url` (the stack's SCIM URL or a [`ScimProxy`] in front of it).
    pub fn provisioner(&self, scim_url: &str, dialect: Dialect, removal: RemovalAction) -> Provisioner {
        Provisioner::new(
            ProvisionOptions::new(scim_url).dialect(dialect).removal(removal),
            self.credentials(),
        )
        .expect("provisioner")
    }

    /// The token request Entra sends, with a fresh assertion; raw status and body.
    pub async fn token_response(&self) -> (u16, Option<String>, Value) {
        let assertion = self.jwks.mint(self.version).expect("mint");
        let body = TokenClient::form_body(Some(&self.client_id), &assertion, "scim");
        let response = self
            .http
            .post(&self.stack.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token endpoint reachable");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        (status, retry_after, body)
    }

    /// An access token for reading the directory back (never the provisioner's own token).
    pub async fn token(&self) -> String {
        let (status, _, body) = self.token_response().await;
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /clients/{id}/revoke-tokens` on the admin API; the number of tokens revoked.
    pub async fn revoke_tokens(&self) -> u64 {
        let response = self
            .http
            .post(format!("{}/{}/revoke-tokens", self.stack.admin_url, self.client_id))
            .send()
            .await
            .expect("admin API reachable");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "revoke-tokens failed: {body}");
        body["revoked_tokens"].as_u64().expect("revoked_tokens")
    }

    /// `GET <scim><target>` with `token`: status and JSON body (Null when empty).
    pub async fn get(&self, token: &str, target: &str) -> (u16, Value) {
        self.send(token, reqwest::Method::GET, target, None).await
    }

    pub async fn send(&self, token: &str, method: reqwest::Method, target: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{target}", self.stack.scim_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let e2e_tests::Answer { status, text, .. } = e2e_tests::send_retrying_relay_faults(request).await;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON SCIM answer ({status}): {text}"))
        };
        (status, body)
    }

    /// `totalResults` of a list or filter query.
    pub async fn total(&self, token: &str, target: &str) -> u64 {
        let (status, body) = self.get(token, target).await;
        assert_eq!(status, 200, "GET {target}: {body}");
        body["totalResults"].as_u64().expect("totalResults")
    }
}

/// A filter query string the way Entra encodes it (`+` for spaces, quotes percent-encoded).
pub fn filter(expression: &str) -> String {
    let mut out = String::from("filter=");
    for byte in expression.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The sample generator's directory with every user's domain (userName, email) changed, so two tenants can hold
/// directories that share no userName.
pub fn with_domain(dir: &Directory, domain: &str) -> Directory {
    let mut dir = dir.clone();
    let swap = |s: &str| match s.split_once('@') {
        Some((local, _)) => format!("{local}@{domain}"),
        None => s.to_owned(),
    };
    for u in &mut dir.users {
        u.user_name = swap(&u.user_name);
        for e in &mut u.emails {
            e.value = swap(&e.value);
        }
    }
    dir
}

/// Everything the SCIM API holds for one tenant: users, and groups with their members.
#[derive(Debug, Default)]
pub struct ServerDirectory {
    pub users: Vec<Value>,
    pub groups: Vec<Value>,
    /// Whether the users were read with their derived `groups` attribute (one index query per user).
    pub user_groups: bool,
}

impl ServerDirectory {
    /// Reads every user and group through the SCIM API (index pagination; each group re-read by id for its full
    /// member list, as `excludedAttributes=members` is what listing groups should use).
    pub async fn read(tenant: &Tenant, token: &str) -> ServerDirectory {
        Self::read_with(tenant, token, true).await
    }

    /// [`Self::read`], optionally without the users' derived `groups` attribute (then not compared).
    pub async fn read_with(tenant: &Tenant, token: &str, user_groups: bool) -> ServerDirectory {
        let extra = if user_groups { "" } else { "&excludedAttributes=groups" };
        let users = list_all(tenant, token, "/Users", extra).await;
        let listed = list_all(tenant, token, "/Groups", "&excludedAttributes=members").await;
        let mut groups = Vec::with_capacity(listed.len());
        for g in listed {
            let id = g["id"].as_str().expect("group id");
            let (status, full) = tenant.get(token, &format!("/Groups/{id}")).await;
            assert_eq!(status, 200, "GET /Groups/{id}: {full}");
            assert!(
                g.get("members").is_none(),
                "excludedAttributes=members was not honoured in a list: {g}"
            );
            groups.push(full);
        }
        ServerDirectory {
            users,
            groups,
            user_groups,
        }
    }

    pub fn user_by_name(&self, user_name: &str) -> Option<&Value> {
        self.users.iter().find(|u| {
            u["userName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
        })
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.users
            .iter()
            .chain(self.groups.iter())
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn list_all(tenant: &Tenant, token: &str, resource: &str, extra: &str) -> Vec<Value> {
    const PAGE: u64 = 100;
    // Cursor pages (RFC 9865) cost one page each; index pages re-read from the start.
    let total = tenant.total(token, &format!("{resource}?count=0")).await;
    let mut out: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        let (status, page) = tenant
            .get(token, &format!("{resource}?count={PAGE}&cursor={encoded}{extra}"))
            .await;
        assert_eq!(status, 200, "GET {resource} cursor page: {page}");
        out.extend(page["Resources"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_owned(),
            _ => break,
        }
        assert!(
            out.len() as u64 <= total,
            "{resource}: cursor pages go past totalResults {total}"
        );
    }
    assert_eq!(
        out.len() as u64,
        total,
        "{resource}: cursor pages do not add up to totalResults"
    );
    let ids: BTreeSet<&str> = out.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), out.len(), "{resource}: a resource appears on two pages");
    out
}

/// Ids of every `resource` through index pagination (`startIndex`/`count`), for comparing with cursor reads.
pub async fn ids_by_index_pages(tenant: &Tenant, token: &str, resource: &str, page: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = 1u64;
    loop {
        let (status, body) = tenant
            .get(
                token,
                &format!("{resource}?startIndex={start}&count={page}&attributes=id"),
            )
            .await;
        assert_eq!(status, 200, "GET {resource} startIndex {start}: {body}");
        let total = body["totalResults"].as_u64().expect("totalResults");
        let items = body["Resources"].as_array().cloned().unwrap_or_default();
        ids.extend(items.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)));
        if items.is_empty() || ids.len() as u64 >= total {
            return ids;
        }
        start += items.len() as u64;
    }
}

/// What the server must hold after a clean cycle of `source`, compared field by field. `soft_deleted` are users
/// no longer in the file that the job disabled instead of deleting (they stay, inactive, and keep the group
/// memberships they had in `previous`, since Entra unlinks only users it still provisions). Returns every
/// difference, so one failure shows the whole picture.
pub fn state_differences(
    source: &Directory,
    server: &ServerDirectory,
    soft_deleted: &[DirectoryUser],
    previous: Option<&Directory>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut id_of: HashMap<String, String> = HashMap::new();
    for u in &server.users {
        if let (Some(name), Some(id)) = (u["userName"].as_str(), u["id"].as_str())
            && id_of.insert(name.to_lowercase(), id.to_owned()).is_some()
        {
            diffs.push(format!("userName {name} exists twice"));
        }
    }
    let expected_users = source.users.len() + soft_deleted.len();
    if server.users.len() != expected_users {
        diffs.push(format!(
            "{} users on the server, {expected_users} expected",
            server.users.len()
        ));
    }
    let known: BTreeSet<String> = source
        .users
        .iter()
        .chain(soft_deleted)
        .map(|u| u.user_name.to_lowercase())
        .collect();
    for u in &server.users {
        let name = u["userName"].as_str().unwrap_or_default().to_lowercase();
        if !known.contains(&name) {
            diffs.push(format!("unexpected user on the server: {u}"));
        }
    }
    // The derived `groups` attribute of each user must agree with the groups' member lists.
    let mut groups_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    for g in &server.groups {
        let group_id = g["id"].as_str().unwrap_or_default();
        for m in g.get("members").and_then(Value::as_array).into_iter().flatten() {
            if let Some(user_id) = m["value"].as_str() {
                groups_of
                    .entry(user_id.to_owned())
                    .or_default()
                    .insert(group_id.to_owned());
            }
        }
    }
    let resolve_id = |dir: &Directory, reference: &str| -> Option<String> {
        dir.resolve_user(reference)
            .and_then(|m| id_of.get(&m.user_name.to_lowercase()).cloned())
    };

    for u in &source.users {
        let Some(actual) = server.user_by_name(&u.user_name) else {
            diffs.push(format!("user {} is missing", u.user_name));
            continue;
        };
        let who = &u.user_name;
        let check = |diffs: &mut Vec<String>, field: &str, expected: Option<Value>, actual: Option<&Value>| {
            let actual = actual.filter(|v| !v.is_null());
            if expected.as_ref() != actual {
                diffs.push(format!("{who}: {field} is {actual:?}, expected {expected:?}"));
            }
        };
        let s = |v: &Option<String>| v.as_ref().map(|v| json!(v));
        check(&mut diffs, "userName", Some(json!(u.user_name)), actual.get("userName"));
        check(&mut diffs, "externalId", s(&u.external_id), actual.get("externalId"));
        check(&mut diffs, "displayName", s(&u.display_name), actual.get("displayName"));
        check(&mut diffs, "active", Some(json!(u.active)), actual.get("active"));
        check(&mut diffs, "title", s(&u.title), actual.get("title"));
        check(
            &mut diffs,
            "preferredLanguage",
            s(&u.preferred_language),
            actual.get("preferredLanguage"),
        );
        let name = u.name.clone().unwrap_or_default();
        check(
            &mut diffs,
            "name.givenName",
            s(&name.given_name),
            actual.pointer("/name/givenName"),
        );
        check(
            &mut diffs,
            "name.familyName",
            s(&name.family_name),
            actual.pointer("/name/familyName"),
        );
        let formatted = u.formatted_name();
        check(
            &mut diffs,
            "name.formatted",
            s(&formatted),
            actual.pointer("/name/formatted"),
        );
        let typed = |attr: &str, kinds: &[&str]| -> BTreeSet<(String, String)> {
            actual
                .get(attr)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let kind = item["type"].as_str()?.to_lowercase();
                    kinds
                        .contains(&kind.as_str())
                        .then(|| (kind, item["value"].as_str().unwrap_or_default().to_owned()))
                })
                .collect()
        };
        let expected_emails: BTreeSet<(String, String)> = u
            .work_email()
            .map(|e| ("work".to_owned(), e.to_owned()))
            .into_iter()
            .collect();
        let actual_emails = typed("emails", &["work"]);
        if actual_emails != expected_emails {
            diffs.push(format!("{who}: emails {actual_emails:?}, expected {expected_emails:?}"));
        }
        let email_count = actual.get("emails").and_then(Value::as_array).map_or(0, Vec::len);
        if email_count != expected_emails.len() {
            diffs.push(format!(
                "{who}: {email_count} emails, expected {}",
                expected_emails.len()
            ));
        }
        let expected_phones: BTreeSet<(String, String)> = ["work", "mobile"]
            .into_iter()
            .filter_map(|k| u.phone(k).map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        let actual_phones = typed("phoneNumbers", &["work", "mobile"]);
        if actual_phones != expected_phones {
            diffs.push(format!(
                "{who}: phoneNumbers {actual_phones:?}, expected {expected_phones:?}"
            ));
        }
        let enterprise = actual.get(ENTERPRISE);
        for (field, expected) in [
            ("employeeNumber", &u.employee_number),
            ("department", &u.department),
            ("costCenter", &u.cost_center),
            ("organization", &u.organization),
            ("division", &u.division),
        ] {
            check(
                &mut diffs,
                &format!("enterprise {field}"),
                s(expected),
                enterprise.and_then(|e| e.get(field)),
            );
        }
        let expected_manager = u.manager.as_deref().map(|m| match resolve_id(source, m) {
            Some(id) => json!(id),
            None => json!(format!("<manager {m} not on the server>")),
        });
        check(
            &mut diffs,
            "enterprise manager.value",
            expected_manager,
            enterprise.and_then(|e| e.get("manager")).and_then(|m| m.get("value")),
        );
        let schemas = actual["schemas"].as_array().cloned().unwrap_or_default();
        if !schemas.iter().any(|s| s == USER_SCHEMA) {
            diffs.push(format!("{who}: schemas {schemas:?} lack the core User schema"));
        }
        if enterprise.is_some() && !schemas.iter().any(|s| s == ENTERPRISE) {
            diffs.push(format!("{who}: enterprise attributes without the extension in schemas"));
        }
        let expected_groups = groups_of
            .get(actual["id"].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        let actual_groups: BTreeSet<String> = actual
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g["value"].as_str().map(str::to_owned))
            .collect();
        if server.user_groups && actual_groups != expected_groups {
            diffs.push(format!(
                "{who}: groups attribute {actual_groups:?}, but the groups list the user in {expected_groups:?}"
            ));
        }
        if actual.pointer("/meta/resourceType") != Some(&json!("User")) {
            diffs.push(format!(
                "{who}: meta.resourceType is {:?}",
                actual.pointer("/meta/resourceType")
            ));
        }
    }
    for u in soft_deleted {
        match server.user_by_name(&u.user_name) {
            None => diffs.push(format!("soft-deleted user {} is gone", u.user_name)),
            Some(actual) if actual["active"] != json!(false) => diffs.push(format!(
                "soft-deleted user {} has active {}",
                u.user_name, actual["active"]
            )),
            Some(_) => {}
        }
    }

    if server.groups.len() != source.groups.len() {
        diffs.push(format!(
            "{} groups on the server, {} expected",
            server.groups.len(),
            source.groups.len()
        ));
    }
    let soft: BTreeSet<String> = soft_deleted.iter().map(DirectoryUser::anchor).collect();
    for g in &source.groups {
        let Some(actual) = server
            .groups
            .iter()
            .find(|a| a["displayName"].as_str() == Some(g.display_name.as_str()))
        else {
            diffs.push(format!("group {} is missing", g.display_name));
            continue;
        };
        let who = &g.display_name;
        if actual.get("externalId").and_then(Value::as_str) != g.external_id.as_deref() {
            diffs.push(format!(
                "{who}: externalId {:?}, expected {:?}",
                actual["externalId"], g.external_id
            ));
        }
        let mut expected: BTreeSet<String> = g
            .members
            .iter()
            .map(|m| resolve_id(source, m).unwrap_or_else(|| format!("<member {m} not on the server>")))
            .collect();
        if let Some(prev) =
            previous.and_then(|p| p.groups.iter().find(|pg| pg.anchor() == g.anchor()).map(|pg| (p, pg)))
        {
            let (prev_dir, prev_group) = prev;
            for m in &prev_group.members {
                if let Some(user) = prev_dir.resolve_user(m).filter(|u| soft.contains(&u.anchor()))
                    && let Some(id) = id_of.get(&user.user_name.to_lowercase())
                {
                    expected.insert(id.clone());
                }
            }
        }
        let members = actual
            .get("members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let actual_ids: BTreeSet<String> = members
            .iter()
            .filter_map(|m| m["value"].as_str().map(str::to_owned))
            .collect();
        if members.len() != actual_ids.len() {
            diffs.push(format!(
                "{who}: duplicate members ({} entries, {} ids)",
                members.len(),
                actual_ids.len()
            ));
        }
        if actual_ids != expected {
            let missing: Vec<_> = expected.difference(&actual_ids).take(5).collect();
            let extra: Vec<_> = actual_ids.difference(&expected).take(5).collect();
            diffs.push(format!(
                "{who}: {} members, expected {}; missing e.g. {missing:?}, extra e.g. {extra:?}",
                actual_ids.len(),
                expected.len()
            ));
        }
        let schemas = actual["schemas"].as_array().cloned().unwrap_or_default();
        if !schemas.iter().any(|s| s == GROUP_SCHEMA) {
            diffs.push(format!("{who}: schemas {schemas:?} lack the core Group schema"));
        }
    }
    diffs
}

/// Asserts [`state_differences`] is empty, printing the first differences.
pub fn assert_state(
    source: &Directory,
    server: &ServerDirectory,
    soft_deleted: &[DirectoryUser],
    previous: Option<&Directory>,
) {
    let diffs = state_differences(source, server, soft_deleted, previous);
    assert!(
        diffs.is_empty(),
        "{} differences between the source file and the SCIM API, first ones:\n{}",
        diffs.len(),
        diffs.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Asserts the provisioner's own record of ids agrees with the server (what a real job keeps between cycles).
pub fn assert_job_state_matches(provisioner: &Provisioner, server: &ServerDirectory) {
    let state = provisioner.state();
    for known in state.users.values() {
        let actual = server
            .user_by_name(&known.user_name)
            .unwrap_or_else(|| panic!("the job knows {} but the server does not", known.user_name));
        assert_eq!(
            actual["id"].as_str(),
            Some(known.id.as_str()),
            "id of {}",
            known.user_name
        );
    }
    for known in state.groups.values() {
        let actual = server
            .groups
            .iter()
            .find(|g| g["id"].as_str() == Some(known.id.as_str()))
            .unwrap_or_else(|| panic!("the job knows group {} but the server does not", known.display_name));
        assert_eq!(actual["displayName"].as_str(), Some(known.display_name.as_str()));
    }
}

/// A clean cycle: no per-object error.
pub fn assert_clean(report: &CycleReport, what: &str) {
    assert!(report.is_clean(), "{what}: cycle had errors:\n{}", report.summary());
}

/// A loopback pass-through in front of the SCIM API. See the module docs.
pub struct ScimProxy {
    url: String,
    inner: Arc<ProxyInner>,
    shutdown: watch::Sender<bool>,
}

struct ProxyInner {
    upstream: String,
    client: reqwest::Client,
    gate: Mutex<Gate>,
    /// true while requests may pass. Changed with `send_replace`: `send` does not store the value while no
    /// request is waiting (no receiver), which would leave the gate open.
    open: watch::Sender<bool>,
    statuses: Mutex<BTreeMap<u16, u64>>,
    last_token: Mutex<Option<String>>,
    /// Requests past the gate whose answer has not been relayed yet.
    in_flight: watch::Sender<u64>,
    passed: watch::Sender<u64>,
}

#[derive(Default)]
struct Gate {
    seen: u64,
    pause_at: Option<(u64, oneshot::Sender<Instant>)>,
}

impl ScimProxy {
    /// Listens on a random 127.0.0.1 port and relays to `upstream` (a SCIM base URL).
    pub async fn start(upstream: &str) -> ScimProxy {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (open, _) = watch::channel(true);
        let inner = Arc::new(ProxyInner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            gate: Mutex::new(Gate::default()),
            open,
            statuses: Mutex::new(BTreeMap::new()),
            last_token: Mutex::new(None),
            in_flight: watch::channel(0).0,
            passed: watch::channel(0).0,
        });
        let (shutdown, mut stop) = watch::channel(false);
        let serving = inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let inner = serving.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let inner = inner.clone();
                                async move { Ok::<_, Infallible>(relay(&inner, req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    _ = stop.changed() => return,
                }
            }
        });
        ScimProxy {
            url: format!("http://{addr}"),
            inner,
            shutdown,
        }
    }

    /// The SCIM base URL to give the provisioner.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Holds request number `n` (counted from the proxy's start) and everything after it until [`Self::resume`].
    /// The receiver fires, with the instant the hold began, once request `n` arrived.
    pub fn pause_at(&self, n: u64) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        let mut gate = lock(&self.inner.gate);
        assert!(gate.seen < n, "request {n} already passed (seen {})", gate.seen);
        gate.pause_at = Some((n, tx));
        rx
    }

    pub fn resume(&self) {
        self.inner.open.send_replace(true);
    }

    /// Waits until every request that got past the gate has its answer (so a held cycle is really still).
    pub async fn wait_idle(&self) {
        let mut in_flight = self.inner.in_flight.subscribe();
        tokio::time::timeout(PATIENCE, in_flight.wait_for(|n| *n == 0))
            .await
            .expect("requests in flight did not finish")
            .expect("proxy alive");
    }

    /// Requests that arrived so far (including any held at the gate).
    pub fn requests(&self) -> u64 {
        lock(&self.inner.gate).seen
    }

    /// Requests that got past the gate so far.
    pub fn passed(&self) -> u64 {
        *self.inner.passed.borrow()
    }

    /// Answers relayed, by status.
    pub fn statuses(&self) -> BTreeMap<u16, u64> {
        lock(&self.inner.statuses).clone()
    }

    pub fn status_count(&self, status: u16) -> u64 {
        self.statuses().get(&status).copied().unwrap_or(0)
    }

    /// Relayed answers with a 5xx status (a provisioning cycle must never see one).
    pub fn server_errors(&self) -> u64 {
        self.statuses().iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum()
    }

    /// The bearer token of the latest relayed request (a credential: tests use it, never print it).
    pub fn last_token(&self) -> Option<String> {
        lock(&self.inner.last_token).clone()
    }
}

impl Drop for ScimProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.inner.open.send_replace(true);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn relay(inner: &ProxyInner, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let must_wait = {
        let mut gate = lock(&inner.gate);
        gate.seen += 1;
        let seen = gate.seen;
        if gate.pause_at.as_ref().is_some_and(|(n, _)| *n == seen)
            && let Some((_, reached)) = gate.pause_at.take()
        {
            inner.open.send_replace(false);
            let _ = reached.send(Instant::now());
        }
        !*inner.open.borrow()
    };
    if must_wait {
        let mut open = inner.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
    inner.passed.send_modify(|n| *n += 1);
    inner.in_flight.send_modify(|n| *n += 1);
    // Decremented on drop, so a request abandoned by its client (hyper drops the future) is not counted forever.
    let _counted = InFlight(&inner.in_flight);
    forward(inner, req).await
}

struct InFlight<'a>(&'a watch::Sender<u64>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn forward(inner: &ProxyInner, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut upstream = inner.client.request(method, format!("{}{target}", inner.upstream));
    for name in ["authorization", "content-type", "accept", "if-match", "if-none-match"] {
        if let Some(value) = parts.headers.get(name).and_then(|v| v.to_str().ok()) {
            upstream = upstream.header(name, value);
            if name == "authorization"
                && let Some(token) = value.strip_prefix("Bearer ")
            {
                *lock(&inner.last_token) = Some(token.to_owned());
            }
        }
    }
    if !body.is_empty() {
        upstream = upstream.body(body);
    }
    let (status, headers, bytes) = match upstream.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            (status, headers, response.bytes().await.unwrap_or_default())
        }
        // The provisioner must see an upstream failure as what it is, not as a proxy artefact.
        Err(err) => (
            502,
            reqwest::header::HeaderMap::new(),
            Bytes::from(format!("proxy: upstream failed: {err}")),
        ),
    };
    *lock(&inner.statuses).entry(status).or_insert(0) += 1;
    let mut response = hyper::Response::new(Full::new(bytes));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for name in ["content-type", "www-authenticate", "retry-after", "etag", "location"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok())
            && let Ok(value) = hyper::header::HeaderValue::from_str(value)
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
