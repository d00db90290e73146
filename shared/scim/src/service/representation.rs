//! The JSON of a stored resource: its attributes plus what the server maintains (`id`, `meta` with the weak ETag and
//! location, and the derived references: a user's `groups`, a group's `members`), projected for the answer.

use serde_json::{Map, Value, json};

use super::{DirectoryService, Projection, RequestContext, ResourceResponse, etag};
use crate::resource;
use crate::schema::{ResourceKind, ResourceSchema};
use crate::store::{GroupRecord, ResourceId, UserRecord};

/// A stored record of either kind, borrowed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stored<'a> {
    User(&'a UserRecord),
    Group(&'a GroupRecord),
}

impl<'a> Stored<'a> {
    pub(super) fn kind(self) -> ResourceKind {
        match self {
            Stored::User(_) => ResourceKind::User,
            Stored::Group(_) => ResourceKind::Group,
        }
    }

    pub(super) fn id(self) -> &'a str {
        match self {
            Stored::User(user) => user.id.as_str(),
            Stored::Group(group) => group.id.as_str(),
        }
    }

    pub(super) fn version(self) -> u64 {
        match self {
            Stored::User(user) => user.version,
            Stored::Group(group) => group.version,
        }
    }

    /// `created`, `lastModified` and the attributes.
    fn contents(self) -> (&'a str, &'a str, &'a Map<String, Value>) {
        match self {
            Stored::User(user) => (&user.created, &user.last_modified, &user.attributes),
            Stored::Group(group) => (&group.created, &group.last_modified, &group.attributes),
        }
    }
}

impl DirectoryService {
    fn location(&self, ctx: &RequestContext, kind: ResourceKind, id: &str) -> String {
        resource::meta::location(&ctx.base_url, ResourceSchema::for_kind(kind), id)
    }

    /// The full representation of a stored resource (before projection): its attributes, `id`, `meta`, and the
    /// derived references (a user's `groups`, a group's `members`) only when given.
    pub(super) fn resource_json(
        &self,
        ctx: &RequestContext,
        stored: Stored<'_>,
        derived: Option<&[ResourceId]>,
    ) -> Value {
        let (kind, id) = (stored.kind(), stored.id());
        let (created, modified, attributes) = stored.contents();
        let mut doc = attributes.clone();
        doc.insert("id".into(), json!(id));
        let meta = json!({
            "resourceType": kind.resource_type(),
            "created": created,
            "lastModified": modified,
            "location": self.location(ctx, kind, id),
            "version": etag(stored.version()),
        });
        doc.insert("meta".into(), meta);
        if let Some(ids) = derived {
            self.insert_derived(ctx, kind, &mut doc, ids);
        }
        Value::Object(doc)
    }

    /// `doc`, a representation [`Self::resource_json`] built without derived references, with `ids` as its
    /// references: the same document as building it again with them, without copying the attributes twice.
    pub(super) fn with_derived(
        &self,
        ctx: &RequestContext,
        stored: Stored<'_>,
        doc: Value,
        ids: &[ResourceId],
    ) -> Value {
        match doc {
            Value::Object(mut doc) => {
                self.insert_derived(ctx, stored.kind(), &mut doc, ids);
                Value::Object(doc)
            }
            _ => self.resource_json(ctx, stored, Some(ids)),
        }
    }

    /// A user's `groups` / a group's `members` (`value`, `$ref`, `type`), only when there is at least one.
    fn insert_derived(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        doc: &mut Map<String, Value>,
        ids: &[ResourceId],
    ) {
        if ids.is_empty() {
            return;
        }
        let (name, referenced, type_label) = match kind {
            ResourceKind::User => ("groups", ResourceKind::Group, "direct"),
            ResourceKind::Group => ("members", ResourceKind::User, "User"),
        };
        let references = ids
            .iter()
            .map(|id| json!({"value": id, "$ref": self.location(ctx, referenced, id.as_str()), "type": type_label}))
            .collect();
        doc.insert(name.into(), Value::Array(references));
    }

    /// The answer for one resource: `full` projected, with its version and location.
    pub(super) fn respond(
        &self,
        ctx: &RequestContext,
        stored: Stored<'_>,
        full: Value,
        projection: &Projection,
    ) -> ResourceResponse {
        let (kind, id) = (stored.kind(), stored.id());
        ResourceResponse {
            body: projection.apply(&full, ResourceSchema::for_kind(kind)),
            version: stored.version(),
            location: self.location(ctx, kind, id),
        }
    }
}
