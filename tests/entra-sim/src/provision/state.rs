//! What the simulator remembers between cycles, like the state Entra's provisioning job keeps: which SCIM id
//! each source object got, and which members it put into each group. It is what makes deletions of objects
//! removed from the file possible, and lets a second cycle skip membership checks it already knows the answer to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningState {
    /// The SCIM base URL this state belongs to; state for another endpoint is not reused.
    #[serde(default)]
    pub scim_url: Option<String>,
    /// By directory anchor (see `DirectoryUser::anchor`).
    #[serde(default)]
    pub users: BTreeMap<String, KnownUser>,
    #[serde(default)]
    pub groups: BTreeMap<String, KnownGroup>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownUser {
    pub id: String,
    pub user_name: String,
    /// Removed from the source and soft-deleted (removal mode "disable"); nothing more to send for it.
    #[serde(default)]
    pub soft_deleted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownGroup {
    pub id: String,
    pub display_name: String,
    /// User anchors the simulator made (or verified as) members.
    #[serde(default)]
    pub members: BTreeSet<String>,
}

impl ProvisioningState {
    pub fn for_endpoint(scim_url: &str) -> Self {
        ProvisioningState {
            scim_url: Some(scim_url.to_string()),
            ..Default::default()
        }
    }

    /// Reads a state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| SimError::Json {
                what: path.display().to_string(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(SimError::io(path, e)),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| SimError::io(parent, e))?;
        }
        let text = serde_json::to_vec_pretty(self).map_err(|e| SimError::Json {
            what: "provisioning state".into(),
            detail: e.to_string(),
        })?;
        crate::identity::write_atomic(path, &text)
    }

    /// The SCIM id recorded for a user anchor (ids are what group members and managers refer to).
    pub fn user_id(&self, anchor: &str) -> Option<&str> {
        self.users.get(anchor).map(|u| u.id.as_str())
    }
}
