//! The directory service: SCIM create / get / replace / patch / delete / list / search of Users and Groups for one
//! tenant, over a [`DirectoryStore`]. The protocol engine (resource rules, PATCH, filters, projection, sorting) and
//! Entra's dialect ([`crate::entra_compat`]) decide what a request means; this layer decides what to read and write,
//! keeps `meta` and versions, enforces write permission and tenant isolation, hashes passwords and writes the audit
//! trail.
//!
//! - this module: the request and answer types, and the five entry points, which pick the resource kind;
//! - `users` / `groups`: what each operation reads and writes for that kind;
//! - `write`: what every write shares: the audited-write wrapper and the retry on a lost version race;
//! - `representation`: the JSON of a stored resource (`id`, `meta`, derived references) and its projection;
//! - `list`: list and search with query planning; [`password`]: hashing of the write-only `password`.
//!
//! Concurrency: every write is conditional on the version read. A write that loses a race is retried from a fresh
//! read (up to [`WRITE_ATTEMPTS`] times) when the client sent no If-Match, so concurrent PATCHes compose instead of
//! overwriting each other; with If-Match the loser gets 412.
//!
//! Versions: a user's or group's version (ETag `W/"<n>"`) counts writes of its own attributes. Group membership is
//! stored one item per member and does not bump the group version: that is what keeps adding one member O(1) and
//! lets concurrent member writers never conflict. A member write with If-Match is still conditional on the group's
//! version (412 on mismatch).

mod bulk;
mod groups;
mod list;
pub mod password;
mod representation;
mod users;
mod write;

use std::sync::Arc;

use serde_json::Value;

use wif_common::Clock;
use wif_common::audit::AuditSink;

use crate::bulk::BulkLimits;
use crate::error::ScimError;
use crate::resource;
use crate::schema::ResourceKind;
use crate::store::{DirectoryError, DirectoryStore, ResourceId, StoreResult, TenantId};
use wif_common::ClientId;

pub use crate::projection::Projection;
pub use list::ListQuery;

/// How often a write that lost a version race is retried from a fresh read (no If-Match).
pub const WRITE_ATTEMPTS: usize = 5;

/// DynamoDB keys hold at most 2048 (partition) / 1024 (sort) bytes and items 400 KB: indexed values and documents
/// are capped below that so an oversized input is a 400, never a storage failure.
pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;

/// Bulk limits: 1,000 operations (measured: README, "SCIM Bulk") in at most 1 MiB.
pub const DEFAULT_BULK_MAX_OPERATIONS: usize = 1_000;
pub const DEFAULT_BULK_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Who is calling, from the verified access token (never from the request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
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
    /// What one `POST /Bulk` may hold. Operations run one after another, so `max_operations` times the slowest
    /// single write must stay inside the function's timeout (README, "SCIM Bulk").
    pub bulk: BulkLimits,
    /// How many independent creates of one Bulk request run at once.
    pub bulk_concurrency: usize,
    /// Operations of a Bulk request not started within this time answer 503 without running, so the request ends
    /// inside the function's timeout whatever it holds.
    pub bulk_time_budget: std::time::Duration,
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
            bulk: BulkLimits {
                max_operations: DEFAULT_BULK_MAX_OPERATIONS,
                max_payload_bytes: DEFAULT_BULK_MAX_PAYLOAD_BYTES,
            },
            bulk_concurrency: 10,
            bulk_time_budget: std::time::Duration::from_secs(10),
        }
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

impl PatchResponse {
    fn status(&self) -> u16 {
        match self {
            PatchResponse::Resource(_) => 200,
            PatchResponse::NoContent { .. } => 204,
        }
    }
}

/// What a read or write of one resource answers.
type Answer = Result<ResourceResponse, ScimError>;

/// One request on an existing resource: who asks, which resource, the If-Match it sent, and what the answer shows.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    ctx: &'a RequestContext,
    id: &'a ResourceId,
    if_match: Option<&'a str>,
    projection: &'a Projection,
}

