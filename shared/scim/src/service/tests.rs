//! The directory service over a store that loses version races on purpose.

use std::sync::{Arc, Mutex};

use serde_json::json;
use wif_common::FixedClock;
use wif_common::audit::LogOnlyAudit;

use super::*;
use crate::memory::MemoryDirectory;
use crate::store::{GroupRecord, Page, UserRecord};

/// The in-memory store, except that the first `losses` user replacements report a lost version race; every user
/// record a replacement was asked to write is kept.
struct LosesRaces {
    inner: MemoryDirectory,
    losses: Mutex<usize>,
    attempted: Mutex<Vec<UserRecord>>,
}

#[async_trait::async_trait]
impl DirectoryStore for LosesRaces {
    async fn create_user(&self, tenant: &TenantId, user: &UserRecord) -> StoreResult<()> {
        self.inner.create_user(tenant, user).await
    }
    async fn get_user(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<UserRecord>> {
        self.inner.get_user(tenant, id).await
    }
    async fn replace_user(&self, tenant: &TenantId, previous: &UserRecord, next: &UserRecord) -> StoreResult<()> {
        self.attempted.lock().unwrap().push(next.clone());
        {
            let mut losses = self.losses.lock().unwrap();
            if *losses > 0 {
                *losses -= 1;
                return Err(DirectoryError::VersionConflict);
            }
        }
        self.inner.replace_user(tenant, previous, next).await
    }
    async fn delete_user(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
        self.inner.delete_user(tenant, id, expected_version).await
    }
    async fn user_by_user_name(&self, tenant: &TenantId, user_name: &str) -> StoreResult<Option<UserRecord>> {
        self.inner.user_by_user_name(tenant, user_name).await
    }
    async fn users_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<UserRecord>> {
        self.inner.users_by_external_id(tenant, external_id).await
    }
    async fn users_by_work_email(&self, tenant: &TenantId, email: &str) -> StoreResult<Vec<UserRecord>> {
        self.inner.users_by_work_email(tenant, email).await
    }
    async fn scan_users(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<Page<UserRecord>> {
        self.inner.scan_users(tenant, cursor, limit).await
    }
    async fn groups_of_user(&self, tenant: &TenantId, user_id: &ResourceId) -> StoreResult<Vec<ResourceId>> {
        self.inner.groups_of_user(tenant, user_id).await
    }
    async fn create_group(&self, tenant: &TenantId, group: &GroupRecord, members: &[ResourceId]) -> StoreResult<()> {
        self.inner.create_group(tenant, group, members).await
    }
    async fn get_group(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<GroupRecord>> {
        self.inner.get_group(tenant, id).await
    }
    async fn get_group_with_members(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
        member_limit: usize,
    ) -> StoreResult<Option<(GroupRecord, Page<ResourceId>)>> {
        self.inner.get_group_with_members(tenant, id, member_limit).await
    }
    async fn group_with_membership(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> StoreResult<Option<(GroupRecord, bool)>> {
        self.inner.group_with_membership(tenant, group_id, user_id).await
    }
    async fn get_groups(&self, tenant: &TenantId, ids: &[ResourceId]) -> StoreResult<Vec<GroupRecord>> {
        self.inner.get_groups(tenant, ids).await
    }
    async fn replace_group(&self, tenant: &TenantId, previous: &GroupRecord, next: &GroupRecord) -> StoreResult<()> {
        self.inner.replace_group(tenant, previous, next).await
    }
    async fn delete_group(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
        self.inner.delete_group(tenant, id, expected_version).await
    }
    async fn groups_by_display_name(&self, tenant: &TenantId, display_name: &str) -> StoreResult<Vec<GroupRecord>> {
        self.inner.groups_by_display_name(tenant, display_name).await
    }
    async fn groups_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<GroupRecord>> {
        self.inner.groups_by_external_id(tenant, external_id).await
    }
    async fn scan_groups(
        &self,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<GroupRecord>> {
        self.inner.scan_groups(tenant, cursor, limit).await
    }
    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ResourceId>> {
        self.inner.list_members(tenant, group_id, cursor, limit).await
    }
    async fn add_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.inner
            .add_members(tenant, group_id, user_ids, expected_version)
            .await
    }
    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.inner
            .remove_members(tenant, group_id, user_ids, expected_version)
            .await
    }
    async fn remove_all_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.inner.remove_all_members(tenant, group_id, expected_version).await
    }
}

fn context() -> RequestContext {
    RequestContext {
        caller: Caller {
            tenant_id: "t1".into(),
            client_id: "c1".into(),
            can_write: true,
        },
        base_url: "https://scim.example.com/scim/v2".into(),
        request_id: None,
    }
}

/// PBKDF2 runs once per request, not once per attempt: a PUT or PATCH that loses three version races in a row
/// offers the very same (salted, so otherwise different) hash at every attempt.
#[tokio::test]
async fn a_password_is_hashed_once_however_often_the_write_is_retried() {
    let store = Arc::new(LosesRaces {
        inner: MemoryDirectory::new(),
        losses: Mutex::new(0),
        attempted: Mutex::new(Vec::new()),
    });
    let service = DirectoryService::new(
        store.clone(),
        Arc::new(LogOnlyAudit),
        Arc::new(FixedClock::at(1_767_225_600)),
        ServiceConfig {
            password_iterations: 1_000,
            ..ServiceConfig::default()
        },
    );
    let ctx = context();
    let all = Projection::default();
    let created = service
        .create(&ctx, ResourceKind::User, json!({"userName": "race@example.com"}), &all)
        .await
        .unwrap();
    let id = wif_common::ResourceId::new(created.body["id"].as_str().unwrap().to_owned());
    let put = json!({"userName": "race@example.com", "password": "Put-Pa55word"});
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "Patch-Pa55word"}]});
    for attempt in 0..2 {
        *store.losses.lock().unwrap() = 3;
        store.attempted.lock().unwrap().clear();
        let answer = if attempt == 0 {
            service
                .replace(&ctx, ResourceKind::User, &id, put.clone(), None, &all)
                .await
                .map(|_| ())
        } else {
            service
                .patch(&ctx, ResourceKind::User, &id, &patch, None, &all)
                .await
                .map(|_| ())
        };
        answer.unwrap();
        let hashes: Vec<Option<String>> = store
            .attempted
            .lock()
            .unwrap()
            .iter()
            .map(|user| user.password_hash.clone())
            .collect();
        assert_eq!(hashes.len(), 4, "three lost races and the write");
        assert!(hashes[0].is_some());
        assert!(
            hashes.iter().all(|hash| hash == &hashes[0]),
            "hashed again on a retry: {hashes:?}"
        );
    }
}
