//! The directory service: SCIM create / get / replace / patch / delete / list / search of Users and Groups for one
//! tenant, over a [`DirectoryStore`]. The protocol engine (resource rules, PATCH, filters, projection, sorting)
//! decides what a request means; this layer decides what to read and write, keeps `meta` and versions, enforces
//! write permission and tenant isolation, hashes passwords and writes the audit trail.
//!
//! Concurrency: every write is conditional on the version read. A write that loses a race is retried from a fresh
//! read (up to [`WRITE_ATTEMPTS`] times) when the client sent no If-Match, so concurrent PATCHes compose instead of
//! overwriting each other; with If-Match the loser gets 412.
//!
//! Versions: a user's or group's version (ETag `W/"<n>"`) counts writes of its own attributes. Group membership is
//! stored one item per member and does not bump the group version: that is what keeps adding one member O(1) and
//! lets concurrent member writers never conflict. A member write with If-Match is still conditional on the group's
//! version (412 on mismatch).

mod list;
pub mod password;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

use crate::error::ScimError;
use crate::filter::AttrPath;
use crate::patch::{MemberOperation, PatchRequest, take_member_operations};
use crate::projection;
use crate::resource::{self, MemberRef, check_if_match, parse_etag_list};
use crate::schema::{ResourceKind, ResourceSchema};
use crate::store::{DirectoryError, DirectoryStore, GroupRecord, UserRecord, WriteKind};

pub use list::ListQuery;

/// How often a write that lost a version race is retried from a fresh read (no If-Match).
pub const WRITE_ATTEMPTS: usize = 5;

/// Who is calling, from the verified access token (never from the request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub client_id: String,
    /// `scim` / `scim.readwrite`; `scim.read` tokens may only read and search.
    pub can_write: bool,
}

/// One request's context: the caller, the SCIM base URL (`meta.location`), and the request id for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub caller: Caller,
    /// Without trailing slash, e.g. `https://scim.example.com/scim/v2`.
    pub base_url: String,
    pub request_id: Option<String>,
}

/// Limits the service enforces (and the discovery documents advertise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Page size when the client sends no `count`.
    pub default_page_size: usize,
    /// The largest `count` honoured (`filter.maxResults` / `pagination.maxPageSize`).
    pub max_page_size: usize,
    /// Most stored resources one list/search request may read when no fast path applies. Index pagination that
    /// would need more answers 400 `tooMany`; cursor pagination returns what it found with a `nextCursor`.
    pub scan_budget: usize,
    /// Items read per storage call while scanning.
    pub scan_page: usize,
    /// Most members a group representation carries (GET of a larger group returns the first ones by id).
    pub max_members_returned: usize,
    /// PBKDF2 iterations for new password hashes.
    pub password_iterations: u32,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            default_page_size: 100,
            max_page_size: 200,
            scan_budget: 10_000,
            scan_page: 1_000,
            max_members_returned: 10_000,
            password_iterations: password::DEFAULT_ITERATIONS,
        }
    }
}

/// `attributes` / `excludedAttributes` of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        Ok(Self {
            attributes: attributes
                .map(projection::parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
            excluded: excluded
                .map(projection::parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    fn wants_groups(&self) -> bool {
        projection::is_requested(&self.attributes, &self.excluded, ResourceSchema::user(), "groups")
    }

    fn wants_members(&self) -> bool {
        projection::needs_members(&self.attributes, &self.excluded)
    }

    fn apply(&self, resource: &Value, schema: &ResourceSchema) -> Value {
        projection::project(resource, &self.attributes, &self.excluded, schema)
    }
}

/// A resource as answered: the projected body, its version (ETag) and location.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceResponse {
    pub body: Value,
    pub version: u64,
    pub location: String,
}

/// The outcome of a PATCH: users answer 200 with the resource, groups 204 (what Entra expects) unless the client
/// asked for attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchResponse {
    Resource(ResourceResponse),
    /// The group version when it is known without another read (attribute changes, If-Match).
    NoContent {
        version: Option<u64>,
    },
}

