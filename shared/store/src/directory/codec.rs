//! Records ↔ DynamoDB items. The resource attributes travel as one JSON string attribute (`doc`): the service owns
//! the SCIM shape, the store only indexes the handful of keys it needs, and one attribute keeps items compact and
//! schema changes free of migrations.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use wif_scim::store::{DirectoryError, GroupRecord, ResourceId, UserRecord, WriteKind};

use super::keys::{DELETING, GROUP_SK, MARKER_SK, TenantKeys, USER_SK};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn malformed(what: &str) -> DirectoryError {
    DirectoryError::Unavailable(format!("stored directory item is malformed: {what}"))
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    }
}

fn req_s(item: &Item, name: &str) -> Result<String, DirectoryError> {
    get_s(item, name).map(str::to_owned).ok_or_else(|| malformed(name))
}

fn req_n(item: &Item, name: &str) -> Result<u64, DirectoryError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| malformed(name)),
        _ => Err(malformed(name)),
    }
}

/// The `last_op` attribute: which request wrote the item (the change stream tells PUT from PATCH by it).
const LAST_OP: &str = "last_op";

fn write_kind(kind: WriteKind) -> AttributeValue {
    s(match kind {
        WriteKind::Create => "create",
        WriteKind::Replace => "put",
        WriteKind::Patch => "patch",
    })
}

/// Items written before `last_op` existed read as replaced.
pub fn read_write_kind(item: &Item) -> WriteKind {
    match get_s(item, LAST_OP) {
        Some("create") => WriteKind::Create,
        Some("patch") => WriteKind::Patch,
        _ => WriteKind::Replace,
    }
}

fn doc(attributes: &Map<String, Value>) -> Result<AttributeValue, DirectoryError> {
    serde_json::to_string(attributes)
        .map(AttributeValue::S)
        .map_err(|e| DirectoryError::Unavailable(format!("cannot encode attributes: {e}")))
}

fn parse_doc(item: &Item) -> Result<Map<String, Value>, DirectoryError> {
    let text = get_s(item, "doc").ok_or_else(|| malformed("doc"))?;
    serde_json::from_str(text).map_err(|_| malformed("doc"))
}

/// The primary key of an item (table keys only).
pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub fn user_item(keys: &TenantKeys, user: &UserRecord) -> Result<Item, DirectoryError> {
    let mut item = key(keys.user_pk(&user.id), USER_SK);
    item.insert("type".into(), s("User"));
    item.insert("id".into(), s(&user.id));
    item.insert("version".into(), n(user.version));
    item.insert("created".into(), s(&user.created));
    item.insert("last_modified".into(), s(&user.last_modified));
    item.insert("user_name".into(), s(&user.user_name));
    item.insert("doc".into(), doc(&user.attributes)?);
    item.insert(LAST_OP.into(), write_kind(user.written_by));
    item.insert("gsi1pk".into(), s(keys.users_partition()));
    item.insert("gsi1sk".into(), s(&user.id));
    if let Some(external_id) = &user.external_id {
        item.insert("external_id".into(), s(external_id));
        item.insert("gsi2pk".into(), s(keys.user_external_id(external_id)));
        item.insert("gsi2sk".into(), s(&user.id));
    }
    if let Some(email) = &user.work_email {
        item.insert("work_email".into(), s(email));
        item.insert("gsi3pk".into(), s(keys.user_work_email(email)));
        item.insert("gsi3sk".into(), s(&user.id));
    }
    if let Some(hash) = &user.password_hash {
        item.insert("password_hash".into(), s(hash));
    }
    Ok(item)
}

pub fn marker_item(keys: &TenantKeys, user: &UserRecord) -> Item {
    let mut item = key(keys.marker_pk(&user.user_name), MARKER_SK);
    item.insert("type".into(), s("UserNameMarker"));
    item.insert("user_id".into(), s(&user.id));
    item
}

pub fn decode_user(item: &Item) -> Result<UserRecord, DirectoryError> {
    if get_s(item, "type") != Some("User") {
        return Err(malformed("type"));
    }
    Ok(UserRecord {
        id: ResourceId::new(req_s(item, "id")?),
        version: req_n(item, "version")?,
        created: req_s(item, "created")?,
        last_modified: req_s(item, "last_modified")?,
        user_name: req_s(item, "user_name")?,
        external_id: get_s(item, "external_id").map(str::to_owned),
        work_email: get_s(item, "work_email").map(str::to_owned),
        attributes: parse_doc(item)?,
        password_hash: get_s(item, "password_hash").map(str::to_owned),
        written_by: read_write_kind(item),
    })
}

