//! A provisioning cycle: push a [`Directory`] to a SCIM endpoint the way Entra's provisioning service does.
//!
//! Order of a cycle (Entra links references only after the referenced objects exist):
//! 1. users: read (by known id, else `userName eq`), create with Entra's body, or PATCH only the differences;
//! 2. managers: a second round trip sets, changes or removes each user's manager;
//! 3. groups: read with `excludedAttributes=members` (by known id, else `displayName eq`), create empty, PATCH
//!    name changes, then add/remove members after checking each with `id eq .. and members eq ..`;
//! 4. groups removed from the file are deleted, then users removed from the file are deleted (or disabled).
//!
//! Requests run concurrently, bounded by `concurrency` (and optionally a requests-per-second cap). The cycle is
//! idempotent: a second run with the same file sends only reads.

pub mod client;
mod connection;
mod cycle;
mod groups;
pub mod report;
pub mod shapes;
pub mod state;
mod users;

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::Value;

use crate::error::Result;
use crate::token_client::{Credentials, TokenSource};
use client::{DEFAULT_REQUEST_TIMEOUT, ScimClient, ScimResponse};
pub use connection::{ConnectionReport, ConnectionStep};
pub use report::{Counts, CycleError, CycleReport};
pub use shapes::{Compat, Dialect, ManagerRemoval, ManagerValue};
pub use state::{KnownGroup, KnownUser, ProvisioningState};

/// What happens to a user that disappears from the directory file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RemovalAction {
    /// `DELETE /Users/{id}` (Entra: the user was deleted in the tenant).
    #[default]
    Delete,
    /// Soft delete with the dialect's disable PATCH (Entra: the user left the provisioning scope).
    Disable,
}

#[derive(Clone, Debug)]
pub struct ProvisionOptions {
    /// SCIM base URL, e.g. `http://127.0.0.1:9000/lambda-url/scim/scim/v2`.
    pub scim_url: String,
    pub dialect: Dialect,
    pub compat: Compat,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub max_requests_per_second: Option<f64>,
    pub removal: RemovalAction,
    /// Members per `Add`/`Remove` operation (Entra batches membership changes).
    pub members_per_patch: usize,
    pub request_timeout: Duration,
    /// Draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

impl ProvisionOptions {
    pub fn new(scim_url: impl Into<String>) -> Self {
        ProvisionOptions {
            scim_url: scim_url.into(),
            dialect: Dialect::Default,
            compat: Compat::default(),
            concurrency: 8,
            max_requests_per_second: None,
            removal: RemovalAction::Delete,
            members_per_patch: 100,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            progress: false,
        }
    }

    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn compat(mut self, compat: Compat) -> Self {
        self.compat = compat;
        self
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    pub fn removal(mut self, removal: RemovalAction) -> Self {
        self.removal = removal;
        self
    }
}

/// Runs cycles against one SCIM endpoint, keeping state between them like an Entra provisioning job.
pub struct Provisioner {
    options: ProvisionOptions,
    client: ScimClient,
    state: ProvisioningState,
}

fn err(object: &str, operation: &str, status: Option<u16>, detail: impl Into<String>) -> CycleError {
    CycleError {
        object: object.to_string(),
        operation: operation.to_string(),
        status,
        detail: detail.into(),
    }
}

fn http_err(object: &str, operation: &str, resp: &ScimResponse) -> CycleError {
    err(object, operation, Some(resp.status), resp.detail())
}

/// `Resources` of a ListResponse, or why the answer is not one.
fn list_resources(resp: &ScimResponse) -> std::result::Result<Vec<Value>, String> {
    let v = resp.json().ok_or_else(|| "the answer is not JSON".to_string())?;
    match v.get("Resources") {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => match v.get("totalResults").and_then(Value::as_u64) {
            Some(0) => Ok(Vec::new()),
            _ => Err("the answer is not a ListResponse".into()),
        },
        Some(_) => Err("Resources is not an array".into()),
    }
}

fn resource_id(v: &Value) -> Option<String> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Provisioner {
    pub fn new(options: ProvisionOptions, credentials: Credentials) -> Result<Self> {
        let client = ScimClient::new(
            &options.scim_url,
            TokenSource::new(credentials),
            options.concurrency,
            options.max_requests_per_second,
            options.request_timeout,
        )?;
        let state = ProvisioningState::for_endpoint(&options.scim_url);
        Ok(Provisioner { options, client, state })
    }

    /// Continues from a saved state. State recorded for another SCIM URL is ignored (returns false).
    pub fn resume(&mut self, state: ProvisioningState) -> bool {
        let matches = state.scim_url.as_deref().is_none_or(|u| u == self.options.scim_url);
        if matches {
            self.state = ProvisioningState {
                scim_url: Some(self.options.scim_url.clone()),
                ..state
            };
        }
        matches
    }

    pub fn state(&self) -> &ProvisioningState {
        &self.state
    }

    pub fn options(&self) -> &ProvisionOptions {
        &self.options
    }

    /// Token requests sent so far by this provisioner (renewals included).
    pub fn token_requests(&self) -> u64 {
        self.client.tokens().token_requests()
    }

    fn progress_bar(&self, total: u64) -> ProgressBar {
        if !self.options.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:<9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    async fn get_json(
        &self,
        path: &str,
        kind: &'static str,
        object: &str,
    ) -> std::result::Result<ScimResponse, CycleError> {
        self.client
            .send(Method::GET, path, None, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        kind: &'static str,
        object: &str,
    ) -> std::result::Result<ScimResponse, CycleError> {
        let resp = self
            .client
            .send(method, path, body, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(http_err(object, kind, &resp))
        }
    }

    /// `GET` of a resource by the id a previous cycle recorded: `None` when it is gone (404).
    async fn get_known(
        &self,
        path: &str,
        kind: &'static str,
        object: &str,
    ) -> std::result::Result<Option<Value>, CycleError> {
        let resp = self.get_json(path, kind, object).await?;
        match resp.status {
            200 => resp
                .json()
                .map(Some)
                .ok_or_else(|| err(object, kind, Some(200), "not JSON")),
            404 => Ok(None),
            _ => Err(http_err(object, kind, &resp)),
        }
    }

    /// Entra's equality lookup (`filter=attr eq "value"`): the one resource it finds, if any; more than one is an
    /// error (`several` says which attribute must be unique).
    async fn lookup_unique(
        &self,
        query: &str,
        kind: &'static str,
        object: &str,
        several: &str,
    ) -> std::result::Result<Option<Value>, CycleError> {
        let resp = self.get_json(query, kind, object).await?;
        if resp.status != 200 {
            return Err(http_err(object, kind, &resp));
        }
        let mut found = list_resources(&resp).map_err(|d| err(object, kind, Some(200), d))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(err(object, kind, Some(200), format!("{n} {several}"))),
        }
    }

    async fn delete(&self, path: &str, kind: &'static str, object: &str) -> std::result::Result<(), CycleError> {
        let resp = self
            .client
            .send(Method::DELETE, path, None, kind)
            .await
            .map_err(|e| err(object, kind, None, e.to_string()))?;
        // Already gone is the outcome we wanted.
        if resp.is_success() || resp.status == 404 {
            Ok(())
        } else {
            Err(http_err(object, kind, &resp))
        }
    }
}
