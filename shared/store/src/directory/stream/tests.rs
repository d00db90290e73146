//! One row per kind of Directory item and stream event: whoever adds an item kind to the codec adds its rows here.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, json};
use wif_scim::store::{GroupRecord, UserRecord, WriteKind as StoredWriteKind};

use super::*;
use crate::directory::codec::{group_item, marker_item, member_of_item, membership_item, s, user_item};
use crate::directory::keys::TenantKeys;

const TENANT: &str = "contoso#1%";

fn user(version: u64, active: bool, written_by: StoredWriteKind) -> UserRecord {
    let mut attributes = Map::new();
    attributes.insert("userName".into(), json!("alice@contoso.com"));
    attributes.insert("active".into(), json!(active));
    UserRecord {
        id: "u1".into(),
        version,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-02T00:00:00Z".into(),
        user_name: "alice@contoso.com".into(),
        external_id: Some("alice".into()),
        work_email: None,
        attributes,
        password_hash: None,
        written_by,
    }
}

fn group(version: u64, written_by: StoredWriteKind) -> GroupRecord {
    let mut attributes = Map::new();
    attributes.insert("displayName".into(), json!("Sales"));
    GroupRecord {
        id: "g1".into(),
        version,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-02T00:00:00Z".into(),
        display_name: "Sales".into(),
        external_id: None,
        attributes,
        written_by,
    }
}

/// (row name, event name, old image, new image, expectation)
type Row<'a> = (&'a str, &'a str, Option<&'a Item>, Option<&'a Item>, Expect);

/// What a row expects, in a form that is easy to compare.
#[derive(Debug, PartialEq)]
enum Expect {
    Nothing,
    Created(ResourceType, WriteKind),
    Updated(ResourceType, WriteKind, u64),
    Deleted(ResourceType),
    MemberAdded,
    MemberRemoved,
}

fn summary(change: Option<DirectoryChange>) -> Expect {
    let Some(change) = change else { return Expect::Nothing };
    assert_eq!(change.tenant, TENANT, "the tenant comes back unescaped");
    match change.change {
        Change::Created(kind, state) => Expect::Created(kind, state.written_by),
        Change::Updated {
            resource_type,
            before,
            after,
        } => Expect::Updated(resource_type, after.written_by, before.version),
        Change::Deleted(kind, _) => Expect::Deleted(kind),
        Change::MemberAdded { group_id, user_id } => {
            assert_eq!((group_id.as_str(), user_id.as_str()), ("g1", "u1"));
            Expect::MemberAdded
        }
        Change::MemberRemoved { group_id, user_id } => {
            assert_eq!((group_id.as_str(), user_id.as_str()), ("g1", "u1"));
            Expect::MemberRemoved
        }
    }
}

