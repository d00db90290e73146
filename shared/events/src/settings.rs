//! Settings both event functions read (the stream consumer and the feed), validated once at start-up.

use std::time::Duration;

use wif_common::ConfigError;
use wif_common::config::{EnvSource, bounded_or, local_development, public_url, required};

pub const ISSUER: &str = "WIF_EVENTS_ISSUER";
pub const SETTLE: &str = "WIF_EVENTS_SETTLE_SECONDS";

/// `WIF_EVENTS_ISSUER`: the SETs' `iss` (RFC 7519 StringOrURI): the events function's public base URL, or a URN
/// when the deployment has no stable URL for it (a function cannot name its own function URL). Plain `http://`
/// only with `WIF_LOCAL_DEVELOPMENT=true` (which is refused inside AWS Lambda).
pub fn issuer(env: &(impl EnvSource + ?Sized)) -> Result<String, ConfigError> {
    let local = local_development(env)?;
    let value = required(env, ISSUER)?;
    let urn = value.starts_with("urn:") && value.len() > 6;
    let url = value.starts_with("https://") || local && value.starts_with("http://");
    let host = value
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    let printable = !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !(urn || url && !host.is_empty()) || !printable {
        return Err(ConfigError::Invalid {
            name: ISSUER,
            value,
            reason: "must be an absolute https URL or a URN (http only in local development)".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

pub const PUBLIC_URL: &str = "WIF_PUBLIC_EVENTS_URL";

/// `WIF_PUBLIC_EVENTS_URL`, the event feed function's public base (optional): a registration's poll URL
/// (`events_url`) and the signing keys' JWKS URL (`events_jwks_url`), as the admin API and the portal show them.
pub fn public_urls(
    env: &(impl EnvSource + ?Sized),
    local_development: bool,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let base = public_url(env, PUBLIC_URL, local_development)?;
    Ok((
        base.as_ref().map(|base| format!("{base}{}", crate::POLL_PATH)),
        base.map(|base| format!("{base}{}", crate::JWKS_PATH)),
    ))
}

/// `WIF_EVENTS_SETTLE_SECONDS` (default 15): how old a feed entry must be before a receiver's watermark may pass
/// it; appends must become visible within a third of it.
pub fn settle(env: &(impl EnvSource + ?Sized)) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(bounded_or(env, SETTLE, 15u64, 3, 600)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_and_settle_are_checked() {
        assert_eq!(
            issuer(&[(ISSUER, "https://e.example/")][..]).unwrap(),
            "https://e.example"
        );
        assert!(issuer(&[(ISSUER, "http://127.0.0.1:9000/events-feed")][..]).is_err());
        let local = [
            (ISSUER, "http://127.0.0.1:9000/events-feed"),
            ("WIF_LOCAL_DEVELOPMENT", "true"),
        ];
        assert!(issuer(&local[..]).is_ok());
        for bad in ["events", "ftp://e.example", "https://", "https://a b"] {
            assert!(issuer(&[(ISSUER, bad)][..]).is_err(), "{bad}");
        }
        assert_eq!(settle(&[][..] as &[(&str, &str)]).unwrap(), Duration::from_secs(15));
        assert!(settle(&[(SETTLE, "1")][..]).is_err());
        let (poll, jwks) = public_urls(&[(PUBLIC_URL, "https://feed.example")][..], false).unwrap();
        assert_eq!(poll.as_deref(), Some("https://feed.example/events"));
        assert_eq!(jwks.as_deref(), Some("https://feed.example/events/jwks.json"));
        assert_eq!(public_urls(&[][..] as &[(&str, &str)], false).unwrap(), (None, None));
    }
}