pub fn etag(version: u64) -> String {
    resource::format_etag(&version.to_string())
}

fn schema_of(kind: ResourceKind) -> &'static ResourceSchema {
    ResourceSchema::for_kind(kind)
}

fn noun(kind: ResourceKind) -> &'static str {
    kind.resource_type()
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} \"{id}\" not found", noun(kind)))
}

/// Maps storage outcomes that are not handled at the call site.
fn store_error(kind: ResourceKind, id: &str, err: DirectoryError) -> ScimError {
    match err {
        DirectoryError::NotFound => not_found(kind, id),
        DirectoryError::VersionConflict => ScimError::new(
            409,
            None,
            format!(
                "{} \"{id}\" is being changed by other requests right now; retry",
                noun(kind)
            ),
        ),
        DirectoryError::UserNameTaken => ScimError::uniqueness("userName is already taken in this tenant"),
        DirectoryError::MissingMember(member) => ScimError::invalid_value(format!(
            "member \"{member}\" is not a user of this tenant (members must be existing users)"
        )),
        DirectoryError::InvalidCursor => list::invalid_cursor(),
        DirectoryError::Unavailable(reason) => {
            tracing::error!(%reason, "directory storage unavailable");
            ScimError::unavailable("the directory is temporarily unavailable; retry later")
        }
    }
}

fn precondition_failed(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::precondition_failed(format!(
        "{} \"{id}\" has changed since the version named in If-Match",
        noun(kind)
    ))
}

/// The version an If-Match header pins, checked against the current version: `None` for `*` or no header.
fn pinned_version(
    if_match: Option<&str>,
    current: u64,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<u64>, ScimError> {
    let Some(header) = if_match else {
        return Ok(None);
    };
    check_if_match(Some(header), &current.to_string()).map_err(|_| precondition_failed(kind, id))?;
    match parse_etag_list(header)? {
        resource::EntityTags::Any => Ok(None),
        resource::EntityTags::List(_) => Ok(Some(current)),
    }
}

fn body_object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// The members' ids of a body or PATCH value; members must be users (Entra provisions no nested groups).
fn member_ids(members: &[MemberRef]) -> Result<Vec<String>, ScimError> {
    members
        .iter()
        .map(|m| match m.member_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("group") => Err(ScimError::invalid_value(format!(
                "member \"{}\" is a group; this service provider supports users as group members only",
                m.value
            ))),
            _ => Ok(m.value.clone()),
        })
        .collect()
}

/// DynamoDB keys hold at most 2048 (partition) / 1024 (sort) bytes and items 400 KB: indexed values and documents
/// are capped below that so an oversized input is a 400, never a storage failure.
pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;

/// A stored resource with what the server maintains: `id`, `meta`, and (when there are any) its references.
fn with_server_attributes(
    mut doc: Map<String, Value>,
    id: &str,
    meta: Value,
    references: Option<(&str, Vec<Value>)>,
) -> Value {
    doc.insert("id".into(), json!(id));
    doc.insert("meta".into(), meta);
    if let Some((name, refs)) = references
        && !refs.is_empty()
    {
        doc.insert(name.into(), Value::Array(refs));
    }
    Value::Object(doc)
}

fn check_limits(attributes: &Map<String, Value>, keys: &resource::IndexKeys) -> Result<(), ScimError> {
    for (name, value) in [
        ("userName", &keys.user_name),
        ("externalId", &keys.external_id),
        ("displayName", &keys.display_name),
        ("emails.value", &keys.work_email),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_KEY_BYTES) {
            return Err(ScimError::invalid_value(format!(
                "'{name}' is longer than {MAX_KEY_BYTES} bytes"
            )));
        }
    }
    let size = serde_json::to_vec(attributes).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_RESOURCE_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the resource is {size} bytes; at most {MAX_RESOURCE_BYTES} bytes are accepted"
        )));
    }
    Ok(())
}

/// Ids are server-generated UUIDs; anything else (or absurdly long) cannot exist, so it is a plain 404.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control)
}

pub struct DirectoryService {
    store: Arc<dyn DirectoryStore>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
}

