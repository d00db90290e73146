//! What the portal function may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these actions and sets exactly these variables; the infra-checks crate proves that against the
//! template and against the requests this code really sends (moto, through the real SDK).

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the portal code sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // Registrations of the signed-in account: create and change (conditional puts), read, list (TenantIndex).
    (
        TableKind::Clients,
        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
    ),
    // Disable and revoke-tokens: the client's live tokens through ClientIndex, each marked revoked.
    (TableKind::Tokens, &["dynamodb:Query", "dynamodb:UpdateItem"]),
    // The shared JWKS cache: Entra's sign-in keys and the connection test's cache report.
    (
        TableKind::Keys,
        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    // Every action is audited; the activity page queries by tenant (table) or by registration (ClientIndex).
    (TableKind::Audit, &["dynamodb:PutItem", "dynamodb:Query"]),
    // Pending sign-ins, sessions, links and invitations (redeemed in a transaction of a delete and a put).
    (
        TableKind::Portal,
        &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
    ),
];

/// KMS actions on the portal's own signing key (the private key of its Entra certificate credential).
pub const KMS_PERMISSIONS: &[&str] = &["kms:Sign"];

/// Every environment variable [`crate::config::PortalConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_CLIENTS_TABLE",
    "WIF_TOKENS_TABLE",
    "WIF_KEYS_TABLE",
    "WIF_AUDIT_TABLE",
    "WIF_PORTAL_TABLE",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_JWKS_ALLOWED_HOSTS",
    "WIF_TOKEN_LIFETIME_MIN_SECONDS",
    "WIF_TOKEN_LIFETIME_MAX_SECONDS",
    "WIF_PUBLIC_TOKEN_URL",
    "WIF_PUBLIC_SCIM_URL",
    "WIF_AUDIT_RETENTION_DAYS",
    "WIF_JWKS_FETCH_TIMEOUT_MS",
    "WIF_JWKS_MAX_BYTES",
    "WIF_JWKS_MEMORY_TTL_SECONDS",
    "WIF_JWKS_REFETCH_COOLDOWN_SECONDS",
    "WIF_PORTAL_ENTRA_CLIENT_ID",
    "WIF_PORTAL_CERTIFICATE_THUMBPRINT",
    "WIF_PORTAL_SIGNING_KEY",
    "WIF_PORTAL_API_AUDIENCES",
    "WIF_PORTAL_ENTRA_LOGIN_URL",
    "WIF_PORTAL_ISSUER_TEMPLATE",
    "WIF_PORTAL_PUBLIC_URL",
    "WIF_PORTAL_PRODUCT_NAME",
    "WIF_PORTAL_SESSION_IDLE_SECONDS",
    "WIF_PORTAL_SESSION_MAX_SECONDS",
    "WIF_PORTAL_TRUST_JWKS_V2_TEMPLATE",
    "WIF_PORTAL_TRUST_JWKS_V1_TEMPLATE",
    "WIF_PORTAL_ACTIVITY_MAX_EVENTS",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_exactly_the_configured_tables() {
        let mismatch = wif_store::tables::declaration_mismatch(DYNAMODB_PERMISSIONS, crate::config::TABLES, ENV_VARS);
        assert_eq!(mismatch, None);
    }
}
