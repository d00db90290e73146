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
//!
//! A request is first planned ([`ListPlan`]: what each kind contributes, the sort, the page size and how it pages),
//! then answered as a streamed cursor page or as a window of the complete result. [`plan`] finds the fast paths,
//! [`matching`] reads and renders the matches, [`cursor`] encodes the opaque cursors.

mod cursor;
mod matching;
mod plan;

use serde_json::{Value, json};

use self::cursor::{Cursor, ScanPosition, decode_cursor, encode_cursor, query_fingerprint};
use self::matching::{Hit, Search};
use super::{DirectoryService, Projection, RequestContext};
use crate::attr_path::AttrPath;
use crate::entra_compat;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::schema::{LIST_RESPONSE_SCHEMA, ResourceKind, ResourceSchema};
use crate::sort::{self, SortOrder};

pub(super) use self::cursor::invalid_cursor;

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

/// Which resources of one kind a list request selects.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    /// None: at the root (`POST /.search`) a filter searches only the kinds whose schema it fits.
    NotSearched,
    /// Every resource of the kind (no filter).
    All,
    /// The resources the filter matches.
    Matching(Filter),
}

impl Selection {
    fn filter(&self) -> Option<&Filter> {
        match self {
            Selection::Matching(filter) => Some(filter),
            Selection::NotSearched | Selection::All => None,
        }
    }

    /// Whether the kind costs a constant number of reads whatever the tenant size (not searched, or a fast path).
    fn is_fast(&self, kind: ResourceKind) -> bool {
        match self {
            Selection::NotSearched => true,
            Selection::All => false,
            Selection::Matching(filter) => plan::plan(Some(filter), kind) != plan::Plan::Scan,
        }
    }
}

/// How a list request pages.
#[derive(Debug, Clone, PartialEq)]
enum Paging {
    /// `startIndex` / `count` (1-based start): the complete result is counted for `totalResults`.
    Index { start_index: usize },
    /// RFC 9865 cursor pagination, first page (`cursor=` empty).
    FirstCursorPage,
    /// RFC 9865 cursor pagination, a page after the one whose `nextCursor` this is.
    NextCursorPage(Cursor),
}

/// A list or search request, planned before any storage call.
#[derive(Debug, Clone, PartialEq)]
struct ListPlan<'q> {
    /// The kinds in the order they are answered (users before groups at the root) and what each contributes.
    kinds: Vec<(ResourceKind, Selection)>,
    sort_by: Option<AttrPath>,
    order: SortOrder,
    /// Most resources on the page.
    count: usize,
    paging: Paging,
    /// Binds the cursors this request issues to its filter and sort (empty under index pagination: no cursors).
    fingerprint: String,
    /// What each resource on the page shows.
    projection: &'q Projection,
}

impl ListPlan<'_> {
    /// Cursor pages of an unsorted query that scans stream: each continues where the last one stopped. Everything
    /// else builds the complete result (within the budget) and answers a window of it.
    fn streams(&self) -> bool {
        !matches!(self.paging, Paging::Index { .. })
            && self.sort_by.is_none()
            && !self.kinds.iter().all(|(kind, selection)| selection.is_fast(*kind))
    }
}

/// What each kind contributes. At the root (`scope` = `None`) a filter applies only to the kinds whose schema it
/// fits; when it fits none, the error is the one the user schema gives.
fn selections(scope: Option<ResourceKind>, filter: Option<&str>) -> Result<Vec<(ResourceKind, Selection)>, ScimError> {
    let kinds = match scope {
        Some(kind) => vec![kind],
        None => vec![ResourceKind::User, ResourceKind::Group],
    };
    let text = filter.map(str::trim).filter(|f| !f.is_empty());
    let mut out = Vec::new();
    for kind in kinds {
        let selection = match text {
            None => Selection::All,
            Some(text) => match entra_compat::filter::parse_and_validate(text, ResourceSchema::for_kind(kind)) {
                Ok(parsed) => Selection::Matching(parsed),
                Err(err) if scope.is_some() => return Err(err),
                Err(_) => Selection::NotSearched,
            },
        };
        out.push((kind, selection));
    }
    if scope.is_none()
        && out.iter().all(|(_, s)| *s == Selection::NotSearched)
        && let Some(text) = filter
    {
        entra_compat::filter::parse_and_validate(text, ResourceSchema::user())?;
    }
    Ok(out)
}

/// A ListResponse; `totalResults` only when the complete result was counted.
fn list_response(total: Option<usize>, resources: Vec<Value>) -> Value {
    let mut body = json!({"schemas": [LIST_RESPONSE_SCHEMA]});
    if let Some(total) = total {
        body["totalResults"] = json!(total);
    }
    body["itemsPerPage"] = json!(resources.len());
    body["Resources"] = Value::Array(resources);
    body
}

impl DirectoryService {
    /// GET /Users, GET /Groups, POST /{Users,Groups}/.search (`scope` = that kind) and POST /.search (`None`).
    pub async fn list(
        &self,
        ctx: &RequestContext,
        scope: Option<ResourceKind>,
        query: &ListQuery,
    ) -> Result<Value, ScimError> {
        let plan = self.plan_list(scope, query)?;
        let mut search = Search::new(ctx, self.config.scan_budget, query.projection.wants_groups());
        if plan.streams() {
            self.stream_page(&mut search, &plan).await
        } else {
            self.complete_page(&mut search, &plan).await
        }
    }