impl std::fmt::Debug for DirectoryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DirectoryService {
    pub fn new(
        store: Arc<dyn DirectoryStore>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
        config: ServiceConfig,
    ) -> Self {
        Self {
            store,
            audit,
            clock,
            config,
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    fn now(&self) -> String {
        self.clock.now_rfc3339()
    }

    fn require_write(&self, ctx: &RequestContext) -> Result<(), ScimError> {
        if ctx.caller.can_write {
            Ok(())
        } else {
            Err(ScimError::forbidden(
                "this access token is read-only (scope scim.read); writing needs scim or scim.readwrite",
            ))
        }
    }

    /// Appends the audit record of a write. A lost audit write never fails the request (the change already
    /// happened); the event is logged either way.
    async fn audit(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource_id: Option<&str>,
        result: &Result<u16, ScimError>,
    ) {
        let (outcome, reason) = match result {
            Ok(status) => (status.to_string(), None),
            Err(err) => (err.status.to_string(), Some(err.detail.clone())),
        };
        let mut event = AuditEvent::new(self.clock.now_unix(), AuditCategory::Scim, action, outcome);
        event.tenant_id = Some(ctx.caller.tenant_id.clone());
        event.client_id = Some(ctx.caller.client_id.clone());
        event.actor = Some(format!("client:{}", ctx.caller.client_id));
        event.resource_id = resource_id.map(str::to_owned);
        event.reason = reason;
        event.request_id = ctx.request_id.clone();
        event.log();
        if let Err(err) = self.audit.record(event).await {
            tracing::warn!(error = %err, action, "audit record not stored");
        }
    }

    fn hash(&self, password: &str) -> Result<String, ScimError> {
        password::hash_password(password, self.config.password_iterations).map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ScimError::unavailable("the password could not be stored; retry later")
        })
    }

    // ---- representations ----

    fn location(&self, ctx: &RequestContext, kind: ResourceKind, id: &str) -> String {
        resource::meta::location(&ctx.base_url, schema_of(kind), id)
    }

    fn meta(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        created: &str,
        modified: &str,
        version: u64,
    ) -> Value {
        json!({
            "resourceType": kind.resource_type(),
            "created": created,
            "lastModified": modified,
            "location": self.location(ctx, kind, id),
            "version": etag(version),
        })
    }

    /// The full representation of a user (before projection); `groups` only when given.
    pub(crate) fn user_json(&self, ctx: &RequestContext, user: &UserRecord, groups: Option<&[String]>) -> Value {
        let meta = self.meta(
            ctx,
            ResourceKind::User,
            &user.id,
            &user.created,
            &user.last_modified,
            user.version,
        );
        let refs = groups.map(|ids| ("groups", self.references(ctx, ResourceKind::Group, ids, "direct")));
        with_server_attributes(user.attributes.clone(), &user.id, meta, refs)
    }

    pub(crate) fn group_json(&self, ctx: &RequestContext, group: &GroupRecord, members: Option<&[String]>) -> Value {
        let meta = self.meta(
            ctx,
            ResourceKind::Group,
            &group.id,
            &group.created,
            &group.last_modified,
            group.version,
        );
        let refs = members.map(|ids| ("members", self.references(ctx, ResourceKind::User, ids, "User")));
        with_server_attributes(group.attributes.clone(), &group.id, meta, refs)
    }

    /// `[{"value", "$ref", "type"}]` for resources of `kind` (a user's groups, a group's members).
    fn references(&self, ctx: &RequestContext, kind: ResourceKind, ids: &[String], type_label: &str) -> Vec<Value> {
        ids.iter()
            .map(|id| json!({"value": id, "$ref": self.location(ctx, kind, id), "type": type_label}))
            .collect()
    }

    fn respond(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        version: u64,
        full: Value,
        projection: &Projection,
    ) -> ResourceResponse {
        ResourceResponse {
            body: projection.apply(&full, schema_of(kind)),
            version,
            location: self.location(ctx, kind, id),
        }
    }

