//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the RFC 7643 §7 `returned` characteristic:
//! [`parse_attribute_list`] and [`project`], and [`Projection`], one request's pair of lists as the directory service
//! uses it (which also says whether the derived `groups` / `members` must be read at all).
//!
//! - `returned: never` (`password`) is never in a response;
//! - `returned: always` (`id`, and `schemas`, which every resource representation carries) is in every response and
//!   cannot be excluded;
//! - `returned: request` only when named in `attributes`;
//! - `returned: default` (everything else, `meta` included) unless `attributes` is given and does not name it, or
//!   `excludedAttributes` names it.
//!
//! Paths may select sub-attributes (`name.givenName`, `emails.value`), be URN-qualified
//! (`urn:..:enterprise:2.0:User:employeeNumber`) or name a whole extension (`urn:..:enterprise:2.0:User`). Names
//! this schema does not know are ignored, as RFC 7644 gives no error for them. When both lists are given,
//! `attributes` wins (the RFC says they should not be combined).

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::{AttrPath, SyntaxError, column, parse_attr_path};
use crate::json::is_unassigned;
use crate::schema::{AttributeDef, GROUP_SCHEMA, ResourceSchema, Returned};

/// Parses a comma-separated `attributes` / `excludedAttributes` value; blanks between commas are skipped.
pub fn parse_attribute_list(text: &str) -> Result<Vec<AttrPath>, ScimError> {
    let mut out = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let path = parse_attr_path(item).map_err(|SyntaxError { offset, message }| {
            ScimError::invalid_value(format!(
                "invalid attribute name \"{item}\" at column {}: {message}",
                column(item, offset)
            ))
        })?;
        out.push(path);
    }
    Ok(out)
}

/// Which part of an attribute a list names: the attribute itself, or some of its sub-attributes.
enum Selection<'a> {
    None,
    Whole,
    Subs(Vec<&'a str>),
}

/// How `paths` select the attribute `attr` in scope `extension` (`None` = top level).
fn selection<'p>(
    paths: &[AttrPath],
    schema: &'p ResourceSchema,
    extension: Option<&str>,
    attr: &AttributeDef,
) -> Selection<'p> {
    let mut subs = Vec::new();
    for path in paths {
        if let Some(ext) = schema.extension_root(path) {
            if extension.is_some_and(|e| ext.schema.is(e)) {
                return Selection::Whole;
            }
            continue;
        }
        let Some(resolved) = schema.resolve(path) else {
            continue;
        };
        let same_scope = match (resolved.extension, extension) {
            (None, None) => true,
            (Some(a), Some(b)) => a.is(b),
            _ => false,
        };
        if !same_scope || resolved.attr.name != attr.name {
            continue;
        }
        match resolved.sub {
            None => return Selection::Whole,
            Some(sub) => subs.push(sub.name.as_str()),
        }
    }
    if subs.is_empty() {
        Selection::None
    } else {
        Selection::Subs(subs)
    }
}

