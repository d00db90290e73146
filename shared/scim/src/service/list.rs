//! List and search (RFC 7644 §3.4.2, §3.4.3) with query planning.
//!
//! Fast paths, a constant number of storage calls whatever the tenant size: a conjunct (top level or inside `and`)
//! `id eq`, `userName eq`, `externalId eq`, `emails[type eq "work"].value eq` for users, and `id eq`,
//! `displayName eq`, `externalId eq`, `members eq` / `members.value eq` for groups picks the candidates by key; the
//! whole filter is then evaluated on them, so `id eq ".." and members eq ".."` (Entra's membership check) and
//! `id eq ".." and manager eq ".."` are exact. Members of a candidate group are read only when the filter names
//! them (one membership read for `members eq`).
//!
//! Everything else scans the tenant's resources in id order, evaluating the filter, reading at most
//! [`super::ServiceConfig::scan_budget`] resources per request:
//! - index pagination (startIndex/count) must know `totalResults`, so it answers 400 `tooMany` when the tenant is
//!   larger than the budget (the message points to the fast-path filters and to cursor pagination);
//! - cursor pagination (RFC 9865, `cursor` parameter) streams: each page continues where the last one stopped and
//!   ends when `count` matches are found or the budget is spent (a page may then hold fewer than `count`
//!   resources; `nextCursor` is present while the scan is not finished). `totalResults` is given only when known.
//! - `sortBy` needs every match in memory, so a sorted query is bounded by the budget in both modes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{DirectoryService, Projection, RequestContext, schema_of, store_error};
use crate::error::{ScimError, ScimType};
use crate::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, ResourceKind, ResourceSchema, USER_SCHEMA};
use crate::sort::{self, SortOrder};
use crate::store::{DirectoryError, GroupRecord, UserRecord};

/// A list or search request, from the query string or a SearchRequest body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    /// 1-based; values below 1 count as 1 (RFC 7644 §3.4.2.4).
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// RFC 9865: `Some("")` asks for the first cursor page.
    pub cursor: Option<String>,
    pub projection: Projection,
}

/// Concurrent storage reads while rendering one page (a user's groups, a group's members).
const RENDER_CONCURRENCY: usize = 16;

pub(super) fn invalid_cursor() -> ScimError {
    ScimError::new(
        400,
        Some(ScimType::InvalidCursor),
        "the cursor is not valid for this query (start again without one)",
    )
}

/// A stored resource of either kind.
#[derive(Debug, Clone)]
enum Record {
    User(UserRecord),
    Group(GroupRecord),
}

impl Record {
    fn id(&self) -> &str {
        match self {
            Record::User(u) => &u.id,
            Record::Group(g) => &g.id,
        }
    }

    fn kind(&self) -> ResourceKind {
        match self {
            Record::User(_) => ResourceKind::User,
            Record::Group(_) => ResourceKind::Group,
        }
    }
}

/// A match: the record and, when a filter or sort needed it, its representation (unfiltered, unsorted scans
/// never build the representation of resources outside the page).
struct Hit {
    record: Record,
    doc: Option<Value>,
}

/// How the candidates of one resource kind are found.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Id(String),
    UserName(String),
    ExternalId(String),
    WorkEmail(String),
    DisplayName(String),
    MemberOf(String),
    Scan,
}

fn conjuncts<'a>(filter: &'a Filter, out: &mut Vec<&'a Filter>) {
    match filter {
        Filter::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

fn core_path(path: &AttrPath, kind: ResourceKind) -> bool {
    let core = match kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    path.schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(core))
}

fn string_eq(filter: &Filter) -> Option<(&AttrPath, &str)> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value),
        } => Some((path, value.as_str())),
        _ => None,
    }
}

