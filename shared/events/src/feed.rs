//! A receiver's view of its tenant's feed: what to offer, what is settled, and the poll exchange (RFC 8936) over
//! the [`EventStore`] port.
//!
//! Ordering. Several stream shards and Lambda invocations append concurrently, so an entry can become visible
//! after a later-keyed one: a "last key seen" cursor would skip it. The receiver's watermark therefore advances only
//! over entries that are both acknowledged and *settled*: stamped more than `settle` ago. Ingestion guarantees that
//! an entry is visible within a third of `settle` after its stamp, or it re-stamps it ([`crate::ingest`]). Above
//! the watermark, acknowledgements are kept per event, so acknowledging out of order loses nothing, and a receiver
//! that crashes before acknowledging simply gets the same SETs again: unacknowledged events are re-offered on every
//! poll, oldest first, until acknowledged or expired (retention).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wif_auth::event_settings::EventDataLevel;

use crate::poll::{Acknowledgement, PollError, PollRequest, PollResponse};
use crate::ports::{EventStore, FeedEntry, FeedKey, ReceiverState, StoreError, Window};
use crate::set::{Issuer, claims, jti};

/// Most acknowledgements a receiver may hold above its watermark (its state is one DynamoDB item).
pub const MAX_ACKS_AHEAD: usize = 5_000;
/// Feed entries read per poll.
pub const WINDOW_LIMIT: usize = 1_000;

/// Why a SET could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// Throttled or unreachable: the events stay pending and are offered again.
    #[error("signing unavailable: {0}")]
    Unavailable(String),
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Signs SET claims as a compact JWS (`typ: secevent+jwt`); the key lives elsewhere (KMS).
#[async_trait::async_trait]
pub trait SetSigner: Send + Sync {
    async fn sign(&self, claims: &Value) -> Result<String, SigningError>;
}

/// Who polls: an `events.read` token's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub client_id: String,
    pub tenant: String,
    pub level: EventDataLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// 400 with the RFC 8936 error body; nothing was acknowledged.
    #[error(transparent)]
    Invalid(#[from] PollError),
    /// 503 with Retry-After.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for FeedError {
    fn from(err: StoreError) -> Self {
        FeedError::Unavailable(err.to_string())
    }
}

/// What one look at the window decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Unacknowledged entries to offer, oldest first.
    pub offer: Vec<FeedEntry>,
    /// The new watermark, when it moves.
    pub advance_to: Option<FeedKey>,
    /// Acknowledgements at or below the new watermark.
    pub forget: Vec<FeedKey>,
    pub more_available: bool,
}

/// Decides what to offer and how far the watermark may move: over the leading run of entries that are
/// acknowledged and stamped before `settled_before`.
pub fn plan(state: &ReceiverState, window: &Window, wanted: usize, settled_before: &FeedKey) -> Plan {
    let acked_ids: BTreeSet<&str> = state.acked.iter().filter_map(FeedKey::change_id).collect();
    let mut plan = Plan::default();
    let mut advancing = true;
    let mut offered: BTreeSet<&str> = BTreeSet::new();
    let mut unacked = 0usize;
    for entry in &window.entries {
        let acked = acked_ids.contains(entry.change_id.as_str());
        if advancing && acked && entry.key < *settled_before {
            plan.advance_to = Some(entry.key.clone());
        } else {
            advancing = false;
        }
        if !acked && offered.insert(entry.change_id.as_str()) {
            unacked += 1;
            if plan.offer.len() < wanted {
                plan.offer.push(entry.clone());
            }
        }
    }
    plan.more_available = unacked > plan.offer.len() || window.truncated;
    if let Some(to) = &plan.advance_to {
        plan.forget = state.acked.iter().filter(|key| *key <= to).cloned().collect();
    }
    plan
}

/// Pending SETs in feed order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    pub sets: Vec<(String, String)>,
    pub more_available: bool,
}

/// The poll side of the pipeline.
pub struct FeedService {
    pub store: Arc<dyn EventStore>,
    pub signer: Arc<dyn SetSigner>,
    pub issuer: Issuer,
    /// How old an entry must be before a watermark may pass it.
    pub settle: Duration,
}

impl FeedService {
    async fn state(&self, receiver: &Receiver, now_ms: i64) -> Result<ReceiverState, FeedError> {
        if let Some(state) = self.store.receiver(&receiver.client_id).await? {
            return Ok(state);
        }
        // A new receiver starts with what is still unsettled: everything committed from its first poll on.
        let fresh = ReceiverState {
            tenant: receiver.tenant.clone(),
            watermark: FeedKey::floor(now_ms - self.settle_ms()),
            acked: BTreeSet::new(),
        };
        Ok(self.store.create_receiver(&receiver.client_id, &fresh).await?)
    }

    fn settle_ms(&self) -> i64 {
        i64::try_from(self.settle.as_millis()).unwrap_or(i64::MAX)
    }

