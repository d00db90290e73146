//! `GET /clients/{id}/push` (where the registration's RFC 8935 push delivery stands: retrying, dead-lettered,
//! the last error) and `POST /clients/{id}/push/redeliver` (leave the dead letter: the next sweep pushes again
//! from the oldest event not yet delivered, which waited in the feed).

use wif_admin_api::PushStatus;
use wif_auth::registration::Registration;
use wif_events::delivery::{PushState, PushStatus as Status};

use crate::AdminApp;
use crate::error::AdminError;

fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The wire view of a registration's push state (`None`: no round has run yet).
pub fn view(registration: &Registration, state: Option<&PushState>) -> PushStatus {
    let push_url = registration.events.as_ref().and_then(|e| e.push_url.clone());
    let fresh = PushState::default();
    let state = state.unwrap_or(&fresh);
    let status = match (&push_url, state.status()) {
        (None, _) => "not_configured",
        (Some(_), Status::Active) => "active",
        (Some(_), Status::Retrying) => "retrying",
        (Some(_), Status::DeadLetter) => "dead_letter",
    };
    PushStatus {
        client_id: registration.client_id.clone(),
        push_url,
        status: status.to_owned(),
        failures: state.failures,
        delivered: state.delivered,
        last_error: state.last_error.clone(),
        next_attempt_at: (state.status() == Status::Retrying).then(|| seconds(state.next_attempt_ms)),
        dead_lettered_at: state.dead_lettered_at_ms.map(seconds),
        last_delivered_at: state.last_delivered_ms.map(seconds),
    }
}

fn unavailable(err: wif_events::ports::StoreError) -> AdminError {
    AdminError::Unavailable(err.to_string())
}

pub async fn status(app: &AdminApp, client_id: &str) -> Result<PushStatus, AdminError> {
    let registration = app.registry.registration(client_id).await?;
    let state = app.push_states.push_state(client_id).await.map_err(unavailable)?;
    Ok(view(&registration, state.as_ref()))
}

pub async fn redeliver(app: &AdminApp, client_id: &str) -> Result<PushStatus, AdminError> {
    let registration = app.registry.registration(client_id).await?;
    if registration.events.as_ref().and_then(|e| e.push_url.as_ref()).is_none() {
        return Err(AdminError::bad_request(
            "the registration has no events.push_url: its events are polled",
        ));
    }
    let mut state = app
        .push_states
        .push_state(client_id)
        .await
        .map_err(unavailable)?
        .unwrap_or_default();
    if state.status() != Status::Active {
        tracing::info!(client_id, failures = state.failures, "push redelivery requested");
        state.redeliver();
        app.push_states
            .save_push_state(client_id, &registration.tenant_id, &state)
            .await
            .map_err(unavailable)?;
    }
    Ok(view(&registration, Some(&state)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_view_names_the_state() {
        let mut registration: Registration = serde_json::from_value(json!({
            "client_id": "app", "tenant_id": "t1", "allowed_scopes": ["events.read"], "token_lifetime_seconds": 3600,
            "allowed_algorithms": ["RS256"], "enabled": true, "version": 1, "created_at": 1, "updated_at": 1,
            "events": {"level": "ids", "push_url": "https://app.example/events"}
        }))
        .unwrap();
        assert_eq!(view(&registration, None).status, "active");
        let state = PushState {
            failures: 3,
            next_attempt_ms: 12_345,
            last_error: Some("status 503".into()),
            ..Default::default()
        };
        let retrying = view(&registration, Some(&state));
        assert_eq!(
            (retrying.status.as_str(), retrying.next_attempt_at),
            ("retrying", Some(12))
        );
        let dead = PushState {
            dead_lettered_at_ms: Some(99_000),
            ..state
        };
        let dead = view(&registration, Some(&dead));
        assert_eq!(
            (dead.status.as_str(), dead.dead_lettered_at, dead.next_attempt_at),
            ("dead_letter", Some(99), None)
        );
        registration.events = None;
        assert_eq!(view(&registration, None).status, "not_configured");
    }
}