/// `emails[type eq "work" and value eq "x"]` (how Entra's `emails[type eq "work"].value eq "x"` parses).
fn work_email(filter: &Filter) -> Option<String> {
    let Filter::ValuePath { path, filter } = filter else {
        return None;
    };
    if !path.is("emails", None)
        || path
            .schema
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(USER_SCHEMA))
    {
        return None;
    }
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut is_work = false;
    let mut value = None;
    for part in parts {
        match string_eq(part) {
            Some((p, v)) if p.is("type", None) && v.eq_ignore_ascii_case("work") => is_work = true,
            Some((p, v)) if p.is("value", None) => value = Some(v.to_owned()),
            _ => {}
        }
    }
    if is_work { value } else { None }
}

fn plan(filter: Option<&Filter>, kind: ResourceKind) -> Plan {
    let Some(filter) = filter else {
        return Plan::Scan;
    };
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut best = Plan::Scan;
    let rank = |p: &Plan| match p {
        Plan::Id(_) => 0,
        Plan::UserName(_) => 1,
        Plan::ExternalId(_) => 2,
        Plan::WorkEmail(_) | Plan::DisplayName(_) => 3,
        Plan::MemberOf(_) => 4,
        Plan::Scan => 9,
    };
    for part in parts {
        let candidate = match (kind, string_eq(part)) {
            (_, Some((p, v))) if p.is("id", None) && core_path(p, kind) => Plan::Id(v.to_owned()),
            (ResourceKind::User, Some((p, v))) if p.is("userName", None) && core_path(p, kind) => {
                Plan::UserName(v.to_owned())
            }
            (_, Some((p, v))) if p.is("externalId", None) && core_path(p, kind) => Plan::ExternalId(v.to_owned()),
            (ResourceKind::Group, Some((p, v))) if p.is("displayName", None) && core_path(p, kind) => {
                Plan::DisplayName(v.to_owned())
            }
            (ResourceKind::Group, Some((p, v)))
                if (p.is("members", None) || p.is("members", Some("value"))) && core_path(p, kind) =>
            {
                Plan::MemberOf(v.to_owned())
            }
            (ResourceKind::User, None) => work_email(part).map(Plan::WorkEmail).unwrap_or(Plan::Scan),
            _ => Plan::Scan,
        };
        if rank(&candidate) < rank(&best) {
            best = candidate;
        }
    }
    best
}

/// Whether the filter reads a derived attribute (`groups` of users, `members` of groups).
fn names_attribute(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => names_attribute(a, name) || names_attribute(b, name),
        Filter::Not(inner) => names_attribute(inner, name),
        Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => {
            path.name.eq_ignore_ascii_case(name)
        }
    }
}

/// The single member id a filter asks about with `members eq` / `members.value eq`, when there is exactly one.
fn single_member(filter: &Filter) -> Option<String> {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let ids: Vec<&str> = parts
        .iter()
        .filter_map(|p| string_eq(p))
        .filter(|(p, _)| p.is("members", None) || p.is("members", Some("value")))
        .map(|(_, v)| v)
        .collect();
    (ids.len() == 1 && !names_attribute_outside_eq(filter)).then(|| ids[0].to_owned())
}

/// True when `members` appears anywhere other than a top-level `members eq` conjunct.
fn names_attribute_outside_eq(filter: &Filter) -> bool {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    parts.iter().any(|p| {
        let is_member_eq =
            string_eq(p).is_some_and(|(path, _)| path.is("members", None) || path.is("members", Some("value")));
        !is_member_eq && names_attribute(p, "members")
    })
}

/// Where a streamed (cursor, unsorted) scan continues.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ScanPosition {
    /// The store cursor of the page to (re-)read; `None` = from the start.
    store_cursor: Option<String>,
    /// Skip records of that page up to and including this id.
    after_id: Option<String>,
}

/// The service's opaque cursor (base64url JSON), bound to the query it was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// Offset into the complete, sorted (or fast-path) result.
    Offset(usize),
    /// A streamed scan: which kind (for root searches: users first, then groups) and where in it.
    Scan { phase: usize, position: ScanPosition },
}

