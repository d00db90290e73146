//! Pure token-endpoint logic. Nothing here talks to AWS or the network: storage and JWKS fetching come in through
//! the traits in [`ports`], and time through [`wif_common::Clock`].
//!
//! Entry points:
//! - [`service::TokenService`]: the whole `POST /oauth2/token` grant over the ports.
//! - [`bearer::authenticate_bearer`] and [`bearer::AccessGrant`]: the SCIM API's bearer check.
//! - [`registration::RegistrationRequest::validate`]: the admin API's registration input rules.
//! - [`url_policy::JwksUrlPolicy`]: which JWKS URLs may be fetched (shared with `wif-jwks-http`).
//! - [`jwks_cache::JwksCache`]: memory → Keys table → JWKS URL.
//! - [`user_token::UnverifiedUserToken`]: Entra ID tokens and delegated access tokens of people (the portal).
//! - [`strict_json::parse_object_keeping`]: the duplicate-rejecting JSON reader behind every JWT header and claim
//!   set; public so the fuzz targets (`fuzz/`) can reach it directly.

pub mod assertion;
pub mod bearer;
pub mod credentials;
pub mod event_settings;
pub mod jwks;
pub mod jwks_cache;
pub mod jwks_fetch;
pub mod metadata;
pub mod oauth_error;
pub mod ports;
pub mod registration;
pub mod request_limit;
pub mod revocation;
pub mod scope;
pub mod service;
pub mod strict_json;
pub mod token_request;
pub mod untrusted;
pub mod url_policy;
pub mod user_token;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
