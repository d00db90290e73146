//! The storage port of the directory service: the narrow set of operations the SCIM service needs, shaped around
//! what DynamoDB does well (single-item conditional writes, small transactions, key lookups, paged queries).
//!
//! Every operation takes the tenant first; implementations put it in front of every key they write or read, so a
//! tenant can never reach another tenant's items. The tenant always comes from the access token.
//!
//! Invariants every implementation guarantees (checked by [`crate::contract`]):
//! - a user's `userName` is unique per tenant, case-insensitively, enforced atomically with the user write;
//! - every write of a user or group is conditional on the version the writer read, so no update is ever lost;
//! - a membership is its own record: adding or removing one member costs O(1) writes whatever the group size,
//!   checks in the same atomic step that the group and the user exist, and is idempotent;
//! - deleting a user removes its memberships; deleting a group removes its members; a delete that failed half-way
//!   is finished by the retried delete (which then succeeds), and no read shows a member of a deleted group or user;
//! - scans return one tenant's records in ascending id order, at most `limit` per call, with an opaque cursor.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
pub use wif_common::{ResourceId, TenantId};

/// Which kind of request wrote a record last. Stored in the same write as the record, so the directory's change
/// stream tells a PUT from a PATCH (RFC 9967 `prov:put` / `prov:patch` events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WriteKind {
    #[default]
    Create,
    Replace,
    Patch,
}

/// A stored user: the resource's client-visible attributes plus the server-maintained metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: ResourceId,
    /// Starts at 1 and grows by one per write; the weak ETag is `W/"<version>"`.
    pub version: u64,
    /// RFC 3339, server time.
    pub created: String,
    pub last_modified: String,
    /// As the client sent it (case preserved); uniqueness and lookup ignore case.
    pub user_name: String,
    /// Exact (externalId is caseExact in RFC 7643).
    pub external_id: Option<String>,
    /// The user's work e-mail (primary one first), indexed for Entra's `emails[type eq "work"].value eq` lookup;
    /// compared case-insensitively.
    pub work_email: Option<String>,
    /// Every stored attribute except `id`, `meta`, `groups` (derived from memberships) and `password`.
    pub attributes: Map<String, Value>,
    /// PHC-style PBKDF2 hash, never the password itself.
    pub password_hash: Option<String>,
    pub written_by: WriteKind,
}

/// A stored group, without its members (each membership is its own record).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: ResourceId,
    pub version: u64,
    pub created: String,
    pub last_modified: String,
    /// Compared case-insensitively by lookups; not unique (RFC 7643 does not make it unique).
    pub display_name: String,
    pub external_id: Option<String>,
    /// Every stored attribute except `id`, `meta` and `members`.
    pub attributes: Map<String, Value>,
    pub written_by: WriteKind,
}

impl UserRecord {
    /// The same record, marked as written by `kind`.
    pub fn written_by(self, kind: WriteKind) -> Self {
        Self {
            written_by: kind,
            ..self
        }
    }
}

impl GroupRecord {
    /// The same record, marked as written by `kind`.
    pub fn written_by(self, kind: WriteKind) -> Self {
        Self {
            written_by: kind,
            ..self
        }
    }
}

/// One page of a scan or of a group's members.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass it back to continue. `None` when the scan is complete.
    pub next_cursor: Option<String>,
}

/// Domain outcomes of storage operations; anything else is [`DirectoryError::Unavailable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("resource not found")]
    NotFound,
    /// The stored version is not the one the writer read (or the one the client named in If-Match).
    #[error("the resource was changed by another request")]
    VersionConflict,
    #[error("userName is already taken in this tenant")]
    UserNameTaken,
    /// A member id names no user of this tenant.
    #[error("member {0} does not exist")]
    MissingMember(String),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, DirectoryError>;

/// Case folding used for every case-insensitive key (userName, work e-mail, group displayName). One function so the
/// stores and the service's in-memory filter re-check agree.
pub fn fold_case(value: &str) -> String {
    value.to_lowercase()
}

#[async_trait::async_trait]
pub trait DirectoryStore: Send + Sync {
    // ---- users ----

    /// Writes a new user and its userName marker atomically. `UserNameTaken` if the name is taken.
    async fn create_user(&self, tenant: &TenantId, user: &UserRecord) -> StoreResult<()>;

