//! What the feed function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these; the infra-checks crate proves that against the template and against the requests this
//! code really sends (moto, through the real SDK). Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the feed code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // The bearer check: the access token's record by hash.
    (TableKind::Tokens, &["dynamodb:GetItem"]),
    // The receiving registration (its data level).
    (TableKind::Clients, &["dynamodb:GetItem"]),
    // Receiver state (get, create, acknowledge, advance), the feed window, the offered events and their
    // signed SETs.
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
    // SETs are signed by the key (Sign); the JWKS publishes its public half (GetPublicKey).
    ("EventsSigningKey", &["kms:GetPublicKey", "kms:Sign"]),
];

/// Every environment variable [`crate::config::FeedConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_TOKENS_TABLE",
    "WIF_CLIENTS_TABLE",
    "WIF_EVENTS_TABLE",
    "WIF_EVENTS_SIGNING_KEY",
    "WIF_EVENTS_ISSUER",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_EVENTS_SETTLE_SECONDS",
    "WIF_EVENTS_LONG_POLL_SECONDS",
    "WIF_EVENTS_POLL_INTERVAL_MS",
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
