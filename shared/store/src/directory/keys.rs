//! The Directory table's key layout. Every partition key starts with `T#<tenant>#`, the tenant taken from the
//! access token; the tenant is escaped so that no tenant id can forge another tenant's prefix.
//!
//! | item            | pk                     | sk        | gsi1 (pk / sk)            | gsi2 (pk / sk)      | gsi3 (pk / sk)        |
//! |-----------------|------------------------|-----------|---------------------------|---------------------|-----------------------|
//! | user            | `T#t#U#<id>`           | `USER`    | `T#t#USERS` / id          | `T#t#UX#<extId>`/id | `T#t#UE#<email>` / id |
//! | group-of-user   | `T#t#U#<uid>`          | `G#<gid>` | `T#t#UGS` / `<uid>#<gid>` | -                   | -                     |
//! | userName marker | `T#t#UN#<folded name>` | `UN`      | -                         | -                   | -                     |
//! | group           | `T#t#G#<id>`           | `#G`      | `T#t#GROUPS` / id         | `T#t#GX#<extId>`/id | `T#t#GN#<name>` / id  |
//! | membership      | `T#t#G#<gid>`          | `M#<uid>` | -                         | -                   | -                     |
//!
//! A membership is two items, written and deleted in the same transaction: the membership in the group's item
//! collection and its reverse (group-of-user) in the user's. So a group with its members is one strongly
//! consistent Query of the group's collection per 1 MB (the group item sorts first), a user with its groups one
//! strongly consistent Query of the user's (its `G#` items sort before `USER`), the membership check one
//! BatchGetItem, and adding or removing one member touches two items whatever the group's size.
//!
//! gsi1 answers "users/groups of a tenant" (id-ordered scans) and "groups of the users of a list page": the
//! group-of-user items of a tenant share one gsi1 partition ordered by user id, so one range Query
//! (`BETWEEN <first uid>` and `<last uid>$`) returns the memberships of a whole page, 1 MB per call. gsi2 and gsi3
//! answer the equality lookups Entra uses. No hot path (userName lookup, GET/PUT/PATCH of one resource, membership
//! writes and checks) reads a GSI: GSIs are eventually consistent, and the local stack's moto answers each GSI
//! Query by scanning the whole table. Case-insensitive keys (userName, work e-mail, group displayName) are folded
//! with [`wif_scim::store::fold_case`].
//!
//! Membership items written before group-of-user items existed carry gsi1 `T#t#UG#<uid>` / gid and have no
//! reverse item: the one-off migration ([`super::migration`], `POST /migrations/directory-memberships`) writes the
//! reverse items and drops that key.
//!
//! A user or group being deleted carries the attribute `deleting` (see the delete protocol in [`super`]): every
//! membership write checks its absence, and the retried DELETE finishes the cleanup.

use wif_scim::store::{ResourceId, TenantId, fold_case};

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";

pub const USER_SK: &str = "USER";
pub const MARKER_SK: &str = "UN";
/// Sorts before every `M#` member key, so the group comes first in its collection.
pub const GROUP_SK: &str = "#G";
pub const MEMBER_SK_PREFIX: &str = "M#";
/// Group-of-user items in the user's partition; sort before `USER`.
pub const MEMBER_OF_SK_PREFIX: &str = "G#";
/// Set on a user or group whose delete has begun.
pub const DELETING: &str = "deleting";

