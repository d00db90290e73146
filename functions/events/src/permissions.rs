//! What the events function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these; the infra-checks crate proves that against the template and against the requests this
//! code really sends (moto, through the real SDK). Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the events code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // Redelivered records find their stored events (BatchGetItem), every batch writes events and feed entries
    // (BatchWriteItem: puts, and deletes of re-stamped entries).
    (TableKind::Events, &["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]),
];

/// Other AWS resources (template logical id, with `.StreamArn` for a table's stream) → actions.
pub const AWS_PERMISSIONS: &[(&str, &[&str])] = &[
    // What the Lambda event source mapping reads on the function's behalf.
    (
        "DirectoryTable.StreamArn",
        &[
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ],
    ),
    ("EventsBus", &["events:PutEvents"]),
    // The mapping's on-failure destination: records that failed every retry.
    ("EventsStreamDeadLetterQueue", &["sqs:SendMessage"]),
];

/// Every environment variable [`crate::config::EventsConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_EVENTS_TABLE",
    "WIF_EVENTS_BUS",
    "WIF_EVENTS_BUS_LEVEL",
    "WIF_EVENTS_ISSUER",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_EVENTS_SETTLE_SECONDS",
    "WIF_EVENTS_RETENTION_DAYS",
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