impl<'a> Target<'a> {
    fn new(ctx: &'a RequestContext, id: &'a ResourceId, if_match: Option<&'a str>, projection: &'a Projection) -> Self {
        Self {
            ctx,
            id,
            if_match,
            projection,
        }
    }

    fn tenant(&self) -> &'a TenantId {
        &self.ctx.caller.tenant_id
    }
}

pub fn etag(version: u64) -> String {
    resource::format_etag(&version.to_string())
}

fn not_found(kind: ResourceKind, id: &(impl std::fmt::Display + ?Sized)) -> ScimError {
    ScimError::not_found(format!("{} \"{id}\" not found", kind.resource_type()))
}

/// A storage read of one resource: the record, or 404.
fn found<T>(
    read: StoreResult<Option<T>>,
    kind: ResourceKind,
    id: &(impl std::fmt::Display + ?Sized),
) -> Result<T, ScimError> {
    read.map_err(|e| store_error(kind, id, e))?
        .ok_or_else(|| not_found(kind, id))
}

/// Maps storage outcomes that are not handled at the call site.
fn store_error(kind: ResourceKind, id: &(impl std::fmt::Display + ?Sized), err: DirectoryError) -> ScimError {
    match err {
        DirectoryError::NotFound => not_found(kind, id),
        DirectoryError::VersionConflict => ScimError::new(
            409,
            None,
            format!(
                "{} \"{id}\" is being changed by other requests right now; retry",
                kind.resource_type()
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

    pub async fn create(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        body: Value,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let write = async {
            match kind {
                ResourceKind::User => self.create_user(ctx, body, projection).await,
                ResourceKind::Group => self.create_group(ctx, body, projection).await,
            }
        };
        let new_id = |created: &ResourceResponse| created.body.get("id").and_then(Value::as_str).map(str::to_owned);
        self.audited(ctx, kind, "create", None, write, |created| (201, new_id(created)))
            .await
    }

    pub async fn get(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &ResourceId,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        if !write::plausible_id(id.as_str()) {
            return Err(not_found(kind, id));
        }
        let target = Target::new(ctx, id, None, projection);
        match kind {
            ResourceKind::User => self.get_user(target).await,
            ResourceKind::Group => self.get_group(target).await,
        }
    }

    /// PUT.
    pub async fn replace(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &ResourceId,
        body: Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<ResourceResponse, ScimError> {
        let target = Target::new(ctx, id, if_match, projection);
        let write = async {
            match kind {
                ResourceKind::User => self.replace_user(target, &body).await,
                ResourceKind::Group => self.replace_group(target, &body).await,
            }
        };
        self.audited(ctx, kind, "replace", Some(id.as_str()), write, |_| (200, None))
            .await
    }

    pub async fn patch(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &ResourceId,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<PatchResponse, ScimError> {
        let target = Target::new(ctx, id, if_match, projection);
        let write = async {
            match kind {
                ResourceKind::User => self.patch_user(target, body).await.map(PatchResponse::Resource),
                ResourceKind::Group => self.patch_group(target, body).await,
            }
        };
        self.audited(ctx, kind, "patch", Some(id.as_str()), write, |patched| {
            (patched.status(), None)
        })
        .await
    }

    pub async fn delete(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        id: &ResourceId,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let write = self.delete_resource(&ctx.caller.tenant_id, kind, id, if_match);
        self.audited(ctx, kind, "delete", Some(id.as_str()), write, |()| (204, None))
            .await
    }

    async fn delete_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &ResourceId,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let expected = match if_match {
            None => None,
            Some(_) => {
                let current = match kind {
                    ResourceKind::User => self.read_user(tenant, id).await?.version,
                    ResourceKind::Group => self.read_group(tenant, id).await?.version,
                };
                write::pinned_version(if_match, current, kind, id)?
            }
        };
        let result = match kind {
            ResourceKind::User => self.store.delete_user(tenant, id, expected).await,
            ResourceKind::Group => self.store.delete_group(tenant, id, expected).await,
        };
        result.map_err(|err| write::pinned_write_error(err, expected, kind, id))
    }
}
