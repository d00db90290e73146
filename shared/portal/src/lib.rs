//! The customer portal (Entra setup step 2, done by the customer's own admin), as pure logic over ports.
//!
//! - [`signin`]: OpenID Connect authorization code flow with PKCE against Entra's multi-tenant endpoint: `state`,
//!   `nonce` and the PKCE verifier live in a pending sign-in bound to the browser by a cookie; the ID token is
//!   validated by `wif-auth`'s user-token rules with keys from the shared JWKS cache ([`verifier`]).
//! - [`sessions`]: random 256-bit session ids, stored only as SHA-256 hashes, idle and absolute expiry, CSRF tokens.
//! - [`links`]: which Entra tenant (`tid`) is which ISV customer (`tenant_id`), set by the operator directly or by a
//!   one-time invitation that the customer's admin redeems; what non-admin users may do.
//! - [`access`]: the role from the `wids` claim and the link, the scopes of the JSON API.
//! - [`registrations`]: the registry's operations, limited to the signed-in tenant and audited with the person.
//! - [`activity`]: provisioning activity from the audit trail (counts, last grant and write, denials, hourly chart).
//! - [`web`]: routes, pages (minijinja templates, escaped), the JSON API, security headers, errors mapped once.

pub mod access;
pub mod activity;
pub mod client_assertion;
pub mod crypto;
pub mod error;
pub mod links;
pub mod model;
pub mod oidc;
pub mod ports;
pub mod registrations;
pub mod return_to;
pub mod sessions;
pub mod signin;
pub mod verifier;
pub mod web;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use error::PortalError;
