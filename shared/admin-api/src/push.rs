//! `GET /clients/{id}/push` and `POST /clients/{id}/push/redeliver`: a registration's RFC 8935 push delivery.

use serde::{Deserialize, Serialize};

/// Where a registration's push delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    pub client_id: String,
    /// The registration's push endpoint; `None`: events are only polled.
    #[serde(default)]
    pub push_url: Option<String>,
    /// `not_configured`, `active`, `retrying` (backing off after failures) or `dead_letter` (no more attempts until
    /// `POST /clients/{id}/push/redeliver`; the events wait in the feed for the retention period).
    pub status: String,
    /// Failed rounds in a row.
    #[serde(default)]
    pub failures: u32,
    /// SETs the endpoint accepted (202) or refused with an RFC 8935 error (400 + `err`).
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub next_attempt_at: Option<i64>,
    #[serde(default)]
    pub dead_lettered_at: Option<i64>,
    #[serde(default)]
    pub last_delivered_at: Option<i64>,
}
