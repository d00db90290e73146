//! An in-memory [`DirectoryStore`] for unit tests of the service and benchmarks of the pure layers (feature
//! `test-support`; nothing in production uses it).
//! It keeps the same invariants as the DynamoDB store (the contract suite runs against both); cursors are the last
//! id of the page, base64url-encoded so clients treat them as opaque.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::store::{
    DirectoryError, DirectoryStore, GroupRecord, Page, ResourceId, StoreResult, TenantId, UserRecord, fold_case,
};

#[derive(Debug, Default)]
struct Tenant {
    users: BTreeMap<ResourceId, UserRecord>,
    /// folded userName → user id: the uniqueness marker.
    user_names: HashMap<String, ResourceId>,
    groups: BTreeMap<ResourceId, GroupRecord>,
    members: HashMap<ResourceId, BTreeSet<ResourceId>>,
    groups_of_user: HashMap<ResourceId, BTreeSet<ResourceId>>,
}

impl Tenant {
    fn check_version(stored: u64, expected: Option<u64>) -> StoreResult<()> {
        match expected {
            Some(expected) if expected != stored => Err(DirectoryError::VersionConflict),
            _ => Ok(()),
        }
    }

    fn group_version(&self, group_id: &ResourceId, expected: Option<u64>) -> StoreResult<()> {
        let group = self.groups.get(group_id).ok_or(DirectoryError::NotFound)?;
        Self::check_version(group.version, expected)
    }

    fn unlink(&mut self, group_id: &ResourceId, user_id: &ResourceId) {
        if let Some(members) = self.members.get_mut(group_id) {
            members.remove(user_id);
        }
        if let Some(groups) = self.groups_of_user.get_mut(user_id) {
            groups.remove(group_id);
            if groups.is_empty() {
                self.groups_of_user.remove(user_id);
            }
        }
    }
}

/// The in-memory store. Cheap to create; one per test.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    tenants: Mutex<HashMap<TenantId, Tenant>>,
}

impl MemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, tenant: &TenantId, f: impl FnOnce(&mut Tenant) -> StoreResult<T>) -> StoreResult<T> {
        // A poisoned lock only means another test thread panicked; the data is still consistent because every
        // mutation below validates before it changes anything.
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        f(tenants.entry(tenant.clone()).or_default())
    }
}

fn encode_cursor(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last.as_bytes())
}

fn decode_cursor(cursor: Option<&str>) -> StoreResult<Option<String>> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(DirectoryError::InvalidCursor)
        })
        .transpose()
}

fn page_after<'a, T: Clone + 'a>(
    entries: impl Iterator<Item = (&'a ResourceId, &'a T)>,
    after: Option<String>,
    limit: usize,
) -> Page<T> {
    let limit = limit.max(1);
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (key, value) in entries.filter(|(key, _)| after.as_ref().is_none_or(|after| key.as_str() > after.as_str())) {
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(value.clone());
        last = Some(key.to_string());
    }
    Page {
        items,
        next_cursor: if more { last.map(|l| encode_cursor(&l)) } else { None },
    }
}

#[async_trait::async_trait]
impl DirectoryStore for MemoryDirectory {
    async fn create_user(&self, tenant: &TenantId, user: &UserRecord) -> StoreResult<()> {
        self.with(tenant, |t| {
            let key = fold_case(&user.user_name);
            if t.user_names.contains_key(&key) {
                return Err(DirectoryError::UserNameTaken);
            }
            if t.users.contains_key(&user.id) {
                return Err(DirectoryError::VersionConflict);
            }
            t.user_names.insert(key, user.id.clone());
            t.users.insert(user.id.clone(), user.clone());
            Ok(())
        })
    }

