//! Reading configuration from environment variables. Each function builds its own typed config at start-up from
//! these helpers, so a bad value stops the function before it serves anything, with a message naming the variable.

use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Where values come from: the process environment in production, a map in tests.
pub trait EnvSource {
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Reads a function's configuration from the process environment, once at start-up: a bad value is logged (naming
/// the variable) and refuses the start.
pub fn load<T>(read: impl FnOnce(&ProcessEnv) -> Result<T, ConfigError>) -> Result<T, ConfigError> {
    read(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))
}

impl EnvSource for std::collections::HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name).cloned()
    }
}

impl EnvSource for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

/// A required, non-empty variable.
pub fn required(env: &(impl EnvSource + ?Sized), name: &'static str) -> Result<String, ConfigError> {
    match env.get(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ConfigError::Missing { name }),
    }
}

/// An optional variable; empty counts as unset.
pub fn optional(env: &(impl EnvSource + ?Sized), name: &'static str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A parsed variable with a default when unset.
pub fn parsed_or<T>(env: &(impl EnvSource + ?Sized), name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(env, name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|err: T::Err| ConfigError::Invalid {
            name,
            reason: err.to_string(),
            value,
        }),
    }
}

/// A parsed variable that must fall inside `min..=max`.
pub fn bounded_or<T>(
    env: &(impl EnvSource + ?Sized),
    name: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
    T::Err: std::fmt::Display,
{
    let value = parsed_or(env, name, default)?;
    if value < min || value > max {
        return Err(ConfigError::Invalid {
            name,
            value: value.to_string(),
            reason: format!("must be between {min} and {max}"),
        });
    }
    Ok(value)
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), default when unset.
pub fn flag(env: &(impl EnvSource + ?Sized), name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(env, name) {
        None => Ok(default),
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid {
                name,
                value,
                reason: "expected true or false".to_owned(),
            }),
        },
    }
}

/// A comma-separated list; empty entries are dropped.
pub fn list(env: &(impl EnvSource + ?Sized), name: &'static str) -> Vec<String> {
    optional(env, name)
        .map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `WIF_LOCAL_DEVELOPMENT`: the local stack's mode (plain http to loopback, an admin API without IAM). Refused when
/// the process runs in AWS Lambda itself, so a template or console edit cannot switch a deployed function into it.
pub fn local_development(env: &(impl EnvSource + ?Sized)) -> Result<bool, ConfigError> {
    let name = "WIF_LOCAL_DEVELOPMENT";
    let local = flag(env, name, false)?;
    if local && let Some(marker) = aws_lambda_marker(env) {
        return Err(ConfigError::Invalid {
            name,
            value: "true".to_owned(),
            reason: format!("local development is refused inside AWS Lambda ({marker} is set)"),
        });
    }
    Ok(local)
}

/// Which variable shows that the process runs in AWS Lambda itself, if any. Both are set by the Lambda service and
/// reserved (a function's configuration can neither set nor clear them); `cargo lambda watch` sets neither (it
/// sets `AWS_LAMBDA_FUNCTION_NAME`, `_VERSION`, `_MEMORY_SIZE`, `AWS_LAMBDA_RUNTIME_API`,
/// `AWS_LAMBDA_MAX_CONCURRENCY` and `AWS_LAMBDA_INSTANCE_ID`, so none of those can tell the two apart).
/// `AWS_EXECUTION_ENV` is absent on OS-only runtimes such as our `provided.al2023`, and other AWS services use it
/// with other prefixes (`AWS_ECS_…`, `CloudShell`), so it only counts with Lambda's `AWS_Lambda_` prefix.
fn aws_lambda_marker(env: &(impl EnvSource + ?Sized)) -> Option<&'static str> {
    if optional(env, "AWS_LAMBDA_INITIALIZATION_TYPE").is_some() {
        return Some("AWS_LAMBDA_INITIALIZATION_TYPE");
    }
    optional(env, "AWS_EXECUTION_ENV")
        .filter(|value| value.starts_with("AWS_Lambda_"))
        .map(|_| "AWS_EXECUTION_ENV")
}

