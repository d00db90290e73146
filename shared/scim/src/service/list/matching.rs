//! Finding and rendering the matches of one resource kind: the fast-path lookups of [`super::plan`], scans in id
//! order within the request's read budget, filter evaluation on representations that carry derived attributes only
//! when the filter names them, and the projected JSON of each match.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

use super::cursor::{ScanPosition, invalid_cursor};
use super::plan::{Plan, names_attribute, names_attribute_outside_eq, plan, single_member};
use crate::error::ScimError;
use crate::filter::{self, Filter};
use crate::schema::{ResourceKind, ResourceSchema};
use crate::service::representation::Stored;
use crate::service::write::plausible_id;
use crate::service::{DirectoryService, MAX_KEY_BYTES, Projection, RequestContext, store_error};
use crate::store::{DirectoryError, GroupRecord, ResourceId, TenantId, UserRecord};

/// Concurrent storage reads while rendering one page (a user's groups, a group's members).
const RENDER_CONCURRENCY: usize = 16;

/// A stored resource of either kind.
#[derive(Debug, Clone)]
pub(super) enum Record {
    User(UserRecord),
    Group(GroupRecord),
}

impl Record {
    pub(super) fn id(&self) -> &str {
        self.stored().id()
    }

    pub(super) fn kind(&self) -> ResourceKind {
        self.stored().kind()
    }

    fn stored(&self) -> Stored<'_> {
        match self {
            Record::User(user) => Stored::User(user),
            Record::Group(group) => Stored::Group(group),
        }
    }
}

fn users(found: impl IntoIterator<Item = UserRecord>) -> Vec<Record> {
    found.into_iter().map(Record::User).collect()
}

fn groups(found: impl IntoIterator<Item = GroupRecord>) -> Vec<Record> {
    found.into_iter().map(Record::Group).collect()
}

/// A match: the record and, when a filter or sort needed it, its representation (unfiltered, unsorted scans
/// never build the representation of resources outside the page), and a user's groups when they were read with it.
pub(super) struct Hit {
    pub record: Record,
    pub doc: Option<Value>,
    pub groups: Option<Vec<ResourceId>>,
}

/// One list request while it runs: who asks, how many more stored resources it may read, and whether the answer
/// shows users' `groups` (then a key lookup reads each user with its groups in one read).
pub(super) struct Search<'a> {
    pub ctx: &'a RequestContext,
    pub budget: usize,
    pub wants_groups: bool,
}

impl<'a> Search<'a> {
    pub(super) fn new(ctx: &'a RequestContext, budget: usize, wants_groups: bool) -> Self {
        Self {
            ctx,
            budget,
            wants_groups,
        }
    }
}

/// A record found by key, with the user's groups when the lookup read them too.
type Candidate = (Record, Option<Vec<ResourceId>>);

fn bare(records: Vec<Record>) -> Vec<Candidate> {
    records.into_iter().map(|record| (record, None)).collect()
}

fn with_groups(found: Option<(UserRecord, Vec<ResourceId>)>) -> Vec<Candidate> {
    found
        .map(|(user, groups)| (Record::User(user), Some(groups)))
        .into_iter()
        .collect()
}

/// What a streamed scan produced.
pub(super) struct Streamed {
    pub hits: Vec<Hit>,
    /// Where to continue; `None` when the scan reached the end.
    pub next: Option<ScanPosition>,
}

fn too_many(budget: usize) -> ScimError {
    ScimError::too_many(format!(
        "this query would read more than {budget} resources of the tenant; filter with a fast-path attribute \
         (id, userName, externalId, emails[type eq \"work\"].value, displayName, members eq) or page with \
         cursor pagination (cursor=) instead of startIndex"
    ))
}

fn scan_error(err: DirectoryError) -> ScimError {
    match err {
        DirectoryError::InvalidCursor => invalid_cursor(),
        other => store_error(ResourceKind::User, "", other),
    }
}

