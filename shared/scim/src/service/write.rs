//! What every write of the directory service shares: the permission and id checks and the audit record around it
//! ([`DirectoryService::audited`]), the retry of a write that lost a version race ([`retry_on_conflict`]), the
//! preparation of a POST / PUT body or PATCH request in Entra's dialect, and the If-Match and size rules.

use serde_json::{Map, Value};

use wif_common::audit::{AuditCategory, AuditEvent};

use super::{
    DirectoryService, MAX_KEY_BYTES, MAX_RESOURCE_BYTES, RequestContext, WRITE_ATTEMPTS, not_found, store_error,
};
use crate::entra_compat;
use crate::error::ScimError;
use crate::patch::PatchRequest;
use crate::resource::{self, EntityTags, IndexKeys, PreparedResource, check_if_match, parse_etag_list};
use crate::schema::{ResourceKind, ResourceSchema};
use crate::store::{DirectoryError, StoreResult};

/// How one attempt at a write conditional on the version read ended.
pub(super) enum Attempt<T> {
    /// Written, or nothing needed writing: the answer.
    Done(T),
    /// Another writer changed the resource between the read and the write, and the client pinned no version: read
    /// again and retry.
    Lost,
}

impl<T> Attempt<T> {
    pub(super) fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempt<U> {
        match self {
            Attempt::Done(value) => Attempt::Done(f(value)),
            Attempt::Lost => Attempt::Lost,
        }
    }
}

/// Runs `attempt` (read, compute, conditional write) until it is done, at most [`WRITE_ATTEMPTS`] times, so that
/// concurrent writers without If-Match compose; still losing after that is a 409 the client may retry.
///
/// `attempt` is a plain closure returning a future (`move || async move { .. }` over references) rather than an
/// async closure: the futures of async closures are not provably `Send` for every lifetime, which the Lambda
/// runtime requires of the whole request.
pub(super) async fn retry_on_conflict<T, F>(
    kind: ResourceKind,
    id: &(impl std::fmt::Display + ?Sized),
    mut attempt: impl FnMut() -> F,
) -> Result<T, ScimError>
where
    F: Future<Output = Result<Attempt<T>, ScimError>>,
{
    for _ in 0..WRITE_ATTEMPTS {
        if let Attempt::Done(answer) = attempt().await? {
            return Ok(answer);
        }
    }
    Err(store_error(kind, id, DirectoryError::VersionConflict))
}

/// Sorts out a write conditional on the version read: done, lost to another writer (when the client pinned no
/// version), or an error ([`pinned_write_error`]).
pub(super) fn settle(
    written: StoreResult<()>,
    pinned: Option<u64>,
    kind: ResourceKind,
    id: &(impl std::fmt::Display + ?Sized),
) -> Result<Attempt<()>, ScimError> {
    match written {
        Ok(()) => Ok(Attempt::Done(())),
        Err(DirectoryError::VersionConflict) if pinned.is_none() => Ok(Attempt::Lost),
        Err(err) => Err(pinned_write_error(err, pinned, kind, id)),
    }
}

/// A storage error of a write conditional on the version the client pinned with If-Match: losing the version check
/// is 412; anything else maps as usual.
pub(super) fn pinned_write_error(
    err: DirectoryError,
    pinned: Option<u64>,
    kind: ResourceKind,
    id: &(impl std::fmt::Display + ?Sized),
) -> ScimError {
    match err {
        DirectoryError::VersionConflict if pinned.is_some() => precondition_failed(kind, id),
        other => store_error(kind, id, other),
    }
}

fn precondition_failed(kind: ResourceKind, id: &(impl std::fmt::Display + ?Sized)) -> ScimError {
    ScimError::precondition_failed(format!(
        "{} \"{id}\" has changed since the version named in If-Match",
        kind.resource_type()
    ))
}

/// The version an If-Match header pins, checked against the current version: `None` for `*` or no header.
pub(super) fn pinned_version(
    if_match: Option<&str>,
    current: u64,
    kind: ResourceKind,
    id: &(impl std::fmt::Display + ?Sized),
) -> Result<Option<u64>, ScimError> {
    let Some(header) = if_match else {
        return Ok(None);
    };
    check_if_match(Some(header), &current.to_string()).map_err(|_| precondition_failed(kind, id))?;
    match parse_etag_list(header)? {
        EntityTags::Any => Ok(None),
        EntityTags::List(_) => Ok(Some(current)),
    }
}

/// Longest id that could be one of ours (they are server-generated UUIDs).
pub const MAX_ID_CHARS: usize = 128;

/// Ids are server-generated UUIDs; anything else (or absurdly long) cannot exist, so it is a plain 404.
pub(super) fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_CHARS && !id.chars().any(char::is_control)
}

