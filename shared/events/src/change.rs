//! A committed directory change as the stream decoder (`wif_store::directory::stream`) hands it over, and the
//! level-independent [`ChangeEvent`] it becomes. One committed change is one event: the SET built from it
//! ([`crate::set`]) may name several event URIs (RFC 9967 §2.1: "a SET with multiple event URIs indicates that the
//! events arise from the same transaction"), e.g. a PATCH that sets `active` to false is `prov:patch` plus
//! `prov:deactivate` in one SET.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The SCIM resource types whose changes become events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }

    /// The resource's path relative to the SCIM base URI (RFC 9967 §2.1 `sub_id.uri`).
    pub fn relative_uri(self, id: &str) -> String {
        match self {
            ResourceType::User => format!("/Users/{id}"),
            ResourceType::Group => format!("/Groups/{id}"),
        }
    }
}

/// How a resource was last written. The SCIM writes store it with the resource, in the same write, so the stream
/// tells a PUT from a PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteKind {
    Create,
    Replace,
    Patch,
}

/// A user or group as stored: what the decoder reads from one stream image.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    pub id: String,
    pub version: u64,
    pub created: String,
    pub last_modified: String,
    pub external_id: Option<String>,
    /// `userName` of a user, `displayName` of a group.
    pub name: String,
    /// The stored SCIM attributes (without `id`, `meta`, derived `groups`/`members` and `password`).
    pub attributes: Map<String, Value>,
    /// Only compared (a changed hash means `password` was written), never put into an event.
    pub password_hash: Option<String>,
    pub written_by: WriteKind,
}

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Created(ResourceType, ResourceState),
    Updated {
        resource_type: ResourceType,
        before: ResourceState,
        after: ResourceState,
    },
    Deleted(ResourceType, ResourceState),
    MemberAdded {
        group_id: String,
        user_id: String,
    },
    MemberRemoved {
        group_id: String,
        user_id: String,
    },
}

/// One committed change of one tenant's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryChange {
    pub tenant: String,
    pub change: Change,
}

/// The stream record a change came from: its id is stable across redeliveries (the `txn`, and the seed of every
/// `jti`), its time is the commit time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    pub record_id: String,
    /// Commit time in Unix milliseconds (the stream record's approximate creation time).
    pub committed_at_ms: i64,
    /// The stream sequence number: increases with every change of an item, so it orders one resource's events.
    pub sequence: String,
}

/// The provisioning action (RFC 9967 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create,
    Put,
    Patch,
    Delete,
}

/// An account status change of a user (RFC 9967 §2.4.5, §2.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Activate,
    Deactivate,
}

/// The event of one committed change, independent of any receiver's data level; stored once, rendered per level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Derived from the stream record id: the same committed change always gets the same id.
    pub change_id: String,
    pub tenant: String,
    /// RFC 8417 §2.2 / RFC 9967 §2.2 `txn`: the stream record id.
    pub txn: String,
    /// Commit time, Unix milliseconds (RFC 8417 `toe`).
    pub toe_ms: i64,
    /// The stream sequence number (see [`RecordOrigin::sequence`]).
    #[serde(default)]
    pub sequence: String,
    pub resource_type: ResourceType,
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// A user's `userName` (RFC 9967 §2.1 allows server-unique attributes in `sub_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The resource's version after the change (absent for deletes and membership changes, which do not change
    /// the group's version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Changed attribute paths (RFC 7644 §3.5.2 `path` syntax).
    pub attributes: Vec<String>,
    /// The `full` payload: the resource's representation after the change, or for a membership change the
    /// equivalent PATCH request (RFC 9967 §2.2 `data`). Absent for deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// `hex(SHA-256("wif-scim-events/v1\n" + record id))`, first 128 bits: stable per committed change.
pub fn change_id(record_id: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("wif-scim-events/v1\n{record_id}").as_bytes(),
    );
    hex::encode(&digest.as_ref()[..16])
}

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

impl ChangeEvent {
    /// The event of a committed change.
    pub fn of(origin: &RecordOrigin, change: &DirectoryChange) -> Self {
        let mut event = match &change.change {
            Change::Created(kind, after) => resource_event(*kind, Action::Create, after, Some(after)),
            Change::Updated {
                resource_type,
                before,
                after,
            } => {
                let action = if after.written_by == WriteKind::Patch {
                    Action::Patch
                } else {
                    Action::Put
                };
                let mut event = resource_event(*resource_type, action, after, Some(after));
                event.attributes = changed_paths(before, after);
                if *resource_type == ResourceType::User {
                    event.activation = match (is_active(before), is_active(after)) {
                        (true, false) => Some(Activation::Deactivate),
                        (false, true) => Some(Activation::Activate),
                        _ => None,
                    };
                }
                event
            }
            Change::Deleted(kind, before) => {
                let mut event = resource_event(*kind, Action::Delete, before, None);
                event.version = None;
                event.attributes = Vec::new();
                event
            }
            Change::MemberAdded { group_id, user_id } => membership_event(group_id, user_id, true),
            Change::MemberRemoved { group_id, user_id } => membership_event(group_id, user_id, false),
        };
        event.change_id = change_id(&origin.record_id);
        event.tenant = change.tenant.clone();
        event.txn = origin.record_id.clone();
        event.toe_ms = origin.committed_at_ms;
        event.sequence = origin.sequence.clone();
        event
    }