/// A loopback host: `localhost`, 127.0.0.0/8 or `::1`, judged on the parsed URL (so `localhost.example.com` and
/// `localhost@example.com` are not).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A public URL customers are given (`WIF_PUBLIC_TOKEN_URL`, `WIF_PUBLIC_SCIM_URL`), without a trailing slash: https,
/// or plain http to a loopback host in local development (the local stack's URLs). Unset is `None`.
pub fn public_url(
    env: &(impl EnvSource + ?Sized),
    name: &'static str,
    local_development: bool,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = optional(env, name) else {
        return Ok(None);
    };
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        value: value.clone(),
        reason: reason.to_owned(),
    };
    let url = url::Url::parse(&value).map_err(|err| invalid(&format!("is not an absolute URL ({err})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not contain user information"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if local_development && is_loopback(&url) => {}
        _ => {
            return Err(invalid(
                "must be an https URL (plain http only to a loopback host with WIF_LOCAL_DEVELOPMENT=true)",
            ));
        }
    }
    Ok(Some(value.trim_end_matches('/').to_owned()))
}

/// [`public_url`] for a variable that must be set.
pub fn required_public_url(
    env: &(impl EnvSource + ?Sized),
    name: &'static str,
    local_development: bool,
) -> Result<String, ConfigError> {
    public_url(env, name, local_development)?.ok_or(ConfigError::Missing { name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates() {
        let env: &[(&str, &str)] = &[
            ("A", " x "),
            ("N", "42"),
            ("BAD", "forty"),
            ("F", "TRUE"),
            ("L", "a, b,,c"),
        ];
        assert_eq!(required(env, "A").unwrap(), "x");
        assert_eq!(required(env, "MISSING"), Err(ConfigError::Missing { name: "MISSING" }));
        assert_eq!(parsed_or(env, "N", 1u32).unwrap(), 42);
        assert_eq!(parsed_or(env, "UNSET", 7u32).unwrap(), 7);
        assert!(matches!(
            parsed_or(env, "BAD", 1u32),
            Err(ConfigError::Invalid { name: "BAD", .. })
        ));
        assert!(bounded_or(env, "N", 1u32, 1, 10).is_err());
        assert!(flag(env, "F", false).unwrap());
        assert!(flag(env, "A", false).is_err());
        assert_eq!(list(env, "L"), vec!["a", "b", "c"]);
    }

    #[test]
    fn local_development_is_refused_inside_aws_lambda() {
        let local: &[(&str, &str)] = &[
            ("WIF_LOCAL_DEVELOPMENT", "true"),
            // What `cargo lambda watch` sets (cargo-lambda 1.9, crates/cargo-lambda-watch/src/watcher.rs).
            ("AWS_LAMBDA_FUNCTION_NAME", "token"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9000/.rt"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "1"),
            ("AWS_EXECUTION_ENV", "CloudShell"),
        ];
        assert_eq!(local_development(local), Ok(true));
        assert_eq!(local_development(&[][..]), Ok(false));
        for marker in [
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_rust"),
        ] {
            let lambda = [&[marker], local].concat();
            let err = local_development(lambda.as_slice()).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name: "WIF_LOCAL_DEVELOPMENT", reason, .. } if reason.contains(marker.0)),
                "{err}"
            );
            let off = [&[("WIF_LOCAL_DEVELOPMENT", "false"), marker][..]].concat();
            assert_eq!(local_development(off.as_slice()), Ok(false));
        }
    }

    #[test]
    fn public_urls_allow_http_only_to_loopback_in_local_development() {
        let check = |value: &str, local: bool| public_url(&[("U", value)][..], "U", local);
        assert_eq!(
            check("https://scim.example.com/scim/v2/", false),
            Ok(Some("https://scim.example.com/scim/v2".to_owned()))
        );
        for loopback in [
            "http://127.0.0.1:9000/lambda-url/scim/scim/v2",
            "http://localhost:9000/x",
            "http://LOCALHOST/x",
            "http://[::1]:9000/x",
        ] {
            assert!(check(loopback, true).is_ok(), "{loopback}");
            assert!(check(loopback, false).is_err(), "{loopback} outside local development");
        }
        for hostile in [
            "http://localhost.attacker.example/oauth2/token",
            "http://localhost@evil.example/oauth2/token",
            "http://127.0.0.1.nip.io/scim/v2",
            "http://127.0.0.1@evil.example/",
            "http://scim.example.com/scim/v2",
            "https://user:pass@scim.example.com/scim/v2",
            "ftp://scim.example.com/",
            "/scim/v2",
            "not a url",
        ] {
            assert!(
                matches!(check(hostile, true), Err(ConfigError::Invalid { name: "U", .. })),
                "{hostile} passed"
            );
        }
        assert_eq!(check("", false), Ok(None));
        assert_eq!(
            required_public_url(&[][..], "U", true),
            Err(ConfigError::Missing { name: "U" })
        );
    }
}