/// Applies `attributes` and `excludedAttributes` (already parsed) and the `returned` rules to one resource.
pub fn project(resource: &Value, attributes: &[AttrPath], excluded: &[AttrPath], schema: &ResourceSchema) -> Value {
    let Some(object) = resource.as_object() else {
        return resource.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Value::Object(inner) = value else {
                continue;
            };
            let mut projected = Map::new();
            for (name, v) in inner {
                let Some(def) = ext.schema.attribute(name) else {
                    continue;
                };
                if let Some(v) = project_attribute(v, def, attributes, excluded, schema, Some(&ext.schema.id)) {
                    projected.insert(name.clone(), v);
                }
            }
            if !projected.is_empty() {
                out.insert(key.clone(), Value::Object(projected));
            }
            continue;
        }
        let Some(def) = schema.top_level(key) else {
            // Not in the schema (the directory never stores such data): shown by default, never on request.
            if attributes.is_empty() {
                out.insert(key.clone(), value.clone());
            }
            continue;
        };
        if let Some(v) = project_attribute(value, def, attributes, excluded, schema, None) {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn project_attribute(
    value: &Value,
    def: &AttributeDef,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
    schema: &ResourceSchema,
    extension: Option<&str>,
) -> Option<Value> {
    match def.returned {
        Returned::Never => return None,
        Returned::Always => return Some(strip_never(value, def)),
        Returned::Request | Returned::Default => {}
    }
    if !attributes.is_empty() {
        return match selection(attributes, schema, extension, def) {
            Selection::Whole => Some(strip_never(value, def)),
            Selection::Subs(subs) => keep_subs(value, def, |sub| {
                subs.iter().any(|s| s.eq_ignore_ascii_case(&sub.name)) || sub.returned == Returned::Always
            }),
            Selection::None => None,
        };
    }
    if def.returned == Returned::Request {
        return None;
    }
    match selection(excluded, schema, extension, def) {
        Selection::Whole => None,
        Selection::Subs(subs) => keep_subs(value, def, |sub| {
            sub.returned == Returned::Always || !subs.iter().any(|s| s.eq_ignore_ascii_case(&sub.name))
        }),
        Selection::None => Some(strip_never(value, def)),
    }
}

/// Default view of a complex value: drops never/request-only sub-attributes.
fn strip_never(value: &Value, def: &AttributeDef) -> Value {
    if !def.is_complex() {
        return value.clone();
    }
    keep_subs(value, def, |sub| {
        matches!(sub.returned, Returned::Always | Returned::Default)
    })
    .unwrap_or(Value::Null)
}

/// Keeps the sub-attributes `keep` accepts in a complex value or in each element of a multi-valued one; `None` when
/// nothing is left.
fn keep_subs(value: &Value, def: &AttributeDef, keep: impl Fn(&AttributeDef) -> bool) -> Option<Value> {
    let filter_one = |element: &Value| -> Option<Value> {
        let Value::Object(members) = element else {
            return Some(element.clone());
        };
        let kept: Map<String, Value> = members
            .iter()
            .filter(|(k, _)| def.sub_attribute(k).is_some_and(&keep))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    let result = match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(filter_one).collect();
            Value::Array(kept)
        }
        other => filter_one(other)?,
    };
    (!is_unassigned(&result)).then_some(result)
}

/// True when a group response must carry `members` under these lists, so the service can skip reading member
/// items (Entra reads groups with `excludedAttributes=members`).
pub fn needs_members(attributes: &[AttrPath], excluded: &[AttrPath]) -> bool {
    let names_members = |p: &AttrPath| {
        p.name.eq_ignore_ascii_case("members")
            && p.schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
    };
    if !attributes.is_empty() {
        return attributes.iter().any(names_members);
    }
    !excluded.iter().any(|p| names_members(p) && p.sub_attr.is_none())
}

/// True when a response would carry the top-level attribute `name` under these lists (for any attribute the service
/// computes rather than stores, e.g. a user's `groups`).
pub fn is_requested(attributes: &[AttrPath], excluded: &[AttrPath], schema: &ResourceSchema, name: &str) -> bool {
    let Some(def) = schema.top_level(name) else {
        return false;
    };
    match def.returned {
        Returned::Never => false,
        Returned::Always => true,
        _ if !attributes.is_empty() => !matches!(selection(attributes, schema, None, def), Selection::None),
        Returned::Request => false,
        _ => !matches!(selection(excluded, schema, None, def), Selection::Whole),
    }
}

/// `attributes` / `excludedAttributes` of one request, parsed: what the directory service projects every resource of
/// its answer through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        Ok(Self {
            attributes: attributes.map(parse_attribute_list).transpose()?.unwrap_or_default(),
            excluded: excluded.map(parse_attribute_list).transpose()?.unwrap_or_default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether a user's derived `groups` are in the answer (they cost a read).
    pub fn wants_groups(&self) -> bool {
        is_requested(&self.attributes, &self.excluded, ResourceSchema::user(), "groups")
    }

    /// Whether a group's `members` are in the answer (they cost a read per page of members).
    pub fn wants_members(&self) -> bool {
        needs_members(&self.attributes, &self.excluded)
    }

    pub fn apply(&self, resource: &Value, schema: &ResourceSchema) -> Value {
        project(resource, &self.attributes, &self.excluded, schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(text: &str) -> Vec<AttrPath> {
        parse_attribute_list(text).expect("attribute list")
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "u1",
            "externalId": "e1",
            "userName": "bjensen",
            "password": "never-shown",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x", "type": "work", "primary": true}, {"value": "b@home", "type": "home"}],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42", "department": "Sales"}
        })
    }

    #[test]
    fn parses_lists() {
        let paths = list(
            " userName , name.givenName,,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value ",
        );
        assert_eq!(paths.len(), 3);
        assert_eq!(paths[1], AttrPath::with_sub("name", "givenName"));
        assert_eq!(paths[2].sub_attr.as_deref(), Some("value"));
        let err = parse_attribute_list("userName,emails[type").expect_err("bad");
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("emails[type"), "{}", err.detail);
    }

    #[test]
    fn default_view_hides_never_returned() {
        let out = project(&user(), &[], &[], ResourceSchema::user());
        assert!(out.get("password").is_none());
        assert_eq!(out["userName"], "bjensen");
        assert_eq!(out["meta"]["resourceType"], "User");
    }

    #[test]
    fn attributes_select_and_always_returned_stay() {
        let out = project(
            &user(),
            &list("userName,name.givenName,emails.value"),
            &[],
            ResourceSchema::user(),
        );
        assert_eq!(
            out,
            json!({
                "schemas": user()["schemas"].clone(),
                "id": "u1",
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "emails": [{"value": "b@x"}, {"value": "b@home"}]
            })
        );
        let out = project(
            &user(),
            &list("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
            &[],
            ResourceSchema::user(),
        );
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"employeeNumber": "42"})
        );
        assert!(out.get("userName").is_none());
        let out = project(
            &user(),
            &list("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            &[],
            ResourceSchema::user(),
        );
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "Sales"
        );
        // `password` cannot be requested.
        let out = project(&user(), &list("password"), &[], ResourceSchema::user());
        assert!(out.get("password").is_none());
        // Case-insensitive names.
        let out = project(&user(), &list("USERNAME"), &[], ResourceSchema::user());
        assert_eq!(out["userName"], "bjensen");
    }

    #[test]
    fn excluded_attributes() {
        let out = project(
            &user(),
            &[],
            &list("emails,name.familyName,id,meta"),
            ResourceSchema::user(),
        );
        assert!(out.get("emails").is_none());
        assert!(out.get("meta").is_none());
        assert_eq!(out["id"], "u1", "id is always returned");
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        let out = project(
            &user(),
            &[],
            &list("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ResourceSchema::user(),
        );
        assert!(
            out.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                .is_none()
        );

        let group = json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "members": [{"value": "u1"}]});
        let out = project(&group, &[], &list("members"), ResourceSchema::group());
        assert_eq!(out, json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G"}));
    }

    #[test]
    fn members_needed() {
        assert!(needs_members(&[], &[]));
        assert!(!needs_members(&[], &list("members")));
        assert!(!needs_members(&[], &list("Members")));
        assert!(needs_members(&[], &list("members.display")));
        assert!(!needs_members(&list("displayName"), &[]));
        assert!(needs_members(&list("displayName,members.value"), &[]));
        assert!(is_requested(&[], &[], ResourceSchema::user(), "groups"));
        assert!(!is_requested(&[], &list("groups"), ResourceSchema::user(), "groups"));
        assert!(!is_requested(&list("userName"), &[], ResourceSchema::user(), "groups"));
        assert!(is_requested(&list("userName"), &[], ResourceSchema::user(), "id"));
        assert!(!is_requested(&[], &[], ResourceSchema::user(), "password"));
    }
}
