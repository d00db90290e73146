//! The structured result of a provisioning cycle, and its human summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub errors: u64,
}

impl Counts {
    pub fn changed(&self) -> u64 {
        self.created + self.updated + self.disabled + self.deleted
    }
}

/// One failed operation. `object` is the userName or group displayName.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleError {
    pub object: String,
    pub operation: String,
    pub status: Option<u16>,
    pub detail: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CycleReport {
    pub users: Counts,
    pub groups: Counts,
    pub memberships_added: u64,
    pub memberships_removed: u64,
    pub managers_changed: u64,
    pub errors: Vec<CycleError>,
    /// Things that did not fail the cycle but deserve a look (e.g. a server rejecting a lookup shape).
    pub warnings: Vec<String>,
    pub requests: u64,
    /// Requests by shape, e.g. `GET /Users?filter=userName` → 300.
    pub requests_by_kind: BTreeMap<String, u64>,
    pub token_requests: u64,
    pub wall_time_seconds: f64,
}

impl CycleReport {
    pub fn requests_per_second(&self) -> f64 {
        if self.wall_time_seconds > 0.0 {
            self.requests as f64 / self.wall_time_seconds
        } else {
            0.0
        }
    }

    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Objects changed on the target (0 for an idempotent re-run).
    pub fn changes(&self) -> u64 {
        self.users.changed() + self.groups.changed() + self.memberships_added + self.memberships_removed
    }

    /// Requests that modify the target (POST, PATCH, DELETE).
    pub fn writes(&self) -> u64 {
        self.requests_by_kind
            .iter()
            .filter(|(k, _)| !k.starts_with("GET"))
            .map(|(_, v)| v)
            .sum()
    }

    pub fn summary(&self) -> String {
        let mut s = String::new();
        let row = |s: &mut String, what: &str, c: &Counts| {
            let _ = writeln!(
                s,
                "{what:<7} created {:>4}  updated {:>4}  disabled {:>4}  deleted {:>4}  unchanged {:>4}  errors {:>4}",
                c.created, c.updated, c.disabled, c.deleted, c.unchanged, c.errors
            );
        };
        row(&mut s, "users", &self.users);
        row(&mut s, "groups", &self.groups);
        let _ = writeln!(
            s,
            "members added {}  removed {}  managers changed {}",
            self.memberships_added, self.memberships_removed, self.managers_changed
        );
        let _ = writeln!(
            s,
            "{} SCIM requests ({} writes) + {} token requests in {:.2} s = {:.1} requests/s",
            self.requests,
            self.writes(),
            self.token_requests,
            self.wall_time_seconds,
            self.requests_per_second()
        );
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        for e in self.errors.iter().take(20) {
            let status = e.status.map(|s| format!("HTTP {s}: ")).unwrap_or_default();
            let _ = writeln!(s, "error: {} — {}: {status}{}", e.object, e.operation, e.detail);
        }
        if self.errors.len() > 20 {
            let _ = writeln!(s, "… and {} more errors", self.errors.len() - 20);
        }
        s
    }
}
