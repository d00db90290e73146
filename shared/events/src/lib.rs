//! Every committed directory change as a Security Event Token (RFC 8417) profiled by RFC 9967, and its delivery by
//! poll (RFC 8936), push (RFC 8935) and Amazon EventBridge. Pure: storage comes in through [`ports::EventStore`],
//! signing through [`feed::SetSigner`], time as a parameter.
//!
//! - [`change`]: a decoded stream record ([`change::DirectoryChange`]) → its level-independent
//!   [`change::ChangeEvent`] (exactly one per committed change).
//! - [`set`]: that event as SET claims at a receiver's data level; `jti` and `txn`.
//! - [`ingest`]: appending a batch to the tenant's feed so that no poller can miss an entry.
//! - [`feed`]: per-receiver acknowledgement state and the RFC 8936 exchange; [`poll`] its wire format.
//! - [`push`]: RFC 8935 answer classification and the retry schedule; [`delivery`]: push rounds, backoff and the
//!   dead letter; [`bus`]: EventBridge entries.

pub mod bus;
pub mod change;
pub mod delivery;
pub mod feed;
pub mod ingest;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod pipeline;
pub mod poll;
pub mod ports;
pub mod push;
pub mod set;
pub mod settings;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use wif_auth::event_settings::EventDataLevel;

/// The RFC 8936 poll endpoint, relative to the events function's public base URL.
pub const POLL_PATH: &str = "/events";
/// The JWKS of the SET signing keys, relative to the same base.
pub const JWKS_PATH: &str = "/events/jwks.json";