pub fn group_item(keys: &TenantKeys, group: &GroupRecord) -> Result<Item, DirectoryError> {
    let mut item = key(keys.group_pk(&group.id), GROUP_SK);
    item.insert("type".into(), s("Group"));
    item.insert("id".into(), s(&group.id));
    item.insert("version".into(), n(group.version));
    item.insert("created".into(), s(&group.created));
    item.insert("last_modified".into(), s(&group.last_modified));
    item.insert("display_name".into(), s(&group.display_name));
    item.insert("doc".into(), doc(&group.attributes)?);
    item.insert(LAST_OP.into(), write_kind(group.written_by));
    item.insert("gsi1pk".into(), s(keys.groups_partition()));
    item.insert("gsi1sk".into(), s(&group.id));
    item.insert("gsi3pk".into(), s(keys.group_display_name(&group.display_name)));
    item.insert("gsi3sk".into(), s(&group.id));
    if let Some(external_id) = &group.external_id {
        item.insert("external_id".into(), s(external_id));
        item.insert("gsi2pk".into(), s(keys.group_external_id(external_id)));
        item.insert("gsi2sk".into(), s(&group.id));
    }
    Ok(item)
}

pub fn decode_group(item: &Item) -> Result<GroupRecord, DirectoryError> {
    if get_s(item, "type") != Some("Group") {
        return Err(malformed("type"));
    }
    Ok(GroupRecord {
        id: ResourceId::new(req_s(item, "id")?),
        version: req_n(item, "version")?,
        created: req_s(item, "created")?,
        last_modified: req_s(item, "last_modified")?,
        display_name: req_s(item, "display_name")?,
        external_id: get_s(item, "external_id").map(str::to_owned),
        attributes: parse_doc(item)?,
        written_by: read_write_kind(item),
    })
}

/// The membership item in the group's collection (the change stream's membership events come from it alone).
pub fn membership_item(keys: &TenantKeys, group_id: &ResourceId, user_id: &ResourceId) -> Item {
    let mut item = key(keys.group_pk(group_id), &TenantKeys::member_sk(user_id));
    item.insert("type".into(), s("Membership"));
    item.insert("group_id".into(), s(group_id));
    item.insert("user_id".into(), s(user_id));
    item
}

/// The item kind of a group-of-user item: never an event of its own.
pub const MEMBER_OF_TYPE: &str = "MemberOf";

/// The reverse of a membership, in the user's partition; always written and deleted with its membership item.
pub fn member_of_item(keys: &TenantKeys, group_id: &ResourceId, user_id: &ResourceId) -> Item {
    let mut item = key(keys.user_pk(user_id), &TenantKeys::member_of_sk(group_id));
    item.insert("type".into(), s(MEMBER_OF_TYPE));
    item.insert("group_id".into(), s(group_id));
    item.insert("user_id".into(), s(user_id));
    item.insert("gsi1pk".into(), s(keys.memberships_partition()));
    item.insert("gsi1sk".into(), s(TenantKeys::member_of_gsi_sk(user_id, group_id)));
    item
}

/// The group id of a group-of-user item.
pub fn decode_member_of(item: &Item) -> Result<ResourceId, DirectoryError> {
    req_s(item, "group_id").map(ResourceId::new)
}

/// Whether a user or group item is being deleted.
pub fn is_deleting(item: &Item) -> bool {
    item.contains_key(DELETING)
}

pub fn decode_member(item: &Item) -> Result<ResourceId, DirectoryError> {
    req_s(item, "user_id").map(ResourceId::new)
}

/// The subset of an item's attributes that forms its key in the given index (for building cursors).
pub fn key_of(item: &Item, attributes: &[&str]) -> Item {
    attributes
        .iter()
        .filter_map(|name| item.get(*name).map(|value| ((*name).to_owned(), value.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip_through_items() {
        let keys = TenantKeys::new(&"t1".into());
        let mut attributes = Map::new();
        attributes.insert("userName".into(), json!("a"));
        attributes.insert("name".into(), json!({"givenName": "A"}));
        let user = UserRecord {
            id: "u1".into(),
            version: 3,
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-02T00:00:00Z".into(),
            user_name: "A".into(),
            external_id: Some("x".into()),
            work_email: Some("a@b.c".into()),
            attributes,
            password_hash: Some("h".into()),
            written_by: WriteKind::Patch,
        };
        let item = user_item(&keys, &user).unwrap();
        assert_eq!(decode_user(&item).unwrap(), user);
        assert_eq!(get_s(&item, "gsi3pk"), Some("T#t1#UE#a@b.c"));
        let group = GroupRecord {
            id: "g1".into(),
            version: 1,
            created: "c".into(),
            last_modified: "m".into(),
            display_name: "G".into(),
            external_id: None,
            attributes: Map::new(),
            written_by: WriteKind::Create,
        };
        let item = group_item(&keys, &group).unwrap();
        assert_eq!(decode_group(&item).unwrap(), group);
        assert!(decode_user(&item).is_err(), "a group item is never read as a user");
        assert!(!item.contains_key("gsi2pk"));
    }
}
