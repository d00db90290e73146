//! What the SCIM function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these DynamoDB actions and sets exactly these variables; the infra-checks crate proves that
//! against the template and against the requests this code really sends (moto, through the real SDK).
//! Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the SCIM code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // Users, groups, memberships and uniqueness markers: reads by key and batch, partition and tenant queries and
    // the gsi1-3 lookups, single writes, transactions (Put / Delete / ConditionCheck items; membership deletes go
    // pairwise in transactions) and the `deleting` flag that begins a delete (UpdateItem).
    (
        TableKind::Directory,
        &[
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
    ),
    // The bearer check: the access token's record by hash.
    (TableKind::Tokens, &["dynamodb:GetItem"]),
    // Every SCIM write is audited.
    (TableKind::Audit, &["dynamodb:PutItem"]),
    // The per-client request limit: one atomic counter update per batch of requests.
    (TableKind::RateLimits, &["dynamodb:UpdateItem"]),
];

/// Other AWS resources of the template: the CloudFront origin secret (only with a custom domain), read once at
/// start.
pub const AWS_PERMISSIONS: &[(&str, &[&str])] = &[("OriginVerifySecret", &["secretsmanager:GetSecretValue"])];

/// Every environment variable [`crate::config::ScimConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_DIRECTORY_TABLE",
    "WIF_TOKENS_TABLE",
    "WIF_AUDIT_TABLE",
    "WIF_RATE_LIMITS_TABLE",
    "WIF_AUDIT_RETENTION_DAYS",
    "WIF_SCIM_RATE_LIMIT_PER_MINUTE",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_PUBLIC_SCIM_URL",
    "WIF_ORIGIN_SECRET_ARN",
];