    fn plan_list<'q>(&self, scope: Option<ResourceKind>, query: &'q ListQuery) -> Result<ListPlan<'q>, ScimError> {
        let kinds = selections(scope, query.filter.as_deref())?;
        let sort_by = match query.sort_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(sort::parse_sort_by(text, ResourceSchema::for_kind(kinds[0].0))?),
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
        // Only cursor pagination reads or issues cursors; index pages skip hashing the query.
        let fingerprint = match query.cursor {
            Some(_) => query_fingerprint(query, scope),
            None => String::new(),
        };
        let paging = match query.cursor.as_deref() {
            None => Paging::Index {
                start_index: usize::try_from(query.start_index.unwrap_or(1).max(1)).unwrap_or(usize::MAX),
            },
            Some(text) if text.trim().is_empty() => Paging::FirstCursorPage,
            Some(text) => Paging::NextCursorPage(decode_cursor(text, &fingerprint)?),
        };
        Ok(ListPlan {
            kinds,
            sort_by,
            order,
            count,
            paging,
            fingerprint,
            projection: &query.projection,
        })
    }

    /// A cursor page of a streamed scan: kind after kind from where the cursor stopped, until the page is full or
    /// the budget spent; `nextCursor` says where the next page continues.
    async fn stream_page(&self, search: &mut Search<'_>, plan: &ListPlan<'_>) -> Result<Value, ScimError> {
        let (mut phase, mut position) = match &plan.paging {
            Paging::NextCursorPage(Cursor::Scan { phase, position }) => (*phase, position.clone()),
            Paging::NextCursorPage(Cursor::Offset(_)) => return Err(invalid_cursor()),
            Paging::FirstCursorPage | Paging::Index { .. } => (0, ScanPosition::default()),
        };
        let mut hits = Vec::new();
        let mut next = None;
        while let Some((kind, selection)) = plan.kinds.get(phase) {
            let searched = *selection != Selection::NotSearched;
            if searched {
                let want = plan.count - hits.len();
                let result = self
                    .scan(search, *kind, selection.filter(), position, Some(want))
                    .await?;
                hits.extend(result.hits);
                if let Some(position) = result.next {
                    next = Some(Cursor::Scan { phase, position });
                    break;
                }
            }
            phase += 1;
            position = ScanPosition::default();
            // This kind is finished and the page is full: the next page starts with the next kind.
            if searched && hits.len() >= plan.count && phase < plan.kinds.len() {
                next = Some(Cursor::Scan { phase, position });
                break;
            }
        }
        let mut body = list_response(None, self.render(search.ctx, hits, plan.projection).await?);
        if let Some(next) = next {
            body["nextCursor"] = json!(encode_cursor(&next, &plan.fingerprint));
        }
        Ok(body)
    }

    /// A page of the complete result (fast paths, sorted queries, index pagination): every match within the budget,
    /// sorted when asked, and the window the page asks for.
    async fn complete_page(&self, search: &mut Search<'_>, plan: &ListPlan<'_>) -> Result<Value, ScimError> {
        let mut hits = Vec::new();
        for (kind, selection) in &plan.kinds {
            if *selection != Selection::NotSearched {
                hits.extend(self.matches_of(search, *kind, selection.filter()).await?);
            }
        }
        if let Some(sort_by) = &plan.sort_by {
            self.sort_hits(search.ctx, &mut hits, sort_by, plan.order);
        }
        let total = hits.len();
        let (offset, start_index) = match &plan.paging {
            Paging::Index { start_index } => (start_index - 1, Some(*start_index)),
            Paging::FirstCursorPage => (0, None),
            Paging::NextCursorPage(Cursor::Offset(offset)) => (*offset, None),
            Paging::NextCursorPage(Cursor::Scan { .. }) => return Err(invalid_cursor()),
        };
        let window: Vec<Hit> = hits.into_iter().skip(offset).take(plan.count).collect();
        let next_offset = offset + window.len();
        let mut body = list_response(Some(total), self.render(search.ctx, window, plan.projection).await?);
        match start_index {
            Some(start) => body["startIndex"] = json!(start),
            None if next_offset < total => {
                body["nextCursor"] = json!(encode_cursor(&Cursor::Offset(next_offset), &plan.fingerprint));
            }
            None => {}
        }
        Ok(body)
    }

    /// Sorts by `sort_by` (resources without the attribute last), ties by id, building the representations the
    /// comparison needs.
    fn sort_hits(&self, ctx: &RequestContext, hits: &mut [Hit], sort_by: &AttrPath, order: SortOrder) {
        for hit in hits.iter_mut().filter(|h| h.doc.is_none()) {
            hit.doc = Some(self.record_json(ctx, &hit.record));
        }
        hits.sort_by(|a, b| {
            let schema_a = ResourceSchema::for_kind(a.record.kind());
            let (Some(doc_a), Some(doc_b)) = (&a.doc, &b.doc) else {
                return a.record.id().cmp(b.record.id());
            };
            sort::compare_ordered(doc_a, doc_b, sort_by, order, schema_a).then_with(|| match order {
                SortOrder::Ascending => a.record.id().cmp(b.record.id()),
                SortOrder::Descending => b.record.id().cmp(a.record.id()),
            })
        });
    }
}
