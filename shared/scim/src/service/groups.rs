//! Groups: what create, get, replace (PUT) and PATCH read and write. Members are users only (Entra provisions no
//! nested groups), stored one item per membership: a member PATCH writes just those items, never the group, and a
//! group representation carries at most [`super::ServiceConfig::max_members_returned`] members.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::representation::Stored;
use super::write::{Attempt, apply_patch, body_object, check_limits, pinned_version, pinned_write_error};
use super::write::{MAX_ID_CHARS, plausible_id, prepare_post, prepare_put, required, retry_on_conflict, settle};
use super::{Answer, DirectoryService, PatchResponse, Projection, RequestContext, Target, found, store_error};
use crate::error::ScimError;
use crate::patch::{MemberOperation, PatchRequest, take_member_operations};
use crate::resource::{IndexKeys, MemberRef};
use crate::schema::ResourceKind;
use crate::store::{DirectoryError, GroupRecord, Page, ResourceId, TenantId, WriteKind};

const KIND: ResourceKind = ResourceKind::Group;

impl DirectoryService {
    pub(super) async fn create_group(&self, ctx: &RequestContext, body: Value, projection: &Projection) -> Answer {
        let (prepared, keys) = prepare_post(KIND, body)?;
        let display_name = required(&keys.display_name, "displayName")?;
        let members = member_ids(&prepared.members)?;
        check_limits(&body_object(&prepared.document), &keys)?;
        let now = self.now();
        // The group's own fields, then what the server keeps about every resource.
        let record = GroupRecord {
            display_name,
            external_id: keys.external_id.clone(),
            attributes: body_object(&prepared.document),
            id: ResourceId::new(uuid::Uuid::new_v4().to_string()),
            version: 1,
            created: now.clone(),
            last_modified: now,
            written_by: WriteKind::Create,
        };
        self.store
            .create_group(&ctx.caller.tenant_id, &record, &members)
            .await
            .map_err(|err| store_error(KIND, &record.id, err))?;
        let mut sorted = members;
        sorted.sort();
        sorted.truncate(self.config.max_members_returned);
        let full = self.resource_json(ctx, Stored::Group(&record), Some(&sorted));
        Ok(self.respond(ctx, Stored::Group(&record), full, projection))
    }

    pub(super) async fn get_group(&self, target: Target<'_>) -> Answer {
        let (tenant, id) = (target.tenant(), target.id);
        let err = |e| store_error(KIND, id, e);
        // `excludedAttributes=members` (Entra's way of reading groups) reads the group item only.
        let (group, members) = if target.projection.wants_members() {
            // Every member the answer can carry in one read: the store follows its 1 MB pages, so a group of N
            // members costs ⌈N / members per page⌉ reads, not one read per scan page.
            let read = self
                .store
                .get_group_with_members(tenant, id, self.config.max_members_returned)
                .await;
            let (group, first) = found(read, KIND, id)?;
            let members = self.members_of(tenant, id, Some(first)).await.map_err(err)?;
            (group, Some(members))
        } else {
            (self.read_group(tenant, id).await?, None)
        };
        let full = self.resource_json(target.ctx, Stored::Group(&group), members.as_deref());
        Ok(self.respond(target.ctx, Stored::Group(&group), full, target.projection))
    }

