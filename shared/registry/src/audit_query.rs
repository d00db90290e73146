//! `GET /audit?tenant_id=..|client_id=..&from=&to=&cursor=&limit=&order=`: the audit trail, one tenant's or one
//! client's, in a time range, paged, newest first unless asked otherwise.

use std::sync::Arc;

use wif_admin_api::{AuditFilter, AuditPage};

use crate::error::RegistryError;
use crate::ports::{AuditLog, AuditQuery, AuditQueryError};

pub const DEFAULT_AUDIT_PAGE: u32 = 50;
pub const MAX_AUDIT_PAGE: u32 = 500;
const MAX_ID_LEN: usize = 256;

pub struct AuditQueries {
    log: Arc<dyn AuditLog>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

fn id(name: &str, value: Option<String>) -> Result<Option<String>, RegistryError> {
    match value {
        None => Ok(None),
        Some(value) if value.is_empty() => Err(invalid(format!("{name}: must not be empty"))),
        Some(value) if value.len() > MAX_ID_LEN || value.chars().any(char::is_control) => {
            Err(invalid(format!("{name}: is not a valid id")))
        }
        Some(value) => Ok(Some(value)),
    }
}

/// Unix seconds or RFC 3339; anything else is a 400 naming the parameter.
pub fn parse_time(name: &str, value: Option<&str>) -> Result<Option<i64>, RegistryError> {
    let Some(text) = value else { return Ok(None) };
    if let Ok(seconds) = text.parse::<i64>() {
        if !(0..=253_402_300_799).contains(&seconds) {
            return Err(invalid(format!(
                "{name}: must be between 0 and 253402300799 (year 9999)"
            )));
        }
        return Ok(Some(seconds));
    }
    wif_common::clock::parse_rfc3339(text).map(Some).ok_or_else(|| {
        invalid(format!(
            "{name}: must be Unix seconds or an RFC 3339 time such as 2026-05-01T00:00:00Z"
        ))
    })
}

impl AuditQueries {
    pub fn new(log: Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    pub fn validate(request: AuditFilter) -> Result<AuditQuery, RegistryError> {
        let tenant_id = id("tenant_id", request.tenant_id)?;
        let client_id = id("client_id", request.client_id)?;
        if tenant_id.is_none() && client_id.is_none() {
            return Err(invalid("tenant_id: tenant_id or client_id is required"));
        }
        let from = parse_time("from", request.from.as_deref())?;
        let to = parse_time("to", request.to.as_deref())?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(invalid("from: must not be after to"));
        }
        let limit = match request.limit.as_deref() {
            None => DEFAULT_AUDIT_PAGE,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_AUDIT_PAGE).contains(&n) => n,
                _ => {
                    return Err(invalid(format!(
                        "limit: must be an integer between 1 and {MAX_AUDIT_PAGE}"
                    )));
                }
            },
        };
        let descending = match request.order.as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(invalid("order: must be asc or desc")),
        };
        Ok(AuditQuery {
            tenant_id,
            client_id,
            from,
            to,
            cursor: request.cursor.filter(|cursor| !cursor.is_empty()),
            limit,
            descending,
        })
    }

    pub async fn query(&self, request: AuditFilter) -> Result<AuditPage, RegistryError> {
        let query = Self::validate(request)?;
        self.log.query(&query).await.map_err(|err| match err {
            AuditQueryError::InvalidCursor => invalid("cursor: is not a cursor this query returned"),
            AuditQueryError::Unavailable(err) => err.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryAudit;
    use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

    fn request(tenant: Option<&str>, client: Option<&str>) -> AuditFilter {
        AuditFilter {
            tenant_id: tenant.map(str::to_owned),
            client_id: client.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn validation_names_the_parameter() {
        let cases = [
            (request(None, None), "tenant_id:"),
            (request(Some(""), None), "tenant_id:"),
            (
                AuditFilter {
                    from: Some("yesterday".into()),
                    ..request(Some("t"), None)
                },
                "from:",
            ),
            (
                AuditFilter {
                    from: Some("200".into()),
                    to: Some("100".into()),
                    ..request(Some("t"), None)
                },
                "from: must not be after to",
            ),
            (
                AuditFilter {
                    limit: Some("0".into()),
                    ..request(Some("t"), None)
                },
                "limit:",
            ),
            (
                AuditFilter {
                    limit: Some("501".into()),
                    ..request(Some("t"), None)
                },
                "limit:",
            ),
            (
                AuditFilter {
                    order: Some("sideways".into()),
                    ..request(Some("t"), None)
                },
                "order:",
            ),
            (
                AuditFilter {
                    to: Some("-1".into()),
                    ..request(Some("t"), None)
                },
                "to:",
            ),
        ];
        for (req, prefix) in cases {
            let err = AuditQueries::validate(req).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().starts_with(prefix), "{err} vs {prefix}");
        }
        let query = AuditQueries::validate(AuditFilter {
            from: Some("2027-01-15T08:00:00Z".into()),
            to: Some("1800000000".into()),
            order: Some("asc".into()),
            ..request(Some("t"), Some("c"))
        })
        .unwrap();
        assert_eq!(query.from, wif_common::clock::parse_rfc3339("2027-01-15T08:00:00Z"));
        assert_eq!(query.to, Some(1_800_000_000));
        assert!(!query.descending);
        assert_eq!(query.limit, DEFAULT_AUDIT_PAGE);
    }

    #[tokio::test]
    async fn pages_newest_first_by_tenant_or_client() {
        let log = Arc::new(InMemoryAudit::default());
        for (at, tenant, client) in [(10, "t1", "a"), (20, "t1", "b"), (30, "t1", "a"), (40, "t2", "c")] {
            let mut event = AuditEvent::new(at, AuditCategory::Admin, "admin.client.update", "success");
            event.tenant_id = Some(tenant.into());
            event.client_id = Some(client.into());
            log.record(event).await.unwrap();
        }
        let queries = AuditQueries::new(log);
        let first = queries
            .query(AuditFilter {
                limit: Some("2".into()),
                ..request(Some("t1"), None)
            })
            .await
            .unwrap();
        assert_eq!(first.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![30, 20]);
        let rest = queries
            .query(AuditFilter {
                limit: Some("2".into()),
                cursor: first.next_cursor.clone(),
                ..request(Some("t1"), None)
            })
            .await
            .unwrap();
        assert_eq!(rest.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![10]);
        assert!(rest.next_cursor.is_none());
        let by_client = queries
            .query(AuditFilter {
                order: Some("asc".into()),
                from: Some("15".into()),
                ..request(None, Some("a"))
            })
            .await
            .unwrap();
        assert_eq!(by_client.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![30]);
        // A cursor of another query is refused rather than followed.
        let err = queries
            .query(AuditFilter {
                cursor: first.next_cursor,
                ..request(Some("t2"), None)
            })
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("cursor:"), "{err}");
    }
}
