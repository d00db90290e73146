//! RFC 8935 push delivery rounds. A registration with a push endpoint is a receiver like a poller (same feed, same
//! acknowledgement state), except that we POST its pending SETs, oldest first, and acknowledge each one the
//! endpoint accepts (202) or refuses with an RFC 8935 error (400 + `err`). The first other answer (timeout,
//! connection failure, 5xx, redirect) ends the round: the remaining SETs keep their order and wait for the next
//! attempt, after the [`RetrySchedule`]'s backoff. When the schedule is exhausted the push is dead-lettered: no
//! more attempts until an operator asks for redelivery, while the events stay in the feed (retention) so nothing
//! is lost and a poll by the same registration still gets them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wif_auth::registration::Registration;
use wif_auth::scope::Scope;

use crate::feed::{FeedError, FeedService, Receiver};
use crate::poll::{Acknowledgement, SetError};
use crate::ports::StoreError;
use crate::push::{PushOutcome, RetrySchedule};
use crate::set::parse_jti;

/// Most SETs pushed to one endpoint in one round (bounds how long one endpoint can hold a round).
pub const SETS_PER_ROUND: usize = 100;
/// Longest `last_error` kept.
const ERROR_CHARS: usize = 300;

/// A registration's push delivery state, kept next to its receiver state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushState {
    /// Failed rounds in a row.
    pub failures: u32,
    /// No attempt before this time (Unix ms); 0 = now.
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    /// Set when the retry schedule ran out: nothing is pushed until redelivery is requested.
    pub dead_lettered_at_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
    /// SETs accepted (202) or refused (400 + err) by the endpoint so far.
    pub delivered: u64,
}

/// What the admin API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Active,
    Retrying,
    DeadLetter,
}

impl PushState {
    pub fn status(&self) -> PushStatus {
        match (self.dead_lettered_at_ms, self.failures) {
            (Some(_), _) => PushStatus::DeadLetter,
            (None, 0) => PushStatus::Active,
            (None, _) => PushStatus::Retrying,
        }
    }

    pub fn due(&self, now_ms: i64) -> bool {
        self.dead_lettered_at_ms.is_none() && now_ms >= self.next_attempt_ms
    }

    /// Leaves the dead letter (or a pending backoff): the next round pushes again from the oldest pending SET.
    pub fn redeliver(&mut self) {
        self.failures = 0;
        self.next_attempt_ms = 0;
        self.dead_lettered_at_ms = None;
    }

    fn failed(&mut self, reason: String, schedule: &RetrySchedule, now_ms: i64) {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(reason.chars().take(ERROR_CHARS).collect());
        match schedule.delay_after(self.failures) {
            Some(delay) => {
                self.next_attempt_ms = now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
            }
            None => self.dead_lettered_at_ms = Some(now_ms),
        }
    }
}

/// Where push states live (the Events table; memory in tests).
#[async_trait::async_trait]
pub trait PushStateStore: Send + Sync {
    async fn push_state(&self, client_id: &str) -> Result<Option<PushState>, StoreError>;
    async fn save_push_state(&self, client_id: &str, tenant: &str, state: &PushState) -> Result<(), StoreError>;
}

/// POSTs one SET (RFC 8935 §2.1) and classifies the answer; never follows a redirect.
#[async_trait::async_trait]
pub trait SetTransport: Send + Sync {
    async fn push(&self, url: &str, set: &str) -> PushOutcome;
}

/// A registration that wants its events pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub receiver: Receiver,
    pub url: String,
}

impl PushTarget {
    /// The push target of a registration: enabled, allowed `events.read`, with a push endpoint.
    pub fn of(registration: &Registration) -> Option<Self> {
        let settings = registration.events.as_ref()?;
        let url = settings.push_url.clone()?;
        let receives = registration.enabled && registration.allowed_scopes.contains(&Scope::EventsRead);
        receives.then(|| PushTarget {
            receiver: Receiver {
                client_id: registration.client_id.clone(),
                tenant: registration.tenant_id.clone(),
                level: settings.level,
            },
            url,
        })
    }
}

/// What one round did for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    pub skipped: bool,
    pub delivered: usize,
    pub refused: usize,
    /// Why the round stopped early (retried later).
    pub failure: Option<String>,
    pub dead_lettered: bool,
}

pub struct PushDelivery {
    pub feed: Arc<FeedService>,
    pub states: Arc<dyn PushStateStore>,
    pub transport: Arc<dyn SetTransport>,
    pub schedule: RetrySchedule,
}

impl PushDelivery {
    /// One round for one target: push what is pending, acknowledge what was settled, record the outcome.
    ///
    /// `clock_ms` is read at the start (is the target due?) and again when a push fails: the backoff counts from
    /// the failure, so signing and slow pushes earlier in the round never shorten the wait the endpoint gets.
    pub async fn round(
        &self,
        target: &PushTarget,
        clock_ms: &(dyn Fn() -> i64 + Sync),
    ) -> Result<RoundOutcome, FeedError> {
        let now_ms = clock_ms();
        let client_id = &target.receiver.client_id;
        let mut state = self.states.push_state(client_id).await?.unwrap_or_default();
        if !state.due(now_ms) {
            return Ok(RoundOutcome {
                skipped: true,
                ..Default::default()
            });
        }
        let pending = self.feed.pending(&target.receiver, SETS_PER_ROUND, now_ms).await?;
        let mut outcome = RoundOutcome::default();
        let mut settled = Vec::new();
        for (jti, set) in &pending.sets {
            let error = match self.transport.push(&target.url, set).await {
                PushOutcome::Delivered => None,
                PushOutcome::Refused { err, description } => Some(SetError { err, description }),
                PushOutcome::Retry(reason) => {
                    outcome.failure = Some(reason);
                    break;
                }
            };
            match error {
                None => outcome.delivered += 1,
                Some(_) => outcome.refused += 1,
            }
            if let Some((change_id, level)) = parse_jti(jti) {
                settled.push(Acknowledgement {
                    jti: jti.clone(),
                    change_id: change_id.to_owned(),
                    level,
                    error,
                });
            }
        }
        self.feed.acknowledge(&target.receiver, &settled, now_ms).await?;
        let before = state.clone();
        if !settled.is_empty() {
            state.delivered += settled.len() as u64;
            state.last_delivered_ms = Some(now_ms);
        }
        match outcome.failure.clone() {
            Some(reason) => {
                state.failed(reason, &self.schedule, clock_ms());
                outcome.dead_lettered = state.dead_lettered_at_ms.is_some();
            }
            None => state.redeliver(),
        }
        if state != before {
            self.states
                .save_push_state(client_id, &target.receiver.tenant, &state)
                .await?;
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests;