    pub(super) async fn replace_group(&self, target: Target<'_>, body: &Value) -> Answer {
        let (tenant, id) = (target.tenant(), target.id);
        retry_on_conflict(KIND, id, move || async move {
            let current = self.read_group(tenant, id).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, id)?;
            let (prepared, keys) = prepare_put(KIND, &current.attributes, body)?;
            let wanted = member_ids(&prepared.members)?;
            let next = self.next_group_record(&current, body_object(&prepared.document), &keys)?;
            let written = self.store.replace_group(tenant, &current, &next).await;
            if let Attempt::Lost = settle(written, pinned, KIND, id)? {
                return Ok(Attempt::Lost);
            }
            // RFC 7644 §3.5.1: PUT replaces everything, members included (absent members = none).
            let members = self.set_members(tenant, id, &wanted, Some(next.version)).await?;
            let full = self.resource_json(target.ctx, Stored::Group(&next), Some(&members));
            Ok(Attempt::Done(self.respond(
                target.ctx,
                Stored::Group(&next),
                full,
                target.projection,
            )))
        })
        .await
    }

    pub(super) async fn patch_group(&self, target: Target<'_>, body: &Value) -> Result<PatchResponse, ScimError> {
        let mut request = PatchRequest::parse(body)?;
        // Every member operation is checked (and its ids taken) before anything is written.
        let member_operations = member_writes(take_member_operations(&mut request)?)?;
        let (group, pinned) = if !request.is_empty() || target.if_match.is_some() || member_operations.is_empty() {
            let (group, pinned) = self.patch_group_attributes(target, &request).await?;
            (Some(group), pinned)
        } else {
            (None, None)
        };
        self.apply_member_operations(target, member_operations, pinned).await?;
        if target.projection.is_empty() {
            // Member-only PATCHes answer without reading the group again: one write is the whole cost.
            return Ok(PatchResponse::NoContent {
                version: group.map(|g| g.version),
            });
        }
        // The client asked for attributes: answer 200 with the resource, as RFC 7644 §3.5.2 allows.
        self.get(target.ctx, KIND, target.id, target.projection)
            .await
            .map(PatchResponse::Resource)
    }

    /// The attribute operations of a group PATCH (with none, just the read and the If-Match check): the group as it
    /// now is, and the version the member writes that follow are pinned to.
    async fn patch_group_attributes(
        &self,
        target: Target<'_>,
        request: &PatchRequest,
    ) -> Result<(GroupRecord, Option<u64>), ScimError> {
        let (tenant, id) = (target.tenant(), target.id);
        retry_on_conflict(KIND, id, move || async move {
            let current = self.read_group(tenant, id).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, id)?;
            if request.is_empty() {
                return Ok(Attempt::Done((current, pinned)));
            }
            let Some(patched) = apply_patch(KIND, &current.attributes, request)? else {
                return Ok(Attempt::Done((current, pinned)));
            };
            let next = self
                .next_group_record(&current, patched.attributes, &patched.keys)?
                .written_by(WriteKind::Patch);
            let written = self.store.replace_group(tenant, &current, &next).await;
            // Member writes that follow are pinned to the version this write made.
            Ok(settle(written, pinned, KIND, id)?.map(|()| {
                let pinned = pinned.map(|_| next.version);
                (next, pinned)
            }))
        })
        .await
    }

    /// The member operations of a group PATCH, in order, each conditional on `pinned` when the client pinned one.
    async fn apply_member_operations(
        &self,
        target: Target<'_>,
        operations: Vec<MemberWrite>,
        pinned: Option<u64>,
    ) -> Result<(), ScimError> {
        let (tenant, id) = (target.tenant(), target.id);
        let err = |e| pinned_write_error(e, pinned, KIND, id);
        for operation in operations {
            match operation {
                MemberWrite::Add(ids) => self.store.add_members(tenant, id, &ids, pinned).await.map_err(err)?,
                MemberWrite::Remove(ids) => self.store.remove_members(tenant, id, &ids, pinned).await.map_err(err)?,
                MemberWrite::RemoveAll => self.store.remove_all_members(tenant, id, pinned).await.map_err(err)?,
                MemberWrite::Replace(ids) => {
                    self.set_members(tenant, id, &ids, pinned).await?;
                }
            }
        }
        Ok(())
    }

    /// The stored group (without members), or 404.
    pub(super) async fn read_group(&self, tenant: &TenantId, id: &ResourceId) -> Result<GroupRecord, ScimError> {
        found(self.store.get_group(tenant, id).await, KIND, id)
    }

    /// The group record that replaces `current` (next version, new attributes and index keys); members are
    /// separate items and not part of it.
    fn next_group_record(
        &self,
        current: &GroupRecord,
        attributes: Map<String, Value>,
        keys: &IndexKeys,
    ) -> Result<GroupRecord, ScimError> {
        check_limits(&attributes, keys)?;
        Ok(GroupRecord {
            version: current.version + 1,
            id: current.id.clone(),
            created: current.created.clone(),
            last_modified: self.now(),
            display_name: required(&keys.display_name, "displayName")?,
            external_id: keys.external_id.clone(),
            attributes,
            written_by: WriteKind::Replace,
        })
    }

    /// Makes the group's members exactly `wanted` by adding and removing the differences; returns the new member
    /// list (sorted, capped at the representation limit).
    async fn set_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        wanted: &[ResourceId],
        expected: Option<u64>,
    ) -> Result<Vec<ResourceId>, ScimError> {
        let err = |e| store_error(KIND, group_id, e);
        let current: BTreeSet<ResourceId> = self
            .all_members(tenant, group_id)
            .await
            .map_err(err)?
            .into_iter()
            .collect();
        let wanted: BTreeSet<ResourceId> = wanted.iter().cloned().collect();
        let add: Vec<ResourceId> = wanted.difference(&current).cloned().collect();
        let remove: Vec<ResourceId> = current.difference(&wanted).cloned().collect();
        if !add.is_empty() {
            self.store
                .add_members(tenant, group_id, &add, expected)
                .await
                .map_err(err)?;
        }
        if !remove.is_empty() {
            self.store
                .remove_members(tenant, group_id, &remove, expected)
                .await
                .map_err(err)?;
        }
        let mut members: Vec<ResourceId> = wanted.into_iter().collect();
        members.truncate(self.config.max_members_returned);
        Ok(members)
    }

    /// Members of a group up to the representation limit (pages through the membership items).
    pub(super) async fn members_of(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        first_page: Option<Page<ResourceId>>,
    ) -> Result<Vec<ResourceId>, DirectoryError> {
        let limit = self.config.max_members_returned;
        let mut page = match first_page {
            Some(page) => page,
            None => {
                self.store
                    .list_members(tenant, group_id, None, limit.min(self.config.scan_page))
                    .await?
            }
        };
        let mut members = Vec::new();
        loop {
            members.extend(page.items);
            if members.len() >= limit {
                members.truncate(limit);
                return Ok(members);
            }
            let Some(cursor) = page.next_cursor else {
                return Ok(members);
            };
            let want = (limit - members.len()).min(self.config.scan_page);
            page = self.store.list_members(tenant, group_id, Some(&cursor), want).await?;
        }
    }

    /// Every member id of a group (no representation limit): used to compute PUT / replace differences.
    async fn all_members(&self, tenant: &TenantId, group_id: &ResourceId) -> Result<Vec<ResourceId>, DirectoryError> {
        let mut members = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .list_members(tenant, group_id, cursor.as_deref(), self.config.scan_page)
                .await?;
            members.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(members),
            }
        }
    }
}

