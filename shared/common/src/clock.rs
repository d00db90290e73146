//! Time as a parameter: protocol logic never reads the system clock itself, so tests can pin it (the real Entra
//! fixtures are long expired and only validate at a fixed instant).

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, the unit of JWT `exp`/`nbf`/`iat`.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_unix(&self) -> i64;

    /// RFC 3339 rendering of [`Clock::now_unix`], as SCIM `meta` and audit records want it.
    fn now_rfc3339(&self) -> String {
        rfc3339(self.now_unix())
    }
}

/// Milliseconds since the Unix epoch, from the system clock (event feeds order entries by it).
pub fn unix_millis() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(unix: i64) -> Self {
        Self(AtomicI64::new(unix))
    }

    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-12-02T02:07:16Z`).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 timestamp into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(1_000);
        assert_eq!(clock.now_unix(), 1_000);
        clock.advance(5);
        assert_eq!(clock.now_unix(), 1_005);
        clock.set(7);
        assert_eq!(clock.now_unix(), 7);
    }

    #[test]
    fn rfc3339_round_trips() {
        let text = rfc3339(1_548_697_513);
        assert_eq!(text, "2019-01-28T17:45:13Z");
        assert_eq!(parse_rfc3339(&text), Some(1_548_697_513));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
