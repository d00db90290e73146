//! The Directory table's key layout. Every partition key starts with `T#<tenant>#`, the tenant taken from the
//! access token; the tenant is escaped so that no tenant id can forge another tenant's prefix.
//!
//! | item            | pk                     | sk        | gsi1 (pk / sk)        | gsi2 (pk / sk)      | gsi3 (pk / sk)        |
//! |-----------------|------------------------|-----------|-----------------------|---------------------|-----------------------|
//! | user            | `T#t#U#<id>`           | `USER`    | `T#t#USERS` / id      | `T#t#UX#<extId>`/id | `T#t#UE#<email>` / id |
//! | userName marker | `T#t#UN#<folded name>` | `UN`      | -                     | -                   | -                     |
//! | group           | `T#t#G#<id>`           | `#G`      | `T#t#GROUPS` / id     | `T#t#GX#<extId>`/id | `T#t#GN#<name>` / id  |
//! | membership      | `T#t#G#<gid>`          | `M#<uid>` | `T#t#UG#<uid>` / gid  | -                   | -                     |
//!
//! A group and its memberships share one item collection: a group with its first members is one strongly
//! consistent Query, the membership check one BatchGetItem, and adding one member touches one new item whatever
//! the group's size. gsi1 answers "users/groups of a tenant" (id-ordered scans) and "groups of a user"; gsi2 and
//! gsi3 answer the equality lookups Entra uses. Case-insensitive keys (userName, work e-mail, group displayName)
//! are folded with [`wif_scim::store::fold_case`].

use wif_scim::store::{ResourceId, TenantId, fold_case};

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";

pub const USER_SK: &str = "USER";
pub const MARKER_SK: &str = "UN";
/// Sorts before every `M#` member key, so the group comes first in its collection.
pub const GROUP_SK: &str = "#G";
pub const MEMBER_SK_PREFIX: &str = "M#";

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

    pub fn groups_of_user(&self, user_id: &ResourceId) -> String {
        format!("{}UG#{user_id}", self.prefix)
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
    }
}
