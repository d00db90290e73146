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
}
