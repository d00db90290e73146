//! SCIM PATCH (RFC 7644 §3.5.2): the JSON body, `PatchRequest::parse`, then against a fixed stored user
//! `entra_compat::patch::apply` (the directory's PATCH) and `patch::apply` without a dialect, and against a fixed
//! group `take_member_operations` followed by the same two.
//!
//! Input: the PATCH request body (JSON bytes, parsed with serde_json as the SCIM API does).
//!
//! Checked beyond "no panic": a failed PATCH leaves the document untouched and is a 4xx, a successful one keeps the
//! required attributes, and `changed` is true exactly when the document or the password changed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wif_fuzz::{stored_group, stored_user};
use wif_scim::entra_compat;
use wif_scim::error::ScimError;
use wif_scim::patch::{self, PatchOperation, PatchOutcome, PatchRequest, take_member_operations};
use wif_scim::resource::index_keys;
use wif_scim::schema::{ResourceKind, ResourceSchema};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(request) = PatchRequest::parse(&body) else {
        return;
    };
    check_all(&request, ResourceSchema::user(), stored_user());
    let mut group_request = request;
    if take_member_operations(&mut group_request).is_ok() {
        check_all(&group_request, ResourceSchema::group(), stored_group());
    }
});

fn check_all(request: &PatchRequest, schema: &ResourceSchema, stored: &Value) {
    check(stored, schema, |doc| entra_compat::patch::apply(doc, request, schema));
    check(stored, schema, |doc| {
        patch::apply(
            doc,
            request,
            schema,
            |operation: PatchOperation, _: &Map<String, Value>| vec![operation],
        )
    });
}

fn check(stored: &Value, schema: &ResourceSchema, apply: impl FnOnce(&mut Value) -> Result<PatchOutcome, ScimError>) {
    let mut doc = stored.clone();
    match apply(&mut doc) {
        Ok(outcome) => {
            assert_eq!(outcome.changed, doc != *stored || outcome.password.is_some());
            assert_eq!(doc["id"], stored["id"], "id is preserved");
            assert_eq!(doc["meta"], stored["meta"], "meta is preserved");
            let keys = index_keys(&doc, schema);
            match schema.kind {
                ResourceKind::User => assert!(keys.user_name.is_some_and(|name| !name.is_empty()), "{doc}"),
                ResourceKind::Group => assert!(keys.display_name.is_some_and(|name| !name.is_empty()), "{doc}"),
            }
        }
        Err(err) => {
            assert_eq!(doc, *stored, "a failed PATCH leaves the document untouched");
            assert!((400..500).contains(&err.status), "{} {}", err.status, err.detail);
        }
    }
}