pub(super) fn body_object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// A POST body as Entra sends it, prepared for storage, with its index keys.
pub(super) fn prepare_post(kind: ResourceKind, body: Value) -> Result<(PreparedResource, IndexKeys), ScimError> {
    let schema = ResourceSchema::for_kind(kind);
    let prepared = entra_compat::resource::prepare_create(schema, body)?;
    let keys = prepared.index_keys(schema);
    Ok((prepared, keys))
}

/// A PUT body as Entra sends it, prepared for storage against the stored attributes, with its index keys.
pub(super) fn prepare_put(
    kind: ResourceKind,
    stored: &Map<String, Value>,
    body: &Value,
) -> Result<(PreparedResource, IndexKeys), ScimError> {
    let schema = ResourceSchema::for_kind(kind);
    let existing = Value::Object(stored.clone());
    let prepared = entra_compat::resource::prepare_replace(schema, &existing, body.clone())?;
    let keys = prepared.index_keys(schema);
    Ok((prepared, keys))
}

/// What the attribute operations of a PATCH made of the stored attributes.
pub(super) struct Patched {
    pub attributes: Map<String, Value>,
    pub keys: IndexKeys,
    /// The password the request set (hash it).
    pub password: Option<String>,
}

/// Applies a PATCH request in Entra's dialect to the stored attributes; `None` when nothing changed (no write, the
/// version stays: an idempotent re-send costs one read).
pub(super) fn apply_patch(
    kind: ResourceKind,
    stored: &Map<String, Value>,
    request: &PatchRequest,
) -> Result<Option<Patched>, ScimError> {
    let schema = ResourceSchema::for_kind(kind);
    let mut doc = Value::Object(stored.clone());
    let outcome = entra_compat::patch::apply(&mut doc, request, schema)?;
    if !outcome.changed {
        return Ok(None);
    }
    let mut attributes = body_object(&doc);
    attributes.remove("id");
    attributes.remove("meta");
    let keys = resource::index_keys(&Value::Object(attributes.clone()), schema);
    Ok(Some(Patched {
        attributes,
        keys,
        password: outcome.password,
    }))
}

/// The value of a required index key (`userName`, group `displayName`).
pub(super) fn required(value: &Option<String>, name: &str) -> Result<String, ScimError> {
    value
        .clone()
        .ok_or_else(|| ScimError::invalid_value(format!("'{name}' is required")))
}

/// An indexed value or a document too large to store is the client's error, caught before any write.
pub(super) fn check_limits(attributes: &Map<String, Value>, keys: &resource::IndexKeys) -> Result<(), ScimError> {
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

/// The resource in an audit action's name (`scim.user.patch`, `scim.group.delete`).
fn audit_noun(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "user",
        ResourceKind::Group => "group",
    }
}

impl DirectoryService {
    /// Runs one write the audit trail records: checks that the token may write and that `id` (the existing resource
    /// the write names, `None` for a create) could exist, runs `write`, then appends the audit record of whatever came
    /// of it. `answered` gives the status of a success and, for a create, the new resource's id.
    pub(super) async fn audited<T>(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        verb: &str,
        id: Option<&str>,
        write: impl Future<Output = Result<T, ScimError>>,
        answered: impl FnOnce(&T) -> (u16, Option<String>),
    ) -> Result<T, ScimError> {
        let result = match (self.require_write(ctx), id) {
            (Err(err), _) => Err(err),
            (Ok(()), Some(id)) if !plausible_id(id) => Err(not_found(kind, id)),
            (Ok(()), _) => write.await,
        };
        let (audited_id, outcome) = match &result {
            Ok(answer) => {
                let (status, new_id) = answered(answer);
                (new_id.or_else(|| id.map(str::to_owned)), Ok(status))
            }
            Err(err) => (id.map(str::to_owned), Err(err.clone())),
        };
        // Built without `format!`: every write pays for it (issue 12's CPU comparison).
        let action = ["scim.", audit_noun(kind), ".", verb].concat();
        self.audit(ctx, &action, audited_id, &outcome).await;
        result
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
        resource_id: Option<String>,
        result: &Result<u16, ScimError>,
    ) {
        let (outcome, reason) = match result {
            Ok(status) => (status.to_string(), None),
            Err(err) => (err.status.to_string(), Some(err.detail.clone())),
        };
        let mut event = AuditEvent::new(self.clock.now_unix(), AuditCategory::Scim, action, outcome);
        event.tenant_id = Some(ctx.caller.tenant_id.as_str().to_owned());
        event.client_id = Some(ctx.caller.client_id.as_str().to_owned());
        event.actor = Some(["client:", ctx.caller.client_id.as_str()].concat());
        event.resource_id = resource_id;
        event.reason = reason;
        event.request_id = ctx.request_id.clone();
        event.log();
        if let Err(err) = self.audit.record(event).await {
            tracing::warn!(error = %err, action, "audit record not stored");
        }
    }
}