    /// Members of a group up to the representation limit (pages through the membership items).
    async fn members_of(
        &self,
        tenant: &str,
        group_id: &str,
        first_page: Option<crate::store::Page<String>>,
    ) -> Result<Vec<String>, DirectoryError> {
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
    async fn all_members(&self, tenant: &str, group_id: &str) -> Result<Vec<String>, DirectoryError> {
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

    // ---- create ----

    pub async fn create(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        body: Value,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let action = format!("scim.{}.create", kind.resource_type().to_ascii_lowercase());
        if let Err(err) = self.require_write(ctx) {
            self.audit(ctx, &action, None, &Err(err.clone())).await;
            return Err(err);
        }
        let result = match kind {
            ResourceKind::User => self.create_user(ctx, body, projection).await,
            ResourceKind::Group => self.create_group(ctx, body, projection).await,
        };
        let id = result
            .as_ref()
            .ok()
            .and_then(|r| r.body.get("id").and_then(Value::as_str).map(str::to_owned));
        self.audit(
            ctx,
            &action,
            id.as_deref(),
            &result.as_ref().map(|_| 201).map_err(Clone::clone),
        )
        .await;
        result
    }

    async fn create_user(
        &self,
        ctx: &RequestContext,
        body: Value,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let schema = ResourceSchema::user();
        let prepared = resource::prepare_create(schema, body)?;
        let keys = prepared.index_keys(schema);
        let user_name = keys
            .user_name
            .clone()
            .ok_or_else(|| ScimError::invalid_value("'userName' is required"))?;
        check_limits(&body_object(&prepared.document), &keys)?;
        let now = self.now();
        let record = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            version: 1,
            created: now.clone(),
            last_modified: now,
            user_name: user_name.clone(),
            external_id: keys.external_id.clone(),
            work_email: keys.work_email.clone(),
            attributes: body_object(&prepared.document),
            password_hash: prepared.password.as_deref().map(|p| self.hash(p)).transpose()?,
            written_by: WriteKind::Create,
        };
        match self.store.create_user(&ctx.caller.tenant_id, &record).await {
            Ok(()) => {}
            Err(DirectoryError::UserNameTaken) => {
                return Err(ScimError::uniqueness(format!(
                    "userName \"{user_name}\" is already taken"
                )));
            }
            Err(err) => return Err(store_error(ResourceKind::User, &record.id, err)),
        }
        let full = self.user_json(ctx, &record, Some(&[]));
        Ok(self.respond(ctx, ResourceKind::User, &record.id, record.version, full, projection))
    }

    async fn create_group(
        &self,
        ctx: &RequestContext,
        body: Value,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let schema = ResourceSchema::group();
        let prepared = resource::prepare_create(schema, body)?;
        let keys = prepared.index_keys(schema);
        let display_name = keys
            .display_name
            .clone()
            .ok_or_else(|| ScimError::invalid_value("'displayName' is required"))?;
        let members = member_ids(&prepared.members)?;
        check_limits(&body_object(&prepared.document), &keys)?;
        let now = self.now();
        let record = GroupRecord {
            id: uuid::Uuid::new_v4().to_string(),
            version: 1,
            created: now.clone(),
            last_modified: now,
            display_name,
            external_id: keys.external_id.clone(),
            attributes: body_object(&prepared.document),
            written_by: WriteKind::Create,
        };
        self.store
            .create_group(&ctx.caller.tenant_id, &record, &members)
            .await
            .map_err(|err| store_error(ResourceKind::Group, &record.id, err))?;
        let mut sorted = members;
        sorted.sort();
        sorted.truncate(self.config.max_members_returned);
        let full = self.group_json(ctx, &record, Some(&sorted));
        Ok(self.respond(ctx, ResourceKind::Group, &record.id, record.version, full, projection))
    }

    // ---- read ----

    pub async fn get(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        if !plausible_id(id) {
            return Err(not_found(kind, id));
        }
        let tenant = &ctx.caller.tenant_id;
        let err = |e| store_error(kind, id, e);
        match kind {
            ResourceKind::User => {
                let user = self
                    .store
                    .get_user(tenant, id)
                    .await
                    .map_err(err)?
                    .ok_or_else(|| not_found(kind, id))?;
                let groups = if projection.wants_groups() {
                    Some(self.store.groups_of_user(tenant, id).await.map_err(err)?)
                } else {
                    None
                };
                let full = self.user_json(ctx, &user, groups.as_deref());
                Ok(self.respond(ctx, kind, id, user.version, full, projection))
            }
            ResourceKind::Group => {
                // `excludedAttributes=members` (Entra's way of reading groups) reads the group item only.
                let (group, members) = if projection.wants_members() {
                    let (group, first) = self
                        .store
                        .get_group_with_members(tenant, id, self.config.max_members_returned.min(self.config.scan_page))
                        .await
                        .map_err(err)?
                        .ok_or_else(|| not_found(kind, id))?;
                    let members = self.members_of(tenant, id, Some(first)).await.map_err(err)?;
                    (group, Some(members))
                } else {
                    let group = self
                        .store
                        .get_group(tenant, id)
                        .await
                        .map_err(err)?
                        .ok_or_else(|| not_found(kind, id))?;
                    (group, None)
                };
                let full = self.group_json(ctx, &group, members.as_deref());
                Ok(self.respond(ctx, kind, id, group.version, full, projection))
            }
        }
    }

    // ---- replace (PUT) ----

    pub async fn replace(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        body: Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let action = format!("scim.{}.replace", kind.resource_type().to_ascii_lowercase());
        let result = match self.require_write(ctx) {
            Err(err) => Err(err),
            Ok(()) if !plausible_id(id) => Err(not_found(kind, id)),
            Ok(()) => match kind {
                ResourceKind::User => self.replace_user(ctx, id, body, if_match, projection).await,
                ResourceKind::Group => self.replace_group(ctx, id, body, if_match, projection).await,
            },
        };
        self.audit(
            ctx,
            &action,
            Some(id),
            &result.as_ref().map(|_| 200).map_err(Clone::clone),
        )
        .await;
        result
    }

    async fn replace_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let schema = ResourceSchema::user();
        let tenant = &ctx.caller.tenant_id;
        let kind = ResourceKind::User;
        for _ in 0..WRITE_ATTEMPTS {
            let current = self
                .store
                .get_user(tenant, id)
                .await
                .map_err(|e| store_error(kind, id, e))?
                .ok_or_else(|| not_found(kind, id))?;
            let pinned = pinned_version(if_match, current.version, kind, id)?;
            let existing = Value::Object(current.attributes.clone());
            let prepared = resource::prepare_replace(schema, &existing, body.clone())?;
            let keys = prepared.index_keys(schema);
            let next = self.next_user_record(
                &current,
                body_object(&prepared.document),
                &keys,
                prepared.password.as_deref(),
            )?;
            if let Some(response) = self.commit_user(ctx, &current, next, pinned, projection).await? {
                return Ok(response);
            }
        }
        Err(store_error(kind, id, DirectoryError::VersionConflict))
    }

