//! A [`ChangeEvent`] as the claims of a Security Event Token (RFC 8417) profiled by RFC 9967, at one receiver's
//! data level, and the `jti` that names it.
//!
//! - `sub_id` (RFC 9967 §2.1, format `scim`): `uri` and `id` always; `externalId` and a user's `userName` (a
//!   server-unique attribute, §2.1) from the `notice` level up. No `sub` claim (§2.1).
//! - `events`: the provisioning event (§2.4.1–§2.4.4) with `attributes` (notice) or `data` (full), never both
//!   (§2.4), and `version` (§2.2); `prov:activate` / `prov:deactivate` (§2.4.5, §2.4.6) beside it when the change
//!   flipped `active` — one SET per committed change (§2.1).
//! - `txn` (RFC 8417 §2.2, RFC 9967 §2.2): the stream record id, shared by the SETs of one change at every level;
//!   `jti` (RFC 7519 §4.1.7): `<change id>.<level>`, stable across redeliveries so receivers can drop duplicates.
//! - `toe` (RFC 8417 §2.2): the commit time (DynamoDB Streams resolves it to the second). No `exp` (RFC 8417
//!   §2.2: NOT RECOMMENDED).
//! - `seq` (private): the stream sequence number, a decimal string that grows with every change of an item —
//!   RFC 8417 §5.3 asks profiles for an ordering value, and a poll answer's `sets` object has no order.
//!   Compare by length, then lexically.
//! - header `typ: secevent+jwt` (RFC 8417 §2.3), added when signing.

use serde_json::{Map, Value, json};
use wif_auth::event_settings::EventDataLevel;

use crate::change::{Action, Activation, ChangeEvent};

pub const CREATE_FULL: &str = "urn:ietf:params:scim:event:prov:create:full";
pub const CREATE_NOTICE: &str = "urn:ietf:params:scim:event:prov:create:notice";
pub const PATCH_FULL: &str = "urn:ietf:params:scim:event:prov:patch:full";
pub const PATCH_NOTICE: &str = "urn:ietf:params:scim:event:prov:patch:notice";
pub const PUT_FULL: &str = "urn:ietf:params:scim:event:prov:put:full";
pub const PUT_NOTICE: &str = "urn:ietf:params:scim:event:prov:put:notice";
pub const DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
pub const ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
pub const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";

/// Every event URI this service emits (for the ServiceProviderConfig's `securityEvents.eventUris`, RFC 9967 §4).
pub const EMITTED: [&str; 9] = [
    CREATE_FULL,
    CREATE_NOTICE,
    PATCH_FULL,
    PATCH_NOTICE,
    PUT_FULL,
    PUT_NOTICE,
    DELETE,
    ACTIVATE,
    DEACTIVATE,
];

/// The JWS `typ` of a SET (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";

/// The URI of a provisioning action (RFC 9967 §2.4: `full` when `data` is included, `notice` otherwise; delete
/// has no qualifier, §2.4.4).
pub fn action_uri(action: Action, full: bool) -> &'static str {
    match (action, full) {
        (Action::Create, true) => CREATE_FULL,
        (Action::Create, false) => CREATE_NOTICE,
        (Action::Put, true) => PUT_FULL,
        (Action::Put, false) => PUT_NOTICE,
        (Action::Patch, true) => PATCH_FULL,
        (Action::Patch, false) => PATCH_NOTICE,
        (Action::Delete, _) => DELETE,
    }
}

/// The `jti` of a change's SET at one level.
pub fn jti(change_id: &str, level: EventDataLevel) -> String {
    format!("{change_id}.{}", level.as_str())
}

/// A `jti` split into change id and level; `None` for anything this service did not issue.
pub fn parse_jti(jti: &str) -> Option<(&str, EventDataLevel)> {
    let (change_id, level) = jti.split_once('.')?;
    let hex = change_id.len() == 32 && change_id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then_some(())?;
    Some((change_id, EventDataLevel::parse(level)?))
}

