//! A provisioning cycle: push a [`Directory`] to a SCIM endpoint the way Entra's provisioning service does.
//!
//! Order of a cycle (Entra links references only after the referenced objects exist):
//! 1. users: read (by known id, else `userName eq`), create with Entra's body, or PATCH only the differences;
//! 2. managers: a second round trip sets, changes or removes each user's manager;
//! 3. groups: read with `excludedAttributes=members` (by known id, else `displayName eq`), create empty, PATCH
//!    name changes, then add/remove members after checking each with `id eq .. and members eq ..`;
//! 4. groups removed from the file are deleted, then users removed from the file are deleted (or disabled).
//!
//! Requests run concurrently, bounded by `concurrency` (and optionally a requests-per-second cap). The cycle is
//! idempotent: a second run with the same file sends only reads.

pub mod client;
pub mod report;
pub mod shapes;
pub mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::future::join_all;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::Value;

use crate::directory::{Directory, DirectoryGroup, DirectoryUser};
use crate::error::Result;
use crate::token_client::{Credentials, TokenSource};
use client::{DEFAULT_REQUEST_TIMEOUT, ScimClient, ScimResponse};
pub use report::{Counts, CycleError, CycleReport};
pub use shapes::{Compat, Dialect, ManagerRemoval, ManagerValue};
pub use state::{KnownGroup, KnownUser, ProvisioningState};

/// What happens to a user that disappears from the directory file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RemovalAction {
    /// `DELETE /Users/{id}` (Entra: the user was deleted in the tenant).
    #[default]
    Delete,
    /// Soft delete with the dialect's disable PATCH (Entra: the user left the provisioning scope).
    Disable,
}

