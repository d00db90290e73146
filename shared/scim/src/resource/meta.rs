//! `meta` (RFC 7643 §3.1) and ETags (RFC 7644 §3.14, RFC 9110 §8.8.3 / §13.1).
//!
//! Versions are opaque strings chosen by the store (a counter); on the wire they are weak ETags `W/"<version>"`.
//! Preconditions use weak comparison: SCIM resources have no byte-exact representation to compare strongly.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ScimError;
use crate::schema::ResourceSchema;

/// The server-maintained metadata of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta<'a> {
    pub resource_type: &'a str,
    /// RFC 3339.
    pub created: &'a str,
    /// RFC 3339.
    pub last_modified: &'a str,
    pub location: &'a str,
    /// The store's version; rendered as the weak ETag.
    pub version: &'a str,
}

impl Meta<'_> {
    pub fn to_json(&self) -> Value {
        json!({
            "resourceType": self.resource_type,
            "created": self.created,
            "lastModified": self.last_modified,
            "location": self.location,
            "version": format_etag(self.version),
        })
    }
}

/// `{base_url}/Users/{id}`.
pub fn location(base_url: &str, schema: &ResourceSchema, id: &str) -> String {
    format!("{}{}/{id}", base_url.trim_end_matches('/'), schema.endpoint())
}

/// RFC 3339 with second precision and `Z`, the form SCIM clients parse most reliably.
pub fn format_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// The weak ETag for a version: `W/"<version>"`.
pub fn format_etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// One entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

/// An `If-Match` / `If-None-Match` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTags {
    /// `*`
    Any,
    List(Vec<EntityTag>),
}

impl EntityTags {
    /// Weak comparison (RFC 9110 §8.8.3.2) against the current version.
    pub fn matches(&self, version: &str) -> bool {
        match self {
            EntityTags::Any => true,
            EntityTags::List(tags) => tags.iter().any(|t| t.opaque == version),
        }
    }
}

/// Parses a comma-separated entity-tag list or `*`. Bare unquoted tokens are accepted as tags too, since some
/// clients echo the version without quotes.
pub fn parse_etag_list(header: &str) -> Result<EntityTags, ScimError> {
    let header = header.trim();
    if header == "*" {
        return Ok(EntityTags::Any);
    }
    let invalid = || ScimError::precondition_failed(format!("malformed entity tag list: {header}"));
    let mut tags = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let (weak, after) = match rest.strip_prefix("W/").or_else(|| rest.strip_prefix("w/")) {
            Some(after) => (true, after),
            None => (false, rest),
        };
        if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(invalid)?;
            tags.push(EntityTag {
                weak,
                opaque: quoted[..end].to_owned(),
            });
            rest = &quoted[end + 1..];
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let token = after[..end].trim();
            if token.is_empty() || token.contains('"') || token.contains(char::is_whitespace) {
                return Err(invalid());
            }
            tags.push(EntityTag {
                weak,
                opaque: token.to_owned(),
            });
            rest = &after[end..];
        }
    }
    if tags.is_empty() {
        return Err(invalid());
    }
    Ok(EntityTags::List(tags))
}

/// `If-Match`: `Ok` when absent or when it matches the current version, else 412 (RFC 7644 §3.14).
pub fn check_if_match(header: Option<&str>, current_version: &str) -> Result<(), ScimError> {
    let Some(header) = header else {
        return Ok(());
    };
    if parse_etag_list(header)?.matches(current_version) {
        Ok(())
    } else {
        Err(ScimError::precondition_failed(format!(
            "the resource has changed: its version is {}",
            format_etag(current_version)
        )))
    }
}

/// `If-None-Match` on a read: true when the client's copy is current (answer 304 Not Modified). A malformed header
/// counts as no match, so the client simply gets the resource.
pub fn if_none_match_hits(header: Option<&str>, current_version: &str) -> bool {
    header
        .and_then(|h| parse_etag_list(h).ok())
        .is_some_and(|tags| tags.matches(current_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_document() {
        let meta = Meta {
            resource_type: "User",
            created: "2024-01-01T00:00:00Z",
            last_modified: "2024-01-02T00:00:00Z",
            location: "https://x/scim/v2/Users/1",
            version: "7",
        };
        let doc = meta.to_json();
        assert_eq!(doc["version"], "W/\"7\"");
        assert_eq!(doc["resourceType"], "User");
        assert_eq!(
            location("https://x/scim/v2/", ResourceSchema::group(), "g1"),
            "https://x/scim/v2/Groups/g1"
        );
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        assert_eq!(format_datetime(at), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn etag_lists() {
        assert_eq!(parse_etag_list(" * ").expect("any"), EntityTags::Any);
        let tags = parse_etag_list(r#"W/"1", "2",W/"3""#).expect("list");
        assert!(tags.matches("1") && tags.matches("2") && tags.matches("3") && !tags.matches("4"));
        assert_eq!(
            parse_etag_list("W/\"a,b\"").expect("comma inside"),
            EntityTags::List(vec![EntityTag {
                weak: true,
                opaque: "a,b".into()
            }])
        );
        assert!(parse_etag_list("7").expect("bare").matches("7"));
        assert!(parse_etag_list("W/\"unterminated").is_err());
        assert!(parse_etag_list("").is_err());
        assert!(parse_etag_list(" , ").is_err());
    }

    #[test]
    fn preconditions() {
        assert!(check_if_match(None, "3").is_ok());
        assert!(check_if_match(Some("W/\"3\""), "3").is_ok());
        assert!(check_if_match(Some("*"), "3").is_ok());
        let err = check_if_match(Some("W/\"2\""), "3").expect_err("stale");
        assert_eq!(err.status, 412);
        assert_eq!(
            check_if_match(Some("garbage\""), "3").expect_err("malformed").status,
            412
        );
        assert!(if_none_match_hits(Some("W/\"3\""), "3"));
        assert!(!if_none_match_hits(Some("W/\"2\""), "3"));
        assert!(!if_none_match_hits(Some("\"bad"), "3"));
        assert!(!if_none_match_hits(None, "3"));
    }
}