impl DirectoryService {
    /// Every match of one kind: by fast path, or by a complete scan within the budget (else `tooMany`).
    pub(super) async fn matches_of(
        &self,
        search: &mut Search<'_>,
        kind: ResourceKind,
        filter: Option<&Filter>,
    ) -> Result<Vec<Hit>, ScimError> {
        let ctx = search.ctx;
        let plan = plan(filter, kind);
        // A key longer than any stored one matches nothing (and must not reach DynamoDB's key-size limit).
        if plan.key().is_some_and(|key| key.len() > MAX_KEY_BYTES) {
            return Ok(Vec::new());
        }
        let tenant = &ctx.caller.tenant_id;
        let candidates = match (&plan, kind) {
            (Plan::Scan, _) => {
                let result = self.scan(search, kind, filter, ScanPosition::default(), None).await?;
                if result.next.is_some() {
                    return Err(too_many(self.config.scan_budget));
                }
                return Ok(result.hits);
            }
            (Plan::Id(id), ResourceKind::Group) => match filter.and_then(single_member) {
                // No user of ours has such an id (and it must not reach DynamoDB's key-size limit).
                Some(member) if !plausible_id(&member) => return Ok(Vec::new()),
                Some(member) => return self.membership_check(ctx, id, member, filter).await,
                None => self.candidates(search, kind, &plan).await?,
            },
            (Plan::MemberOf(user), _) if !filter.is_some_and(names_attribute_outside_eq) => {
                // Each of these groups has `user` as a member: that is all `members eq` needs to see.
                let found = self.groups_with_member(tenant, user).await?;
                return Ok(found
                    .into_iter()
                    .filter_map(|g| self.evaluate_group(ctx, g, Some(vec![user.clone()]), filter))
                    .collect());
            }
            _ => self.candidates(search, kind, &plan).await?,
        };
        let mut hits = Vec::new();
        for (record, groups) in candidates {
            if let Some(hit) = self.evaluate(search, record, groups, filter).await? {
                hits.push(hit);
            }
        }
        Ok(hits)
    }

    /// The records a fast path finds by key (a scan has no key: [`Self::matches_of`] scans instead).
    async fn candidates(
        &self,
        search: &Search<'_>,
        kind: ResourceKind,
        plan: &Plan,
    ) -> Result<Vec<Candidate>, ScimError> {
        let err = |e| store_error(kind, "", e);
        let (store, tenant) = (&self.store, &search.ctx.caller.tenant_id);
        // The user lookups Entra makes read the user and its groups together when the answer shows `groups`.
        if search.wants_groups {
            match (plan, kind) {
                (Plan::Id(id), ResourceKind::User) => {
                    return Ok(with_groups(store.user_with_groups(tenant, id).await.map_err(err)?));
                }
                (Plan::UserName(name), _) => {
                    let found = store.user_by_user_name_with_groups(tenant, name).await;
                    return Ok(with_groups(found.map_err(err)?));
                }
                _ => {}
            }
        }
        Ok(bare(match (plan, kind) {
            (Plan::Id(id), ResourceKind::User) => users(store.get_user(tenant, id).await.map_err(err)?),
            (Plan::Id(id), ResourceKind::Group) => groups(store.get_group(tenant, id).await.map_err(err)?),
            (Plan::UserName(name), _) => users(store.user_by_user_name(tenant, name).await.map_err(err)?),
            (Plan::ExternalId(ext), ResourceKind::User) => {
                users(store.users_by_external_id(tenant, ext).await.map_err(err)?)
            }
            (Plan::ExternalId(ext), ResourceKind::Group) => {
                groups(store.groups_by_external_id(tenant, ext).await.map_err(err)?)
            }
            (Plan::WorkEmail(email), _) => users(store.users_by_work_email(tenant, email).await.map_err(err)?),
            (Plan::DisplayName(name), _) => groups(store.groups_by_display_name(tenant, name).await.map_err(err)?),
            (Plan::MemberOf(user), _) => groups(self.groups_with_member(tenant, user).await?),
            (Plan::Scan, _) => Vec::new(),
        }))
    }

    /// The groups `user` is a direct member of.
    async fn groups_with_member(&self, tenant: &TenantId, user: &ResourceId) -> Result<Vec<GroupRecord>, ScimError> {
        let err = |e| store_error(ResourceKind::Group, "", e);
        let ids = self.store.groups_of_user(tenant, user).await.map_err(err)?;
        self.store.get_groups(tenant, &ids).await.map_err(err)
    }

