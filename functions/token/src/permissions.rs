//! What the token function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these DynamoDB actions and sets exactly these variables; the infra-checks crate proves that
//! against the template and against the requests this code really sends (moto, through the real SDK).
//! Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the token code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // The registration by client_id, or (when the request has none) the marker of the assertion's trust and then
    // the registration it names; every read strongly consistent. The issuing transaction checks the registration
    // is still enabled at the version that was authenticated.
    (TableKind::Clients, &["dynamodb:ConditionCheckItem", "dynamodb:GetItem"]),
    // Each issued token (only its hash), in one transaction with its entry in the client's token index (read
    // first to drop expired entries).
    (
        TableKind::Tokens,
        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    // The shared JWKS cache: read it, store a fresh fetch, record a failed one.
    (
        TableKind::Keys,
        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    // Every grant and denial.
    (TableKind::Audit, &["dynamodb:PutItem"]),
    // One atomic counter update per client and per source address.
    (TableKind::RateLimits, &["dynamodb:UpdateItem"]),
];

/// Other AWS resources of the template: the CloudFront origin secret (only with a custom domain), read once at
/// start.
pub const AWS_PERMISSIONS: &[(&str, &[&str])] = &[("OriginVerifySecret", &["secretsmanager:GetSecretValue"])];

/// Every environment variable [`crate::config::TokenConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_CLIENTS_TABLE",
    "WIF_TOKENS_TABLE",
    "WIF_KEYS_TABLE",
    "WIF_AUDIT_TABLE",
    "WIF_RATE_LIMITS_TABLE",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_JWKS_ALLOWED_HOSTS",
    "WIF_CLOCK_SKEW_SECONDS",
    "WIF_MAX_ASSERTION_LIFETIME_SECONDS",
    "WIF_MAX_ASSERTION_BYTES",
    "WIF_JWKS_REFETCH_COOLDOWN_SECONDS",
    "WIF_JWKS_MEMORY_TTL_SECONDS",
    "WIF_JWKS_FETCH_TIMEOUT_MS",
    "WIF_JWKS_MAX_BYTES",
    "WIF_RATE_LIMIT_CLIENT_PER_MINUTE",
    "WIF_RATE_LIMIT_SOURCE_PER_MINUTE",
    "WIF_AUDIT_RETENTION_DAYS",
    "WIF_PUBLIC_TOKEN_URL",
    "WIF_ORIGIN_SECRET_ARN",
];