/// `%` and `#` escaped: `#` separates key parts, `%` is the escape itself.
fn escape(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

#[derive(Debug, Clone)]
pub struct TenantKeys {
    prefix: String,
}

impl TenantKeys {
    pub fn new(tenant: &TenantId) -> Self {
        Self {
            prefix: format!("T#{}#", escape(tenant.as_str())),
        }
    }

    pub fn user_pk(&self, id: &ResourceId) -> String {
        format!("{}U#{id}", self.prefix)
    }

    pub fn marker_pk(&self, user_name: &str) -> String {
        format!("{}UN#{}", self.prefix, fold_case(user_name))
    }

    pub fn group_pk(&self, id: &ResourceId) -> String {
        format!("{}G#{id}", self.prefix)
    }

    pub fn member_sk(user_id: &ResourceId) -> String {
        format!("{MEMBER_SK_PREFIX}{user_id}")
    }

    pub fn users_partition(&self) -> String {
        format!("{}USERS", self.prefix)
    }

    pub fn groups_partition(&self) -> String {
        format!("{}GROUPS", self.prefix)
    }

    pub fn user_external_id(&self, external_id: &str) -> String {
        format!("{}UX#{external_id}", self.prefix)
    }

    pub fn user_work_email(&self, email: &str) -> String {
        format!("{}UE#{}", self.prefix, fold_case(email))
    }

    pub fn group_external_id(&self, external_id: &str) -> String {
        format!("{}GX#{external_id}", self.prefix)
    }

    pub fn group_display_name(&self, display_name: &str) -> String {
        format!("{}GN#{}", self.prefix, fold_case(display_name))
    }

    /// gsi1 partition of membership items written before the group-of-user items (read by the migration only).
    pub fn legacy_groups_of_user(&self, user_id: &ResourceId) -> String {
        format!("{}UG#{user_id}", self.prefix)
    }

    pub fn member_of_sk(group_id: &ResourceId) -> String {
        format!("{MEMBER_OF_SK_PREFIX}{group_id}")
    }

    /// gsi1 partition of every group-of-user item of the tenant.
    pub fn memberships_partition(&self) -> String {
        format!("{}UGS", self.prefix)
    }

    /// gsi1 sort key of a group-of-user item: ordered by user, then group.
    pub fn member_of_gsi_sk(user_id: &ResourceId, group_id: &ResourceId) -> String {
        format!("{user_id}#{group_id}")
    }

    /// Inclusive gsi1 sort-key bounds covering every group-of-user item of the users `first..=last` (`$` is the
    /// character after the `#` separator). Items of other users inside the range are the caller's to skip.
    pub fn member_of_gsi_range(first: &ResourceId, last: &ResourceId) -> (String, String) {
        (first.to_string(), format!("{last}$"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_cannot_forge_each_others_prefix() {
        let plain = TenantKeys::new(&"a".into());
        let sneaky = TenantKeys::new(&"a#U#x".into());
        assert_ne!(sneaky.user_pk(&"y".into()), plain.user_pk(&"x#y".into()));
        assert!(sneaky.user_pk(&"y".into()).starts_with("T#a%23U%23x#"));
        assert_eq!(TenantKeys::new(&"100%".into()).users_partition(), "T#100%25#USERS");
    }

    #[test]
    fn case_insensitive_keys_are_folded() {
        let keys = TenantKeys::new(&"t".into());
        assert_eq!(keys.marker_pk("Alice@X.com"), keys.marker_pk("alice@x.COM"));
        assert_eq!(keys.group_display_name("Sales"), keys.group_display_name("SALES"));
        assert_ne!(keys.user_external_id("A"), keys.user_external_id("a"));
        assert!(GROUP_SK < MEMBER_SK_PREFIX, "the group item sorts before its members");
        assert!(
            MEMBER_OF_SK_PREFIX < USER_SK,
            "a user's groups sort before the user item"
        );
    }

    #[test]
    fn the_membership_range_of_a_page_covers_exactly_its_users() {
        let (low, high) = TenantKeys::member_of_gsi_range(&"u1".into(), &"u3".into());
        let inside = |uid: &str, gid: &str| {
            let sk = TenantKeys::member_of_gsi_sk(&uid.into(), &gid.into());
            low <= sk && sk <= high
        };
        assert!(inside("u1", "g"), "first user");
        assert!(inside("u2", "zzz"), "a user between");
        assert!(inside("u3", "~~~~"), "last user, any group id");
        assert!(!inside("u0", "g") && !inside("u4", "g"), "users outside the page");
        assert!(!inside("u", "g"), "a prefix of the first id");
    }
}
