//! How a registration with the `events.read` scope receives the tenant's change events (issue 10): how much of each
//! resource its Security Event Tokens carry, and optionally an RFC 8935 push endpoint. Stored with the registration.

use serde::{Deserialize, Serialize};

use crate::url_policy::PushUrlPolicy;

/// The data level of a receiver's events (RFC 9967 §2.4 "notice" and "full" events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventDataLevel {
    /// Notice events whose `sub_id` names the resource by id only: no personal data at all.
    Ids,
    /// Notice events that also carry `externalId` and a user's `userName`.
    #[default]
    Notice,
    /// Full events: the resource's representation after the change.
    Full,
}

impl EventDataLevel {
    pub const ALL: [EventDataLevel; 3] = [EventDataLevel::Ids, EventDataLevel::Notice, EventDataLevel::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            EventDataLevel::Ids => "ids",
            EventDataLevel::Notice => "notice",
            EventDataLevel::Full => "full",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }
}

/// Stored event settings of a registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSettings {
    #[serde(default)]
    pub level: EventDataLevel,
    /// RFC 8935 push endpoint; events are delivered only by polling when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
}

/// The admin API's `events` object (`POST /clients`, `PATCH /clients/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettingsRequest {
    #[serde(default)]
    pub level: Option<String>,
    /// An empty string removes the push endpoint.
    #[serde(default)]
    pub push_url: Option<String>,
}

impl EventSettingsRequest {
    /// Applies the request to `current` (defaults for a new registration): the first problem is reported as
    /// `(field, problem)`.
    pub fn apply(
        &self,
        current: Option<&EventSettings>,
        policy: PushUrlPolicy,
    ) -> Result<EventSettings, (&'static str, String)> {
        let mut settings = current.cloned().unwrap_or_default();
        if let Some(level) = &self.level {
            settings.level = EventDataLevel::parse(level)
                .ok_or_else(|| ("events.level", format!("unknown level {level:?} (ids, notice or full)")))?;
        }
        match self.push_url.as_deref() {
            None => {}
            Some("") => settings.push_url = None,
            Some(url) => {
                let checked = policy.check(url).map_err(|err| ("events.push_url", err.to_string()))?;
                settings.push_url = Some(checked.to_string());
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_with_defaults_and_checks() {
        let policy = PushUrlPolicy::new(false);
        let fresh = EventSettingsRequest::default().apply(None, policy).unwrap();
        assert_eq!(fresh, EventSettings::default());
        assert_eq!(fresh.level, EventDataLevel::Notice);
        let request = EventSettingsRequest {
            level: Some("ids".into()),
            push_url: Some("https://app.isv.example/events".into()),
        };
        let set = request.apply(None, policy).unwrap();
        assert_eq!(set.level, EventDataLevel::Ids);
        assert_eq!(set.push_url.as_deref(), Some("https://app.isv.example/events"));
        let cleared = EventSettingsRequest {
            level: None,
            push_url: Some(String::new()),
        }
        .apply(Some(&set), policy)
        .unwrap();
        assert_eq!((cleared.level, cleared.push_url), (EventDataLevel::Ids, None));
        let bad_level = EventSettingsRequest {
            level: Some("everything".into()),
            push_url: None,
        };
        assert_eq!(bad_level.apply(None, policy).unwrap_err().0, "events.level");
        let inward = EventSettingsRequest {
            level: None,
            push_url: Some("https://169.254.169.254/".into()),
        };
        assert_eq!(inward.apply(None, policy).unwrap_err().0, "events.push_url");
        assert_eq!(serde_json::to_string(&EventDataLevel::Full).unwrap(), "\"full\"");
    }
}
