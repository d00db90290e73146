//! What the push function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these; the infra-checks crate proves that against the template and against the requests this
//! code really sends (moto, through the real SDK). Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the push code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // The sweep: registrations with a push endpoint (a filtered scan).
    (TableKind::Clients, &["dynamodb:Scan"]),
    // Push state (get, put), receiver state (get, create, acknowledge, advance), the feed window, the pending
    // events and their signed SETs: the same feed reads and writes as a poll.
    (
        TableKind::Events,
        &[
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
    ),
];

/// Other AWS resources (template logical id) → actions.
pub const AWS_PERMISSIONS: &[(&str, &[&str])] = &[
    // SETs are signed with the feed's key.
    ("EventsSigningKey", &["kms:Sign"]),
];

/// Every environment variable [`crate::config::PushConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_CLIENTS_TABLE",
    "WIF_EVENTS_TABLE",
    "WIF_EVENTS_SIGNING_KEY",
    "WIF_EVENTS_ISSUER",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_EVENTS_SETTLE_SECONDS",
    "WIF_EVENTS_PUSH_TIMEOUT_MS",
    "WIF_EVENTS_PUSH_FIRST_RETRY_SECONDS",
    "WIF_EVENTS_PUSH_MAX_RETRY_SECONDS",
    "WIF_EVENTS_PUSH_ATTEMPTS",
    "WIF_EVENTS_PUSH_CONCURRENCY",
    "WIF_EVENTS_PUSH_SWEEP_SECONDS",
    "WIF_EVENTS_PUSH_INTERVAL_MS",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_exactly_the_configured_tables() {
        let mismatch = wif_store::tables::declaration_mismatch(DYNAMODB_PERMISSIONS, &crate::config::TABLES, ENV_VARS);
        assert_eq!(mismatch, None);
    }
}