    /// The record that replaces `current`: next version, new attributes and index keys, the password hashed when
    /// one was sent (kept otherwise).
    fn next_user_record(
        &self,
        current: &UserRecord,
        attributes: Map<String, Value>,
        keys: &resource::IndexKeys,
        password: Option<&str>,
    ) -> Result<UserRecord, ScimError> {
        check_limits(&attributes, keys)?;
        let user_name = keys
            .user_name
            .clone()
            .ok_or_else(|| ScimError::invalid_value("'userName' is required"))?;
        Ok(UserRecord {
            id: current.id.clone(),
            version: current.version + 1,
            created: current.created.clone(),
            last_modified: self.now(),
            user_name,
            external_id: keys.external_id.clone(),
            work_email: keys.work_email.clone(),
            attributes,
            password_hash: match password {
                Some(p) => Some(self.hash(p)?),
                None => current.password_hash.clone(),
            },
            written_by: WriteKind::Replace,
        })
    }

    /// Writes `next` over `current` on the condition of its version. `None`: another writer came first and the
    /// caller did not pin a version, so the caller re-reads and tries again.
    async fn commit_user(
        &self,
        ctx: &RequestContext,
        current: &UserRecord,
        next: UserRecord,
        pinned: Option<u64>,
        projection: &Projection,
    ) -> Result<Option<ResourceResponse>, ScimError> {
        let (tenant, id, kind) = (&ctx.caller.tenant_id, current.id.as_str(), ResourceKind::User);
        match self.store.replace_user(tenant, current, &next).await {
            Ok(()) => {
                let groups = self.groups_if_wanted(tenant, id, projection).await?;
                let full = self.user_json(ctx, &next, groups.as_deref());
                Ok(Some(self.respond(ctx, kind, id, next.version, full, projection)))
            }
            Err(DirectoryError::VersionConflict) if pinned.is_some() => Err(precondition_failed(kind, id)),
            Err(DirectoryError::VersionConflict) => Ok(None),
            Err(DirectoryError::UserNameTaken) => Err(ScimError::uniqueness(format!(
                "userName \"{}\" is already taken",
                next.user_name
            ))),
            Err(err) => Err(store_error(kind, id, err)),
        }
    }

