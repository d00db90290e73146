//! Entra's filters: string booleans in comparisons become booleans, and [`parse_and_validate`], the one call the
//! directory service makes for a `filter` query parameter.

use crate::error::ScimError;
use crate::filter::{self, AttrPath, CompValue, Filter, ParseOptions, parse_bool};
use crate::schema::{AttributeType, ResourceSchema};

/// Parses, normalises and schema-checks a filter as Entra sends it: unquoted values allowed
/// ([`ParseOptions::bare_word_values`], as in Microsoft's tutorial), then [`normalize_filter`], then
/// [`filter::validate`] against the resource schema.
pub fn parse_and_validate(text: &str, schema: &ResourceSchema) -> Result<Filter, ScimError> {
    let parsed = filter::parse_with(text, ParseOptions { bare_word_values: true })?;
    let normalized = normalize_filter(parsed, schema);
    filter::validate(&normalized, schema)?;
    Ok(normalized)
}

/// Microsoft's SCIM Postman collection asks for `attributes=emails[type eq "work"]`: a value filter inside an
/// attribute name, which RFC 7644 §3.10 does not allow there. The filter is dropped, so the whole attribute is
/// returned (`emails`), which is a superset of what was asked for.
pub fn attribute_list(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Entra writes boolean literals as strings in value filters (`roles[primary eq "True"].value`): a string `"true"` /
/// `"false"` (any case) compared with a boolean attribute becomes the boolean.
pub fn normalize_filter(filter: Filter, schema: &ResourceSchema) -> Filter {
    normalize_filter_in(filter, schema, None)
}

/// [`normalize_filter`] for the element filter of a PATCH path such as `roles[primary eq "True"].value`.
pub fn normalize_value_filter(filter: Filter, schema: &ResourceSchema, parent: &AttrPath) -> Filter {
    normalize_filter_in(filter, schema, Some(parent))
}

fn normalize_filter_in(filter: Filter, schema: &ResourceSchema, element_of: Option<&AttrPath>) -> Filter {
    match filter {
        Filter::And(a, b) => Filter::And(
            Box::new(normalize_filter_in(*a, schema, element_of)),
            Box::new(normalize_filter_in(*b, schema, element_of)),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(normalize_filter_in(*a, schema, element_of)),
            Box::new(normalize_filter_in(*b, schema, element_of)),
        ),
        Filter::Not(inner) => Filter::Not(Box::new(normalize_filter_in(*inner, schema, element_of))),
        Filter::ValuePath { path, filter } => {
            let inner = normalize_filter_in(*filter, schema, Some(&path));
            Filter::ValuePath {
                path,
                filter: Box::new(inner),
            }
        }
        Filter::Compare { path, op, value } => {
            let value = match value {
                CompValue::String(text) if is_boolean(schema, element_of, &path) => match parse_bool(&text) {
                    Some(b) => CompValue::Bool(b),
                    None => CompValue::String(text),
                },
                other => other,
            };
            Filter::Compare { path, op, value }
        }
        other @ Filter::Present(_) => other,
    }
}

fn is_boolean(schema: &ResourceSchema, element_of: Option<&AttrPath>, path: &AttrPath) -> bool {
    let def = match element_of {
        Some(parent) => schema.resolve(parent).and_then(|r| r.attr.sub_attribute(&path.name)),
        None => schema.resolve(path).map(|r| r.leaf()),
    };
    def.is_some_and(|d| d.attr_type == AttributeType::Boolean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    #[test]
    fn string_booleans_in_filters_become_booleans() {
        let schema = ResourceSchema::user();
        let f = normalize_filter(
            parse(r#"roles[primary eq "True"] and active eq "false""#).expect("parse"),
            schema,
        );
        assert_eq!(f, parse("roles[primary eq true] and active eq false").expect("parse"));
        // Strings compared with string attributes stay strings.
        let f = normalize_filter(parse(r#"title eq "True""#).expect("parse"), schema);
        assert_eq!(f, parse(r#"title eq "True""#).expect("parse"));
    }
}

#[cfg(test)]
mod attribute_list_tests {
    use super::attribute_list;

    #[test]
    fn value_filters_in_attribute_names_are_dropped() {
        assert_eq!(attribute_list(r#"emails[type eq "work"]"#), "emails");
        assert_eq!(
            attribute_list(r#"userName,emails[value eq "a]b"].value"#),
            "userName,emails.value"
        );
        assert_eq!(attribute_list("userName,name.givenName"), "userName,name.givenName");
    }
}
