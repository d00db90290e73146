//! The rules every error answer must follow, as checks the fault tests apply to each answer a client saw: SCIM
//! errors are RFC 7644 §3.12 documents, token-endpoint errors RFC 6749 §5.2 documents, and every 503 and 429
//! carries a numeric `Retry-After`.

use serde_json::{Value, json};

pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn retry_after_violation(status: u16, retry_after: Option<&str>, body: &str) -> Option<String> {
    let numeric = retry_after.is_some_and(|v| v.trim().parse::<u64>().is_ok());
    (matches!(status, 429 | 503) && !numeric).then(|| format!("{status} without a numeric Retry-After: {body}"))
}

fn json_body(status: u16, body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|_| format!("{status} with a body that is not JSON: {body}"))
}

/// Why an error answer of the SCIM API breaks the rules, if it does: `application/scim+json`, the Error schema,
/// `status` as a string equal to the HTTP status, and `Retry-After` on 503 and 429. `cargo lambda watch`'s own
/// relay fault ([`crate::relay`]) is the emulator's, not ours, and is not judged here.
pub fn scim_error_violation(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<&str>,
    body: &str,
) -> Option<String> {
    if crate::relay::is_emulator_relay_fault(status, body) {
        return None;
    }
    if !content_type.is_some_and(|c| c.starts_with(SCIM_MEDIA_TYPE)) {
        return Some(format!("{status} with content type {content_type:?}: {body}"));
    }
    let document = match json_body(status, body) {
        Ok(document) => document,
        Err(violation) => return Some(violation),
    };
    if document["schemas"] != json!([SCIM_ERROR_SCHEMA]) || document["status"] != json!(status.to_string()) {
        return Some(format!("{status} that is not a SCIM error document: {body}"));
    }
    retry_after_violation(status, retry_after, body)
}

/// Why an error answer of the token endpoint breaks the rules, if it does: `application/json` with a string
/// `error` (and `error_description` a string when present), and `Retry-After` on 503 and 429.
pub fn oauth_error_violation(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<&str>,
    body: &str,
) -> Option<String> {
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Some(format!("{status} with content type {content_type:?}: {body}"));
    }
    let document = match json_body(status, body) {
        Ok(document) => document,
        Err(violation) => return Some(violation),
    };
    let description_ok = document.get("error_description").is_none_or(Value::is_string);
    if !document["error"].is_string() || !description_ok {
        return Some(format!("{status} that is not an OAuth error document: {body}"));
    }
    retry_after_violation(status, retry_after, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_errors_need_the_schema_the_status_and_retry_after_when_unavailable() {
        let unavailable = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"x"}"#;
        let scim = Some(SCIM_MEDIA_TYPE);
        assert_eq!(scim_error_violation(503, scim, Some("5"), unavailable), None);
        assert!(scim_error_violation(503, scim, None, unavailable).is_some());
        assert!(scim_error_violation(503, scim, Some("soon"), unavailable).is_some());
        assert!(scim_error_violation(503, Some("text/plain"), Some("5"), unavailable).is_some());
        assert!(
            scim_error_violation(500, scim, None, unavailable).is_some(),
            "status differs"
        );
        assert!(scim_error_violation(502, scim, None, "proxy: upstream failed").is_some());
        let relay = r#"{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}"#;
        assert_eq!(scim_error_violation(500, Some("application/json"), None, relay), None);
    }

    #[test]
    fn oauth_errors_need_an_error_code_and_retry_after_when_unavailable() {
        let body = r#"{"error":"temporarily_unavailable","error_description":"later"}"#;
        let json = Some("application/json");
        assert_eq!(oauth_error_violation(503, json, Some("5"), body), None);
        assert!(oauth_error_violation(503, json, None, body).is_some());
        assert_eq!(
            oauth_error_violation(401, json, None, r#"{"error":"invalid_client"}"#),
            None
        );
        assert!(oauth_error_violation(400, json, None, r#"{"message":"x"}"#).is_some());
        assert!(oauth_error_violation(500, Some("text/html"), None, "<h1>x</h1>").is_some());
    }
}