#[derive(Clone, Debug)]
pub struct ProvisionOptions {
    /// SCIM base URL, e.g. `http://127.0.0.1:9000/lambda-url/scim/scim/v2`.
    pub scim_url: String,
    pub dialect: Dialect,
    pub compat: Compat,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub max_requests_per_second: Option<f64>,
    pub removal: RemovalAction,
    /// Members per `Add`/`Remove` operation (Entra batches membership changes).
    pub members_per_patch: usize,
    pub request_timeout: Duration,
    /// Draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

impl ProvisionOptions {
    pub fn new(scim_url: impl Into<String>) -> Self {
        ProvisionOptions {
            scim_url: scim_url.into(),
            dialect: Dialect::Default,
            compat: Compat::default(),
            concurrency: 8,
            max_requests_per_second: None,
            removal: RemovalAction::Delete,
            members_per_patch: 100,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            progress: false,
        }
    }

    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn compat(mut self, compat: Compat) -> Self {
        self.compat = compat;
        self
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    pub fn removal(mut self, removal: RemovalAction) -> Self {
        self.removal = removal;
        self
    }
}

/// Runs cycles against one SCIM endpoint, keeping state between them like an Entra provisioning job.
pub struct Provisioner {
    options: ProvisionOptions,
    client: ScimClient,
    state: ProvisioningState,
}

/// Outcome of the user pass for one user.
struct UserSeen {
    id: String,
    /// The resource as read before any change (None when created in this cycle).
    before: Option<Value>,
    created: bool,
    patched: bool,
    disabled: bool,
}

/// A group member as (user anchor, SCIM id).
type Member = (String, String);

struct GroupResult {
    anchor: String,
    display_name: String,
    id: Option<String>,
    created: bool,
    updated: bool,
    members: BTreeSet<String>,
    added: u64,
    removed: u64,
    errors: Vec<CycleError>,
    warnings: Vec<String>,
}

fn err(object: &str, operation: &str, status: Option<u16>, detail: impl Into<String>) -> CycleError {
    CycleError {
        object: object.to_string(),
        operation: operation.to_string(),
        status,
        detail: detail.into(),
    }
}

fn http_err(object: &str, operation: &str, resp: &ScimResponse) -> CycleError {
    err(object, operation, Some(resp.status), resp.detail())
}

/// `Resources` of a ListResponse, or why the answer is not one.
fn list_resources(resp: &ScimResponse) -> std::result::Result<Vec<Value>, String> {
    let v = resp.json().ok_or_else(|| "the answer is not JSON".to_string())?;
    match v.get("Resources") {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => match v.get("totalResults").and_then(Value::as_u64) {
            Some(0) => Ok(Vec::new()),
            _ => Err("the answer is not a ListResponse".into()),
        },
        Some(_) => Err("Resources is not an array".into()),
    }
}

fn resource_id(v: &Value) -> Option<String> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Provisioner {
    pub fn new(options: ProvisionOptions, credentials: Credentials) -> Result<Self> {
        let client = ScimClient::new(
            &options.scim_url,
            TokenSource::new(credentials),
            options.concurrency,
            options.max_requests_per_second,
            options.request_timeout,
        )?;
        let state = ProvisioningState::for_endpoint(&options.scim_url);
        Ok(Provisioner { options, client, state })
    }

    /// Continues from a saved state. State recorded for another SCIM URL is ignored (returns false).
    pub fn resume(&mut self, state: ProvisioningState) -> bool {
        let matches = state.scim_url.as_deref().is_none_or(|u| u == self.options.scim_url);
        if matches {
            self.state = ProvisioningState {
                scim_url: Some(self.options.scim_url.clone()),
                ..state
            };
        }
        matches
    }

    pub fn state(&self) -> &ProvisioningState {
        &self.state
    }

    pub fn options(&self) -> &ProvisionOptions {
        &self.options
    }

    /// Token requests sent so far by this provisioner (renewals included).
    pub fn token_requests(&self) -> u64 {
        self.client.tokens().token_requests()
    }

    /// Runs one cycle. Per-object failures are reported in the result; `Err` only when nothing could be sent
    /// (e.g. the first token request failed).
    pub async fn run_cycle(&mut self, dir: &Directory) -> Result<CycleReport> {
        let started = Instant::now();
        let requests_before = self.client.requests();
        let kinds_before = self.client.requests_by_kind();
        let tokens_before = self.token_requests();
        // Fail fast on credentials: without a token every request would fail the same way.
        self.client.tokens().token().await?;

        let mut report = CycleReport::default();
        let file_user_anchors: BTreeSet<String> = dir.users.iter().map(DirectoryUser::anchor).collect();
        let file_group_anchors: BTreeSet<String> = dir.groups.iter().map(DirectoryGroup::anchor).collect();
        let removed_users: Vec<(String, KnownUser)> = self
            .state
            .users
            .iter()
            .filter(|(a, _)| !file_user_anchors.contains(*a))
            // A user already soft-deleted by an earlier cycle needs nothing more in disable mode.
            .filter(|(_, u)| !(u.soft_deleted && self.options.removal == RemovalAction::Disable))
            .map(|(a, u)| (a.clone(), u.clone()))
            .collect();
        let removed_groups: Vec<(String, KnownGroup)> = self
            .state
            .groups
            .iter()
            .filter(|(a, _)| !file_group_anchors.contains(*a))
            .map(|(a, g)| (a.clone(), g.clone()))
            .collect();

        let total = (dir.users.len() * 2 + dir.groups.len() + removed_users.len() + removed_groups.len()) as u64;
        let bar = self.progress_bar(total);

        // 1. users
        bar.set_message("users");
        let this = &*self;
        let seen: Vec<std::result::Result<UserSeen, CycleError>> = join_all(dir.users.iter().map(|u| async {
            let r = this.upsert_user(u).await;
            bar.inc(1);
            r
        }))
        .await;
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut outcome: Vec<Option<UserSeen>> = Vec::with_capacity(seen.len());
        for (u, r) in dir.users.iter().zip(seen) {
            match r {
                Ok(s) => {
                    ids.insert(u.anchor(), s.id.clone());
                    self.state.users.insert(
                        u.anchor(),
                        KnownUser {
                            id: s.id.clone(),
                            user_name: u.user_name.clone(),
                            soft_deleted: false,
                        },
                    );
                    outcome.push(Some(s));
                }
                Err(e) => {
                    report.errors.push(e);
                    outcome.push(None);
                }
            }
        }

        // 2. managers
        bar.set_message("managers");
        let this = &*self;
        let manager_results: Vec<std::result::Result<bool, CycleError>> =
            join_all(dir.users.iter().zip(outcome.iter()).map(|(u, s)| {
                let ids = &ids;
                let bar = &bar;
                async move {
                    let r = match s {
                        Some(s) => this.sync_manager(dir, u, s, ids).await,
                        None => Ok(false),
                    };
                    bar.inc(1);
                    r
                }
            }))
            .await;
        for (s, m) in outcome.iter().zip(manager_results) {
            let Some(s) = s else {
                report.users.errors += 1;
                continue;
            };
            let manager_changed = match m {
                Ok(changed) => changed,
                Err(e) => {
                    report.errors.push(e);
                    report.users.errors += 1;
                    continue;
                }
            };
            if manager_changed {
                report.managers_changed += 1;
            }
            if s.created {
                report.users.created += 1;
            } else if s.disabled {
                report.users.disabled += 1;
            } else if s.patched || manager_changed {
                report.users.updated += 1;
            } else {
                report.users.unchanged += 1;
            }
        }

        // 3. groups
        bar.set_message("groups");
        let this = &*self;
        let groups: Vec<GroupResult> = join_all(dir.groups.iter().map(|g| {
            let ids = &ids;
            let bar = &bar;
            async move {
                let r = this.sync_group(dir, g, ids).await;
                bar.inc(1);
                r
            }
        }))
        .await;
        for g in groups {
            report.memberships_added += g.added;
            report.memberships_removed += g.removed;
            report.warnings.extend(g.warnings);
            let failed = !g.errors.is_empty();
            report.errors.extend(g.errors);
            match g.id {
                Some(id) => {
                    self.state.groups.insert(
                        g.anchor,
                        KnownGroup {
                            id,
                            display_name: g.display_name,
                            members: g.members,
                        },
                    );
                }
                None => {
                    self.state.groups.remove(&g.anchor);
                }
            }
            if failed {
                report.groups.errors += 1;
            } else if g.created {
                report.groups.created += 1;
            } else if g.updated || g.added + g.removed > 0 {
                report.groups.updated += 1;
            } else {
                report.groups.unchanged += 1;
            }
        }

        // 4. removals: groups first, so no group still lists a user we are about to delete
        bar.set_message("removals");
        let this = &*self;
        let group_deletes = join_all(removed_groups.iter().map(|(_, g)| {
            let bar = &bar;
            async move {
                let r = this
                    .delete(&format!("/Groups/{}", g.id), "DELETE /Groups/{id}", &g.display_name)
                    .await;
                bar.inc(1);
                r
            }
        }))
        .await;
        for ((anchor, _), r) in removed_groups.iter().zip(group_deletes) {
            match r {
                Ok(()) => {
                    self.state.groups.remove(anchor);
                    report.groups.deleted += 1;
                }
                Err(e) => {
                    report.errors.push(e);
                    report.groups.errors += 1;
                }
            }
        }
        let this = &*self;
        let user_removals = join_all(removed_users.iter().map(|(_, u)| {
            let bar = &bar;
            async move {
                let r = this.remove_user(u).await;
                bar.inc(1);
                r
            }
        }))
        .await;
        for ((anchor, _), r) in removed_users.iter().zip(user_removals) {
            match r {
                Ok(RemovalAction::Delete) => {
                    self.state.users.remove(anchor);
                    for g in self.state.groups.values_mut() {
                        g.members.remove(anchor);
                    }
                    report.users.deleted += 1;
                }
                Ok(RemovalAction::Disable) => {
                    if let Some(u) = self.state.users.get_mut(anchor) {
                        u.soft_deleted = true;
                    }
                    report.users.disabled += 1;
                }
                Err(e) => {
                    report.errors.push(e);
                    report.users.errors += 1;
                }
            }
        }
        bar.finish_and_clear();

        report.requests = self.client.requests() - requests_before;
        for (kind, n) in self.client.requests_by_kind() {
            let before = kinds_before.get(&kind).copied().unwrap_or(0);
            if n > before {
                report.requests_by_kind.insert(kind, n - before);
            }
        }
        report.token_requests = self.token_requests() - tokens_before;
        report.wall_time_seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn progress_bar(&self, total: u64) -> ProgressBar {
        if !self.options.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:<9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    async fn get_json(
        &self,
        path: &str,
        kind: &'static str,
        object: &str,
    ) -> std::result::Result<ScimResponse, CycleError> {
        self.client
            .send(Method::GET, path, None, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        kind: &'static str,
        object: &str,
    ) -> std::result::Result<ScimResponse, CycleError> {
        let resp = self
            .client
            .send(method, path, body, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(http_err(object, kind, &resp))
        }
    }

    /// Reads the user's current resource: by the id a previous cycle recorded, else by `userName eq`.
    async fn find_user(&self, u: &DirectoryUser) -> std::result::Result<Option<Value>, CycleError> {
        let name = u.user_name.as_str();
        if let Some(id) = self.state.user_id(&u.anchor()) {
            let resp = self.get_json(&format!("/Users/{id}"), "GET /Users/{id}", name).await?;
            match resp.status {
                200 => {
                    return resp
                        .json()
                        .map(Some)
                        .ok_or_else(|| err(name, "GET /Users/{id}", Some(200), "not JSON"));
                }
                404 => {}
                _ => return Err(http_err(name, "GET /Users/{id}", &resp)),
            }
        }
        let kind = "GET /Users?filter=userName";
        let resp = self.get_json(&shapes::user_lookup_query(name), kind, name).await?;
        if resp.status != 200 {
            return Err(http_err(name, kind, &resp));
        }
        let mut found = list_resources(&resp).map_err(|d| err(name, kind, Some(200), d))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(err(
                name,
                kind,
                Some(200),
                format!("{n} users match; userName must be unique"),
            )),
        }
    }

    async fn upsert_user(&self, u: &DirectoryUser) -> std::result::Result<UserSeen, CycleError> {
        let name = u.user_name.as_str();
        match self.find_user(u).await? {
            None => {
                let body = shapes::create_user_body(u);
                let resp = self
                    .send(Method::POST, "/Users", Some(&body), "POST /Users", name)
                    .await?;
                let id = resp
                    .json()
                    .as_ref()
                    .and_then(resource_id)
                    .ok_or_else(|| err(name, "POST /Users", Some(resp.status), "created resource has no id"))?;
                Ok(UserSeen {
                    id,
                    before: None,
                    created: true,
                    patched: false,
                    disabled: false,
                })
            }
            Some(resource) => {
                let id =
                    resource_id(&resource).ok_or_else(|| err(name, "GET /Users", Some(200), "resource has no id"))?;
                let changes = shapes::user_changes(u, &resource);
                let disabled = changes
                    .iter()
                    .any(|c| c.attr == shapes::Attr::Active && c.value == Value::Bool(false));
                let patched = match shapes::user_patch(self.options.dialect, &changes) {
                    Some(body) => {
                        self.send(
                            Method::PATCH,
                            &format!("/Users/{id}"),
                            Some(&body),
                            "PATCH /Users/{id}",
                            name,
                        )
                        .await?;
                        true
                    }
                    None => false,
                };
                Ok(UserSeen {
                    id,
                    before: Some(resource),
                    created: false,
                    patched,
                    disabled,
                })
            }
        }
    }

    /// The second round trip: link (or unlink) the manager. Returns whether anything was sent.
    async fn sync_manager(
        &self,
        dir: &Directory,
        u: &DirectoryUser,
        seen: &UserSeen,
        ids: &HashMap<String, String>,
    ) -> std::result::Result<bool, CycleError> {
        let name = u.user_name.as_str();
        let current = seen.before.as_ref().and_then(shapes::current_manager);
        let desired = match &u.manager {
            None => None,
            Some(reference) => {
                let manager = dir.resolve_user(reference).ok_or_else(|| {
                    err(
                        name,
                        "manager",
                        None,
                        format!("manager {reference:?} is not in the file"),
                    )
                })?;
                let id = ids.get(&manager.anchor()).ok_or_else(|| {
                    err(
                        name,
                        "manager",
                        None,
                        format!("manager {} was not provisioned", manager.user_name),
                    )
                })?;
                Some(id.clone())
            }
        };
        let path = format!("/Users/{}", seen.id);
        let dialect = self.options.dialect;
        let compat = self.options.compat;
        match (desired, current) {
            (Some(d), Some(c)) if d == c => Ok(false),
            (Some(d), current) => {
                if !seen.created && current.is_none() {
                    // Entra checks a reference attribute before writing it; a server that stores the manager
                    // without returning it is then left alone.
                    let kind = "GET /Users?filter=id+manager";
                    let resp = self
                        .get_json(&shapes::manager_check_query(&seen.id, &d), kind, name)
                        .await?;
                    if resp.status == 200 && list_resources(&resp).is_ok_and(|r| !r.is_empty()) {
                        return Ok(false);
                    }
                }
                let kind = if current.is_some() {
                    shapes::OpKind::Replace
                } else {
                    shapes::OpKind::Add
                };
                let body = shapes::manager_set_patch(dialect, compat, kind, &d);
                self.send(Method::PATCH, &path, Some(&body), "PATCH /Users/{id} manager", name)
                    .await?;
                Ok(true)
            }
            (None, Some(old)) => {
                let body = shapes::manager_remove_patch(dialect, compat, &old);
                self.send(Method::PATCH, &path, Some(&body), "PATCH /Users/{id} manager", name)
                    .await?;
                Ok(true)
            }
            (None, None) => Ok(false),
        }
    }

    async fn find_group(&self, g: &DirectoryGroup) -> std::result::Result<Option<Value>, CycleError> {
        let name = g.display_name.as_str();
        if let Some(known) = self.state.groups.get(&g.anchor()) {
            let kind = "GET /Groups/{id}?excludedAttributes=members";
            let resp = self
                .get_json(&format!("/Groups/{}?excludedAttributes=members", known.id), kind, name)
                .await?;
            match resp.status {
                200 => {
                    return resp
                        .json()
                        .map(Some)
                        .ok_or_else(|| err(name, kind, Some(200), "not JSON"));
                }
                404 => {}
                _ => return Err(http_err(name, kind, &resp)),
            }
        }
        let kind = "GET /Groups?filter=displayName";
        let resp = self.get_json(&shapes::group_lookup_query(name), kind, name).await?;
        if resp.status != 200 {
            return Err(http_err(name, kind, &resp));
        }
        let mut found = list_resources(&resp).map_err(|d| err(name, kind, Some(200), d))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(err(
                name,
                kind,
                Some(200),
                format!("{n} groups match; displayName must be unique"),
            )),
        }
    }

    async fn sync_group(&self, dir: &Directory, g: &DirectoryGroup, ids: &HashMap<String, String>) -> GroupResult {
        let mut result = GroupResult {
            anchor: g.anchor(),
            display_name: g.display_name.clone(),
            id: None,
            created: false,
            updated: false,
            members: BTreeSet::new(),
            added: 0,
            removed: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let name = g.display_name.as_str();
        let dialect = self.options.dialect;

        let existing = match self.find_group(g).await {
            Ok(e) => e,
            Err(e) => {
                // Keep what we knew: a failed read is no reason to forget the group's id.
                if let Some(k) = self.state.groups.get(&result.anchor) {
                    result.id = Some(k.id.clone());
                    result.members = k.members.clone();
                }
                result.errors.push(e);
                return result;
            }
        };
        let (id, known_members) = match existing {
            None => {
                let body = shapes::create_group_body(self.options.compat, name, g.external_id.as_deref());
                match self
                    .send(Method::POST, "/Groups", Some(&body), "POST /Groups", name)
                    .await
                {
                    Ok(resp) => match resp.json().as_ref().and_then(resource_id) {
                        Some(id) => {
                            result.created = true;
                            (id, None)
                        }
                        None => {
                            result
                                .errors
                                .push(err(name, "POST /Groups", Some(resp.status), "created group has no id"));
                            return result;
                        }
                    },
                    Err(e) => {
                        result.errors.push(e);
                        return result;
                    }
                }
            }
            Some(resource) => {
                let Some(id) = resource_id(&resource) else {
                    result
                        .errors
                        .push(err(name, "GET /Groups", Some(200), "group has no id"));
                    return result;
                };
                let mut changes = Vec::new();
                if resource.get("displayName").and_then(Value::as_str) != Some(name) {
                    changes.push(("displayName", shapes::OpKind::Replace, name.to_string()));
                }
                if let Some(x) = &g.external_id {
                    match resource.get("externalId").and_then(Value::as_str) {
                        Some(current) if current == x => {}
                        Some(_) => changes.push(("externalId", shapes::OpKind::Replace, x.clone())),
                        None => changes.push(("externalId", shapes::OpKind::Add, x.clone())),
                    }
                }
                if let Some(body) = shapes::group_patch(dialect, &changes) {
                    match self
                        .send(
                            Method::PATCH,
                            &format!("/Groups/{id}"),
                            Some(&body),
                            "PATCH /Groups/{id}",
                            name,
                        )
                        .await
                    {
                        Ok(_) => result.updated = true,
                        Err(e) => result.errors.push(e),
                    }
                }
                let known = self
                    .state
                    .groups
                    .get(&result.anchor)
                    .filter(|k| k.id == id)
                    .map(|k| k.members.clone())
                    .unwrap_or_default();
                (id, Some(known))
            }
        };
        result.id = Some(id.clone());

        // Desired members as (anchor, id); members whose user failed to provision are reported.
        let mut desired: BTreeMap<String, String> = BTreeMap::new();
        for m in &g.members {
            let Some(user) = dir.resolve_user(m) else { continue };
            match ids.get(&user.anchor()) {
                Some(uid) => {
                    desired.insert(user.anchor(), uid.clone());
                }
                None => result.errors.push(err(
                    name,
                    "members",
                    None,
                    format!("member {} was not provisioned", user.user_name),
                )),
            }
        }

        let (to_add, to_remove): (Vec<Member>, Vec<Member>) = match known_members {
            // A group created just now is empty: add everyone, no checks.
            None => (
                desired.iter().map(|(a, i)| (a.clone(), i.clone())).collect(),
                Vec::new(),
            ),
            Some(known) => {
                let add_candidates: Vec<Member> = desired
                    .iter()
                    .filter(|(a, _)| !known.contains(*a))
                    .map(|(a, i)| (a.clone(), i.clone()))
                    .collect();
                let remove_candidates: Vec<Member> = known
                    .iter()
                    .filter(|a| !desired.contains_key(*a))
                    // Users removed from the file are deleted at the end of the cycle, and deleting a user
                    // drops its memberships on the server; only users still in the file are unlinked here.
                    .filter_map(|a| ids.get(a).map(|i| (a.clone(), i.clone())))
                    .collect();
                for (a, _) in desired.iter().filter(|(a, _)| known.contains(*a)) {
                    result.members.insert(a.clone());
                }
                let checks = join_all(
                    add_candidates
                        .iter()
                        .chain(remove_candidates.iter())
                        .map(|(_, uid)| self.is_member(&id, uid, name)),
                )
                .await;
                let (add_checks, remove_checks) = checks.split_at(add_candidates.len());
                let mut to_add = Vec::new();
                for ((a, uid), check) in add_candidates.into_iter().zip(add_checks) {
                    match check {
                        Ok(true) => {
                            result.members.insert(a);
                        }
                        Ok(false) => to_add.push((a, uid)),
                        Err(e) => result.errors.push(e.clone()),
                    }
                }
                let mut to_remove = Vec::new();
                for ((a, uid), check) in remove_candidates.into_iter().zip(remove_checks) {
                    match check {
                        Ok(true) => to_remove.push((a, uid)),
                        Ok(false) => {}
                        Err(e) => {
                            result.members.insert(a);
                            result.errors.push(e.clone());
                        }
                    }
                }
                (to_add, to_remove)
            }
        };

        let batch = self.options.members_per_patch.max(1);
        let path = format!("/Groups/{id}");
        for chunk in to_add.chunks(batch) {
            let uids: Vec<String> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let body = shapes::add_members_patch(dialect, &uids);
            match self
                .send(
                    Method::PATCH,
                    &path,
                    Some(&body),
                    "PATCH /Groups/{id} add members",
                    name,
                )
                .await
            {
                Ok(_) => {
                    result.added += chunk.len() as u64;
                    result.members.extend(chunk.iter().map(|(a, _)| a.clone()));
                }
                Err(e) => result.errors.push(e),
            }
        }
        for chunk in to_remove.chunks(batch) {
            let uids: Vec<String> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let body = shapes::remove_members_patch(dialect, &uids);
            match self
                .send(
                    Method::PATCH,
                    &path,
                    Some(&body),
                    "PATCH /Groups/{id} remove members",
                    name,
                )
                .await
            {
                Ok(_) => result.removed += chunk.len() as u64,
                Err(e) => {
                    result.members.extend(chunk.iter().map(|(a, _)| a.clone()));
                    result.errors.push(e);
                }
            }
        }
        result
    }

    /// Entra's membership check: `filter=id eq "<group>" and members eq "<user>"`.
    async fn is_member(&self, group_id: &str, user_id: &str, group: &str) -> std::result::Result<bool, CycleError> {
        let kind = "GET /Groups?filter=id+members";
        let resp = self
            .get_json(&shapes::membership_query(group_id, user_id), kind, group)
            .await?;
        if resp.status != 200 {
            return Err(http_err(group, kind, &resp));
        }
        list_resources(&resp)
            .map(|r| !r.is_empty())
            .map_err(|d| err(group, kind, Some(200), d))
    }

    async fn delete(&self, path: &str, kind: &'static str, object: &str) -> std::result::Result<(), CycleError> {
        let resp = self
            .client
            .send(Method::DELETE, path, None, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))?;
        // Already gone is the outcome we wanted.
        if resp.is_success() || resp.status == 404 {
            Ok(())
        } else {
            Err(http_err(object, kind, &resp))
        }
    }

    async fn remove_user(&self, u: &KnownUser) -> std::result::Result<RemovalAction, CycleError> {
        match self.options.removal {
            RemovalAction::Delete => {
                self.delete(&format!("/Users/{}", u.id), "DELETE /Users/{id}", &u.user_name)
                    .await?;
                Ok(RemovalAction::Delete)
            }
            RemovalAction::Disable => {
                let body = shapes::disable_patch(self.options.dialect);
                self.send(
                    Method::PATCH,
                    &format!("/Users/{}", u.id),
                    Some(&body),
                    "PATCH /Users/{id}",
                    &u.user_name,
                )
                .await?;
                Ok(RemovalAction::Disable)
            }
        }
    }
}

/// One step of Test Connection.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConnectionStep {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// What Entra's "Test Connection" button checks: a token, then a query for a user that cannot exist.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ConnectionReport {
    pub steps: Vec<ConnectionStep>,
}

impl ConnectionReport {
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            out.push_str(&format!(
                "{} {} — {}\n",
                if s.passed { "PASS" } else { "FAIL" },
                s.name,
                s.detail
            ));
        }
        out.push_str(if self.passed() {
            "Test Connection: PASS\n"
        } else {
            "Test Connection: FAIL\n"
        });
        out
    }
}