    /// The user's derived `groups`, read only when the response will show them.
    async fn groups_if_wanted(
        &self,
        tenant: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Option<Vec<String>>, ScimError> {
        if !projection.wants_groups() {
            return Ok(None);
        }
        self.store
            .groups_of_user(tenant, id)
            .await
            .map(Some)
            .map_err(|e| store_error(ResourceKind::User, id, e))
    }

    async fn replace_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let schema = ResourceSchema::group();
        let tenant = &ctx.caller.tenant_id;
        let kind = ResourceKind::Group;
        let err = |e| store_error(kind, id, e);
        for _ in 0..WRITE_ATTEMPTS {
            let current = self
                .store
                .get_group(tenant, id)
                .await
                .map_err(err)?
                .ok_or_else(|| not_found(kind, id))?;
            let pinned = pinned_version(if_match, current.version, kind, id)?;
            let existing = Value::Object(current.attributes.clone());
            let prepared = resource::prepare_replace(schema, &existing, body.clone())?;
            let keys = prepared.index_keys(schema);
            let wanted = member_ids(&prepared.members)?;
            let next = self.next_group_record(&current, body_object(&prepared.document), &keys)?;
            match self.store.replace_group(tenant, &current, &next).await {
                Ok(()) => {}
                Err(DirectoryError::VersionConflict) if pinned.is_some() => return Err(precondition_failed(kind, id)),
                Err(DirectoryError::VersionConflict) => continue,
                Err(e) => return Err(err(e)),
            }
            // RFC 7644 §3.5.1: PUT replaces everything, members included (absent members = none).
            let members = self.set_members(tenant, id, &wanted, Some(next.version)).await?;
            let full = self.group_json(ctx, &next, Some(&members));
            return Ok(self.respond(ctx, kind, id, next.version, full, projection));
        }
        Err(err(DirectoryError::VersionConflict))
    }

    /// The group record that replaces `current` (next version, new attributes and index keys); members are
    /// separate items and not part of it.
    fn next_group_record(
        &self,
        current: &GroupRecord,
        attributes: Map<String, Value>,
        keys: &resource::IndexKeys,
    ) -> Result<GroupRecord, ScimError> {
        check_limits(&attributes, keys)?;
        let display_name = keys
            .display_name
            .clone()
            .ok_or_else(|| ScimError::invalid_value("'displayName' is required"))?;
        Ok(GroupRecord {
            id: current.id.clone(),
            version: current.version + 1,
            created: current.created.clone(),
            last_modified: self.now(),
            display_name,
            external_id: keys.external_id.clone(),
            attributes,
            written_by: WriteKind::Replace,
        })
    }

