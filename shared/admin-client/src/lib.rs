//! A typed client of the admin API ([`client::AdminClient`]) and the pieces the `wif-admin` CLI is built from:
//! where the API is and whether to sign ([`target`]), SigV4 with the SDK signer ([`sigv4`]), the request and
//! response bodies ([`model`]) and errors with their exit codes ([`error`]).

pub mod client;
pub mod error;
pub mod model;
pub mod sigv4;
pub mod target;

pub use client::{AdminClient, CredentialSource};
pub use error::{ClientError, exit};
pub use target::{AdminTarget, LOCAL_ADMIN_URL, SignMode};
