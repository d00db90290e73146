//! The events-push Lambda: RFC 8935 push delivery. An EventBridge schedule invokes it; each sweep lists the
//! registrations with a push endpoint and runs one [`wif_events::delivery::PushDelivery`] round per registration,
//! at most `concurrency` at a time, so one slow or failing endpoint never holds up another tenant's delivery (each
//! push is bounded by the timeout, each round by [`wif_events::delivery::SETS_PER_ROUND`]). A thin adapter: the
//! rounds, backoff and dead letter are in `wif-events`, the HTTP policy in `wif-jwks-http`.

pub mod config;
pub mod permissions;
mod wiring;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use wif_auth::registration::Registration;
use wif_events::delivery::{PushDelivery, PushTarget, SetTransport};
use wif_events::push::{PushOutcome, classify};
use wif_jwks_http::push::HttpSetPoster;

/// Where the registrations with a push endpoint come from (the Clients table).
#[async_trait::async_trait]
pub trait PushRegistrations: Send + Sync {
    async fn with_push_endpoints(&self) -> Result<Vec<Registration>, String>;
}

/// RFC 8935 pushes over [`HttpSetPoster`]: a failure to get an answer is retried like a 5xx.
pub struct HttpTransport(pub HttpSetPoster);

#[async_trait::async_trait]
impl SetTransport for HttpTransport {
    async fn push(&self, url: &str, set: &str) -> PushOutcome {
        match self.0.post_set(url, set).await {
            Ok(answer) => classify(answer.status, &answer.body),
            Err(err) => PushOutcome::Retry(err.to_string()),
        }
    }
}

pub struct PushApp {
    pub delivery: PushDelivery,
    pub registrations: Arc<dyn PushRegistrations>,
    pub concurrency: usize,
    pub sweep_for: Duration,
    pub interval: Duration,
    pub clock_ms: fn() -> i64,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub sweeps: usize,
    pub targets: usize,
    pub delivered: usize,
    pub refused: usize,
    pub failed_rounds: usize,
    pub dead_lettered: usize,
}

impl PushApp {
    /// One round for every target, `concurrency` at a time.
    pub async fn sweep(&self, targets: &[PushTarget], summary: &mut Summary) {
        let clock = self.clock_ms;
        let rounds = futures::stream::iter(targets)
            .map(|target| async move { (target, self.delivery.round(target, &clock).await) })
            .buffer_unordered(self.concurrency);
        let outcomes: Vec<_> = rounds.collect().await;
        summary.sweeps += 1;
        for (target, outcome) in outcomes {
            let client_id = target.receiver.client_id.as_str();
            match outcome {
                Ok(round) => {
                    summary.delivered += round.delivered;
                    summary.refused += round.refused;
                    if let Some(reason) = &round.failure {
                        summary.failed_rounds += 1;
                        summary.dead_lettered += usize::from(round.dead_lettered);
                        tracing::warn!(client_id, reason, dead_lettered = round.dead_lettered, "push failed");
                    }
                }
                Err(err) => tracing::warn!(client_id, error = %err, "push round not run; retried next sweep"),
            }
        }
    }
}

/// One invocation: the targets are listed once, then swept until `sweep_for` has passed (at least once).
pub async fn handle(app: &PushApp) -> Result<Summary, String> {
    let started = Instant::now();
    let registrations = app.registrations.with_push_endpoints().await?;
    let targets: Vec<PushTarget> = registrations.iter().filter_map(PushTarget::of).collect();
    let mut summary = Summary {
        targets: targets.len(),
        ..Default::default()
    };
    loop {
        app.sweep(&targets, &mut summary).await;
        if started.elapsed() + app.interval >= app.sweep_for {
            break;
        }
        tokio::time::sleep(app.interval).await;
    }
    tracing::info!(
        targets = summary.targets,
        sweeps = summary.sweeps,
        delivered = summary.delivered,
        refused = summary.refused,
        failed_rounds = summary.failed_rounds,
        dead_lettered = summary.dead_lettered,
        "push sweep done"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests;
