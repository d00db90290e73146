//! The event as an Amazon EventBridge entry: `source` is the product, `detail-type` the event's primary RFC 9967
//! URI (so rules can route deactivations without parsing), and `detail` the SET claims at the bus's data level,
//! unsigned (EventBridge authenticates the publisher; the ISV's rules run in its own account) with the tenant
//! at the top.

use serde_json::{Value, json};
use wif_auth::event_settings::EventDataLevel;

use crate::change::ChangeEvent;
use crate::set::{Issuer, claims};

/// `source` of every entry.
pub const SOURCE: &str = "wif.scim";
/// EventBridge refuses entries over 256 KB (the whole PutEvents request too).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// One PutEvents entry (without the bus name, which the adapter adds).
#[derive(Debug, Clone, PartialEq)]
pub struct BusEntry {
    pub change_id: String,
    pub detail_type: &'static str,
    pub detail: String,
}

/// The entry of `event`; a `full` detail that would be too large falls back to `notice` (the receiver can still
/// read the resource through SCIM).
pub fn entry(event: &ChangeEvent, level: EventDataLevel, issuer: &Issuer, now: i64) -> BusEntry {
    let render = |level: EventDataLevel| -> String {
        let set = claims(event, level, issuer, now);
        json!({"tenant": event.tenant, "resourceType": event.resource_type.as_str(), "id": event.resource_id, "set": set})
            .to_string()
    };
    let mut detail = render(level);
    if detail.len() > MAX_ENTRY_BYTES / 2 && level == EventDataLevel::Full {
        detail = render(EventDataLevel::Notice);
    }
    BusEntry {
        change_id: event.change_id.clone(),
        detail_type: event.primary_uri(level == EventDataLevel::Full || event.is_membership()),
        detail,
    }
}

/// The `detail` of an entry as a JSON value (for tests and tools).
pub fn detail_value(entry: &BusEntry) -> Value {
    serde_json::from_str(&entry.detail).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, DirectoryChange, RecordOrigin, ResourceType};
    use crate::testing::user_state;

    #[test]
    fn entries_route_by_event_type_and_carry_the_tenant() {
        let big = "x".repeat(MAX_ENTRY_BYTES);
        let event = ChangeEvent::of(
            &RecordOrigin {
                record_id: "r".into(),
                committed_at_ms: 0,
                sequence: "100".into(),
            },
            &DirectoryChange {
                tenant: "contoso".into(),
                change: Change::Created(
                    ResourceType::User,
                    user_state("u1", 1, json!({"userName": "a", "title": big})),
                ),
            },
        );
        let issuer = Issuer("https://e.example".into());
        let notice = entry(&event, EventDataLevel::Notice, &issuer, 0);
        assert_eq!(notice.detail_type, crate::set::CREATE_NOTICE);
        let detail = detail_value(&notice);
        assert_eq!(detail["tenant"], "contoso");
        assert_eq!(detail["set"]["sub_id"]["uri"], "/Users/u1");
        let full = entry(&event, EventDataLevel::Full, &issuer, 0);
        assert!(
            full.detail.len() < MAX_ENTRY_BYTES,
            "an oversized full detail falls back to notice"
        );
    }
}
