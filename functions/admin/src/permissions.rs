//! What the admin function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these DynamoDB actions and sets exactly these variables; the infra-checks crate proves that
//! against the template and against the requests this code really sends (moto, through the real SDK).
//! Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the admin code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // Registrations: create (conditional put), get, update (conditional put), delete, list by tenant (TenantIndex)
    // and list all (scan).
    (
        TableKind::Clients,
        &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        ],
    ),
    // Revocation: the client's live tokens through ClientIndex, each marked revoked.
    // Revocation sweeps: the client's token index (strongly consistent GetItem), then ClientIndex for older tokens.
    (
        TableKind::Tokens,
        &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"],
    ),
    // The connection test (GET /clients/{id}/test) reads the shared JWKS cache entry of the registration's URL.
    (TableKind::Keys, &["dynamodb:GetItem"]),
    // Every registration change is audited; GET /audit queries by tenant (table) or by client (ClientIndex).
    (TableKind::Audit, &["dynamodb:PutItem", "dynamodb:Query"]),
    // The customer portal's tenant links (create conditionally, read, delete, list by scan) and invitations.
    (
        TableKind::Portal,
        &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
        ],
    ),
    // GET /clients/{id}/push reads the registration's push state; POST …/push/redeliver rewrites it.
    (TableKind::Events, &["dynamodb:GetItem", "dynamodb:PutItem"]),
    // POST /migrations/directory-memberships: a Scan, transactions of updates, ConditionChecks and puts, the
    // re-reads of a failed membership's ends, and the deletion of orphaned memberships.
    (
        TableKind::Directory,
        &[
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ],
    ),
];

/// Every environment variable [`crate::config::AdminConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_CLIENTS_TABLE",
    "WIF_TOKENS_TABLE",
    "WIF_KEYS_TABLE",
    "WIF_AUDIT_TABLE",
    "WIF_PORTAL_TABLE",
    "WIF_EVENTS_TABLE",
    "WIF_DIRECTORY_TABLE",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_JWKS_ALLOWED_HOSTS",
    "WIF_TOKEN_LIFETIME_MIN_SECONDS",
    "WIF_TOKEN_LIFETIME_MAX_SECONDS",
    "WIF_PUBLIC_TOKEN_URL",
    "WIF_PUBLIC_EVENTS_URL",
    "WIF_PUBLIC_SCIM_URL",
    "WIF_AUDIT_RETENTION_DAYS",
    "WIF_JWKS_FETCH_TIMEOUT_MS",
    "WIF_JWKS_MAX_BYTES",
    "WIF_PUBLIC_PORTAL_URL",
];