    /// Records acknowledgements (and `setErrs`, which settle an event the same way). Every jti must name an event
    /// of the receiver's tenant, or nothing is recorded.
    pub async fn acknowledge(
        &self,
        receiver: &Receiver,
        acks: &[Acknowledgement],
        now_ms: i64,
    ) -> Result<(), FeedError> {
        if acks.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = acks
            .iter()
            .map(|a| a.change_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found = self.store.events(&receiver.tenant, &ids).await?;
        if let Some(unknown) = acks
            .iter()
            .find(|a| !found.iter().any(|e| e.event.change_id == a.change_id))
        {
            // Unknown and another tenant's jti get the same answer: existence elsewhere is not disclosed.
            return Err(PollError::invalid(format!("{} is not an event of this feed", unknown.jti)).into());
        }
        let state = self.state(receiver, now_ms).await?;
        let new: Vec<FeedKey> = found
            .iter()
            .map(|e| e.feed_key.clone())
            .filter(|key| *key > state.watermark && !state.acked.contains(key))
            .collect();
        if state.acked.len() + new.len() > MAX_ACKS_AHEAD {
            return Err(PollError::invalid(format!(
                "more than {MAX_ACKS_AHEAD} acknowledgements ahead of the oldest unacknowledged event; \
                 acknowledge it (or report it in setErrs) first"
            ))
            .into());
        }
        for refused in acks.iter().filter(|a| a.error.is_some()) {
            let error = refused.error.as_ref().map(|e| e.err.as_str()).unwrap_or_default();
            tracing::warn!(client_id = %receiver.client_id, jti = %refused.jti, err = error, "receiver refused a SET");
        }
        if !new.is_empty() {
            self.store.add_acks(&receiver.client_id, &new).await?;
        }
        Ok(())
    }

    /// Up to `wanted` unacknowledged SETs at the receiver's level, oldest first.
    pub async fn next(&self, receiver: &Receiver, wanted: usize, now_ms: i64) -> Result<PollResponse, FeedError> {
        let pending = self.pending(receiver, wanted, now_ms).await?;
        Ok(PollResponse {
            sets: pending.sets.into_iter().collect(),
            more_available: pending.more_available,
        })
    }

    /// Up to `wanted` unacknowledged SETs at the receiver's level as `(jti, SET)`, in feed order (what a push
    /// delivers one by one).
    pub async fn pending(&self, receiver: &Receiver, wanted: usize, now_ms: i64) -> Result<Pending, FeedError> {
        let state = self.state(receiver, now_ms).await?;
        let window = self
            .store
            .window(&receiver.tenant, &state.watermark, WINDOW_LIMIT)
            .await?;
        let plan = plan(&state, &window, wanted, &FeedKey::floor(now_ms - self.settle_ms()));
        if let Some(to) = &plan.advance_to {
            self.store.advance(&receiver.client_id, to, &plan.forget).await?;
        }
        let mut response = Pending {
            more_available: plan.more_available,
            ..Default::default()
        };
        if plan.offer.is_empty() {
            return Ok(response);
        }
        let ids: Vec<String> = plan.offer.iter().map(|e| e.change_id.clone()).collect();
        let mut events = self.store.events(&receiver.tenant, &ids).await?;
        events.sort_by_key(|e| ids.iter().position(|id| *id == e.event.change_id));
        let mut signed = Vec::new();
        for mut stored in events {
            let set = match stored.sets.get(&receiver.level) {
                Some(set) => set.clone(),
                None => {
                    let claims = claims(&stored.event, receiver.level, &self.issuer, now_ms / 1000);
                    match self.signer.sign(&claims).await {
                        Ok(set) => {
                            stored.sets.insert(receiver.level, set.clone());
                            signed.push(stored.clone());
                            set
                        }
                        Err(err) if response.sets.is_empty() => return Err(FeedError::Unavailable(err.to_string())),
                        Err(err) => {
                            // Deliver what is signed; the rest stays pending.
                            tracing::warn!(error = %err, "signing stopped early; the rest is offered again");
                            response.more_available = true;
                            break;
                        }
                    }
                }
            };
            response.sets.push((jti(&stored.event.change_id, receiver.level), set));
        }
        if !signed.is_empty()
            && let Err(err) = self.store.cache_sets(&signed).await
        {
            tracing::warn!(error = %err, "signed SETs were not cached; they will be signed again");
        }
        Ok(response)
    }

    /// One RFC 8936 exchange: acknowledge, then answer with what is pending. Without `returnImmediately` it waits
    /// up to `wait` (checking every `interval`) for something to return (RFC 8936 §2.5).
    pub async fn poll(
        &self,
        receiver: &Receiver,
        request: &PollRequest,
        clock_ms: &(dyn Fn() -> i64 + Send + Sync),
        wait: Duration,
        interval: Duration,
    ) -> Result<PollResponse, FeedError> {
        let started = clock_ms();
        self.acknowledge(receiver, &request.acknowledgements, started).await?;
        let deadline = started + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        loop {
            let now = clock_ms();
            let response = self.next(receiver, request.wanted(), now).await?;
            let ready = !response.sets.is_empty() || (request.wanted() == 0 && response.more_available);
            if ready || request.return_immediately || now >= deadline {
                return Ok(response);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[cfg(test)]
mod tests;
