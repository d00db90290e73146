//! Provisioning activity of one customer account, from its audit trail: what Entra's provisioning did in the last
//! 7 days (users and groups created, updated, deleted), the last token grant and the last SCIM write, denials and
//! errors with their reasons, and audited requests (token requests and SCIM writes; SCIM reads are not audited)
//! per hour as a server-rendered bar chart.

use std::sync::Arc;

use serde::Serialize;

use wif_common::audit::AuditEvent;
use wif_common::clock::rfc3339;
use wif_registry::ports::{AuditLog, AuditQuery};

use crate::error::PortalError;

pub const WINDOW_HOURS: i64 = 7 * 24;
const PAGE: u32 = 1000;
const RECENT_PROBLEMS: usize = 20;
/// Chart drawing area in SVG user units.
pub const CHART_WIDTH: u32 = 840;
pub const CHART_HEIGHT: u32 = 160;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub users_created: u64,
    pub groups_created: u64,
    pub updates: u64,
    pub deletes: u64,
    pub token_grants: u64,
    pub denials: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    pub at: i64,
    pub at_text: String,
    pub action: String,
    pub client_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

impl Moment {
    fn of(event: &AuditEvent) -> Self {
        Self {
            at: event.at,
            at_text: rfc3339(event.at),
            action: event.action.clone(),
            client_id: event.client_id.clone(),
            outcome: event.outcome.clone(),
            reason: event.reason.clone(),
        }
    }
}

/// One bar of the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub count: u64,
    pub hour_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub counts: Counts,
    pub last_token_grant: Option<Moment>,
    pub last_scim_write: Option<Moment>,
    /// Newest first.
    pub problems: Vec<Moment>,
    pub hourly: Vec<u64>,
    pub bars: Vec<Bar>,
    pub peak: u64,
    pub total_requests: u64,
    /// (day start, requests) for the accessible table under the chart.
    pub daily: Vec<(String, u64)>,
    pub window_start: i64,
    pub window_end: i64,
    /// The event cap was reached: counts cover the newest events only.
    pub truncated: bool,
}

fn success(event: &AuditEvent) -> bool {
    event.outcome == "success" || event.outcome.starts_with('2')
}

fn is_problem(event: &AuditEvent) -> bool {
    event.outcome == "denied"
        || event.outcome == "error"
        || event.outcome.starts_with('4')
        || event.outcome.starts_with('5')
}

/// Aggregates events of `[now - 7 days, now]`, oldest first or in any order.
pub fn summarize(events: &[AuditEvent], now: i64, truncated: bool) -> Activity {
    let window_end = now - now.rem_euclid(3600) + 3600;
    let window_start = window_end - WINDOW_HOURS * 3600;
    let mut counts = Counts::default();
    let mut hourly = vec![0u64; WINDOW_HOURS as usize];
    let mut last_token_grant: Option<&AuditEvent> = None;
    let mut last_scim_write: Option<&AuditEvent> = None;
    let mut problems: Vec<&AuditEvent> = Vec::new();
    for event in events.iter().filter(|e| e.at >= window_start && e.at < window_end) {
        let provisioning = event.action.starts_with("token.") || event.action.starts_with("scim.");
        if provisioning {
            hourly[((event.at - window_start) / 3600) as usize] += 1;
        }
        let newer = |slot: &Option<&AuditEvent>| slot.is_none_or(|seen| seen.at <= event.at);
        match (event.action.as_str(), success(event)) {
            ("token.granted", true) => {
                counts.token_grants += 1;
                if newer(&last_token_grant) {
                    last_token_grant = Some(event);
                }
            }
            ("scim.user.create", true) => counts.users_created += 1,
            ("scim.group.create", true) => counts.groups_created += 1,
            (action, true) if action.ends_with(".patch") || action.ends_with(".replace") => counts.updates += 1,
            (action, true) if action.starts_with("scim.") && action.ends_with(".delete") => counts.deletes += 1,
            _ => {}
        }
        if event.action.starts_with("scim.") && success(event) && newer(&last_scim_write) {
            last_scim_write = Some(event);
        }
        if provisioning && is_problem(event) {
            counts.denials += 1;
            problems.push(event);
        }
    }
    problems.sort_by_key(|event| std::cmp::Reverse(event.at));
    let peak = hourly.iter().copied().max().unwrap_or(0);
    Activity {
        bars: bars(&hourly, peak, window_start),
        daily: hourly
            .chunks(24)
            .enumerate()
            .map(|(day, hours)| (rfc3339(window_start + day as i64 * 86_400), hours.iter().sum()))
            .collect(),
        total_requests: hourly.iter().sum(),
        counts,
        last_token_grant: last_token_grant.map(Moment::of),
        last_scim_write: last_scim_write.map(Moment::of),
        problems: problems.into_iter().take(RECENT_PROBLEMS).map(Moment::of).collect(),
        hourly,
        peak,
        window_start,
        window_end,
        truncated,
    }
}