    /// Whether this is a group membership change (its `data` is a PATCH request).
    pub fn is_membership(&self) -> bool {
        self.resource_type == ResourceType::Group
            && self.data.as_ref().is_some_and(|data| data.get("Operations").is_some())
    }

    /// The event URI that names this event best on its own (EventBridge `detail-type`, log lines): the status
    /// change when there is one, else the provisioning action.
    pub fn primary_uri(&self, full: bool) -> &'static str {
        match self.activation {
            Some(Activation::Activate) => crate::set::ACTIVATE,
            Some(Activation::Deactivate) => crate::set::DEACTIVATE,
            None => crate::set::action_uri(self.action, full),
        }
    }
}

fn empty_event(resource_type: ResourceType, resource_id: &str, action: Action) -> ChangeEvent {
    ChangeEvent {
        change_id: String::new(),
        tenant: String::new(),
        txn: String::new(),
        toe_ms: 0,
        sequence: String::new(),
        resource_type,
        resource_id: resource_id.to_owned(),
        external_id: None,
        user_name: None,
        version: None,
        action,
        activation: None,
        attributes: Vec::new(),
        data: None,
    }
}

fn resource_event(
    kind: ResourceType,
    action: Action,
    state: &ResourceState,
    representation_of: Option<&ResourceState>,
) -> ChangeEvent {
    let mut event = empty_event(kind, &state.id, action);
    event.external_id = state.external_id.clone();
    event.user_name = (kind == ResourceType::User).then(|| state.name.clone());
    event.version = Some(state.version);
    event.attributes = created_paths(state);
    event.data = representation_of.map(|s| representation(kind, s));
    event
}

fn membership_event(group_id: &str, user_id: &str, added: bool) -> ChangeEvent {
    let mut event = empty_event(ResourceType::Group, group_id, Action::Patch);
    // A valuePath (RFC 7644 §3.5.2) names the member even at the ids-only level.
    event.attributes = vec![format!("members[value eq \"{user_id}\"]")];
    let operation = if added {
        json!({"op": "add", "path": "members",
               "value": [{"value": user_id, "$ref": ResourceType::User.relative_uri(user_id)}]})
    } else {
        json!({"op": "remove", "path": format!("members[value eq \"{user_id}\"]")})
    };
    event.data = Some(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [operation]}));
    event
}

/// The resource as a SCIM GET would return it (RFC 9967 §2.4 "final representation"), with a relative location.
fn representation(kind: ResourceType, state: &ResourceState) -> Value {
    let mut resource = state.attributes.clone();
    resource.insert("id".into(), Value::from(state.id.as_str()));
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": kind.as_str(),
            "created": state.created,
            "lastModified": state.last_modified,
            "version": format!("W/\"{}\"", state.version),
            "location": kind.relative_uri(&state.id),
        }),
    );
    Value::Object(resource)
}

