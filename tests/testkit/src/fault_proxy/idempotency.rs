//! DynamoDB's `TransactWriteItems` idempotency, which moto lacks. The SDK gives every `TransactWriteItems` a
//! `ClientRequestToken` and keeps it across its own retries; DynamoDB answers a token that already succeeded (within
//! 10 minutes) with success again, applying nothing, and the same token with other parameters with
//! `IdempotentParameterMismatchException`. Without this, the retry of a transaction whose answer was lost (an
//! applied-then-failed fault) would meet its own write in moto and fail where DynamoDB succeeds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long DynamoDB remembers a token.
const WINDOW: Duration = Duration::from_secs(600);

struct Succeeded {
    request: Bytes,
    answer: Bytes,
    at: Instant,
}

/// What to do with a transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// Not seen (or not a transaction with a token): forward it.
    Forward,
    /// Succeeded before with these parameters: answer this body again.
    Repeat(Bytes),
    /// The token succeeded before with other parameters.
    Mismatch,
}

#[derive(Default)]
pub struct TransactionTokens {
    succeeded: Mutex<HashMap<String, Succeeded>>,
}

/// The request's `ClientRequestToken`, if it is a `TransactWriteItems` that has one.
pub fn transaction_token(operation: Option<&str>, body: &[u8]) -> Option<String> {
    if operation != Some("TransactWriteItems") {
        return None;
    }
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    request.get("ClientRequestToken")?.as_str().map(str::to_owned)
}

impl TransactionTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Succeeded>> {
        self.succeeded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn replay(&self, token: &str, request: &[u8]) -> Replay {
        match self.lock().get(token) {
            Some(seen) if seen.at.elapsed() < WINDOW && seen.request == request => Replay::Repeat(seen.answer.clone()),
            Some(seen) if seen.at.elapsed() < WINDOW => Replay::Mismatch,
            _ => Replay::Forward,
        }
    }

    /// Records a transaction that succeeded; forgets the ones older than DynamoDB's window.
    pub fn succeeded(&self, token: String, request: Bytes, answer: Bytes) {
        let mut succeeded = self.lock();
        succeeded.retain(|_, seen| seen.at.elapsed() < WINDOW);
        succeeded.insert(
            token,
            Succeeded {
                request,
                answer,
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_succeeded_token_repeats_its_answer_only_for_the_same_parameters() {
        let body = br#"{"ClientRequestToken":"tok-1","TransactItems":[]}"#;
        assert_eq!(
            transaction_token(Some("TransactWriteItems"), body).as_deref(),
            Some("tok-1")
        );
        assert_eq!(transaction_token(Some("PutItem"), body), None);
        assert_eq!(transaction_token(Some("TransactWriteItems"), b"{}"), None);
        let tokens = TransactionTokens::default();
        assert_eq!(tokens.replay("tok-1", body), Replay::Forward);
        tokens.succeeded("tok-1".into(), Bytes::from_static(body), Bytes::from_static(b"{}"));
        assert_eq!(tokens.replay("tok-1", body), Replay::Repeat(Bytes::from_static(b"{}")));
        assert_eq!(tokens.replay("tok-1", b"{\"other\":1}"), Replay::Mismatch);
        assert_eq!(tokens.replay("tok-2", body), Replay::Forward);
    }
}