    /// Makes the group's members exactly `wanted` by adding and removing the differences; returns the new member
    /// list (sorted, capped at the representation limit).
    async fn set_members(
        &self,
        tenant: &str,
        group_id: &str,
        wanted: &[String],
        expected: Option<u64>,
    ) -> Result<Vec<String>, ScimError> {
        let err = |e| store_error(ResourceKind::Group, group_id, e);
        let current: std::collections::BTreeSet<String> = self
            .all_members(tenant, group_id)
            .await
            .map_err(err)?
            .into_iter()
            .collect();
        let wanted: std::collections::BTreeSet<String> = wanted.iter().cloned().collect();
        let add: Vec<String> = wanted.difference(&current).cloned().collect();
        let remove: Vec<String> = current.difference(&wanted).cloned().collect();
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
        let mut members: Vec<String> = wanted.into_iter().collect();
        members.truncate(self.config.max_members_returned);
        Ok(members)
    }

    // ---- patch ----

    pub async fn patch(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<PatchResponse, ScimError> {
        let action = format!("scim.{}.patch", kind.resource_type().to_ascii_lowercase());
        let result = match self.require_write(ctx) {
            Err(err) => Err(err),
            Ok(()) if !plausible_id(id) => Err(not_found(kind, id)),
            Ok(()) => match kind {
                ResourceKind::User => self
                    .patch_user(ctx, id, body, if_match, projection)
                    .await
                    .map(PatchResponse::Resource),
                ResourceKind::Group => self.patch_group(ctx, id, body, if_match, projection).await,
            },
        };
        let status = result.as_ref().map(|r| match r {
            PatchResponse::Resource(_) => 200,
            PatchResponse::NoContent { .. } => 204,
        });
        self.audit(ctx, &action, Some(id), &status.map_err(|e| e.clone())).await;
        result
    }

    async fn patch_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let schema = ResourceSchema::user();
        let tenant = &ctx.caller.tenant_id;
        let kind = ResourceKind::User;
        let request = PatchRequest::parse(body)?;
        for _ in 0..WRITE_ATTEMPTS {
            let current = self
                .store
                .get_user(tenant, id)
                .await
                .map_err(|e| store_error(kind, id, e))?
                .ok_or_else(|| not_found(kind, id))?;
            let pinned = pinned_version(if_match, current.version, kind, id)?;
            let mut doc = Value::Object(current.attributes.clone());
            let outcome = crate::patch::apply(&mut doc, &request, schema)?;
            if !outcome.changed {
                // Nothing changed: no write, the version stays (idempotent re-sends cost one read).
                let groups = self.groups_if_wanted(tenant, id, projection).await?;
                let full = self.user_json(ctx, &current, groups.as_deref());
                return Ok(self.respond(ctx, kind, id, current.version, full, projection));
            }
            let mut attributes = body_object(&doc);
            attributes.remove("id");
            attributes.remove("meta");
            let keys = resource::index_keys(&Value::Object(attributes.clone()), schema);
            let next = self
                .next_user_record(&current, attributes, &keys, outcome.password.as_deref())?
                .written_by(WriteKind::Patch);
            if let Some(response) = self.commit_user(ctx, &current, next, pinned, projection).await? {
                return Ok(response);
            }
        }
        Err(store_error(kind, id, DirectoryError::VersionConflict))
    }