#[test]
fn every_item_kind_and_event_decodes_as_expected() {
    let keys = TenantKeys::new(&TENANT.into());
    let u1 = user_item(&keys, &user(1, true, StoredWriteKind::Create)).unwrap();
    let u2_patch = user_item(&keys, &user(2, false, StoredWriteKind::Patch)).unwrap();
    let u2_put = user_item(&keys, &user(2, true, StoredWriteKind::Replace)).unwrap();
    let g1 = group_item(&keys, &group(1, StoredWriteKind::Create)).unwrap();
    let g2 = group_item(&keys, &group(2, StoredWriteKind::Patch)).unwrap();
    let member = membership_item(&keys, &"g1".into(), &"u1".into());
    let marker = marker_item(&keys, &user(1, true, StoredWriteKind::Create));
    let member_of = member_of_item(&keys, &"g1".into(), &"u1".into());
    let mut u2_deleting = u2_patch.clone();
    u2_deleting.insert("deleting".into(), AttributeValue::Bool(true));
    let u3_patch = user_item(&keys, &user(3, true, StoredWriteKind::Patch)).unwrap();
    let mut g2_deleting = g2.clone();
    g2_deleting.insert("deleting".into(), AttributeValue::Bool(true));
    let rows: Vec<Row> = vec![
        (
            "user created",
            "INSERT",
            None,
            Some(&u1),
            Expect::Created(ResourceType::User, WriteKind::Create),
        ),
        (
            "user patched",
            "MODIFY",
            Some(&u1),
            Some(&u2_patch),
            Expect::Updated(ResourceType::User, WriteKind::Patch, 1),
        ),
        (
            "user replaced",
            "MODIFY",
            Some(&u1),
            Some(&u2_put),
            Expect::Updated(ResourceType::User, WriteKind::Replace, 1),
        ),
        (
            "user rewritten unchanged",
            "MODIFY",
            Some(&u1),
            Some(&u1),
            Expect::Nothing,
        ),
        (
            "user deleted",
            "REMOVE",
            Some(&u2_patch),
            None,
            Expect::Deleted(ResourceType::User),
        ),
        (
            "group created",
            "INSERT",
            None,
            Some(&g1),
            Expect::Created(ResourceType::Group, WriteKind::Create),
        ),
        (
            "group patched",
            "MODIFY",
            Some(&g1),
            Some(&g2),
            Expect::Updated(ResourceType::Group, WriteKind::Patch, 1),
        ),
        (
            "group deleted",
            "REMOVE",
            Some(&g2),
            None,
            Expect::Deleted(ResourceType::Group),
        ),
        ("member added", "INSERT", None, Some(&member), Expect::MemberAdded),
        (
            "member re-added (idempotent)",
            "MODIFY",
            Some(&member),
            Some(&member),
            Expect::Nothing,
        ),
        ("member removed", "REMOVE", Some(&member), None, Expect::MemberRemoved),
        (
            "group-of-user written with its membership",
            "INSERT",
            None,
            Some(&member_of),
            Expect::Nothing,
        ),
        (
            "group-of-user rewritten (member re-added)",
            "MODIFY",
            Some(&member_of),
            Some(&member_of),
            Expect::Nothing,
        ),
        (
            "group-of-user deleted with its membership",
            "REMOVE",
            Some(&member_of),
            None,
            Expect::Nothing,
        ),
        (
            "user delete begun (deleting flag)",
            "MODIFY",
            Some(&u2_patch),
            Some(&u2_deleting),
            Expect::Nothing,
        ),
        (
            "user delete finished",
            "REMOVE",
            Some(&u2_deleting),
            None,
            Expect::Deleted(ResourceType::User),
        ),
        (
            "group delete begun (deleting flag)",
            "MODIFY",
            Some(&g2),
            Some(&g2_deleting),
            Expect::Nothing,
        ),
        (
            "group delete finished",
            "REMOVE",
            Some(&g2_deleting),
            None,
            Expect::Deleted(ResourceType::Group),
        ),
        (
            "deleting user patched meanwhile (flag dropped)",
            "MODIFY",
            Some(&u2_deleting),
            Some(&u3_patch),
            Expect::Updated(ResourceType::User, WriteKind::Patch, 2),
        ),
        (
            "userName marker written",
            "INSERT",
            None,
            Some(&marker),
            Expect::Nothing,
        ),
        (
            "userName marker released",
            "REMOVE",
            Some(&marker),
            None,
            Expect::Nothing,
        ),
    ];
    for (name, event, old, new, expected) in rows {
        let decoded = decode(event, old, new).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(summary(decoded), expected, "{name}");
    }
}

#[test]
fn a_patch_that_disables_keeps_both_images() {
    let keys = TenantKeys::new(&TENANT.into());
    let before = user_item(&keys, &user(1, true, StoredWriteKind::Create)).unwrap();
    let after = user_item(&keys, &user(2, false, StoredWriteKind::Patch)).unwrap();
    let Some(DirectoryChange {
        change: Change::Updated { before, after, .. },
        ..
    }) = decode("MODIFY", Some(&before), Some(&after)).unwrap()
    else {
        panic!("an update")
    };
    assert_eq!(
        (before.attributes["active"].clone(), after.attributes["active"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (after.name.as_str(), after.external_id.as_deref()),
        ("alice@contoso.com", Some("alice"))
    );
}

#[test]
fn records_that_cannot_be_decoded_are_errors() {
    let keys = TenantKeys::new(&TENANT.into());
    let mut unknown = membership_item(&keys, &"g1".into(), &"u1".into());
    unknown.insert("type".into(), s("Tombstone"));
    let member = membership_item(&keys, &"g1".into(), &"u1".into());
    let mut no_tenant = member.clone();
    no_tenant.insert("pk".into(), s("G#g1"));
    let mut broken_user = user_item(&keys, &user(1, true, StoredWriteKind::Create)).unwrap();
    broken_user.remove("doc");
    let rows: Vec<(&str, &str, Option<&Item>, Option<&Item>)> = vec![
        ("unknown kind", "INSERT", None, Some(&unknown)),
        ("unknown event name", "TTL", None, Some(&member)),
        ("insert without a new image", "INSERT", Some(&member), None),
        ("remove without an old image", "REMOVE", None, Some(&member)),
        ("key without a tenant", "INSERT", None, Some(&no_tenant)),
        ("malformed user", "INSERT", None, Some(&broken_user)),
    ];
    for (name, event, old, new) in rows {
        assert!(decode(event, old, new).is_err(), "{name} must not be skipped silently");
    }
}

#[test]
fn tenant_prefixes_unescape() {
    assert_eq!(tenant_of("T#a%23b%25c#U#1").unwrap(), "a#b%c");
    assert_eq!(
        tenant_of(&TenantKeys::new(&TENANT.into()).group_pk(&"g".into())).unwrap(),
        TENANT
    );
    assert!(tenant_of("T##U#1").is_err());
    assert!(tenant_of("U#1").is_err());
}
