//! One DynamoDB Streams record of the Directory table (`NEW_AND_OLD_IMAGES`) → the committed change it is.
//!
//! This lives next to the codec because it depends on the item layout ([`super::keys`]): whoever changes the
//! layout changes this decoder and its table-driven tests with it. Every item kind the codec writes is either
//! an event (users, groups, memberships) or deliberately not one (userName markers); an item of an unknown kind is
//! an error, so a new kind cannot silently drop events (the record then goes to the stream's retry and, in the end,
//! its dead-letter queue, with an alarm).
//!
//! A MODIFY whose images are identical changes nothing (DynamoDB Streams does not even emit it; moto does, for a
//! re-added member), so it is not an event; nor is one that only sets the `deleting` flag of a delete in progress
//! (the delete's REMOVE is the event). A membership is two items (see [`super::keys`]): only the membership item
//! in the group's collection is an event, its group-of-user reverse never is, so each change is one event.

use wif_events::change::{Change, DirectoryChange, ResourceState, ResourceType, WriteKind};
use wif_scim::store::{DirectoryError, GroupRecord, UserRecord};

use super::codec::{Item, MEMBER_OF_TYPE, decode_group, decode_user, get_s};
use super::keys::DELETING;

/// Why a stream record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamDecodeError {
    #[error("stream record has event name {0:?}, expected INSERT, MODIFY or REMOVE")]
    EventName(String),
    #[error("stream record lacks the image its event needs")]
    MissingImage,
    #[error("stream record key {0:?} does not start with a tenant prefix")]
    Key(String),
    #[error("Directory item of unknown kind {0:?}: teach directory::stream about it")]
    UnknownKind(String),
    #[error("Directory item is malformed: {0}")]
    Malformed(String),
}

impl From<DirectoryError> for StreamDecodeError {
    fn from(err: DirectoryError) -> Self {
        StreamDecodeError::Malformed(err.to_string())
    }
}

/// The tenant a Directory key belongs to: `T#<escaped tenant>#...` (see [`super::keys`]).
pub fn tenant_of(pk: &str) -> Result<String, StreamDecodeError> {
    let escaped = pk
        .strip_prefix("T#")
        .and_then(|rest| rest.split_once('#'))
        .map(|(tenant, _)| tenant)
        .filter(|tenant| !tenant.is_empty())
        .ok_or_else(|| StreamDecodeError::Key(pk.chars().take(80).collect()))?;
    Ok(escaped.replace("%23", "#").replace("%25", "%"))
}

fn user_state(record: UserRecord) -> ResourceState {
    ResourceState {
        id: record.id.into_string(),
        version: record.version,
        created: record.created,
        last_modified: record.last_modified,
        external_id: record.external_id,
        name: record.user_name,
        attributes: record.attributes,
        password_hash: record.password_hash,
        written_by: write_kind(record.written_by),
    }
}

fn group_state(record: GroupRecord) -> ResourceState {
    ResourceState {
        id: record.id.into_string(),
        version: record.version,
        created: record.created,
        last_modified: record.last_modified,
        external_id: record.external_id,
        name: record.display_name,
        attributes: record.attributes,
        password_hash: None,
        written_by: write_kind(record.written_by),
    }
}

fn write_kind(kind: wif_scim::store::WriteKind) -> WriteKind {
    match kind {
        wif_scim::store::WriteKind::Create => WriteKind::Create,
        wif_scim::store::WriteKind::Replace => WriteKind::Replace,
        wif_scim::store::WriteKind::Patch => WriteKind::Patch,
    }
}

fn resource_state(kind: ResourceType, item: &Item) -> Result<ResourceState, StreamDecodeError> {
    Ok(match kind {
        ResourceType::User => user_state(decode_user(item)?),
        ResourceType::Group => group_state(decode_group(item)?),
    })
}

fn membership(item: &Item) -> Result<(String, String), StreamDecodeError> {
    match (get_s(item, "group_id"), get_s(item, "user_id")) {
        (Some(group), Some(user)) => Ok((group.to_owned(), user.to_owned())),
        _ => Err(StreamDecodeError::Malformed(
            "membership without group_id or user_id".into(),
        )),
    }
}

/// Whether two images differ at most in the `deleting` flag: starting (or resuming) a delete is not a change of
/// the resource; its removal is.
fn same_but_deleting(old: Option<&Item>, new: Option<&Item>) -> bool {
    let strip = |item: Option<&Item>| {
        item.map(|item| {
            let mut item = item.clone();
            item.remove(DELETING);
            item
        })
    };
    strip(old) == strip(new)
}

/// Decodes one record. `Ok(None)`: the record is not a directory change (a uniqueness marker, a no-op rewrite).
pub fn decode(
    event_name: &str,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Option<DirectoryChange>, StreamDecodeError> {
    let (old, new) = (old.filter(|i| !i.is_empty()), new.filter(|i| !i.is_empty()));
    let image = match event_name {
        "INSERT" => new,
        "MODIFY" if same_but_deleting(old, new) => return Ok(None),
        "MODIFY" => new.and(old),
        "REMOVE" => old,
        other => return Err(StreamDecodeError::EventName(other.chars().take(20).collect())),
    }
    .ok_or(StreamDecodeError::MissingImage)?;
    let pk = get_s(image, "pk").ok_or_else(|| StreamDecodeError::Malformed("no pk".into()))?;
    let tenant = tenant_of(pk)?;
    let kind = match get_s(image, "type") {
        Some("User") => ResourceType::User,
        Some("Group") => ResourceType::Group,
        Some("Membership") => {
            let (group_id, user_id) = membership(image)?;
            let change = match event_name {
                "INSERT" => Change::MemberAdded { group_id, user_id },
                "REMOVE" => Change::MemberRemoved { group_id, user_id },
                _ => return Ok(None),
            };
            return Ok(Some(DirectoryChange { tenant, change }));
        }
        // The reverse of a membership: its membership item carries the event.
        Some("UserNameMarker" | MEMBER_OF_TYPE) => return Ok(None),
        other => return Err(StreamDecodeError::UnknownKind(other.unwrap_or("(none)").to_owned())),
    };
    let change = match (event_name, old, new) {
        ("INSERT", _, Some(new)) => Change::Created(kind, resource_state(kind, new)?),
        ("REMOVE", Some(old), _) => Change::Deleted(kind, resource_state(kind, old)?),
        (_, Some(old), Some(new)) => Change::Updated {
            resource_type: kind,
            before: resource_state(kind, old)?,
            after: resource_state(kind, new)?,
        },
        _ => return Err(StreamDecodeError::MissingImage),
    };
    Ok(Some(DirectoryChange { tenant, change }))
}

#[cfg(test)]
mod tests;
