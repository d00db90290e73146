//! The strict JSON reader of JWT headers and claims: `strict_json::parse_object_keeping` with the member lists the
//! product uses, differentially against serde_json.
//!
//! Input: the JSON bytes.
//!
//! Checked beyond "no panic": what the strict reader accepts, serde_json accepts as an object with the same kept
//! members; and whatever serde_json reads as an object of nesting depth at most 32 (so without duplicates once
//! re-serialised) the strict reader accepts, keeping exactly the members asked for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wif_auth::strict_json::parse_object_keeping;

/// The member lists of the assertion header, the assertion claims, the unverified ids, and none.
const KEEPS: [&[&str]; 4] = [
    &["alg", "kid", "typ", "crit", "jku", "x5u", "jwk", "x5c"],
    &["iss", "sub", "aud", "exp", "nbf", "iat", "tid", "jti"],
    &["iss", "sub", "aud"],
    &[],
];

/// The deepest nesting the reader accepts (a member of the top-level object is at depth 1).
const MAX_DEPTH: usize = 32;

fuzz_target!(|data: &[u8]| {
    let lenient = serde_json::from_slice::<Value>(data);
    for keep in KEEPS {
        if let Ok(kept) = parse_object_keeping(data, keep) {
            let Ok(Value::Object(all)) = &lenient else {
                panic!("strict accepted what serde_json refuses: {lenient:?}");
            };
            assert_same_members(&kept, all, keep);
        }
    }
    let Ok(Value::Object(all)) = lenient else { return };
    if all.values().map(|value| depth(value, 1)).max().unwrap_or(0) > MAX_DEPTH {
        return;
    }
    // serde_json's default float parsing may round the last digit differently from the text it printed, so the
    // strict reader is compared with serde_json reading the same re-serialised bytes.
    let canonical = serde_json::to_vec(&all).unwrap_or_else(|err| panic!("re-serialise: {err}"));
    let Ok(Value::Object(reread)) = serde_json::from_slice::<Value>(&canonical) else {
        panic!("serde_json cannot read its own output");
    };
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    for keep in KEEPS.into_iter().chain([names.as_slice()]) {
        match parse_object_keeping(&canonical, keep) {
            Ok(kept) => assert_same_members(&kept, &reread, keep),
            Err(err) => panic!("strict refused a duplicate-free object: {err}"),
        }
    }
});

fn assert_same_members(kept: &serde_json::Map<String, Value>, all: &serde_json::Map<String, Value>, keep: &[&str]) {
    for (name, value) in kept {
        assert!(keep.contains(&name.as_str()), "kept {name:?} not asked for");
        assert_eq!(Some(value), all.get(name), "member {name:?}");
    }
    for name in keep {
        assert_eq!(kept.contains_key(*name), all.contains_key(*name), "member {name:?}");
    }
}

/// The depth of the deepest value inside `value`, which sits at `at`.
fn depth(value: &Value, at: usize) -> usize {
    match value {
        Value::Array(items) => items.iter().map(|item| depth(item, at + 1)).max().unwrap_or(at),
        Value::Object(members) => members.values().map(|item| depth(item, at + 1)).max().unwrap_or(at),
        _ => at,
    }
}
