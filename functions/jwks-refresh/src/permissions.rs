//! What the JWKS refresher may do in AWS, declared next to the code that does it. infra/template.yaml grants its
//! role exactly these DynamoDB actions and sets exactly these variables; the infra-checks crate proves that
//! against the template and against the requests this code really sends (moto, through the real SDK).
//! Change this file together with the code and the template.

use wif_store::TableKind;

/// Table → every DynamoDB action (IAM name) the refresher sends to it.
pub const DYNAMODB_PERMISSIONS: &[(TableKind, &[&str])] = &[
    // Every registered JWKS URL: a scan that projects only jwks_uri.
    (TableKind::Clients, &["dynamodb:Scan"]),
    // Read the stored document (for its ETag), store a fresh one, or record a failed fetch.
    (
        TableKind::Keys,
        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
];

/// Every environment variable [`crate::config::RefreshConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "WIF_CLIENTS_TABLE",
    "WIF_KEYS_TABLE",
    "WIF_LOCAL_DEVELOPMENT",
    "WIF_JWKS_ALLOWED_HOSTS",
    "WIF_JWKS_FETCH_TIMEOUT_MS",
    "WIF_JWKS_MAX_BYTES",
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
