//! SCIM filters (RFC 7644 §3.4.2.2): `filter::parse` (strict grammar), `filter::parse_with` (unquoted values),
//! `entra_compat::filter::parse_and_validate` (what the directory runs on a `filter` parameter), `filter::validate`
//! and `filter::matches` against a fixed user and group, and `entra_compat::filter::attribute_list`.
//!
//! Input: the filter text (UTF-8).
//!
//! Checked beyond "no panic": every parse error is `invalidFilter` naming a column (or the empty filter), every
//! parsed filter prints (`Display`) to text that parses back to the same tree, and `not` negates the evaluation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wif_fuzz::{stored_group, stored_user};
use wif_scim::entra_compat::filter::{attribute_list, parse_and_validate};
use wif_scim::error::ScimError;
use wif_scim::filter::{self, Filter, ParseOptions};
use wif_scim::schema::ResourceSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match filter::parse(text) {
        Ok(parsed) => check_parsed(&parsed),
        Err(err) => check_error(text, &err),
    }
    match filter::parse_with(text, ParseOptions { bare_word_values: true }) {
        Ok(parsed) => check_parsed(&parsed),
        Err(err) => check_error(text, &err),
    }
    for (schema, resource) in [
        (ResourceSchema::user(), stored_user()),
        (ResourceSchema::group(), stored_group()),
    ] {
        if let Ok(normalized) = parse_and_validate(text, schema) {
            check_parsed(&normalized);
            assert!(filter::validate(&normalized, schema).is_ok());
            let matched = filter::matches(&normalized, resource, schema);
            let negated = Filter::Not(Box::new(normalized));
            assert_eq!(filter::matches(&negated, resource, schema), !matched);
        }
    }
    let _ = attribute_list(text);
});

/// Printing a filter gives text that the strict grammar parses back to the same tree.
fn check_parsed(parsed: &Filter) {
    let printed = parsed.to_string();
    match filter::parse(&printed) {
        Ok(reparsed) => assert_eq!(&reparsed, parsed, "{printed}"),
        Err(err) => panic!("{printed:?} does not parse back: {}", err.detail),
    }
    for schema in [ResourceSchema::user(), ResourceSchema::group()] {
        if filter::validate(parsed, schema).is_ok() {
            let _ = filter::matches(parsed, stored_user(), schema);
            let _ = filter::matches(parsed, stored_group(), schema);
        }
    }
}

fn check_error(text: &str, err: &ScimError) {
    assert_eq!(err.status, 400, "{text:?}: {}", err.detail);
    assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidFilter"), "{text:?}");
    assert!(
        err.detail.contains("column") || err.detail.contains("empty") || err.detail.contains("longer than"),
        "{text:?}: {}",
        err.detail
    );
}