/// Checks an empty-ListResponse answer the way Entra does (a 404 here quarantines a real provisioning job).
fn empty_list_step(name: String, resp: std::result::Result<ScimResponse, crate::error::SimError>) -> ConnectionStep {
    let (passed, detail) = match resp {
        Err(e) => (false, e.to_string()),
        Ok(r) if r.status != 200 => (false, format!("HTTP {} (expected 200): {}", r.status, r.detail())),
        Ok(r) => match r.json() {
            None => (false, "200 but the body is not JSON".to_string()),
            Some(v) => {
                let is_list = v
                    .get("schemas")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|x| x == shapes::LIST_RESPONSE_SCHEMA));
                let total = v.get("totalResults").and_then(Value::as_u64);
                let content_type = r.content_type.unwrap_or_default();
                if !is_list {
                    (false, "200 but not a SCIM ListResponse".to_string())
                } else if total != Some(0) {
                    (false, format!("expected totalResults 0, got {total:?}"))
                } else {
                    (true, format!("200, empty ListResponse ({content_type})"))
                }
            }
        },
    };
    ConnectionStep { name, passed, detail }
}

impl Provisioner {
    /// Entra's Test Connection: token request, then `GET /Users?filter=userName+eq+"<random guid>"` (and the
    /// same for a group), each expected to answer 200 with an empty ListResponse.
    pub async fn test_connection(&self) -> ConnectionReport {
        let mut report = ConnectionReport::default();
        let token_step = match self.client.tokens().token().await {
            Ok(_) => ConnectionStep {
                name: "token".into(),
                passed: true,
                detail: match self.client.tokens().token_requests() {
                    0 => "token supplied".into(),
                    _ => "access token issued for the client assertion".into(),
                },
            },
            Err(e) => ConnectionStep {
                name: "token".into(),
                passed: false,
                detail: e.to_string(),
            },
        };
        let token_ok = token_step.passed;
        report.steps.push(token_step);
        if !token_ok {
            return report;
        }
        let guid = uuid::Uuid::new_v4().to_string();
        let user_query = shapes::user_lookup_query(&guid);
        let resp = self
            .client
            .send(Method::GET, &user_query, None, "GET /Users?filter=userName")
            .await;
        report.steps.push(empty_list_step(format!("GET {user_query}"), resp));
        let group_query = shapes::group_lookup_query(&uuid::Uuid::new_v4().to_string());
        let resp = self
            .client
            .send(Method::GET, &group_query, None, "GET /Groups?filter=displayName")
            .await;
        report.steps.push(empty_list_step(format!("GET {group_query}"), resp));
        report
    }
}