/// Who issues the SETs and names the feeds (`WIF_EVENTS_ISSUER`, the public events base URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(pub String);

impl Issuer {
    /// The audience of a tenant's SETs: its feed (RFC 9967's examples use feed URIs as `aud`).
    pub fn feed_uri(&self, tenant: &str) -> String {
        format!("{}/feeds/{tenant}", self.0.trim_end_matches('/'))
    }
}

/// The SET claims of `event` at `level`, issued at `iat` (Unix seconds).
///
/// A membership change is a `prov:patch:full` event at every level: its `data` is the equivalent PATCH request
/// (RFC 9967 §2.2, Figure 6), which names only the group and the member by id, and it is the only way to say
/// whether the member was added or removed.
pub fn claims(event: &ChangeEvent, level: EventDataLevel, issuer: &Issuer, iat: i64) -> Value {
    let full = (level == EventDataLevel::Full || event.is_membership()) && event.data.is_some();
    let mut events = Map::new();
    let mut payload = Map::new();
    if event.action != Action::Delete {
        if full {
            payload.insert("data".into(), event.data.clone().unwrap_or(Value::Null));
        } else {
            payload.insert("attributes".into(), json!(event.attributes));
        }
    }
    if let Some(version) = event.version {
        payload.insert("version".into(), Value::from(format!("W/\"{version}\"")));
    }
    events.insert(action_uri(event.action, full).into(), Value::Object(payload));
    match event.activation {
        Some(Activation::Activate) => events.insert(ACTIVATE.into(), json!({})),
        Some(Activation::Deactivate) => events.insert(DEACTIVATE.into(), json!({})),
        None => None,
    };
    json!({
        "iss": issuer.0,
        "iat": iat,
        "jti": jti(&event.change_id, level),
        "aud": issuer.feed_uri(&event.tenant),
        "txn": event.txn,
        "toe": event.toe_ms as f64 / 1000.0,
        "seq": event.sequence,
        "tenant": event.tenant,
        "sub_id": sub_id(event, level),
        "events": events,
    })
}

