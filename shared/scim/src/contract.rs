//! The storage contract every [`DirectoryStore`] must pass: one reusable suite, run against the in-memory store by
//! this crate's unit tests and against DynamoDB (moto) by wif-store's integration tests, so both backends keep the
//! same semantics. Each check works in tenants of its own, so the suite can share one store (and one table) with
//! other tests.
//!
//! Checks panic with a message naming the broken rule (this is test support code).

mod groups;
mod races;
mod users;

use serde_json::{Map, json};

use crate::store::{DirectoryStore, GroupRecord, ResourceId, TenantId, UserRecord};

pub use groups::{
    delete_group_removes_memberships, group_versions_guard_writes, groups_round_trip_and_lookups, memberships,
};
pub use races::{concurrent_creates_of_one_user_name, concurrent_member_writers};
pub use users::{
    delete_user_removes_marker_and_memberships, replace_user_is_conditional_and_moves_the_marker,
    scans_page_in_id_order, user_lookups, user_name_is_unique_case_insensitively_per_tenant,
    users_round_trip_and_isolation,
};

fn tenant(label: &str) -> TenantId {
    TenantId::new(format!("contract-{label}-{}", uuid::Uuid::new_v4().simple()))
}

fn new_id() -> ResourceId {
    ResourceId::new(uuid::Uuid::new_v4().to_string())
}

/// A user record as the service would build it.
pub fn user(user_name: &str) -> UserRecord {
    let mut attributes = Map::new();
    attributes.insert("userName".into(), json!(user_name));
    attributes.insert("active".into(), json!(true));
    UserRecord {
        id: new_id(),
        version: 1,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        user_name: user_name.into(),
        external_id: None,
        work_email: None,
        attributes,
        password_hash: None,
    }
}

pub fn group(display_name: &str) -> GroupRecord {
    let mut attributes = Map::new();
    attributes.insert("displayName".into(), json!(display_name));
    GroupRecord {
        id: new_id(),
        version: 1,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        display_name: display_name.into(),
        external_id: None,
        attributes,
    }
}

fn bumped_user(previous: &UserRecord) -> UserRecord {
    let mut next = previous.clone();
    next.version = previous.version + 1;
    next.last_modified = "2026-01-02T00:00:00Z".into();
    next
}

/// Runs every check of the contract.
pub async fn run_all(store: &dyn DirectoryStore) {
    users_round_trip_and_isolation(store).await;
    user_name_is_unique_case_insensitively_per_tenant(store).await;
    replace_user_is_conditional_and_moves_the_marker(store).await;
    delete_user_removes_marker_and_memberships(store).await;
    user_lookups(store).await;
    scans_page_in_id_order(store).await;
    groups_round_trip_and_lookups(store).await;
    memberships(store).await;
    group_versions_guard_writes(store).await;
    delete_group_removes_memberships(store).await;
    concurrent_creates_of_one_user_name(store).await;
    concurrent_member_writers(store).await;
}
