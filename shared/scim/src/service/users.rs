//! Users: what create, get, replace (PUT) and PATCH read and write. The userName stays unique per tenant (the store
//! enforces it with the write); a password is hashed here and never stored or answered in clear; `groups` is derived
//! from memberships and read only when the answer shows it.

use serde_json::{Map, Value};

use super::password::HashedOnce;
use super::representation::Stored;
use super::store_error;
use super::write::{Attempt, apply_patch, body_object, check_limits, pinned_version, prepare_post, prepare_put};
use super::write::{required, retry_on_conflict, settle};
use super::{Answer, DirectoryService, Projection, RequestContext, ResourceResponse, Target, found};
use crate::error::ScimError;
use crate::patch::PatchRequest;
use crate::resource::IndexKeys;
use crate::schema::ResourceKind;
use crate::store::{DirectoryError, ResourceId, TenantId, UserRecord, WriteKind};

const KIND: ResourceKind = ResourceKind::User;

fn user_name_taken(user_name: &str) -> ScimError {
    ScimError::uniqueness(format!("userName \"{user_name}\" is already taken"))
}

impl DirectoryService {
    pub(super) async fn create_user(&self, ctx: &RequestContext, body: Value, projection: &Projection) -> Answer {
        let (prepared, keys) = prepare_post(KIND, body)?;
        let user_name = required(&keys.user_name, "userName")?;
        check_limits(&body_object(&prepared.document), &keys)?;
        let now = self.now();
        // The user's own fields, then what the server keeps about every resource.
        let record = UserRecord {
            user_name,
            external_id: keys.external_id.clone(),
            work_email: keys.work_email.clone(),
            attributes: body_object(&prepared.document),
            password_hash: prepared
                .password
                .as_deref()
                .map(|p| self.hash(&HashedOnce::default(), p))
                .transpose()?,
            id: ResourceId::new(uuid::Uuid::new_v4().to_string()),
            version: 1,
            created: now.clone(),
            last_modified: now,
            written_by: WriteKind::Create,
        };
        match self.store.create_user(&ctx.caller.tenant_id, &record).await {
            Ok(()) => {}
            Err(DirectoryError::UserNameTaken) => return Err(user_name_taken(&record.user_name)),
            Err(err) => return Err(store_error(KIND, &record.id, err)),
        }
        let full = self.resource_json(ctx, Stored::User(&record), Some(&[]));
        Ok(self.respond(ctx, Stored::User(&record), full, projection))
    }

    pub(super) async fn get_user(&self, target: Target<'_>) -> Answer {
        let (user, groups) = self.read_user_for(target).await?;
        self.user_response(target, &user, groups.as_deref())
    }

    pub(super) async fn replace_user(&self, target: Target<'_>, body: &Value) -> Answer {
        let hashes = &HashedOnce::default();
        retry_on_conflict(KIND, target.id, move || async move {
            let (current, groups) = self.read_user_for(target).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, target.id)?;
            let (prepared, keys) = prepare_put(KIND, &current.attributes, body)?;
            let attributes = body_object(&prepared.document);
            let password = prepared.password.as_deref().map(|p| (hashes, p));
            let next = self.next_user_record(&current, attributes, &keys, password)?;
            self.commit_user(target, &current, next, pinned, groups).await
        })
        .await
    }

    pub(super) async fn patch_user(&self, target: Target<'_>, body: &Value) -> Answer {
        let request = &PatchRequest::parse(body)?;
        let hashes = &HashedOnce::default();
        retry_on_conflict(KIND, target.id, move || async move {
            let (current, groups) = self.read_user_for(target).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, target.id)?;
            let Some(patched) = apply_patch(KIND, &current.attributes, request)? else {
                return self
                    .user_response(target, &current, groups.as_deref())
                    .map(Attempt::Done);
            };
            let password = patched.password.as_deref().map(|p| (hashes, p));
            let next = self
                .next_user_record(&current, patched.attributes, &patched.keys, password)?
                .written_by(WriteKind::Patch);
            self.commit_user(target, &current, next, pinned, groups).await
        })
        .await
    }

    /// The stored user, or 404.
    pub(super) async fn read_user(&self, tenant: &TenantId, id: &ResourceId) -> Result<UserRecord, ScimError> {
        found(self.store.get_user(tenant, id).await, KIND, id)
    }

    /// The stored user (or 404) and, when the answer shows them, its derived `groups`: one read either way (the
    /// user's item, or the user's partition with its reverse-membership items).
    async fn read_user_for(&self, target: Target<'_>) -> Result<(UserRecord, Option<Vec<ResourceId>>), ScimError> {
        let (tenant, id) = (target.tenant(), target.id);
        if !target.projection.wants_groups() {
            return self.read_user(tenant, id).await.map(|user| (user, None));
        }
        let (user, groups) = found(self.store.user_with_groups(tenant, id).await, KIND, id)?;
        Ok((user, Some(groups)))
    }

    /// The answer for a stored user, with its derived `groups` when they were read.
    fn user_response(&self, target: Target<'_>, user: &UserRecord, groups: Option<&[ResourceId]>) -> Answer {
        let full = self.resource_json(target.ctx, Stored::User(user), groups);
        Ok(self.respond(target.ctx, Stored::User(user), full, target.projection))
    }

    /// The record that replaces `current`: next version, new attributes and index keys, the password hashed (once
    /// per request, through its [`HashedOnce`]) when one was sent, kept otherwise.
    fn next_user_record(
        &self,
        current: &UserRecord,
        attributes: Map<String, Value>,
        keys: &IndexKeys,
        password: Option<(&HashedOnce, &str)>,
    ) -> Result<UserRecord, ScimError> {
        check_limits(&attributes, keys)?;
        Ok(UserRecord {
            user_name: required(&keys.user_name, "userName")?,
            external_id: keys.external_id.clone(),
            work_email: keys.work_email.clone(),
            attributes,
            id: current.id.clone(),
            version: current.version + 1,
            created: current.created.clone(),
            last_modified: self.now(),
            password_hash: match password {
                Some((hashes, p)) => Some(self.hash(hashes, p)?),
                None => current.password_hash.clone(),
            },
            written_by: WriteKind::Replace,
        })
    }

    /// Writes `next` over `current` on the condition of its version, and answers with it (and with the groups read
    /// with `current`: a user write does not change memberships).
    async fn commit_user(
        &self,
        target: Target<'_>,
        current: &UserRecord,
        next: UserRecord,
        pinned: Option<u64>,
        groups: Option<Vec<ResourceId>>,
    ) -> Result<Attempt<ResourceResponse>, ScimError> {
        let written = self.store.replace_user(target.tenant(), current, &next).await;
        if let Err(DirectoryError::UserNameTaken) = written {
            return Err(user_name_taken(&next.user_name));
        }
        match settle(written, pinned, KIND, &current.id)? {
            Attempt::Done(()) => self.user_response(target, &next, groups.as_deref()).map(Attempt::Done),
            Attempt::Lost => Ok(Attempt::Lost),
        }
    }

    fn hash(&self, hashes: &HashedOnce, password: &str) -> Result<String, ScimError> {
        hashes.hash(password, self.config.password_iterations).map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ScimError::unavailable("the password could not be stored; retry later")
        })
    }
}
