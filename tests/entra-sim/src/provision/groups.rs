//! The group round trips of a cycle: find or create each group, patch its name and externalId, then add and
//! remove members after checking each one the way Entra does.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use reqwest::Method;
use serde_json::Value;

use super::cycle::UserIds;
use super::{CycleError, Provisioner, err, http_err, list_resources, resource_id, shapes};
use crate::directory::{Directory, DirectoryGroup, DirectoryUser};

/// A group member as (user anchor, SCIM id).
type Member = (String, String);

/// Outcome of the group step for one group.
pub(super) struct GroupResult {
    pub(super) anchor: String,
    pub(super) display_name: String,
    pub(super) id: Option<String>,
    pub(super) created: bool,
    pub(super) updated: bool,
    pub(super) members: BTreeSet<String>,
    pub(super) added: u64,
    pub(super) removed: u64,
    pub(super) errors: Vec<CycleError>,
    pub(super) warnings: Vec<String>,
}

impl GroupResult {
    fn new(g: &DirectoryGroup) -> Self {
        GroupResult {
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
        }
    }
}

/// The group's id, and the member anchors an earlier cycle recorded (`None` for a group created just now).
type Ensured = (String, Option<BTreeSet<String>>);

/// The members an earlier cycle recorded, and what tells whose user is still in the file and its id.
struct KnownMembers<'a> {
    anchors: &'a BTreeSet<String>,
    /// Every member the file lists for the group, provisioned in this cycle or not.
    listed: BTreeSet<String>,
    dir: &'a Directory,
    ids: &'a UserIds,
}

impl KnownMembers<'_> {
    /// A user still in the file: the id this cycle found, or, when its own round trip failed this cycle, the id
    /// an earlier cycle recorded (Entra still unlinks it). `None` for users removed from the file.
    fn id_in_file(&self, anchor: &str, state: &super::ProvisioningState) -> Option<String> {
        if let Some(id) = self.ids.get(anchor) {
            return Some(id.clone());
        }
        let in_file = self.dir.users.iter().any(|u| u.anchor() == anchor);
        in_file.then(|| state.user_id(anchor).map(str::to_owned)).flatten()
    }
}

/// Members to add and to remove, as (anchor, id).
struct MemberChanges {
    add: Vec<Member>,
    remove: Vec<Member>,
}

/// Desired members as (anchor, id); members whose user failed to provision are reported.
fn desired_members(
    dir: &Directory,
    g: &DirectoryGroup,
    ids: &UserIds,
    result: &mut GroupResult,
) -> BTreeMap<String, String> {
    let mut desired = BTreeMap::new();
    for m in &g.members {
        let Some(user) = dir.resolve_user(m) else { continue };
        match ids.get(&user.anchor()) {
            Some(uid) => {
                desired.insert(user.anchor(), uid.clone());
            }
            None => result.errors.push(err(
                &g.display_name,
                "members",
                None,
                format!("member {} was not provisioned", user.user_name),
            )),
        }
    }
    desired
}

/// The PATCH operations that bring the group's name and externalId in line with the file.
fn group_changes(g: &DirectoryGroup, resource: &Value) -> Vec<(&'static str, shapes::OpKind, String)> {
    let name = g.display_name.as_str();
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
    changes
}

impl Provisioner {
    /// Reads the group's current resource (without members): by the id a previous cycle recorded, else by
    /// `displayName eq`.
    async fn find_group(&self, g: &DirectoryGroup) -> std::result::Result<Option<Value>, CycleError> {
        let name = g.display_name.as_str();
        if let Some(known) = self.state.groups.get(&g.anchor()) {
            let path = format!("/Groups/{}?excludedAttributes=members", known.id);
            if let Some(found) = self
                .get_known(&path, "GET /Groups/{id}?excludedAttributes=members", name)
                .await?
            {
                return Ok(Some(found));
            }
        }
        let query = shapes::group_lookup_query(name);
        let unique = "groups match; displayName must be unique";
        self.lookup_unique(&query, "GET /Groups?filter=displayName", name, unique)
            .await
    }

