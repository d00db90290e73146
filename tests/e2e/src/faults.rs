//! DynamoDB faults on the running stack: the functions reach moto through the fault proxy
//! (`wif_testkit::fault_proxy`, started by infra/local/start.sh), and a test programs it over its control API.
//! Every rule a test adds must be scoped to that test's own customer, so tests running beside it see a healthy
//! DynamoDB: [`tenant_scope`] for its Directory items, its client id for the token endpoint's items.
//!
//! After faults, [`DirectoryItems`] reads the customer's Directory items straight from moto (past the proxy and
//! the API) and names every broken invariant: a user without its userName marker, an orphaned marker, a
//! membership of a user or group that does not exist.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use wif_testkit::fault_proxy::{FaultControl, Rule, RuleReport};

use crate::stack::LocalStack;

/// The body text every Directory request of `tenant` contains: its key prefix `T#<tenant>#`, with `%` and `#`
/// escaped as the store escapes them (shared/store/src/directory/keys.rs).
pub fn tenant_scope(tenant_id: &str) -> String {
    format!("T#{}#", tenant_id.replace('%', "%25").replace('#', "%23"))
}

/// The rules one test added; [`StackFaults::clear`] removes them (and only them).
pub struct StackFaults {
    control: FaultControl,
    added: std::sync::Mutex<Vec<u64>>,
}

impl StackFaults {
    pub fn of(stack: &LocalStack) -> StackFaults {
        StackFaults {
            control: FaultControl::new(&stack.dynamodb_faults_url),
            added: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Adds a rule; it must name something of this test's customer in `body_contains`.
    pub async fn add(&self, rule: Rule) -> u64 {
        assert!(
            !rule.body_contains.is_empty(),
            "an unscoped fault rule would hit the tests running beside this one"
        );
        let id = self.control.add(&rule).await.expect("fault proxy control API");
        self.added.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        id
    }

    pub async fn report(&self, id: u64) -> RuleReport {
        self.control.report(id).await.expect("fault proxy control API")
    }

    /// Removes every rule this handle added: DynamoDB is healthy again for this customer.
    pub async fn clear(&self) {
        let ids = std::mem::take(&mut *self.added.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            self.control.remove(id).await.expect("fault proxy control API");
        }
    }
}

type Item = std::collections::HashMap<String, AttributeValue>;

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

/// Every Directory item of one tenant, by its `type`.
#[derive(Debug, Default)]
pub struct DirectoryItems {
    pub users: Vec<Item>,
    pub markers: Vec<Item>,
    pub groups: Vec<Item>,
    pub memberships: Vec<Item>,
    /// The user-partition half of each membership (`MemberOf`, written in the same transaction).
    pub member_of: Vec<Item>,
    /// Items of any other type (none expected).
    pub others: Vec<Item>,
}

impl DirectoryItems {
    /// A strongly consistent scan of the Directory table for the tenant's key prefix.
    pub async fn read(stack: &LocalStack, tenant_id: &str) -> DirectoryItems {
        let client = crate::stack::dynamodb(stack).await;
        let table = crate::stack::table_name(wif_store::TableKind::Directory);
        let pages = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .filter_expression("begins_with(pk, :tenant)")
            .expression_attribute_values(":tenant", AttributeValue::S(tenant_scope(tenant_id)))
            .into_paginator()
            .items()
            .send();
        let items: Result<Vec<Item>, _> = pages.collect().await;
        let items = items.expect("scan the Directory table");
        let mut sorted = DirectoryItems::default();
        for item in items {
            let bucket = match text(&item, "type") {
                "User" => &mut sorted.users,
                "UserNameMarker" => &mut sorted.markers,
                "Group" => &mut sorted.groups,
                "Membership" => &mut sorted.memberships,
                "MemberOf" => &mut sorted.member_of,
                _ => &mut sorted.others,
            };
            bucket.push(item);
        }
        sorted
    }

    /// Every broken invariant of the stored items (empty when the directory is whole).
    pub fn violations(&self, tenant_id: &str) -> Vec<String> {
        let scope = tenant_scope(tenant_id);
        let users: BTreeMap<&str, &str> = self
            .users
            .iter()
            .map(|u| (text(u, "id"), text(u, "user_name")))
            .collect();
        let groups: BTreeSet<&str> = self.groups.iter().map(|g| text(g, "id")).collect();
        let mut violations: Vec<String> = self.others.iter().map(|i| format!("unknown item {i:?}")).collect();
        let mut marked: BTreeMap<&str, usize> = BTreeMap::new();
        for marker in &self.markers {
            let owner = text(marker, "user_id");
            match users.get(owner) {
                None => violations.push(format!("orphaned userName marker {}", text(marker, "pk"))),
                Some(name) if text(marker, "pk") != format!("{scope}UN#{}", name.to_lowercase()) => {
                    violations.push(format!("marker {} names user {owner} ({name})", text(marker, "pk")))
                }
                Some(_) => *marked.entry(owner).or_default() += 1,
            }
        }
        for (id, name) in &users {
            let markers = marked.get(id).copied().unwrap_or(0);
            if markers != 1 {
                violations.push(format!("user {id} ({name}) has {markers} userName markers"));
            }
        }
        for membership in &self.memberships {
            let (group, user) = (text(membership, "group_id"), text(membership, "user_id"));
            if !groups.contains(group) || !users.contains_key(user) {
                violations.push(format!(
                    "membership of user {user} in group {group}: one of them does not exist"
                ));
            }
        }
        violations.extend(self.halves_without_their_pair());
        // A delete that converged leaves nothing marked as being deleted.
        for item in self.users.iter().chain(&self.groups) {
            if item.contains_key("deleting") {
                violations.push(format!("{} is still marked as being deleted", text(item, "pk")));
            }
        }
        violations
    }

    /// A membership and its `MemberOf` item exist together or not at all.
    fn halves_without_their_pair(&self) -> Vec<String> {
        let pair = |item: &Item| (text(item, "group_id").to_owned(), text(item, "user_id").to_owned());
        let in_groups: BTreeSet<(String, String)> = self.memberships.iter().map(pair).collect();
        let in_users: BTreeSet<(String, String)> = self.member_of.iter().map(pair).collect();
        let only_group_side = in_groups
            .difference(&in_users)
            .map(|(group, user)| format!("membership of user {user} in group {group} has no MemberOf item"));
        let only_user_side = in_users
            .difference(&in_groups)
            .map(|(group, user)| format!("MemberOf item of user {user} for group {group} has no membership"));
        only_group_side.chain(only_user_side).collect()
    }
}
