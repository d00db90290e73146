//! A human line per event, e.g. `deactivated user alice@contoso.com (tenant contoso) 0.8 s after Entra's PATCH`.

use serde_json::Value;

const PROV: &str = "urn:ietf:params:scim:event:prov:";

/// What happened, the subject, the tenant, and how long after the change it arrived (`now` in Unix seconds).
pub fn describe(claims: &Value, now: f64) -> String {
    let events = claims["events"].as_object().cloned().unwrap_or_default();
    let has = |name: &str| {
        events
            .keys()
            .any(|uri| uri.strip_prefix(PROV).is_some_and(|rest| rest.starts_with(name)))
    };
    let sub = &claims["sub_id"];
    let uri = sub["uri"].as_str().unwrap_or_default();
    let kind = if uri.starts_with("/Groups/") { "group" } else { "user" };
    let name = sub["userName"]
        .as_str()
        .or_else(|| sub["externalId"].as_str())
        .or_else(|| sub["id"].as_str())
        .unwrap_or(uri);
    let attributes: Vec<String> = events
        .values()
        .filter_map(|payload| payload["attributes"].as_array())
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let (what, method) = if has("deactivate") {
        (format!("deactivated {kind} {name}"), "PATCH")
    } else if has("activate") {
        (format!("reactivated {kind} {name}"), "PATCH")
    } else if has("create") {
        (format!("created {kind} {name}"), "POST")
    } else if has("delete") {
        (format!("deleted {kind} {name}"), "DELETE")
    } else if let Some(operation) = events
        .values()
        .find_map(|p| p["data"]["Operations"][0].as_object().cloned())
    {
        let member = operation["value"][0]["value"].as_str().map(str::to_owned).or_else(|| {
            let path = operation["path"].as_str().unwrap_or_default();
            path.strip_prefix("members[value eq \"")
                .and_then(|r| r.strip_suffix("\"]"))
                .map(str::to_owned)
        });
        let verb = if operation["op"] == "remove" {
            "removed user"
        } else {
            "added user"
        };
        let member = member.unwrap_or_default();
        (
            format!(
                "{verb} {member} {} group {name}",
                if verb.starts_with("removed") { "from" } else { "to" }
            ),
            "PATCH",
        )
    } else if has("put") {
        (format!("replaced {kind} {name} ({})", attributes.join(", ")), "PUT")
    } else {
        (format!("updated {kind} {name} ({})", attributes.join(", ")), "PATCH")
    };
    let tenant = claims["tenant"].as_str().unwrap_or("?");
    match claims["toe"].as_f64() {
        Some(toe) => format!(
            "{what} (tenant {tenant}) {:.1} s after Entra's {method}",
            (now - toe).max(0.0)
        ),
        None => format!("{what} (tenant {tenant})"),
    }
}