    async fn get_user(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<UserRecord>> {
        self.with(tenant, |t| Ok(t.users.get(id).cloned()))
    }

    async fn replace_user(&self, tenant: &TenantId, previous: &UserRecord, next: &UserRecord) -> StoreResult<()> {
        self.with(tenant, |t| {
            let stored = t.users.get(&previous.id).ok_or(DirectoryError::NotFound)?;
            Tenant::check_version(stored.version, Some(previous.version))?;
            let old_key = fold_case(&stored.user_name);
            let new_key = fold_case(&next.user_name);
            if old_key != new_key {
                if t.user_names.contains_key(&new_key) {
                    return Err(DirectoryError::UserNameTaken);
                }
                t.user_names.remove(&old_key);
                t.user_names.insert(new_key, next.id.clone());
            }
            t.users.insert(next.id.clone(), next.clone());
            Ok(())
        })
    }

    async fn delete_user(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
        self.with(tenant, |t| {
            let stored = t.users.get(id).ok_or(DirectoryError::NotFound)?;
            Tenant::check_version(stored.version, expected_version)?;
            let key = fold_case(&stored.user_name);
            t.user_names.remove(&key);
            t.users.remove(id);
            for group_id in t.groups_of_user.remove(id).unwrap_or_default() {
                if let Some(members) = t.members.get_mut(&group_id) {
                    members.remove(id);
                }
            }
            Ok(())
        })
    }

    async fn user_by_user_name(&self, tenant: &TenantId, user_name: &str) -> StoreResult<Option<UserRecord>> {
        self.with(tenant, |t| {
            Ok(t.user_names
                .get(&fold_case(user_name))
                .and_then(|id| t.users.get(id))
                .cloned())
        })
    }

    async fn users_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<UserRecord>> {
        self.with(tenant, |t| {
            Ok(t.users
                .values()
                .filter(|u| u.external_id.as_deref() == Some(external_id))
                .cloned()
                .collect())
        })
    }

    async fn users_by_work_email(&self, tenant: &TenantId, email: &str) -> StoreResult<Vec<UserRecord>> {
        let wanted = fold_case(email);
        self.with(tenant, |t| {
            Ok(t.users
                .values()
                .filter(|u| u.work_email.as_deref().map(fold_case).as_deref() == Some(wanted.as_str()))
                .cloned()
                .collect())
        })
    }

    async fn scan_users(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<Page<UserRecord>> {
        let after = decode_cursor(cursor)?;
        self.with(tenant, |t| Ok(page_after(t.users.iter(), after, limit)))
    }

    async fn groups_of_user(&self, tenant: &TenantId, user_id: &ResourceId) -> StoreResult<Vec<ResourceId>> {
        self.with(tenant, |t| {
            Ok(t.groups_of_user
                .get(user_id)
                .map(|groups| groups.iter().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn create_group(&self, tenant: &TenantId, group: &GroupRecord, members: &[ResourceId]) -> StoreResult<()> {
        self.with(tenant, |t| {
            if t.groups.contains_key(&group.id) {
                return Err(DirectoryError::VersionConflict);
            }
            if let Some(missing) = members.iter().find(|id| !t.users.contains_key(*id)) {
                return Err(DirectoryError::MissingMember(missing.to_string()));
            }
            t.groups.insert(group.id.clone(), group.clone());
            t.members
                .insert(group.id.clone(), members.iter().cloned().collect::<BTreeSet<_>>());
            for member in members {
                t.groups_of_user
                    .entry(member.clone())
                    .or_default()
                    .insert(group.id.clone());
            }
            Ok(())
        })
    }

    async fn get_group(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<GroupRecord>> {
        self.with(tenant, |t| Ok(t.groups.get(id).cloned()))
    }

    async fn get_group_with_members(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
        member_limit: usize,
    ) -> StoreResult<Option<(GroupRecord, Page<ResourceId>)>> {
        self.with(tenant, |t| {
            let Some(group) = t.groups.get(id).cloned() else {
                return Ok(None);
            };
            let members = t.members.get(id).cloned().unwrap_or_default();
            let page = page_after(members.iter().map(|m| (m, m)), None, member_limit);
            Ok(Some((group, page)))
        })
    }

    async fn group_with_membership(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> StoreResult<Option<(GroupRecord, bool)>> {
        self.with(tenant, |t| {
            Ok(t.groups.get(group_id).cloned().map(|group| {
                let member = t.members.get(group_id).is_some_and(|m| m.contains(user_id));
                (group, member)
            }))
        })
    }

    async fn get_groups(&self, tenant: &TenantId, ids: &[ResourceId]) -> StoreResult<Vec<GroupRecord>> {
        let wanted: BTreeSet<&ResourceId> = ids.iter().collect();
        self.with(tenant, |t| {
            Ok(wanted.into_iter().filter_map(|id| t.groups.get(id).cloned()).collect())
        })
    }

    async fn replace_group(&self, tenant: &TenantId, previous: &GroupRecord, next: &GroupRecord) -> StoreResult<()> {
        self.with(tenant, |t| {
            t.group_version(&previous.id, Some(previous.version))?;
            t.groups.insert(next.id.clone(), next.clone());
            Ok(())
        })
    }

    async fn delete_group(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
        self.with(tenant, |t| {
            t.group_version(id, expected_version)?;
            t.groups.remove(id);
            for member in t.members.remove(id).unwrap_or_default() {
                t.unlink(id, &member);
            }
            Ok(())
        })
    }

    async fn groups_by_display_name(&self, tenant: &TenantId, display_name: &str) -> StoreResult<Vec<GroupRecord>> {
        let wanted = fold_case(display_name);
        self.with(tenant, |t| {
            Ok(t.groups
                .values()
                .filter(|g| fold_case(&g.display_name) == wanted)
                .cloned()
                .collect())
        })
    }

    async fn groups_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<GroupRecord>> {
        self.with(tenant, |t| {
            Ok(t.groups
                .values()
                .filter(|g| g.external_id.as_deref() == Some(external_id))
                .cloned()
                .collect())
        })
    }

    async fn scan_groups(
        &self,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<GroupRecord>> {
        let after = decode_cursor(cursor)?;
        self.with(tenant, |t| Ok(page_after(t.groups.iter(), after, limit)))
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ResourceId>> {
        let after = decode_cursor(cursor)?;
        self.with(tenant, |t| {
            if !t.groups.contains_key(group_id) {
                return Err(DirectoryError::NotFound);
            }
            let members = t.members.get(group_id).cloned().unwrap_or_default();
            Ok(page_after(members.iter().map(|m| (m, m)), after, limit))
        })
    }

    async fn add_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.with(tenant, |t| {
            t.group_version(group_id, expected_version)?;
            if let Some(missing) = user_ids.iter().find(|id| !t.users.contains_key(*id)) {
                return Err(DirectoryError::MissingMember(missing.to_string()));
            }
            for user_id in user_ids {
                t.members
                    .entry(group_id.to_owned())
                    .or_default()
                    .insert(user_id.clone());
                t.groups_of_user
                    .entry(user_id.clone())
                    .or_default()
                    .insert(group_id.to_owned());
            }
            Ok(())
        })
    }

    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.with(tenant, |t| {
            t.group_version(group_id, expected_version)?;
            for user_id in user_ids {
                t.unlink(group_id, user_id);
            }
            Ok(())
        })
    }

    async fn remove_all_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.with(tenant, |t| {
            t.group_version(group_id, expected_version)?;
            for member in t.members.remove(group_id).unwrap_or_default() {
                t.unlink(group_id, &member);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_passes_the_storage_contract() {
        crate::contract::run_all(&MemoryDirectory::new()).await;
    }
}