/// `active` absent counts as active (RFC 7643 leaves its default to the provider; Entra always sends it).
fn is_active(state: &ResourceState) -> bool {
    match state.attributes.get("active") {
        Some(Value::Bool(active)) => *active,
        Some(Value::String(text)) => !text.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// Every attribute a create set: `id` plus each stored top-level attribute.
fn created_paths(state: &ResourceState) -> Vec<String> {
    let mut paths: Vec<String> = std::iter::once("id".to_owned())
        .chain(state.attributes.keys().filter(|k| *k != "schemas").cloned())
        .collect();
    if state.password_hash.is_some() {
        paths.push("password".into());
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Attribute paths whose values differ: sub-attributes of complex single-valued attributes (`name.givenName`) and
/// of schema extensions (`urn:...:User:manager`), top-level names otherwise.
pub fn changed_paths(before: &ResourceState, after: &ResourceState) -> Vec<String> {
    let mut paths = Vec::new();
    let names: std::collections::BTreeSet<&String> = before.attributes.keys().chain(after.attributes.keys()).collect();
    for name in names.into_iter().filter(|n| *n != "schemas") {
        let (old, new) = (before.attributes.get(name), after.attributes.get(name));
        if old == new {
            continue;
        }
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let separator = if name.starts_with("urn:") { ":" } else { "." };
                let subs: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for sub in subs.into_iter().filter(|s| a.get(*s) != b.get(*s)) {
                    paths.push(format!("{name}{separator}{sub}"));
                }
            }
            _ => paths.push(name.clone()),
        }
    }
    if before.password_hash != after.password_hash {
        paths.push("password".into());
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::state;

    fn origin() -> RecordOrigin {
        RecordOrigin {
            record_id: "rec-1".into(),
            committed_at_ms: 1_767_225_600_123,
            sequence: "100".into(),
        }
    }

    fn event_of(change: Change) -> ChangeEvent {
        ChangeEvent::of(
            &origin(),
            &DirectoryChange {
                tenant: "t1".into(),
                change,
            },
        )
    }

    #[test]
    fn change_ids_are_stable_and_distinct() {
        assert_eq!(change_id("a"), change_id("a"));
        assert_ne!(change_id("a"), change_id("b"));
        assert_eq!(change_id("a").len(), 32);
    }

    #[test]
    fn a_patch_that_disables_is_one_event_with_deactivate() {
        let before = state(
            "u1",
            1,
            json!({"userName": "alice@contoso.com", "active": true, "name": {"givenName": "A", "familyName": "L"}}),
            WriteKind::Create,
        );
        let after = state(
            "u1",
            2,
            json!({"userName": "alice@contoso.com", "active": false, "name": {"givenName": "A", "familyName": "M"}}),
            WriteKind::Patch,
        );
        let event = event_of(Change::Updated {
            resource_type: ResourceType::User,
            before,
            after,
        });
        assert_eq!(event.action, Action::Patch);
        assert_eq!(event.activation, Some(Activation::Deactivate));
        assert_eq!(event.attributes, vec!["active", "name.familyName"]);
        assert_eq!(event.version, Some(2));
        assert_eq!(event.user_name.as_deref(), Some("alice@contoso.com"));
        assert_eq!(event.txn, "rec-1");
        assert_eq!(event.tenant, "t1");
        assert_eq!(event.data.as_ref().unwrap()["meta"]["version"], "W/\"2\"");
        assert_eq!(event.primary_uri(false), crate::set::DEACTIVATE);
    }

    #[test]
    fn put_and_patch_and_reactivation_are_told_apart() {
        let before = state("u1", 3, json!({"userName": "a", "active": "False"}), WriteKind::Patch);
        let after = state("u1", 4, json!({"userName": "a", "active": true}), WriteKind::Replace);
        let event = event_of(Change::Updated {
            resource_type: ResourceType::User,
            before,
            after,
        });
        assert_eq!(event.action, Action::Put);
        assert_eq!(event.activation, Some(Activation::Activate));
    }

    #[test]
    fn extension_paths_use_the_urn_and_password_is_named_not_shown() {
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let before = state(
            "u1",
            1,
            json!({urn: {"department": "A", "manager": {"value": "m"}}}),
            WriteKind::Create,
        );
        let mut after = state(
            "u1",
            2,
            json!({urn: {"department": "B", "manager": {"value": "m"}}}),
            WriteKind::Patch,
        );
        after.password_hash = Some("pbkdf2$..".into());
        assert_eq!(
            changed_paths(&before, &after),
            vec![format!("{urn}:department"), "password".to_owned()]
        );
        let event = event_of(Change::Created(ResourceType::User, after));
        assert!(event.attributes.contains(&"password".to_owned()));
        assert!(!event.data.unwrap().to_string().contains("pbkdf2"));
    }

    #[test]
    fn membership_changes_are_group_patches_naming_the_member() {
        let event = event_of(Change::MemberAdded {
            group_id: "g1".into(),
            user_id: "u9".into(),
        });
        assert_eq!(
            (event.resource_type, event.action),
            (ResourceType::Group, Action::Patch)
        );
        assert_eq!(event.attributes, vec!["members[value eq \"u9\"]"]);
        assert_eq!(event.version, None);
        assert_eq!(event.data.unwrap()["Operations"][0]["op"], "add");
        let removed = event_of(Change::MemberRemoved {
            group_id: "g1".into(),
            user_id: "u9".into(),
        });
        assert_eq!(
            removed.data.unwrap()["Operations"][0]["path"],
            "members[value eq \"u9\"]"
        );
    }

    #[test]
    fn deletes_carry_identifiers_only() {
        let before = state(
            "g1",
            5,
            json!({"displayName": "Sales", "externalId": "x"}),
            WriteKind::Patch,
        );
        let event = event_of(Change::Deleted(ResourceType::Group, before));
        assert_eq!(event.action, Action::Delete);
        assert_eq!((event.version, event.data.is_none()), (None, true));
        assert_eq!(event.external_id.as_deref(), Some("x"));
        assert!(event.attributes.is_empty());
    }
}
