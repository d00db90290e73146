//! RFC 8935 push delivery: how a SET Recipient's answer is classified, and the retry schedule.
//!
//! - 202 (§2.2): delivered; the event is acknowledged for that receiver.
//! - 400 with an `err` (§2.3): the recipient refuses this SET; retrying the same SET will not help (§4), so it is
//!   settled like a `setErrs` entry and delivery continues with the next one.
//! - Anything else — a timeout, a connection failure, a 5xx, a redirect (never followed), another status: retried
//!   with exponential backoff; after the last attempt the receiver's push is dead-lettered (visible in the admin
//!   API) and its events stay in the feed for polling or for a later retry.

use std::time::Duration;

/// What happened to one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Delivered,
    /// A permanent refusal of this SET (RFC 8935 §2.3).
    Refused {
        err: String,
        description: String,
    },
    /// A failure worth retrying later.
    Retry(String),
}

/// Classifies an HTTP answer (status and at most the first bytes of the body).
pub fn classify(status: u16, body: &[u8]) -> PushOutcome {
    match status {
        202 => PushOutcome::Delivered,
        400 => {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            let text = |name: &str| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.as_str())
                    .map(|s| s.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
            };
            match text("err") {
                Some(err) => PushOutcome::Refused {
                    err,
                    description: text("description").unwrap_or_default(),
                },
                None => PushOutcome::Retry("400 without an RFC 8935 error body".into()),
            }
        }
        300..=399 => PushOutcome::Retry(format!("redirect ({status}); redirects are not followed")),
        _ => PushOutcome::Retry(format!("status {status}")),
    }
}

/// Exponential backoff with a cap and a limit on attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first: Duration,
    pub max: Duration,
    /// Failed attempts in a row after which the receiver is dead-lettered.
    pub attempts: u32,
}

impl Default for RetrySchedule {
    /// 5 s, 10 s, 20 s … capped at 15 minutes; the 12th failure in a row (about 1.5 hours) dead-letters.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(5),
            max: Duration::from_secs(900),
            attempts: 12,
        }
    }
}

impl RetrySchedule {
    /// The wait after the `failures`-th failure in a row, or `None` when it is time to dead-letter.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        if failures >= self.attempts {
            return None;
        }
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        Some(self.first.saturating_mul(factor).min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_per_rfc_8935() {
        assert_eq!(classify(202, b""), PushOutcome::Delivered);
        assert_eq!(
            classify(
                400,
                br#"{"err":"invalid_key","description":"Key ID 12345 has been revoked."}"#
            ),
            PushOutcome::Refused {
                err: "invalid_key".into(),
                description: "Key ID 12345 has been revoked.".into()
            }
        );
        assert!(matches!(classify(400, b"<html>"), PushOutcome::Retry(_)));
        assert!(matches!(classify(302, b""), PushOutcome::Retry(reason) if reason.contains("redirect")));
        assert!(matches!(classify(503, b""), PushOutcome::Retry(_)));
        assert!(
            matches!(classify(200, b""), PushOutcome::Retry(_)),
            "only 202 means delivered"
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap_then_dead_letters() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.delay_after(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.delay_after(2), Some(Duration::from_secs(10)));
        assert_eq!(schedule.delay_after(9), Some(Duration::from_secs(900)));
        assert_eq!(schedule.delay_after(11), Some(Duration::from_secs(900)));
        assert_eq!(schedule.delay_after(12), None);
    }
}
