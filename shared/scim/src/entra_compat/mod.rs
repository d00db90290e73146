//! Microsoft Entra's dialect of SCIM: each provisioning quirk as a named, isolated, individually tested
//! normalisation step that rewrites Entra's request into the RFC form, and the three entry points the directory
//! service calls, which run those steps and then the RFC-pure engines. The engines take the normalisation as an
//! argument and know nothing about Entra; nothing outside this module does either.
//!
//! | entry point | runs |
//! |---|---|
//! | [`filter::parse_and_validate`] | the filter parser with unquoted values, [`normalize_filter`], the schema check |
//! | [`resource::prepare_create`] / [`resource::prepare_replace`] | [`resource::normalize`], then the resource rules |
//! | [`patch::apply`] | [`patch::normalize`] on each operation, then the PATCH engine |
//!
//! | step | Entra sends | becomes |
//! |---|---|---|
//! | [`normalize_filter`], [`patch::path_filter_booleans`] | `roles[primary eq "True"]` | `roles[primary eq true]` |
//! | [`string_booleans`] | `"value": "False"` for `active`, `"primary": "True"` | booleans |
//! | [`stringified_json`] | roles as JSON inside strings | role objects |
//! | [`single_complex_shapes`] | manager as `"id"`, `[{"value","$ref"}]`, `""` | `{"value": "id"}` / removal |
//! | [`resource::foreign_schema_urns`] | the ADSCIM group URN, misspelled URNs in `schemas` | dropped from `schemas` |
//! | [`resource::misspelled_extension_keys`] | `urn:..:enterprise:2.0User` as an object key | the real URN |
//! | [`resource::misplaced_extension_attributes`] | `department`, `manager` at the top level | moved into the extension |
//! | [`patch::path_less_keys_as_paths`] | path-less value keys `name.givenName`, `urn:..:User:employeeNumber` | one operation per path |
//! | [`patch::remove_by_value`] | `remove` with the values to remove in `value` | a value filter |
//! | [`patch::empty_value_removes`] | `replace manager` with `""` | `remove manager` |
//! | [`patch::create_unmatched_element`] | `replace emails[type eq "work"].value` on a user without one | `add emails [{type, value}]` |
//! | [`filter::parse_and_validate`] | unquoted filter values (`externalId eq jyoung`, in Microsoft's tutorial) | strings |

pub mod filter;
pub mod patch;
pub mod resource;

use serde_json::{Map, Value};

use crate::filter::parse_bool;
use crate::json::get_ci;
use crate::schema::{AttributeDef, AttributeType, SchemaDef};

pub use filter::{normalize_filter, normalize_value_filter};

/// The group schema URN Entra adds to group creation bodies; it names no schema the server must know.
pub const ENTRA_GROUP_SCHEMA: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// Value-level steps for one attribute value (also an element of a multi-valued attribute when `def` is the
/// multi-valued attribute): [`stringified_json`], [`single_complex_shapes`], [`string_booleans`], in that order, so
/// booleans inside stringified roles are fixed too.
pub fn normalize_value(def: &AttributeDef, value: &mut Value) {
    stringified_json(def, value);
    single_complex_shapes(def, value);
    string_booleans(def, value);
}

/// [`normalize_value`] on each attribute of an extension object that the extension defines.
fn extension_values(ext: &SchemaDef, object: &mut Map<String, Value>) {
    for (name, value) in object.iter_mut() {
        if let Some(def) = ext.attribute(name) {
            normalize_value(def, value);
        }
    }
}

/// Entra sends booleans as `"True"` / `"False"` / `"false"` (PATCH `active` without the `aadOptscim062020` flag, and
/// `primary` in some mappings). Any string spelling `true`/`false` where the schema says boolean becomes a boolean.
pub fn string_booleans(def: &AttributeDef, value: &mut Value) {
    match value {
        Value::String(text) if def.attr_type == AttributeType::Boolean => {
            if let Some(b) = parse_bool(text.trim()) {
                *value = Value::Bool(b);
            }
        }
        Value::Array(items) => {
            for item in items {
                string_booleans(def, item);
            }
        }
        Value::Object(members) if def.is_complex() => {
            for (key, member) in members.iter_mut() {
                if let Some(sub) = def.sub_attribute(key) {
                    string_booleans(sub, member);
                }
            }
        }
        _ => {}
    }
}

/// Entra's `AppRoleAssignmentsComplex` mapping sends each role as a JSON document inside a string, either as the
/// element's `value` (`[{"value": "{\"id\":..,\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]`) or as the
/// whole attribute. The string is parsed and the element rebuilt from its sub-attributes (`displayName` is the
/// RFC's `display`; Entra's `id` is not a sub-attribute and is dropped later as unknown).
pub fn stringified_json(def: &AttributeDef, value: &mut Value) {
    if !def.is_complex() || !def.multi_valued {
        return;
    }
    if let Value::String(text) = value
        && let Ok(parsed @ (Value::Array(_) | Value::Object(_))) = serde_json::from_str::<Value>(text.trim())
    {
        *value = parsed;
    }
    let fix_element = |element: &mut Value| {
        let Value::Object(members) = element else {
            return;
        };
        if members.len() != 1 {
            return;
        }
        let Some(Value::String(inner)) = get_ci(members, "value") else {
            return;
        };
        let Ok(Value::Object(mut parsed)) = serde_json::from_str::<Value>(inner.trim()) else {
            return;
        };
        if def.sub_attribute("displayName").is_none()
            && def.sub_attribute("display").is_some()
            && get_ci(&parsed, "display").is_none()
            && let Some(display) = crate::json::remove_ci(&mut parsed, "displayName")
        {
            parsed.insert("display".into(), display);
        }
        *element = Value::Object(parsed);
    };
    match value {
        Value::Array(items) => items.iter_mut().for_each(fix_element),
        other => fix_element(other),
    }
}

