//! The user round trips of a cycle: find or create each user and patch its differences, then link its manager;
//! and the removal of users no longer in the file.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use super::{CycleError, KnownUser, Provisioner, RemovalAction, err, list_resources, resource_id, shapes};
use crate::directory::{Directory, DirectoryUser};

/// Outcome of the user step for one user.
pub(super) struct UserSeen {
    pub(super) id: String,
    /// The resource as read before any change (None when created in this cycle).
    pub(super) before: Option<Value>,
    pub(super) created: bool,
    pub(super) patched: bool,
    pub(super) disabled: bool,
}

impl Provisioner {
    /// Reads the user's current resource: by the id a previous cycle recorded, else by `userName eq`.
    async fn find_user(&self, u: &DirectoryUser) -> std::result::Result<Option<Value>, CycleError> {
        let name = u.user_name.as_str();
        if let Some(id) = self.state.user_id(&u.anchor())
            && let Some(found) = self.get_known(&format!("/Users/{id}"), "GET /Users/{id}", name).await?
        {
            return Ok(Some(found));
        }
        let query = shapes::user_lookup_query(name);
        self.lookup_unique(
            &query,
            "GET /Users?filter=userName",
            name,
            "users match; userName must be unique",
        )
        .await
    }

    pub(super) async fn upsert_user(&self, u: &DirectoryUser) -> std::result::Result<UserSeen, CycleError> {
        let name = u.user_name.as_str();
        match self.find_user(u).await? {
            None => {
                let body = shapes::create_user_body(u);
                let resp = self
                    .send(Method::POST, "/Users", Some(&body), "POST /Users", name)
                    .await?;
                let id = resp
                    .json()
                    .as_ref()
                    .and_then(resource_id)
                    .ok_or_else(|| err(name, "POST /Users", Some(resp.status), "created resource has no id"))?;
                Ok(UserSeen {
                    id,
                    before: None,
                    created: true,
                    patched: false,
                    disabled: false,
                })
            }
            Some(resource) => {
                let id =
                    resource_id(&resource).ok_or_else(|| err(name, "GET /Users", Some(200), "resource has no id"))?;
                let changes = shapes::user_changes(u, &resource);
                let disabled = changes
                    .iter()
                    .any(|c| c.attr == shapes::Attr::Active && c.value == Value::Bool(false));
                let patched = match shapes::user_patch(self.options.dialect, &changes) {
                    Some(body) => {
                        self.send(
                            Method::PATCH,
                            &format!("/Users/{id}"),
                            Some(&body),
                            "PATCH /Users/{id}",
                            name,
                        )
                        .await?;
                        true
                    }
                    None => false,
                };
                Ok(UserSeen {
                    id,
                    before: Some(resource),
                    created: false,
                    patched,
                    disabled,
                })
            }
        }
    }

    /// The SCIM id of the manager the file names for `u`, if any.
    fn desired_manager(
        dir: &Directory,
        u: &DirectoryUser,
        ids: &HashMap<String, String>,
    ) -> std::result::Result<Option<String>, CycleError> {
        let name = u.user_name.as_str();
        let Some(reference) = &u.manager else {
            return Ok(None);
        };
        let manager = dir.resolve_user(reference).ok_or_else(|| {
            err(
                name,
                "manager",
                None,
                format!("manager {reference:?} is not in the file"),
            )
        })?;
        let id = ids.get(&manager.anchor()).ok_or_else(|| {
            err(
                name,
                "manager",
                None,
                format!("manager {} was not provisioned", manager.user_name),
            )
        })?;
        Ok(Some(id.clone()))
    }

    /// The second round trip: link (or unlink) the manager. Returns whether anything was sent.
    pub(super) async fn sync_manager(
        &self,
        dir: &Directory,
        u: &DirectoryUser,
        seen: &UserSeen,
        ids: &HashMap<String, String>,
    ) -> std::result::Result<bool, CycleError> {
        let name = u.user_name.as_str();
        let current = seen.before.as_ref().and_then(shapes::current_manager);
        let desired = Self::desired_manager(dir, u, ids)?;
        let path = format!("/Users/{}", seen.id);
        let dialect = self.options.dialect;
        let compat = self.options.compat;
        match (desired, current) {
            (Some(d), Some(c)) if d == c => Ok(false),
            (Some(d), current) => {
                if !seen.created && current.is_none() {
                    // Entra checks a reference attribute before writing it; a server that stores the manager
                    // without returning it is then left alone.
                    let kind = "GET /Users?filter=id+manager";
                    let resp = self
                        .get_json(&shapes::manager_check_query(&seen.id, &d), kind, name)
                        .await?;
                    if resp.status == 200 && list_resources(&resp).is_ok_and(|r| !r.is_empty()) {
                        return Ok(false);
                    }
                }
                let kind = if current.is_some() {
                    shapes::OpKind::Replace
                } else {
                    shapes::OpKind::Add
                };
                let body = shapes::manager_set_patch(dialect, compat, kind, &d);
                self.send(Method::PATCH, &path, Some(&body), "PATCH /Users/{id} manager", name)
                    .await?;
                Ok(true)
            }
            (None, Some(old)) => {
                let body = shapes::manager_remove_patch(dialect, compat, &old);
                self.send(Method::PATCH, &path, Some(&body), "PATCH /Users/{id} manager", name)
                    .await?;
                Ok(true)
            }
            (None, None) => Ok(false),
        }
    }

    pub(super) async fn remove_user(&self, u: &KnownUser) -> std::result::Result<RemovalAction, CycleError> {
        match self.options.removal {
            RemovalAction::Delete => {
                self.delete(&format!("/Users/{}", u.id), "DELETE /Users/{id}", &u.user_name)
                    .await?;
                Ok(RemovalAction::Delete)
            }
            RemovalAction::Disable => {
                let body = shapes::disable_patch(self.options.dialect);
                self.send(
                    Method::PATCH,
                    &format!("/Users/{}", u.id),
                    Some(&body),
                    "PATCH /Users/{id}",
                    &u.user_name,
                )
                .await?;
                Ok(RemovalAction::Disable)
            }
        }
    }
}
