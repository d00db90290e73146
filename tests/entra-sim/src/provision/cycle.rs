//! One provisioning cycle, as the named steps of the module docs of [`super`]: users, managers, groups, then
//! removals. Each step sends its requests concurrently, then records the outcomes in the job's state and the
//! cycle report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use futures::future::join_all;
use indicatif::ProgressBar;

use super::groups::GroupResult;
use super::users::UserSeen;
use super::{CycleError, CycleReport, KnownGroup, KnownUser, Provisioner, RemovalAction};
use crate::directory::{Directory, DirectoryGroup, DirectoryUser};
use crate::error::Result;

/// Objects provisioned by earlier cycles that are no longer in the file.
struct Removals {
    users: Vec<(String, KnownUser)>,
    groups: Vec<(String, KnownGroup)>,
}

/// The job's counters when the cycle started, so the report shows this cycle's share.
struct Baseline {
    started: Instant,
    requests: u64,
    kinds: BTreeMap<String, u64>,
    tokens: u64,
}

/// SCIM ids of the users provisioned in this cycle, by anchor.
pub(super) type UserIds = HashMap<String, String>;

impl Provisioner {
    /// Runs one cycle. Per-object failures are reported in the result; `Err` only when nothing could be sent
    /// (e.g. the first token request failed).
    pub async fn run_cycle(&mut self, dir: &Directory) -> Result<CycleReport> {
        let baseline = self.baseline();
        // Fail fast on credentials: without a token every request would fail the same way.
        self.client.tokens().token().await?;
        let mut report = CycleReport::default();
        let removals = self.removals(dir);
        let total = dir.users.len() * 2 + dir.groups.len() + removals.users.len() + removals.groups.len();
        let bar = self.progress_bar(total as u64);
        let (ids, seen) = self.user_step(dir, &bar, &mut report).await;
        self.manager_step(dir, &seen, &ids, &bar, &mut report).await;
        self.group_step(dir, &ids, &bar, &mut report).await;
        // Groups first, so no group still lists a user we are about to delete.
        self.group_removal_step(&removals.groups, &bar, &mut report).await;
        self.user_removal_step(&removals.users, &bar, &mut report).await;
        bar.finish_and_clear();
        self.close_report(&mut report, baseline);
        Ok(report)
    }

    fn baseline(&self) -> Baseline {
        Baseline {
            started: Instant::now(),
            requests: self.client.requests(),
            kinds: self.client.requests_by_kind(),
            tokens: self.token_requests(),
        }
    }

    fn removals(&self, dir: &Directory) -> Removals {
        let file_users: BTreeSet<String> = dir.users.iter().map(DirectoryUser::anchor).collect();
        let file_groups: BTreeSet<String> = dir.groups.iter().map(DirectoryGroup::anchor).collect();
        let users = self
            .state
            .users
            .iter()
            .filter(|(a, _)| !file_users.contains(*a))
            // A user already soft-deleted by an earlier cycle needs nothing more in disable mode.
            .filter(|(_, u)| !(u.soft_deleted && self.options.removal == RemovalAction::Disable))
            .map(|(a, u)| (a.clone(), u.clone()))
            .collect();
        let groups = self
            .state
            .groups
            .iter()
            .filter(|(a, _)| !file_groups.contains(*a))
            .map(|(a, g)| (a.clone(), g.clone()))
            .collect();
        Removals { users, groups }
    }

    /// 1. users: found or created, differences patched.
    async fn user_step(
        &mut self,
        dir: &Directory,
        bar: &ProgressBar,
        report: &mut CycleReport,
    ) -> (UserIds, Vec<Option<UserSeen>>) {
        bar.set_message("users");
        let this = &*self;
        let results = join_all(dir.users.iter().map(|u| async {
            let r = this.upsert_user(u).await;
            bar.inc(1);
            r
        }))
        .await;
        let mut ids = UserIds::new();
        let mut seen = Vec::with_capacity(results.len());
        for (u, result) in dir.users.iter().zip(results) {
            match result {
                Ok(s) => {
                    ids.insert(u.anchor(), s.id.clone());
                    let known = KnownUser {
                        id: s.id.clone(),
                        user_name: u.user_name.clone(),
                        soft_deleted: false,
                    };
                    self.state.users.insert(u.anchor(), known);
                    seen.push(Some(s));
                }
                Err(e) => {
                    report.errors.push(e);
                    seen.push(None);
                }
            }
        }
        (ids, seen)
    }