    /// Entra's membership check `id eq ".." and members eq ".."`: the group and one membership, one read.
    async fn membership_check(
        &self,
        ctx: &RequestContext,
        group_id: &ResourceId,
        member: String,
        filter: Option<&Filter>,
    ) -> Result<Vec<Hit>, ScimError> {
        let member = ResourceId::new(member);
        let found = self
            .store
            .group_with_membership(&ctx.caller.tenant_id, group_id, &member)
            .await
            .map_err(|e| store_error(ResourceKind::Group, "", e))?;
        let Some((group, is_member)) = found else {
            return Ok(Vec::new());
        };
        let members = if is_member { vec![member] } else { Vec::new() };
        Ok(self
            .evaluate_group(ctx, group, Some(members), filter)
            .into_iter()
            .collect())
    }

    /// The stored representation without derived attributes.
    pub(super) fn record_json(&self, ctx: &RequestContext, record: &Record) -> Value {
        self.resource_json(ctx, record.stored(), None)
    }

    fn evaluate_group(
        &self,
        ctx: &RequestContext,
        group: GroupRecord,
        members: Option<Vec<ResourceId>>,
        filter: Option<&Filter>,
    ) -> Option<Hit> {
        let doc = self.resource_json(ctx, Stored::Group(&group), members.as_deref());
        let schema = ResourceSchema::group();
        filter.is_none_or(|f| filter::matches(f, &doc, schema)).then_some(Hit {
            record: Record::Group(group),
            doc: Some(doc),
            groups: None,
        })
    }

    /// Builds the representation the filter needs (derived attributes only when it names them) and evaluates.
    async fn evaluate(
        &self,
        search: &mut Search<'_>,
        record: Record,
        mut groups: Option<Vec<ResourceId>>,
        filter: Option<&Filter>,
    ) -> Result<Option<Hit>, ScimError> {
        let Some(filter) = filter else {
            return Ok(Some(Hit {
                record,
                doc: None,
                groups,
            }));
        };
        let ctx = search.ctx;
        let tenant = &ctx.caller.tenant_id;
        let doc = match &record {
            Record::User(user) => {
                if groups.is_none() && names_attribute(filter, "groups") {
                    let read = self.store.groups_of_user(tenant, &user.id).await;
                    groups = Some(read.map_err(|e| store_error(ResourceKind::User, &user.id, e))?);
                }
                self.resource_json(ctx, Stored::User(user), groups.as_deref())
            }
            Record::Group(group) => {
                let members = if names_attribute(filter, "members") {
                    let read = self.members_of(tenant, &group.id, None).await;
                    let members = read.map_err(|e| store_error(ResourceKind::Group, &group.id, e))?;
                    search.budget = search.budget.saturating_sub(members.len());
                    Some(members)
                } else {
                    None
                };
                self.resource_json(ctx, Stored::Group(group), members.as_deref())
            }
        };
        let schema = ResourceSchema::for_kind(record.kind());
        Ok(filter::matches(filter, &doc, schema).then_some(Hit {
            record,
            doc: Some(doc),
            groups,
        }))
    }

    /// Scans one kind from `position`, evaluating the filter, until `want` matches (None = all), the end, or the
    /// budget is spent.
    pub(super) async fn scan(
        &self,
        search: &mut Search<'_>,
        kind: ResourceKind,
        filter: Option<&Filter>,
        mut position: ScanPosition,
        want: Option<usize>,
    ) -> Result<Streamed, ScimError> {
        let mut hits = Vec::new();
        loop {
            if want.is_some_and(|w| hits.len() >= w) || search.budget == 0 {
                return Ok(Streamed {
                    hits,
                    next: Some(position),
                });
            }
            // Without a filter every record read is a match: read exactly what the page still needs (reading a full
            // scan page for a 100-resource cursor page would cost ten times the reads).
            let needed = match (filter, want) {
                (None, Some(w)) => w.saturating_sub(hits.len()),
                _ => usize::MAX,
            };
            let limit = self.config.scan_page.min(search.budget).min(needed).max(1);
            let (records, next_cursor) = self.scan_page(search.ctx, kind, &position, limit).await?;
            for record in records {
                if position.after_id.as_deref().is_some_and(|after| record.id() <= after) {
                    continue;
                }
                if want.is_some_and(|w| hits.len() >= w) || search.budget == 0 {
                    return Ok(Streamed {
                        hits,
                        next: Some(position),
                    });
                }
                search.budget -= 1;
                let id = record.id().to_owned();
                if let Some(hit) = self.evaluate(search, record, None, filter).await? {
                    hits.push(hit);
                }
                position.after_id = Some(id);
            }
            match next_cursor {
                Some(next) => {
                    position = ScanPosition {
                        store_cursor: Some(next),
                        after_id: None,
                    };
                }
                None => return Ok(Streamed { hits, next: None }),
            }
        }
    }

