//! The audit trail: the [`AuditEvent`] every function records (token grants and denials, SCIM writes, admin
//! changes) and `GET /audit` returns as recorded, the [`AuditPage`] it comes in, and the [`AuditFilter`] that
//! selects it. Events never carry secrets: no assertion, access token or client secret value.

use serde::{Deserialize, Serialize};

/// What happened, in one of three families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCategory {
    Token,
    Scim,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    pub category: AuditCategory,
    /// e.g. `token.granted`, `token.denied`, `scim.user.create`, `admin.client.update`.
    pub action: String,
    /// `success`, `denied` or `error`, or an HTTP-ish outcome such as `409`.
    pub outcome: String,
    /// The ISV-side tenant, when known (a denial for an unknown client has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Who acted: the IAM principal for admin calls, `client:<id>` for SCIM and token calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The SCIM resource or registration the action touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Full reason for a denial or failure (the client only sees a shorter description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Action-specific details (iss, sub, tid, kid, scopes, ...). Never secrets.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    pub fn new(at: i64, category: AuditCategory, action: impl Into<String>, outcome: impl Into<String>) -> Self {
        Self {
            at,
            category,
            action: action.into(),
            outcome: outcome.into(),
            tenant_id: None,
            client_id: None,
            actor: None,
            resource_id: None,
            reason: None,
            request_id: None,
            source_ip: None,
            user_agent: None,
            details: serde_json::Map::new(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Emits the event as one structured log line (target `audit`), so CloudWatch has it even if the table write
    /// fails.
    #[cfg(feature = "tracing")]
    pub fn log(&self) {
        // Serialized straight into the log line, and only when the `audit` target is enabled: no JSON string is
        // built first (every SCIM write and token grant logs one).
        tracing::info!(target: "audit", audit = %AsJson(self), action = %self.action, outcome = %self.outcome, "audit event");
    }
}

/// Displays a value as its JSON text, written piece by piece into the formatter.
#[cfg(feature = "tracing")]
struct AsJson<'a, T>(&'a T);

#[cfg(feature = "tracing")]
impl<T: Serialize> std::fmt::Display for AsJson<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// serde_json writes UTF-8 in pieces cut at ASCII bytes (escapes, punctuation), so each piece is a `str`.
        struct Pieces<'a, 'b>(&'a mut std::fmt::Formatter<'b>);
        impl std::io::Write for Pieces<'_, '_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let text = std::str::from_utf8(buf).map_err(std::io::Error::other)?;
                self.0.write_str(text).map_err(std::io::Error::other)?;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        serde_json::to_writer(Pieces(f), self.0).map_err(|_| std::fmt::Error)
    }
}

/// `GET /audit`: one page of events, newest first unless asked otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /audit?tenant_id=|client_id=&from=&to=&cursor=&limit=&order=`, as query text: the server validates every
/// parameter and names the one that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    /// Unix seconds or RFC 3339 (`2026-05-01T00:00:00Z`), inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<String>,
    /// `desc` (default, newest first) or `asc`.
    pub order: Option<String>,
}

impl AuditFilter {
    /// Reads the parameters through `param` (the first value of a query parameter by name).
    pub fn from_query(param: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            tenant_id: param("tenant_id"),
            client_id: param("client_id"),
            from: param("from"),
            to: param("to"),
            cursor: param("cursor"),
            limit: param("limit"),
            order: param("order"),
        }
    }

    /// The parameters that are set, as (name, value) pairs.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        [
            ("tenant_id", &self.tenant_id),
            ("client_id", &self.client_id),
            ("from", &self.from),
            ("to", &self.to),
            ("cursor", &self.cursor),
            ("limit", &self.limit),
            ("order", &self.order),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "tracing")]
    #[test]
    fn an_event_logs_as_exactly_its_json() {
        let mut event = AuditEvent::new(1, AuditCategory::Scim, "scim.user.patch", "200")
            .detail("note", "quote \" backslash \\ newline \n tab \t é 日本 \u{1F600} \u{7}");
        event.resource_id = Some("ü-1".to_owned());
        assert_eq!(AsJson(&event).to_string(), serde_json::to_string(&event).unwrap());
    }

    #[test]
    fn filters_round_trip_through_the_query() {
        let filter = AuditFilter {
            client_id: Some("c".into()),
            limit: Some("5".into()),
            order: Some("asc".into()),
            ..Default::default()
        };
        let query = filter.to_query();
        assert_eq!(
            query,
            vec![
                ("client_id", "c".to_owned()),
                ("limit", "5".to_owned()),
                ("order", "asc".to_owned())
            ]
        );
        let read = AuditFilter::from_query(|name| {
            query
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        });
        assert_eq!(read, filter);
    }
}