    /// 2. managers: a second round trip links, changes or unlinks each user's manager; then each user is counted.
    async fn manager_step(
        &self,
        dir: &Directory,
        seen: &[Option<UserSeen>],
        ids: &UserIds,
        bar: &ProgressBar,
        report: &mut CycleReport,
    ) {
        bar.set_message("managers");
        let results = join_all(dir.users.iter().zip(seen).map(|(u, s)| async move {
            let r = match s {
                Some(s) => self.sync_manager(dir, u, s, ids).await,
                None => Ok(false),
            };
            bar.inc(1);
            r
        }))
        .await;
        for (s, manager) in seen.iter().zip(results) {
            count_user(report, s.as_ref(), manager);
        }
    }

    /// 3. groups: found or created, renamed, members added and removed.
    async fn group_step(&mut self, dir: &Directory, ids: &UserIds, bar: &ProgressBar, report: &mut CycleReport) {
        bar.set_message("groups");
        let this = &*self;
        let groups = join_all(dir.groups.iter().map(|g| async move {
            let r = this.sync_group(dir, g, ids).await;
            bar.inc(1);
            r
        }))
        .await;
        for g in groups {
            self.record_group(g, report);
        }
    }

    fn record_group(&mut self, g: GroupResult, report: &mut CycleReport) {
        report.memberships_added += g.added;
        report.memberships_removed += g.removed;
        report.warnings.extend(g.warnings);
        let failed = !g.errors.is_empty();
        report.errors.extend(g.errors);
        match g.id {
            Some(id) => {
                let known = KnownGroup {
                    id,
                    display_name: g.display_name,
                    members: g.members,
                };
                self.state.groups.insert(g.anchor, known);
            }
            None => {
                self.state.groups.remove(&g.anchor);
            }
        }
        let counts = &mut report.groups;
        if failed {
            counts.errors += 1;
        } else if g.created {
            counts.created += 1;
        } else if g.updated || g.added + g.removed > 0 {
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
    }

    /// 4a. groups removed from the file are deleted.
    async fn group_removal_step(
        &mut self,
        removed: &[(String, KnownGroup)],
        bar: &ProgressBar,
        report: &mut CycleReport,
    ) {
        bar.set_message("removals");
        let this = &*self;
        let deletes = join_all(removed.iter().map(|(_, g)| async move {
            let path = format!("/Groups/{}", g.id);
            let r = this.delete(&path, "DELETE /Groups/{id}", &g.display_name).await;
            bar.inc(1);
            r
        }))
        .await;
        for ((anchor, _), result) in removed.iter().zip(deletes) {
            match result {
                Ok(()) => {
                    self.state.groups.remove(anchor);
                    report.groups.deleted += 1;
                }
                Err(e) => {
                    report.errors.push(e);
                    report.groups.errors += 1;
                }
            }
        }
    }

    /// 4b. users removed from the file are deleted or disabled.
    async fn user_removal_step(
        &mut self,
        removed: &[(String, KnownUser)],
        bar: &ProgressBar,
        report: &mut CycleReport,
    ) {
        let this = &*self;
        let removals = join_all(removed.iter().map(|(_, u)| async move {
            let r = this.remove_user(u).await;
            bar.inc(1);
            r
        }))
        .await;
        for ((anchor, _), result) in removed.iter().zip(removals) {
            match result {
                Ok(RemovalAction::Delete) => {
                    self.state.users.remove(anchor);
                    for g in self.state.groups.values_mut() {
                        g.members.remove(anchor);
                    }
                    report.users.deleted += 1;
                }
                Ok(RemovalAction::Disable) => {
                    if let Some(u) = self.state.users.get_mut(anchor) {
                        u.soft_deleted = true;
                    }
                    report.users.disabled += 1;
                }
                Err(e) => {
                    report.errors.push(e);
                    report.users.errors += 1;
                }
            }
        }
    }

    fn close_report(&self, report: &mut CycleReport, baseline: Baseline) {
        report.requests = self.client.requests() - baseline.requests;
        for (kind, n) in self.client.requests_by_kind() {
            let before = baseline.kinds.get(&kind).copied().unwrap_or(0);
            if n > before {
                report.requests_by_kind.insert(kind, n - before);
            }
        }
        report.token_requests = self.token_requests() - baseline.tokens;
        report.wall_time_seconds = baseline.started.elapsed().as_secs_f64();
    }
}

/// Counts one user of the file by what its user and manager round trips did.
fn count_user(report: &mut CycleReport, seen: Option<&UserSeen>, manager: std::result::Result<bool, CycleError>) {
    let Some(s) = seen else {
        report.users.errors += 1;
        return;
    };
    let manager_changed = match manager {
        Ok(changed) => changed,
        Err(e) => {
            report.errors.push(e);
            report.users.errors += 1;
            return;
        }
    };
    if manager_changed {
        report.managers_changed += 1;
    }
    let counts = &mut report.users;
    if s.created {
        counts.created += 1;
    } else if s.disabled {
        counts.disabled += 1;
    } else if s.patched || manager_changed {
        counts.updated += 1;
    } else {
        counts.unchanged += 1;
    }
}
