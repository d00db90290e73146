//! Users: what create, get, replace (PUT) and PATCH read and write. The userName stays unique per tenant (the store
//! enforces it with the write); a password is hashed here and never stored or answered in clear; `groups` is derived
//! from memberships and read only when the answer shows it.

use serde_json::{Map, Value};

use super::representation::Stored;
use super::store_error;
use super::write::{Attempt, apply_patch, body_object, check_limits, pinned_version, prepare_post, prepare_put};
use super::write::{required, retry_on_conflict, settle};
use super::{Answer, DirectoryService, Projection, RequestContext, ResourceResponse, Target, found, password};
use crate::error::ScimError;
use crate::patch::PatchRequest;
use crate::resource::IndexKeys;
use crate::schema::ResourceKind;
use crate::store::{DirectoryError, ResourceId, TenantId, UserRecord};

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
            password_hash: prepared.password.as_deref().map(|p| self.hash(p)).transpose()?,
            id: ResourceId::new(uuid::Uuid::new_v4().to_string()),
            version: 1,
            created: now.clone(),
            last_modified: now,
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
        let user = self.read_user(target.tenant(), target.id).await?;
        self.user_response(target, &user).await
    }

    pub(super) async fn replace_user(&self, target: Target<'_>, body: &Value) -> Answer {
        retry_on_conflict(KIND, target.id, move || async move {
            let current = self.read_user(target.tenant(), target.id).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, target.id)?;
            let (prepared, keys) = prepare_put(KIND, &current.attributes, body)?;
            let attributes = body_object(&prepared.document);
            let next = self.next_user_record(&current, attributes, &keys, prepared.password.as_deref())?;
            self.commit_user(target, &current, next, pinned).await
        })
        .await
    }

    pub(super) async fn patch_user(&self, target: Target<'_>, body: &Value) -> Answer {
        let request = &PatchRequest::parse(body)?;
        retry_on_conflict(KIND, target.id, move || async move {
            let current = self.read_user(target.tenant(), target.id).await?;
            let pinned = pinned_version(target.if_match, current.version, KIND, target.id)?;
            let Some(patched) = apply_patch(KIND, &current.attributes, request)? else {
                return self.user_response(target, &current).await.map(Attempt::Done);
            };
            let password = patched.password.as_deref();
            let next = self.next_user_record(&current, patched.attributes, &patched.keys, password)?;
            self.commit_user(target, &current, next, pinned).await
        })
        .await
    }

    /// The stored user, or 404.
    pub(super) async fn read_user(&self, tenant: &TenantId, id: &ResourceId) -> Result<UserRecord, ScimError> {
        found(self.store.get_user(tenant, id).await, KIND, id)
    }

    /// The answer for a stored user, with its derived `groups` when the projection shows them.
    async fn user_response(&self, target: Target<'_>, user: &UserRecord) -> Answer {
        let groups = self
            .groups_if_wanted(target.tenant(), &user.id, target.projection)
            .await?;
        let full = self.resource_json(target.ctx, Stored::User(user), groups.as_deref());
        Ok(self.respond(target.ctx, Stored::User(user), full, target.projection))
    }

    /// The record that replaces `current`: next version, new attributes and index keys, the password hashed when
    /// one was sent (kept otherwise).
    fn next_user_record(
        &self,
        current: &UserRecord,
        attributes: Map<String, Value>,
        keys: &IndexKeys,
        password: Option<&str>,
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
                Some(p) => Some(self.hash(p)?),
                None => current.password_hash.clone(),
            },
        })
    }

    /// Writes `next` over `current` on the condition of its version, and answers with it.
    async fn commit_user(
        &self,
        target: Target<'_>,
        current: &UserRecord,
        next: UserRecord,
        pinned: Option<u64>,
    ) -> Result<Attempt<ResourceResponse>, ScimError> {
        let written = self.store.replace_user(target.tenant(), current, &next).await;
        if let Err(DirectoryError::UserNameTaken) = written {
            return Err(user_name_taken(&next.user_name));
        }
        match settle(written, pinned, KIND, &current.id)? {
            Attempt::Done(()) => self.user_response(target, &next).await.map(Attempt::Done),
            Attempt::Lost => Ok(Attempt::Lost),
        }
    }

    /// The user's derived `groups`, read only when the response will show them.
    pub(super) async fn groups_if_wanted(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
        projection: &Projection,
    ) -> Result<Option<Vec<ResourceId>>, ScimError> {
        if !projection.wants_groups() {
            return Ok(None);
        }
        self.store
            .groups_of_user(tenant, id)
            .await
            .map(Some)
            .map_err(|e| store_error(KIND, id, e))
    }

    fn hash(&self, password: &str) -> Result<String, ScimError> {
        password::hash_password(password, self.config.password_iterations).map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ScimError::unavailable("the password could not be stored; retry later")
        })
    }
}