    async fn patch_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<PatchResponse, ScimError> {
        let schema = ResourceSchema::group();
        let tenant = &ctx.caller.tenant_id;
        let kind = ResourceKind::Group;
        let err = |e| store_error(kind, id, e);
        let mut request = PatchRequest::parse(body)?;
        let member_operations = take_member_operations(&mut request)?;
        // Validate every member operation before writing anything.
        for operation in &member_operations {
            if let MemberOperation::Add(refs) | MemberOperation::Replace(refs) = operation {
                member_ids(refs)?;
            }
        }

        let mut group = None;
        let mut pinned = None;
        if !request.is_empty() || if_match.is_some() || member_operations.is_empty() {
            let mut attempts = 0;
            loop {
                attempts += 1;
                let current = self
                    .store
                    .get_group(tenant, id)
                    .await
                    .map_err(err)?
                    .ok_or_else(|| not_found(kind, id))?;
                pinned = pinned_version(if_match, current.version, kind, id)?;
                if request.is_empty() {
                    group = Some(current);
                    break;
                }
                let mut doc = Value::Object(current.attributes.clone());
                let outcome = crate::patch::apply(&mut doc, &request, schema)?;
                if !outcome.changed {
                    group = Some(current);
                    break;
                }
                let mut attributes = body_object(&doc);
                attributes.remove("id");
                attributes.remove("meta");
                let keys = resource::index_keys(&Value::Object(attributes.clone()), schema);
                let next = self
                    .next_group_record(&current, attributes, &keys)?
                    .written_by(WriteKind::Patch);
                match self.store.replace_group(tenant, &current, &next).await {
                    Ok(()) => {
                        if pinned.is_some() {
                            pinned = Some(next.version);
                        }
                        group = Some(next);
                        break;
                    }
                    Err(DirectoryError::VersionConflict) if pinned.is_some() => {
                        return Err(precondition_failed(kind, id));
                    }
                    Err(DirectoryError::VersionConflict) if attempts < WRITE_ATTEMPTS => continue,
                    Err(e) => return Err(err(e)),
                }
            }
        }

        let precondition = |e: DirectoryError| match e {
            DirectoryError::VersionConflict if pinned.is_some() => precondition_failed(kind, id),
            other => err(other),
        };
        for operation in member_operations {
            match operation {
                MemberOperation::Add(refs) => {
                    let ids = member_ids(&refs)?;
                    self.store
                        .add_members(tenant, id, &ids, pinned)
                        .await
                        .map_err(precondition)?;
                }
                MemberOperation::Remove(ids) => {
                    self.store
                        .remove_members(tenant, id, &ids, pinned)
                        .await
                        .map_err(precondition)?;
                }
                MemberOperation::RemoveAll => {
                    self.store
                        .remove_all_members(tenant, id, pinned)
                        .await
                        .map_err(precondition)?;
                }
                MemberOperation::Replace(refs) => {
                    let ids = member_ids(&refs)?;
                    self.set_members(tenant, id, &ids, pinned).await?;
                }
            }
        }

        if projection.is_empty() {
            // Member-only PATCHes answer without reading the group again: one write is the whole cost.
            return Ok(PatchResponse::NoContent {
                version: group.map(|g| g.version),
            });
        }
        // The client asked for attributes: answer 200 with the resource, as RFC 7644 §3.5.2 allows.
        self.get(ctx, kind, id, projection).await.map(PatchResponse::Resource)
    }

    // ---- delete ----

    pub async fn delete(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let action = format!("scim.{}.delete", kind.resource_type().to_ascii_lowercase());
        let result = match self.require_write(ctx) {
            Err(err) => Err(err),
            Ok(()) if !plausible_id(id) => Err(not_found(kind, id)),
            Ok(()) => self.delete_inner(ctx, kind, id, if_match).await,
        };
        self.audit(
            ctx,
            &action,
            Some(id),
            &result.as_ref().map(|_| 204).map_err(Clone::clone),
        )
        .await;
        result
    }

    async fn delete_inner(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let tenant = &ctx.caller.tenant_id;
        let err = |e| store_error(kind, id, e);
        let expected = match if_match {
            None => None,
            Some(_) => {
                let current = match kind {
                    ResourceKind::User => self.store.get_user(tenant, id).await.map_err(err)?.map(|u| u.version),
                    ResourceKind::Group => self.store.get_group(tenant, id).await.map_err(err)?.map(|g| g.version),
                }
                .ok_or_else(|| not_found(kind, id))?;
                pinned_version(if_match, current, kind, id)?
            }
        };
        let result = match kind {
            ResourceKind::User => self.store.delete_user(tenant, id, expected).await,
            ResourceKind::Group => self.store.delete_group(tenant, id, expected).await,
        };
        match result {
            Ok(()) => Ok(()),
            Err(DirectoryError::VersionConflict) if expected.is_some() => Err(precondition_failed(kind, id)),
            Err(e) => Err(err(e)),
        }
    }
}
