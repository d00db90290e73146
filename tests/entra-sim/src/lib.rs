//! entra-sim: a local stand-in for Microsoft Entra ID, for demos, developers and end-to-end tests.
//!
//! - [`Identity`]: a tenant with RSA signing keys (rotation, persistence) and its workload identity.
//! - [`AssertionBuilder`] / [`RawJws`]: Entra-shaped v1/v2 client assertions, or arbitrary JWS text for attacks.
//! - [`JwksServer`]: the tenant's JWKS and OpenID metadata on 127.0.0.1, with outages and a fetch counter.
//! - [`TokenClient`]: the RFC 7523 client-credentials request Entra sends to an ISV token endpoint.
//! - [`oidc`]: Entra's multi-tenant OpenID provider for the customer portal (sign-in page, code + PKCE,
//!   `private_key_jwt`, Entra-shaped ID and access tokens).
//! - [`provision`]: a provisioning cycle from a directory file, in the request shapes Entra uses.

pub mod assertion;
mod b64;
pub mod error;
pub mod identity;
pub mod json_order;
pub mod keys;

pub use assertion::{AssertionBuilder, RawJws, RawSignature, VerifiedJws, decode_unverified, verify_rs256_with_jwks};
pub use directory::{Directory, DirectoryGroup, DirectoryUser, PersonName, TypedValue};
pub use error::{Result, SimError};
pub use identity::{Identity, TokenVersion, Workload};
pub use jwks_server::{FetchStats, JwksServer, JwksServerOptions, Outage};
pub use keys::SigningKey;
pub use provision::{
    Compat, ConnectionReport, CycleReport, Dialect, ProvisionOptions, Provisioner, ProvisioningState, RemovalAction,
};
pub use token_client::{Credentials, TokenClient, TokenResponse};

pub mod directory;
mod http_server;
pub mod jwks_server;
pub mod oidc;
pub mod provision;
pub mod register;
pub mod sample;
pub mod token_client;