fn query_fingerprint(query: &ListQuery, scope: Option<ResourceKind>) -> String {
    // FNV-1a: only binds a cursor to its query so a cursor reused with another filter or sort is refused.
    let text = format!(
        "{scope:?}|{:?}|{:?}|{:?}",
        query.filter, query.sort_by, query.sort_order
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn encode_cursor(cursor: &Cursor, fingerprint: &str) -> String {
    let body = match cursor {
        Cursor::Offset(offset) => json!({"q": fingerprint, "o": offset}),
        Cursor::Scan { phase, position } => json!({
            "q": fingerprint,
            "p": phase,
            "c": position.store_cursor,
            "a": position.after_id,
        }),
    };
    URL_SAFE_NO_PAD.encode(body.to_string())
}

fn decode_cursor(text: &str, fingerprint: &str) -> Result<Cursor, ScimError> {
    if text.len() > 4096 {
        return Err(invalid_cursor());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid_cursor())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if value.get("q").and_then(Value::as_str) != Some(fingerprint) {
        return Err(invalid_cursor());
    }
    if let Some(offset) = value.get("o").and_then(Value::as_u64) {
        return Ok(Cursor::Offset(usize::try_from(offset).map_err(|_| invalid_cursor())?));
    }
    let phase = value.get("p").and_then(Value::as_u64).ok_or_else(invalid_cursor)?;
    let text_of = |key: &str| match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_cursor()),
    };
    Ok(Cursor::Scan {
        phase: usize::try_from(phase).map_err(|_| invalid_cursor())?,
        position: ScanPosition {
            store_cursor: text_of("c")?,
            after_id: text_of("a")?,
        },
    })
}

/// What a streamed scan produced.
struct Streamed {
    hits: Vec<Hit>,
    /// Where to continue; `None` when the scan reached the end.
    next: Option<ScanPosition>,
}

fn too_many(budget: usize) -> ScimError {
    ScimError::too_many(format!(
        "this query would read more than {budget} resources of the tenant; filter with a fast-path attribute \
         (id, userName, externalId, emails[type eq \"work\"].value, displayName, members eq) or page with \
         cursor pagination (cursor=) instead of startIndex"
    ))
}