    /// One storage page of a scan: up to `limit` records from the page `position` names, and the next page's cursor.
    async fn scan_page(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        position: &ScanPosition,
        limit: usize,
    ) -> Result<(Vec<Record>, Option<String>), ScimError> {
        let (tenant, cursor) = (&ctx.caller.tenant_id, position.store_cursor.as_deref());
        Ok(match kind {
            ResourceKind::User => {
                let page = self.store.scan_users(tenant, cursor, limit).await.map_err(scan_error)?;
                (users(page.items), page.next_cursor)
            }
            ResourceKind::Group => {
                let page = self
                    .store
                    .scan_groups(tenant, cursor, limit)
                    .await
                    .map_err(scan_error)?;
                (groups(page.items), page.next_cursor)
            }
        })
    }

    /// Projects each hit, reading derived attributes (user `groups`, group `members`) only when the projection
    /// wants them and the lookup or the filter did not already read them. The groups of a page's users are one
    /// read for the whole page ([`crate::store::DirectoryStore::groups_of_users`]).
    pub(super) async fn render(
        &self,
        ctx: &RequestContext,
        hits: Vec<Hit>,
        projection: &Projection,
    ) -> Result<Vec<Value>, ScimError> {
        let tenant = &ctx.caller.tenant_id;
        let lacks = |doc: &Option<Value>, name: &str| doc.as_ref().is_none_or(|d| d.get(name).is_none());
        let (wants_groups, wants_members) = (projection.wants_groups(), projection.wants_members());
        let mut page_groups = BTreeMap::new();
        if wants_groups {
            let wanted: Vec<ResourceId> = hits
                .iter()
                .filter(|hit| hit.groups.is_none() && lacks(&hit.doc, "groups"))
                .filter_map(|hit| match &hit.record {
                    Record::User(user) => Some(user.id.clone()),
                    Record::Group(_) => None,
                })
                .collect();
            if !wanted.is_empty() {
                let read = self.store.groups_of_users(tenant, &wanted).await;
                page_groups = read.map_err(|e| store_error(ResourceKind::User, "", e))?;
            }
        }
        let page_groups = &page_groups;
        let futures = hits.into_iter().map(|Hit { record, doc, groups }| async move {
            let schema = ResourceSchema::for_kind(record.kind());
            // A representation the filter already built is completed with the derived references, not rebuilt.
            let complete = |stored: Stored<'_>, doc: Option<Value>, ids: &[ResourceId]| match doc {
                Some(doc) => self.with_derived(ctx, stored, doc, ids),
                None => self.resource_json(ctx, stored, Some(ids)),
            };
            let doc = match &record {
                Record::User(user) if wants_groups && lacks(&doc, "groups") => {
                    let ids = groups
                        .as_deref()
                        .or_else(|| page_groups.get(&user.id).map(Vec::as_slice))
                        .unwrap_or(&[]);
                    complete(Stored::User(user), doc, ids)
                }
                Record::Group(group) if wants_members && lacks(&doc, "members") => {
                    let read = self.members_of(tenant, &group.id, None).await;
                    let members = read.map_err(|e| store_error(ResourceKind::Group, &group.id, e))?;
                    complete(Stored::Group(group), doc, &members)
                }
                _ => match doc {
                    Some(doc) => doc,
                    None => self.record_json(ctx, &record),
                },
            };
            Ok::<Value, ScimError>(projection.apply(&doc, schema))
        });
        // Derived attributes cost one read per listed resource: run them concurrently, but at most
        // RENDER_CONCURRENCY at a time so a page never becomes a burst of a hundred simultaneous requests.
        futures::stream::iter(futures)
            .buffered(RENDER_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }
}