/// A member operation of a PATCH with its ids checked.
enum MemberWrite {
    Add(Vec<ResourceId>),
    Remove(Vec<ResourceId>),
    RemoveAll,
    Replace(Vec<ResourceId>),
}

fn member_writes(operations: Vec<MemberOperation>) -> Result<Vec<MemberWrite>, ScimError> {
    operations
        .into_iter()
        .map(|operation| {
            Ok(match operation {
                MemberOperation::Add(refs) => MemberWrite::Add(member_ids(&refs)?),
                MemberOperation::Remove(ids) => MemberWrite::Remove(
                    ids.into_iter()
                        .map(|member| {
                            checked_member_id(&member)?;
                            Ok(ResourceId::new(member))
                        })
                        .collect::<Result<_, ScimError>>()?,
                ),
                MemberOperation::RemoveAll => MemberWrite::RemoveAll,
                MemberOperation::Replace(refs) => MemberWrite::Replace(member_ids(&refs)?),
            })
        })
        .collect()
}

/// The members' ids of a body or PATCH value; members must be users (Entra provisions no nested groups).
fn member_ids(members: &[MemberRef]) -> Result<Vec<ResourceId>, ScimError> {
    members
        .iter()
        .map(|m| match m.member_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("group") => Err(ScimError::invalid_value(format!(
                "member \"{}\" is a group; this service provider supports users as group members only",
                m.value
            ))),
            _ => checked_member_id(&m.value).map(|id| ResourceId::new(id.to_owned())),
        })
        .collect()
}

/// A member id a write names: one of our ids could be it, or the request is refused with 400 before any storage
/// call (an oversized id would otherwise fail in DynamoDB's key-size check, a 503).
fn checked_member_id(id: &str) -> Result<&str, ScimError> {
    if plausible_id(id) {
        return Ok(id);
    }
    let shown: String = id.chars().filter(|c| !c.is_control()).take(40).collect();
    Err(ScimError::invalid_value(format!(
        "member \"{shown}\" is not a user id of this service provider (ids have at most {MAX_ID_CHARS} characters)"
    )))
}