fn sub_id(event: &ChangeEvent, level: EventDataLevel) -> Value {
    let mut sub_id = Map::new();
    sub_id.insert("format".into(), Value::from("scim"));
    sub_id.insert(
        "uri".into(),
        Value::from(event.resource_type.relative_uri(&event.resource_id)),
    );
    sub_id.insert("id".into(), Value::from(event.resource_id.as_str()));
    if level != EventDataLevel::Ids {
        if let Some(external_id) = &event.external_id {
            sub_id.insert("externalId".into(), Value::from(external_id.as_str()));
        }
        if let Some(user_name) = &event.user_name {
            sub_id.insert("userName".into(), Value::from(user_name.as_str()));
        }
    }
    Value::Object(sub_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, DirectoryChange, RecordOrigin, ResourceType, WriteKind};
    use crate::testing::user_state;

    fn deactivation() -> ChangeEvent {
        let before = user_state(
            "u1",
            1,
            json!({"userName": "alice@contoso.com", "externalId": "alice", "active": true}),
        );
        let mut after = user_state(
            "u1",
            2,
            json!({"userName": "alice@contoso.com", "externalId": "alice", "active": false}),
        );
        after.written_by = WriteKind::Patch;
        ChangeEvent::of(
            &RecordOrigin {
                record_id: "r1".into(),
                committed_at_ms: 1_767_225_600_250,
                sequence: "100".into(),
            },
            &DirectoryChange {
                tenant: "contoso".into(),
                change: Change::Updated {
                    resource_type: ResourceType::User,
                    before,
                    after,
                },
            },
        )
    }

    fn issuer() -> Issuer {
        Issuer("https://events.isv.example/".into())
    }

    #[test]
    fn notice_level_names_the_subject_and_the_changed_attributes() {
        let event = deactivation();
        let set = claims(&event, EventDataLevel::Notice, &issuer(), 1_767_225_601);
        assert_eq!(set["jti"], jti(&event.change_id, EventDataLevel::Notice));
        assert_eq!(set["txn"], "r1");
        assert_eq!(set["toe"], 1_767_225_600.25);
        assert_eq!(set["aud"], "https://events.isv.example/feeds/contoso");
        assert_eq!(set["tenant"], "contoso");
        assert!(set.get("sub").is_none() && set.get("exp").is_none());
        assert_eq!(
            set["sub_id"],
            json!({"format": "scim", "uri": "/Users/u1", "id": "u1", "externalId": "alice", "userName": "alice@contoso.com"})
        );
        assert_eq!(
            set["events"],
            json!({PATCH_NOTICE: {"attributes": ["active"], "version": "W/\"2\""}, DEACTIVATE: {}})
        );
    }

    #[test]
    fn ids_level_carries_no_personal_data() {
        let set = claims(&deactivation(), EventDataLevel::Ids, &issuer(), 0);
        let text = set.to_string();
        assert!(!text.contains("alice"), "{text}");
        assert_eq!(set["sub_id"], json!({"format": "scim", "uri": "/Users/u1", "id": "u1"}));
    }

    #[test]
    fn full_level_carries_data_instead_of_attribute_names() {
        let set = claims(&deactivation(), EventDataLevel::Full, &issuer(), 0);
        let payload = &set["events"][PATCH_FULL];
        assert_eq!(payload["data"]["active"], false);
        assert_eq!(payload["data"]["id"], "u1");
        assert!(
            payload.get("attributes").is_none(),
            "exactly one of data or attributes (RFC 9967 §2.4)"
        );
        assert!(set["events"].get(DEACTIVATE).is_some());
    }

    #[test]
    fn membership_changes_say_add_or_remove_even_without_personal_data() {
        let event = ChangeEvent::of(
            &RecordOrigin {
                record_id: "r".into(),
                committed_at_ms: 0,
                sequence: "100".into(),
            },
            &DirectoryChange {
                tenant: "t".into(),
                change: Change::MemberRemoved {
                    group_id: "g1".into(),
                    user_id: "u1".into(),
                },
            },
        );
        let set = claims(&event, EventDataLevel::Ids, &issuer(), 0);
        assert_eq!(set["events"][PATCH_FULL]["data"]["Operations"][0]["op"], "remove");
        assert_eq!(
            set["sub_id"],
            json!({"format": "scim", "uri": "/Groups/g1", "id": "g1"})
        );
    }

    #[test]
    fn deletes_have_no_payload_and_no_qualifier() {
        let mut event = deactivation();
        event.action = Action::Delete;
        event.version = None;
        event.activation = None;
        let set = claims(&event, EventDataLevel::Full, &issuer(), 0);
        assert_eq!(set["events"], json!({DELETE: {}}));
    }

    #[test]
    fn jtis_round_trip_and_refuse_foreign_shapes() {
        let id = crate::change::change_id("x");
        let jti = jti(&id, EventDataLevel::Full);
        assert_eq!(parse_jti(&jti), Some((id.as_str(), EventDataLevel::Full)));
        for bad in [
            "",
            "abc",
            "4d3559ec67504aaba65d40b0363faad8",
            &format!("{id}.all"),
            &format!("{}.ids", &id[1..]),
        ] {
            assert_eq!(parse_jti(bad), None, "{bad}");
        }
        assert_eq!(parse_jti(&format!("{}.ids", id.to_uppercase())), None);
    }

    #[test]
    fn every_action_has_its_uris() {
        assert_eq!(action_uri(Action::Create, true), CREATE_FULL);
        assert_eq!(action_uri(Action::Put, false), PUT_NOTICE);
        assert_eq!(action_uri(Action::Delete, true), DELETE);
        assert!(
            EMITTED
                .iter()
                .all(|uri| uri.starts_with("urn:ietf:params:scim:event:prov:"))
        );
    }
}