impl DirectoryService {
    /// GET /Users, GET /Groups, POST /{Users,Groups}/.search (`scope` = that kind) and POST /.search (`None`).
    pub async fn list(
        &self,
        ctx: &RequestContext,
        scope: Option<ResourceKind>,
        query: &ListQuery,
    ) -> Result<Value, ScimError> {
        let kinds: Vec<ResourceKind> = match scope {
            Some(kind) => vec![kind],
            None => vec![ResourceKind::User, ResourceKind::Group],
        };
        // Parse and validate per kind; at the root a filter only applies to the kinds whose schema it fits.
        let mut filters: Vec<Option<Option<Filter>>> = Vec::new();
        for kind in &kinds {
            let parsed = match query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
                None => Some(None),
                Some(text) => match crate::entra_compat::filter::parse_and_validate(text, schema_of(*kind)) {
                    Ok(f) => Some(Some(f)),
                    Err(err) if scope.is_some() => return Err(err),
                    Err(_) => None,
                },
            };
            filters.push(parsed);
        }
        if scope.is_none() && filters.iter().all(Option::is_none) {
            // Report the error as the user schema sees it.
            if let Some(text) = query.filter.as_deref() {
                crate::entra_compat::filter::parse_and_validate(text, ResourceSchema::user())?;
            }
        }
        let sort_by = match query.sort_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(sort::parse_sort_by(text, schema_of(kinds[0]))?),
        };
        let order = SortOrder::parse(query.sort_order.as_deref())?;
        let count = match query.count {
            None => self.config.default_page_size,
            Some(c) if c < 0 => 0,
            Some(c) => usize::try_from(c).unwrap_or(usize::MAX).min(self.config.max_page_size),
        };
        if query.cursor.is_some() && query.start_index.is_some() {
            return Err(ScimError::invalid_value(
                "use either startIndex (index pagination) or cursor (cursor pagination), not both",
            ));
        }
        let fingerprint = query_fingerprint(query, scope);
        let mut budget = self.config.scan_budget;

        // Fast paths and sorted queries produce the complete result; unsorted scans may stream.
        let all_fast = kinds
            .iter()
            .zip(&filters)
            .all(|(kind, f)| f.as_ref().is_none_or(|f| plan(f.as_ref(), *kind) != Plan::Scan));
        let cursor = match query.cursor.as_deref() {
            None => None,
            Some(text) if text.trim().is_empty() => Some(None),
            Some(text) => Some(Some(decode_cursor(text, &fingerprint)?)),
        };

        let streamed = cursor.is_some() && sort_by.is_none() && !all_fast;
        if streamed {
            let (phase, position) = match cursor.flatten() {
                None => (0, ScanPosition::default()),
                Some(Cursor::Scan { phase, position }) => (phase, position),
                Some(Cursor::Offset(_)) => return Err(invalid_cursor()),
            };
            let mut hits = Vec::new();
            let mut next = None;
            let mut phase = phase;
            let mut position = position;
            while phase < kinds.len() {
                let kind = kinds[phase];
                let Some(filter) = &filters[phase] else {
                    phase += 1;
                    position = ScanPosition::default();
                    continue;
                };
                let want = count - hits.len();
                let result = self
                    .scan(ctx, kind, filter.as_ref(), position.clone(), Some(want), &mut budget)
                    .await?;
                hits.extend(result.hits);
                match result.next {
                    Some(p) => {
                        next = Some(Cursor::Scan { phase, position: p });
                        break;
                    }
                    None => {
                        phase += 1;
                        position = ScanPosition::default();
                        if hits.len() >= count && phase < kinds.len() {
                            next = Some(Cursor::Scan {
                                phase,
                                position: ScanPosition::default(),
                            });
                            break;
                        }
                    }
                }
            }
            let resources = self.render(ctx, hits, &query.projection).await?;
            let mut body = json!({
                "schemas": [LIST_RESPONSE_SCHEMA],
                "itemsPerPage": resources.len(),
                "Resources": resources,
            });
            if let Some(next) = next {
                body["nextCursor"] = json!(encode_cursor(&next, &fingerprint));
            }
            return Ok(body);
        }

        // Complete result within the budget.
        let mut hits = Vec::new();
        for (kind, filter) in kinds.iter().zip(&filters) {
            let Some(filter) = filter else { continue };
            hits.extend(self.matches_of(ctx, *kind, filter.as_ref(), &mut budget).await?);
        }
        if let Some(sort_by) = &sort_by {
            for hit in hits.iter_mut().filter(|h| h.doc.is_none()) {
                hit.doc = Some(self.record_json(ctx, &hit.record));
            }
            hits.sort_by(|a, b| {
                let schema_a = schema_of(a.record.kind());
                let (Some(doc_a), Some(doc_b)) = (&a.doc, &b.doc) else {
                    return a.record.id().cmp(b.record.id());
                };
                sort::compare_ordered(doc_a, doc_b, sort_by, order, schema_a).then_with(|| match order {
                    SortOrder::Ascending => a.record.id().cmp(b.record.id()),
                    SortOrder::Descending => b.record.id().cmp(a.record.id()),
                })
            });
        }
        let total = hits.len();
        let (offset, start_index) = match &cursor {
            Some(Some(Cursor::Offset(offset))) => (*offset, None),
            Some(Some(Cursor::Scan { .. })) => return Err(invalid_cursor()),
            Some(None) => (0, None),
            None => {
                let start = query.start_index.unwrap_or(1).max(1);
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                (start - 1, Some(start))
            }
        };
        let window: Vec<Hit> = hits.into_iter().skip(offset).take(count).collect();
        let next_offset = offset + window.len();
        let resources = self.render(ctx, window, &query.projection).await?;
        let mut body = json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        });
        match start_index {
            Some(start) => body["startIndex"] = json!(start),
            None if next_offset < total => {
                body["nextCursor"] = json!(encode_cursor(&Cursor::Offset(next_offset), &fingerprint));
            }
            None => {}
        }
        Ok(body)
    }

    /// Every match of one kind: by fast path, or by a complete scan within the budget (else `tooMany`).
    async fn matches_of(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        filter: Option<&Filter>,
        budget: &mut usize,
    ) -> Result<Vec<Hit>, ScimError> {
        let tenant = &ctx.caller.tenant_id;
        let plan = plan(filter, kind);
        let err = |e| store_error(kind, "", e);
        // A key longer than any stored one matches nothing (and must not reach DynamoDB's key-size limit).
        let key_len = match &plan {
            Plan::Id(v)
            | Plan::UserName(v)
            | Plan::ExternalId(v)
            | Plan::WorkEmail(v)
            | Plan::DisplayName(v)
            | Plan::MemberOf(v) => v.len(),
            Plan::Scan => 0,
        };
        if key_len > super::MAX_KEY_BYTES {
            return Ok(Vec::new());
        }
        let candidates: Vec<Record> = match (&plan, kind) {
            (Plan::Scan, _) => {
                let result = self
                    .scan(ctx, kind, filter, ScanPosition::default(), None, budget)
                    .await?;
                if result.next.is_some() {
                    return Err(too_many(self.config.scan_budget));
                }
                return Ok(result.hits);
            }
            (Plan::Id(id), ResourceKind::User) => self
                .store
                .get_user(tenant, id)
                .await
                .map_err(err)?
                .map(Record::User)
                .into_iter()
                .collect(),
            (Plan::Id(id), ResourceKind::Group) => {
                // Entra's membership check `id eq ".." and members eq ".."`: the group and one membership, one read.
                if let Some(member) = filter.and_then(single_member) {
                    return match self
                        .store
                        .group_with_membership(tenant, id, &member)
                        .await
                        .map_err(err)?
                    {
                        None => Ok(Vec::new()),
                        Some((group, is_member)) => {
                            let members = if is_member { vec![member] } else { Vec::new() };
                            Ok(self
                                .evaluate_group(ctx, group, Some(members), filter)
                                .into_iter()
                                .collect())
                        }
                    };
                }
                self.store
                    .get_group(tenant, id)
                    .await
                    .map_err(err)?
                    .map(Record::Group)
                    .into_iter()
                    .collect()
            }
            (Plan::UserName(name), _) => self
                .store
                .user_by_user_name(tenant, name)
                .await
                .map_err(err)?
                .map(Record::User)
                .into_iter()
                .collect(),
            (Plan::ExternalId(ext), ResourceKind::User) => self
                .store
                .users_by_external_id(tenant, ext)
                .await
                .map_err(err)?
                .into_iter()
                .map(Record::User)
                .collect(),
            (Plan::ExternalId(ext), ResourceKind::Group) => self
                .store
                .groups_by_external_id(tenant, ext)
                .await
                .map_err(err)?
                .into_iter()
                .map(Record::Group)
                .collect(),
            (Plan::WorkEmail(email), _) => self
                .store
                .users_by_work_email(tenant, email)
                .await
                .map_err(err)?
                .into_iter()
                .map(Record::User)
                .collect(),
            (Plan::DisplayName(name), _) => self
                .store
                .groups_by_display_name(tenant, name)
                .await
                .map_err(err)?
                .into_iter()
                .map(Record::Group)
                .collect(),
            (Plan::MemberOf(user), _) => {
                let ids = self.store.groups_of_user(tenant, user).await.map_err(err)?;
                let groups = self.store.get_groups(tenant, &ids).await.map_err(err)?;
                if filter.is_some_and(names_attribute_outside_eq) {
                    groups.into_iter().map(Record::Group).collect()
                } else {
                    // Each of these groups has `user` as a member: that is all `members eq` needs to see.
                    return Ok(groups
                        .into_iter()
                        .filter_map(|g| self.evaluate_group(ctx, g, Some(vec![user.clone()]), filter))
                        .collect());
                }
            }
        };
        let mut hits = Vec::new();
        for record in candidates {
            if let Some(hit) = self.evaluate(ctx, record, filter, budget).await? {
                hits.push(hit);
            }
        }
        Ok(hits)
    }

    /// The stored representation without derived attributes.
    fn record_json(&self, ctx: &RequestContext, record: &Record) -> Value {
        match record {
            Record::User(user) => self.user_json(ctx, user, None),
            Record::Group(group) => self.group_json(ctx, group, None),
        }
    }

    fn evaluate_group(
        &self,
        ctx: &RequestContext,
        group: GroupRecord,
        members: Option<Vec<String>>,
        filter: Option<&Filter>,
    ) -> Option<Hit> {
        let doc = self.group_json(ctx, &group, members.as_deref());
        let schema = ResourceSchema::group();
        filter.is_none_or(|f| filter::matches(f, &doc, schema)).then_some(Hit {
            record: Record::Group(group),
            doc: Some(doc),
        })
    }

    /// Builds the representation the filter needs (derived attributes only when it names them) and evaluates.
    async fn evaluate(
        &self,
        ctx: &RequestContext,
        record: Record,
        filter: Option<&Filter>,
        budget: &mut usize,
    ) -> Result<Option<Hit>, ScimError> {
        let Some(filter) = filter else {
            return Ok(Some(Hit { record, doc: None }));
        };
        let filter = Some(filter);
        let tenant = &ctx.caller.tenant_id;
        let doc = match &record {
            Record::User(user) => {
                let groups = match filter {
                    Some(f) if names_attribute(f, "groups") => Some(
                        self.store
                            .groups_of_user(tenant, &user.id)
                            .await
                            .map_err(|e| store_error(ResourceKind::User, &user.id, e))?,
                    ),
                    _ => None,
                };
                self.user_json(ctx, user, groups.as_deref())
            }
            Record::Group(group) => {
                let members = match filter {
                    Some(f) if names_attribute(f, "members") => {
                        let members = self
                            .members_of(tenant, &group.id, None)
                            .await
                            .map_err(|e| store_error(ResourceKind::Group, &group.id, e))?;
                        *budget = budget.saturating_sub(members.len());
                        Some(members)
                    }
                    _ => None,
                };
                self.group_json(ctx, group, members.as_deref())
            }
        };
        let schema = schema_of(record.kind());
        Ok(filter
            .is_none_or(|f| filter::matches(f, &doc, schema))
            .then_some(Hit { record, doc: Some(doc) }))
    }

    /// Scans one kind from `position`, evaluating the filter, until `want` matches (None = all), the end, or the
    /// budget is spent.
    async fn scan(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        filter: Option<&Filter>,
        mut position: ScanPosition,
        want: Option<usize>,
        budget: &mut usize,
    ) -> Result<Streamed, ScimError> {
        let tenant = &ctx.caller.tenant_id;
        let mut hits = Vec::new();
        loop {
            if want.is_some_and(|w| hits.len() >= w) || *budget == 0 {
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
            let limit = self.config.scan_page.min(*budget).min(needed).max(1);
            let (records, next_cursor) = match kind {
                ResourceKind::User => {
                    let page = self
                        .store
                        .scan_users(tenant, position.store_cursor.as_deref(), limit)
                        .await
                        .map_err(scan_error)?;
                    (
                        page.items.into_iter().map(Record::User).collect::<Vec<_>>(),
                        page.next_cursor,
                    )
                }
                ResourceKind::Group => {
                    let page = self
                        .store
                        .scan_groups(tenant, position.store_cursor.as_deref(), limit)
                        .await
                        .map_err(scan_error)?;
                    (
                        page.items.into_iter().map(Record::Group).collect::<Vec<_>>(),
                        page.next_cursor,
                    )
                }
            };
            for record in records {
                if position.after_id.as_deref().is_some_and(|after| record.id() <= after) {
                    continue;
                }
                if want.is_some_and(|w| hits.len() >= w) || *budget == 0 {
                    return Ok(Streamed {
                        hits,
                        next: Some(position),
                    });
                }
                *budget -= 1;
                let id = record.id().to_owned();
                if let Some(hit) = self.evaluate(ctx, record, filter, budget).await? {
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

    /// Projects each hit, reading derived attributes (user `groups`, group `members`) only when the projection
    /// wants them and the filter did not already read them.
    async fn render(
        &self,
        ctx: &RequestContext,
        hits: Vec<Hit>,
        projection: &Projection,
    ) -> Result<Vec<Value>, ScimError> {
        let tenant = &ctx.caller.tenant_id;
        let futures = hits.into_iter().map(|hit| async move {
            let schema = schema_of(hit.record.kind());
            let doc = match &hit.record {
                Record::User(user)
                    if projection.wants_groups() && hit.doc.as_ref().is_none_or(|d| d.get("groups").is_none()) =>
                {
                    let groups = self
                        .store
                        .groups_of_user(tenant, &user.id)
                        .await
                        .map_err(|e| store_error(ResourceKind::User, &user.id, e))?;
                    self.user_json(ctx, user, Some(&groups))
                }
                Record::Group(group)
                    if projection.wants_members() && hit.doc.as_ref().is_none_or(|d| d.get("members").is_none()) =>
                {
                    let members = self
                        .members_of(tenant, &group.id, None)
                        .await
                        .map_err(|e| store_error(ResourceKind::Group, &group.id, e))?;
                    self.group_json(ctx, group, Some(&members))
                }
                _ => match hit.doc {
                    Some(doc) => doc,
                    None => self.record_json(ctx, &hit.record),
                },
            };
            Ok::<Value, ScimError>(projection.apply(&doc, schema))
        });
        // Derived attributes cost one read per listed resource: run them concurrently, but at most
        // RENDER_CONCURRENCY at a time so a page never becomes a burst of a hundred simultaneous requests.
        use futures::StreamExt;
        futures::stream::iter(futures)
            .buffered(RENDER_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }
}

fn scan_error(err: DirectoryError) -> ScimError {
    match err {
        DirectoryError::InvalidCursor => invalid_cursor(),
        other => store_error(ResourceKind::User, "", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str, kind: ResourceKind) -> Filter {
        crate::entra_compat::filter::parse_and_validate(text, schema_of(kind)).unwrap()
    }

    #[test]
    fn recognises_every_entra_fast_path() {
        let user = ResourceKind::User;
        let group = ResourceKind::Group;
        assert_eq!(
            plan(Some(&parsed(r#"userName eq "a@b.c""#, user)), user),
            Plan::UserName("a@b.c".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"externalId eq "X""#, user)), user),
            Plan::ExternalId("X".into())
        );
        assert_eq!(plan(Some(&parsed(r#"id eq "1""#, user)), user), Plan::Id("1".into()));
        assert_eq!(
            plan(Some(&parsed(r#"emails[type eq "work"].value eq "a@b.c""#, user)), user),
            Plan::WorkEmail("a@b.c".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"id eq "1" and manager eq "m""#, user)), user),
            Plan::Id("1".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"displayName eq "G""#, group)), group),
            Plan::DisplayName("G".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"id eq "g" and members eq "u""#, group)), group),
            Plan::Id("g".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"members.value eq "u""#, group)), group),
            Plan::MemberOf("u".into())
        );
        assert_eq!(plan(Some(&parsed(r#"userName co "a""#, user)), user), Plan::Scan);
        assert_eq!(
            plan(Some(&parsed(r#"userName eq "a" or userName eq "b""#, user)), user),
            Plan::Scan
        );
        assert_eq!(
            single_member(&parsed(r#"id eq "g" and members eq "u""#, group)),
            Some("u".into())
        );
    }

    #[test]
    fn cursors_are_bound_to_their_query() {
        let cursor = Cursor::Scan {
            phase: 1,
            position: ScanPosition {
                store_cursor: Some("abc".into()),
                after_id: Some("id-9".into()),
            },
        };
        let text = encode_cursor(&cursor, "f1");
        assert_eq!(decode_cursor(&text, "f1").unwrap(), cursor);
        assert!(decode_cursor(&text, "f2").is_err());
        assert!(decode_cursor("!!", "f1").is_err());
        assert_eq!(
            decode_cursor(&encode_cursor(&Cursor::Offset(7), "f"), "f").unwrap(),
            Cursor::Offset(7)
        );
    }
}