/// Entra sends a single-valued complex reference (the enterprise `manager`) as a raw id string, as `{"value": ..}`,
/// or as a one-element array `[{"value": .., "$ref": ..}]`; an empty string (or `{"value": ""}`) means "no manager".
/// All become the RFC shape `{"value": ..}`, or null for the empty forms.
pub fn single_complex_shapes(def: &AttributeDef, value: &mut Value) {
    if !def.is_complex() || def.multi_valued || def.sub_attribute("value").is_none() {
        return;
    }
    let replacement = match value {
        Value::String(id) if id.trim().is_empty() => Some(Value::Null),
        Value::String(id) => {
            let mut object = Map::new();
            object.insert("value".into(), Value::String(id.clone()));
            Some(Value::Object(object))
        }
        Value::Array(items) if items.is_empty() => Some(Value::Null),
        Value::Array(items) if items.len() == 1 => {
            let mut only = items.remove(0);
            single_complex_shapes(def, &mut only);
            Some(only)
        }
        Value::Object(members) => match get_ci(members, "value") {
            Some(Value::String(id)) if id.trim().is_empty() => Some(Value::Null),
            _ => None,
        },
        _ => None,
    };
    if let Some(replacement) = replacement {
        *value = replacement;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::AttrPath;
    use crate::schema::ResourceSchema;
    use serde_json::json;

    fn user_attr(name: &str) -> AttributeDef {
        let schema = ResourceSchema::user();
        schema
            .resolve(&AttrPath::simple(name))
            .map(|r| r.attr.clone())
            .expect(name)
    }

    #[test]
    fn string_booleans_step() {
        let mut v = json!("False");
        string_booleans(&user_attr("active"), &mut v);
        assert_eq!(v, json!(false));
        let mut v = json!("True");
        string_booleans(&user_attr("active"), &mut v);
        assert_eq!(v, json!(true));
        let mut v = json!("maybe");
        string_booleans(&user_attr("active"), &mut v);
        assert_eq!(v, json!("maybe"));
        let mut v = json!([{"value": "a@x", "primary": "true"}]);
        string_booleans(&user_attr("emails"), &mut v);
        assert_eq!(v, json!([{"value": "a@x", "primary": true}]));
        // Strings stay strings where the schema says string.
        let mut v = json!("True");
        string_booleans(&user_attr("title"), &mut v);
        assert_eq!(v, json!("True"));
    }

    #[test]
    fn stringified_roles_step() {
        let roles = user_attr("roles");
        // Entra's AppRoleAssignmentsComplex PATCH value, verbatim.
        let mut v = json!([
            {"value": "{\"id\":\"827f0d2e-be15-4d8f-a8e3-f8697239c112\",\"value\":\"DocumentMgmt-Admin\",\"displayName\":\"DocumentMgmt Admin\"}"},
            {"value": "{\"id\":\"8ae06bd4-35bb-4fcd-977e-14e074ad1192\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}
        ]);
        stringified_json(&roles, &mut v);
        assert_eq!(v[0]["value"], "DocumentMgmt-Admin");
        assert_eq!(v[0]["display"], "DocumentMgmt Admin");
        assert_eq!(v[1]["value"], "Admin");
        let mut v = json!("[{\"primary\":\"True\",\"type\":\"WindowsAzureActiveDirectoryRole\",\"value\":\"Admin\"}]");
        normalize_value(&roles, &mut v);
        assert_eq!(
            v,
            json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
        );
        // A plain role value that happens not to be JSON is left alone.
        let mut v = json!([{"value": "Admin"}]);
        stringified_json(&roles, &mut v);
        assert_eq!(v, json!([{"value": "Admin"}]));
    }

    #[test]
    fn manager_shapes_step() {
        let schema = ResourceSchema::user();
        let manager = schema
            .resolve(&AttrPath::simple("manager"))
            .map(|r| r.attr.clone())
            .expect("manager");
        for (input, expected) in [
            (json!("123456"), json!({"value": "123456"})),
            (json!({"value": "123456"}), json!({"value": "123456"})),
            (
                json!([{"$ref": "http://x/Users/1", "value": "1"}]),
                json!({"$ref": "http://x/Users/1", "value": "1"}),
            ),
            (json!(["1"]), json!({"value": "1"})),
            (json!(""), json!(null)),
            (json!({"value": ""}), json!(null)),
            (json!([]), json!(null)),
        ] {
            let mut v = input.clone();
            single_complex_shapes(&manager, &mut v);
            assert_eq!(v, expected, "{input}");
        }
        // Multi-valued or non-complex attributes are not touched.
        let mut v = json!("x");
        single_complex_shapes(&user_attr("emails"), &mut v);
        assert_eq!(v, json!("x"));
    }
}
