//! Pieces every function shares and that carry no business rule: configuration read from the environment,
//! JSON tracing for CloudWatch, the clock, the audit sink trait (the audit event itself is a wire type of
//! `wif-admin-api`, re-exported in [`audit`]), and the HTTP helpers every function builds its answers with
//! ([`http_util::json_response`]).

pub mod audit;
pub mod clock;
pub mod config;
pub mod http_util;
pub mod ids;
pub mod telemetry;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::ConfigError;
pub use ids::{ClientId, ResourceId, TenantId};