    pub(super) async fn sync_group(&self, dir: &Directory, g: &DirectoryGroup, ids: &UserIds) -> GroupResult {
        let mut result = GroupResult::new(g);
        let existing = match self.find_group(g).await {
            Ok(existing) => existing,
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
        let ensured = match existing {
            None => self.create_group(g, &mut result).await,
            Some(resource) => self.update_group(g, &resource, &mut result).await,
        };
        let Some((id, known_members)) = ensured else {
            return result;
        };
        result.id = Some(id.clone());
        let desired = desired_members(dir, g, ids, &mut result);
        let changes = match known_members {
            // A group created just now is empty: add everyone, no checks.
            None => MemberChanges {
                add: desired.into_iter().collect(),
                remove: Vec::new(),
            },
            Some(known) => {
                let listed = g
                    .members
                    .iter()
                    .filter_map(|m| dir.resolve_user(m))
                    .map(DirectoryUser::anchor)
                    .collect();
                let known = KnownMembers {
                    anchors: &known,
                    listed,
                    dir,
                    ids,
                };
                self.member_changes(&id, &desired, known, &mut result).await
            }
        };
        self.apply_member_changes(&id, changes, &mut result).await;
        result
    }

    /// `POST /Groups` without members (Entra adds them with PATCH afterwards).
    async fn create_group(&self, g: &DirectoryGroup, result: &mut GroupResult) -> Option<Ensured> {
        let name = g.display_name.as_str();
        let body = shapes::create_group_body(self.options.compat, name, g.external_id.as_deref());
        match self
            .send(Method::POST, "/Groups", Some(&body), "POST /Groups", name)
            .await
        {
            Ok(resp) => match resp.json().as_ref().and_then(resource_id) {
                Some(id) => {
                    result.created = true;
                    Some((id, None))
                }
                None => {
                    result
                        .errors
                        .push(err(name, "POST /Groups", Some(resp.status), "created group has no id"));
                    None
                }
            },
            Err(e) => {
                result.errors.push(e);
                None
            }
        }
    }

    /// PATCHes a found group's name and externalId where they differ from the file.
    async fn update_group(&self, g: &DirectoryGroup, resource: &Value, result: &mut GroupResult) -> Option<Ensured> {
        let name = g.display_name.as_str();
        let Some(id) = resource_id(resource) else {
            result
                .errors
                .push(err(name, "GET /Groups", Some(200), "group has no id"));
            return None;
        };
        if let Some(body) = shapes::group_patch(self.options.dialect, &group_changes(g, resource)) {
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
        Some((id, Some(known)))
    }

    /// Which members to add and remove, each candidate checked with Entra's membership query first.
    async fn member_changes(
        &self,
        id: &str,
        desired: &BTreeMap<String, String>,
        known: KnownMembers<'_>,
        result: &mut GroupResult,
    ) -> MemberChanges {
        let name = result.display_name.clone();
        let add_candidates: Vec<Member> = desired
            .iter()
            .filter(|(a, _)| !known.anchors.contains(*a))
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect();
        let remove_candidates: Vec<Member> = known
            .anchors
            .iter()
            .filter(|a| !known.listed.contains(*a))
            // Users removed from the file are deleted at the end of the cycle, and deleting a user drops its
            // memberships on the server; only users still in the file are unlinked here.
            .filter_map(|a| known.id_in_file(a, &self.state).map(|i| (a.clone(), i)))
            .collect();
        // Still listed, so still members, also those whose user failed this cycle (not checked until it is back).
        for a in known.anchors.iter().filter(|a| known.listed.contains(*a)) {
            result.members.insert(a.clone());
        }
        let checks = join_all(
            add_candidates
                .iter()
                .chain(remove_candidates.iter())
                .map(|(_, uid)| self.is_member(id, uid, &name)),
        )
        .await;
        let (add_checks, remove_checks) = checks.split_at(add_candidates.len());
        let mut changes = MemberChanges {
            add: Vec::new(),
            remove: Vec::new(),
        };
        for ((a, uid), check) in add_candidates.into_iter().zip(add_checks) {
            match check {
                Ok(true) => {
                    result.members.insert(a);
                }
                Ok(false) => changes.add.push((a, uid)),
                Err(e) => result.errors.push(e.clone()),
            }
        }
        for ((a, uid), check) in remove_candidates.into_iter().zip(remove_checks) {
            match check {
                Ok(true) => changes.remove.push((a, uid)),
                Ok(false) => {}
                Err(e) => {
                    result.members.insert(a);
                    result.errors.push(e.clone());
                }
            }
        }
        changes
    }

    /// Sends the member adds, then the removals, in Entra's batches.
    async fn apply_member_changes(&self, id: &str, changes: MemberChanges, result: &mut GroupResult) {
        let name = result.display_name.clone();
        let dialect = self.options.dialect;
        let batch = self.options.members_per_patch.max(1);
        let path = format!("/Groups/{id}");
        for chunk in changes.add.chunks(batch) {
            let uids: Vec<String> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let body = shapes::add_members_patch(dialect, &uids);
            let kind = "PATCH /Groups/{id} add members";
            match self.send(Method::PATCH, &path, Some(&body), kind, &name).await {
                Ok(_) => {
                    result.added += chunk.len() as u64;
                    result.members.extend(chunk.iter().map(|(a, _)| a.clone()));
                }
                Err(e) => result.errors.push(e),
            }
        }
        for chunk in changes.remove.chunks(batch) {
            let uids: Vec<String> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let body = shapes::remove_members_patch(dialect, &uids);
            let kind = "PATCH /Groups/{id} remove members";
            match self.send(Method::PATCH, &path, Some(&body), kind, &name).await {
                Ok(_) => result.removed += chunk.len() as u64,
                Err(e) => {
                    result.members.extend(chunk.iter().map(|(a, _)| a.clone()));
                    result.errors.push(e);
                }
            }
        }
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
}
