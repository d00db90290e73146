//! A typed client of the admin API ([`client::AdminClient`]) and the pieces the `wif-admin` CLI is built from:
//! where the API is and whether to sign ([`target`]), SigV4 with the SDK signer ([`sigv4`]) and errors with their
//! exit codes ([`error`]). The request and response bodies are the admin API's wire types, defined once in
//! `wif-admin-api` (re-exported as [`model`]) and shared with the admin Lambda.

pub mod client;
pub mod error;
pub mod sigv4;
pub mod target;

pub use client::{AdminClient, CredentialSource, Reply};
pub use error::{ClientError, exit};
pub use target::{AdminTarget, LOCAL_ADMIN_URL, SignMode};
pub use wif_admin_api as model;