/// Bar geometry: one bar per hour, scaled to the peak; an hour with requests is at least 2 units tall.
fn bars(hourly: &[u64], peak: u64, window_start: i64) -> Vec<Bar> {
    let slot = CHART_WIDTH / hourly.len().max(1) as u32;
    hourly
        .iter()
        .enumerate()
        .map(|(index, &count)| {
            let height = if count == 0 || peak == 0 {
                0
            } else {
                ((count * u64::from(CHART_HEIGHT)).div_ceil(peak) as u32).max(2)
            };
            Bar {
                x: index as u32 * slot,
                y: CHART_HEIGHT - height,
                width: slot.saturating_sub(1).max(1),
                height,
                count,
                hour_text: rfc3339(window_start + index as i64 * 3600),
            }
        })
        .collect()
}

/// Reads a customer account's audit events of the last 7 days (at most `max_events`, newest first) and
/// summarizes them, optionally for one registration.
pub struct ActivityReader {
    log: Arc<dyn AuditLog>,
    max_events: usize,
}

impl ActivityReader {
    pub fn new(log: Arc<dyn AuditLog>, max_events: usize) -> Self {
        Self { log, max_events }
    }

    pub async fn read(&self, tenant_id: &str, client_id: Option<&str>, now: i64) -> Result<Activity, PortalError> {
        let mut query = AuditQuery {
            tenant_id: Some(tenant_id.to_owned()),
            client_id: client_id.map(str::to_owned),
            from: Some(now - WINDOW_HOURS * 3600 - 3600),
            to: Some(now + 3600),
            cursor: None,
            limit: PAGE,
            descending: true,
        };
        let mut events = Vec::new();
        loop {
            let page = self.log.query(&query).await.map_err(|err| {
                tracing::error!(error = %err, "audit query failed");
                PortalError::Unavailable("the activity log is not answering; try again in a moment".into())
            })?;
            events.extend(
                page.events
                    .into_iter()
                    .filter(|e| e.tenant_id.as_deref() == Some(tenant_id)),
            );
            match page.next_cursor {
                Some(cursor) if events.len() < self.max_events => query.cursor = Some(cursor),
                Some(_) => return Ok(summarize(&events, now, true)),
                None => return Ok(summarize(&events, now, false)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wif_common::audit::AuditCategory;

    fn event(at: i64, action: &str, outcome: &str) -> AuditEvent {
        let mut event = AuditEvent::new(at, AuditCategory::Scim, action, outcome);
        event.tenant_id = Some("acme".into());
        event.client_id = Some("c1".into());
        event
    }

    #[test]
    fn counts_last_moments_problems_and_hours() {
        let now = 1_800_001_800;
        let events = vec![
            event(now - 7200, "token.granted", "success"),
            event(now - 7100, "scim.user.create", "201"),
            event(now - 7000, "scim.user.create", "409"),
            event(now - 60, "scim.group.create", "201"),
            event(now - 50, "scim.user.patch", "200"),
            event(now - 40, "scim.group.patch", "204"),
            event(now - 30, "scim.user.delete", "204"),
            event(now - 20, "token.denied", "denied"),
            event(now - 10, "admin.client.update", "success"),
            event(now - 8 * 86_400, "scim.user.create", "201"),
        ];
        let activity = summarize(&events, now, false);
        assert_eq!(
            activity.counts,
            Counts {
                users_created: 1,
                groups_created: 1,
                updates: 2,
                deletes: 1,
                token_grants: 1,
                denials: 2
            }
        );
        assert_eq!(activity.last_token_grant.unwrap().at, now - 7200);
        assert_eq!(activity.last_scim_write.unwrap().at, now - 30);
        assert_eq!(activity.problems[0].action, "token.denied");
        assert_eq!(
            activity.total_requests, 8,
            "the admin event is not a provisioning request"
        );
        assert_eq!(activity.hourly.len(), 168);
        assert_eq!(*activity.hourly.last().unwrap(), 5);
        let tallest = activity.bars.iter().max_by_key(|b| b.height).unwrap();
        assert_eq!((tallest.height, tallest.y), (CHART_HEIGHT, 0));
        assert!(activity.bars.iter().all(|b| b.x + b.width <= CHART_WIDTH));
        assert_eq!(activity.daily.len(), 7);
    }
}
