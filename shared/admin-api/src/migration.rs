//! `POST /migrations/directory-memberships[?cursor=]`: membership items stored before group-of-user items existed
//! get their reverse item (so a user's `groups` and a user's delete see them), and memberships of users or groups
//! that no longer exist are removed. Each call scans a bounded slice of the Directory table; call again with
//! `next_cursor` until it is absent (the `wif-admin migrate directory-memberships` command does).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipMigration {
    /// Directory items read by this call.
    pub examined: usize,
    /// Memberships that got their group-of-user item.
    pub migrated: usize,
    /// Memberships of a user or group that no longer exists, removed.
    pub orphans_removed: usize,
    /// Memberships of a user or group being deleted right now, left for the next run.
    #[serde(default)]
    pub skipped: usize,
    /// Where the next call continues; absent when the whole table was scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
