//! Support for the portal's browser tests: the running local stack's URLs, a chromedriver started on a loopback
//! port (by PID, stopped by PID), fresh headless Chromium sessions, and small helpers over fantoccini.

pub mod driver;
pub mod stack;
