//! Pieces every function shares and that carry no business rule: configuration read from the environment,
//! JSON tracing for CloudWatch, the clock, the audit-event model and its sink trait, and small HTTP helpers.

pub mod audit;
pub mod clock;
pub mod config;
pub mod http_util;
pub mod telemetry;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::ConfigError;