    async fn get_user(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<UserRecord>>;

    /// Replaces `previous` (as read) with `next` if the stored version is still `previous.version`; moves the
    /// userName marker in the same atomic write when the name changed. `NotFound`, `VersionConflict`,
    /// `UserNameTaken`.
    async fn replace_user(&self, tenant: &TenantId, previous: &UserRecord, next: &UserRecord) -> StoreResult<()>;

    /// Deletes the user, its userName marker and its memberships. With `expected_version`, only if the stored
    /// version matches (`VersionConflict` otherwise). `NotFound` if absent.
    async fn delete_user(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()>;

    /// Case-insensitive, strongly consistent.
    async fn user_by_user_name(&self, tenant: &TenantId, user_name: &str) -> StoreResult<Option<UserRecord>>;

    /// Exact match.
    async fn users_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<UserRecord>>;

    /// Case-insensitive match on [`UserRecord::work_email`].
    async fn users_by_work_email(&self, tenant: &TenantId, email: &str) -> StoreResult<Vec<UserRecord>>;

    /// Up to `limit` users in ascending id order after `cursor`.
    async fn scan_users(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<Page<UserRecord>>;

    /// Ids of the groups the user is a direct member of, ascending.
    async fn groups_of_user(&self, tenant: &TenantId, user_id: &ResourceId) -> StoreResult<Vec<ResourceId>>;

    /// The user and the ids of its groups (ascending), as one strongly consistent read where the store can.
    async fn user_with_groups(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> StoreResult<Option<(UserRecord, Vec<ResourceId>)>> {
        let Some(user) = self.get_user(tenant, id).await? else {
            return Ok(None);
        };
        let groups = self.groups_of_user(tenant, id).await?;
        Ok(Some((user, groups)))
    }

    /// [`DirectoryStore::user_by_user_name`] with the user's groups (strongly consistent, like the lookup).
    async fn user_by_user_name_with_groups(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> StoreResult<Option<(UserRecord, Vec<ResourceId>)>> {
        let Some(user) = self.user_by_user_name(tenant, user_name).await? else {
            return Ok(None);
        };
        let groups = self.groups_of_user(tenant, &user.id).await?;
        Ok(Some((user, groups)))
    }

    /// The groups of several users at once (the users of one list page): user id → its group ids, ascending.
    /// Users without groups may be absent from the map. As consistent as [`DirectoryStore::scan_users`].
    async fn groups_of_users(
        &self,
        tenant: &TenantId,
        user_ids: &[ResourceId],
    ) -> StoreResult<BTreeMap<ResourceId, Vec<ResourceId>>> {
        let mut groups = BTreeMap::new();
        for id in user_ids {
            groups.insert(id.clone(), self.groups_of_user(tenant, id).await?);
        }
        Ok(groups)
    }

    // ---- groups ----

    /// Writes a new group with its initial members (each must be a user of the tenant: `MissingMember`).
    async fn create_group(&self, tenant: &TenantId, group: &GroupRecord, members: &[ResourceId]) -> StoreResult<()>;

    async fn get_group(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<GroupRecord>>;

    /// The group and the first `member_limit` member ids (ascending) in one read; the page's cursor continues with
    /// [`DirectoryStore::list_members`].
    async fn get_group_with_members(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
        member_limit: usize,
    ) -> StoreResult<Option<(GroupRecord, Page<ResourceId>)>>;

    /// The group and whether `user_id` is a member, in one read (Entra's `id eq .. and members eq ..` check).
    async fn group_with_membership(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> StoreResult<Option<(GroupRecord, bool)>>;

    /// Groups by id (missing ids are skipped), in ascending id order.
    async fn get_groups(&self, tenant: &TenantId, ids: &[ResourceId]) -> StoreResult<Vec<GroupRecord>>;

    /// Replaces the group's own attributes (not its members) if the stored version is still `previous.version`.
    async fn replace_group(&self, tenant: &TenantId, previous: &GroupRecord, next: &GroupRecord) -> StoreResult<()>;

    /// Deletes the group and all its memberships.
    async fn delete_group(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()>;

    /// Case-insensitive.
    async fn groups_by_display_name(&self, tenant: &TenantId, display_name: &str) -> StoreResult<Vec<GroupRecord>>;

    async fn groups_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<GroupRecord>>;

    async fn scan_groups(
        &self,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<GroupRecord>>;

    /// Member ids of a group, ascending, `limit` per page. `NotFound` if the group does not exist.
    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ResourceId>>;

    /// Adds members (idempotent). The group must exist (`NotFound`), with `expected_version` at that version
    /// (`VersionConflict`), and every id must be a user of the tenant (`MissingMember`).
    async fn add_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()>;

    /// Removes the listed members only (absent ones are ignored).
    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()>;

    /// Removes every member of the group.
    async fn remove_all_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()>;
}
