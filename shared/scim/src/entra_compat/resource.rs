//! Entra's POST/PUT body quirks, rewritten before the RFC rules of [`crate::resource`] run, and the two preparations
//! the directory service calls ([`prepare_create`], [`prepare_replace`]).
//!
//! Quirks the RFC rules already absorb, so no step is needed here: the client `meta` and `id` (readOnly, dropped),
//! `"roles": []` and nulls (unassigned, dropped), and a known extension object whose URN is missing from `schemas`
//! (`schemas` is recomputed from the data).

use serde_json::{Map, Value};

use super::{ENTRA_GROUP_SCHEMA, extension_values, normalize_value};
use crate::error::ScimError;
use crate::json::key_ci;
use crate::resource::{self, PreparedResource};
use crate::schema::ResourceSchema;

/// A POST body as Entra sends it: [`normalize`], then [`resource::prepare_create`].
pub fn prepare_create(schema: &ResourceSchema, body: Value) -> Result<PreparedResource, ScimError> {
    resource::prepare_create(schema, body, |object, notes| normalize(object, schema, notes))
}

/// A PUT body as Entra sends it: [`normalize`], then [`resource::prepare_replace`] against the stored document.
pub fn prepare_replace(schema: &ResourceSchema, existing: &Value, body: Value) -> Result<PreparedResource, ScimError> {
    resource::prepare_replace(schema, existing, body, |object, notes| normalize(object, schema, notes))
}

/// Runs every body step, in order. `notes` collects what was rewritten, for debug logs.
pub fn normalize(object: &mut Map<String, Value>, schema: &ResourceSchema, notes: &mut Vec<String>) {
    foreign_schema_urns(object, schema, notes);
    misspelled_extension_keys(object, schema, notes);
    misplaced_extension_attributes(object, schema, notes);
    attribute_values(object, schema);
}

/// `schemas` may hold URNs this server does not serve: Entra's
/// `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`, the misspelled
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0User`, custom extensions not registered here. They are
/// removed from the list (and noted) instead of failing the request.
pub fn foreign_schema_urns(object: &mut Map<String, Value>, schema: &ResourceSchema, notes: &mut Vec<String>) {
    let Some(key) = key_ci(object, "schemas") else {
        return;
    };
    let Some(Value::Array(urns)) = object.get_mut(&key) else {
        return;
    };
    urns.retain(|urn| match urn.as_str() {
        Some(text) if schema.is_known_urn(text.trim()) => true,
        Some(text) => {
            let kind = if text.eq_ignore_ascii_case(ENTRA_GROUP_SCHEMA) {
                "Entra group schema"
            } else {
                "unknown schema"
            };
            notes.push(format!("{kind} {text} ignored"));
            false
        }
        None => true,
    });
}

/// Letters and digits only, lowercased: `urn:..:enterprise:2.0User` and `urn:..:enterprise:2.0:User` agree.
fn squash(urn: &str) -> String {
    urn.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// An extension object keyed by a misspelling of a known extension URN (Entra has sent
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0User`) is moved under the real URN, unless that key is
/// also present.
pub fn misspelled_extension_keys(object: &mut Map<String, Value>, schema: &ResourceSchema, notes: &mut Vec<String>) {
    let candidates: Vec<String> = object
        .keys()
        .filter(|k| k.contains(':') && !schema.is_known_urn(k) && object.get(*k).is_some_and(Value::is_object))
        .cloned()
        .collect();
    for key in candidates {
        let squashed = squash(&key);
        let Some(ext) = schema.extensions.iter().find(|e| squash(&e.schema.id) == squashed) else {
            continue;
        };
        if key_ci(object, &ext.schema.id).is_some() {
            continue;
        }
        if let Some(value) = object.remove(&key) {
            notes.push(format!("extension key {key} read as {}", ext.schema.id));
            object.insert(ext.schema.id.clone(), value);
        }
    }
}

/// Extension attributes sent at the top level (Microsoft's own create example has `"department"` and `"manager"`
/// there) are moved into their extension object when exactly one extension defines them and the core schema does
/// not. A value already inside the extension object wins.
pub fn misplaced_extension_attributes(
    object: &mut Map<String, Value>,
    schema: &ResourceSchema,
    notes: &mut Vec<String>,
) {
    let misplaced: Vec<(String, String, String)> = object
        .keys()
        .filter(|k| !k.contains(':') && schema.top_level(k).is_none())
        .filter_map(|k| {
            let mut owners = schema
                .extensions
                .iter()
                .filter_map(|e| e.schema.attribute(k).map(|a| (e, a)));
            let (ext, attr) = owners.next()?;
            owners
                .next()
                .is_none()
                .then(|| (k.clone(), ext.schema.id.clone(), attr.name.clone()))
        })
        .collect();
    for (key, urn, name) in misplaced {
        let Some(value) = object.remove(&key) else {
            continue;
        };
        let ext_key = key_ci(object, &urn).unwrap_or_else(|| urn.clone());
        let target = object.entry(ext_key).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ext) = target {
            if key_ci(ext, &name).is_none() {
                notes.push(format!("top-level {key} moved into {urn}"));
                ext.insert(name, value);
            }
        } else if target.is_null() {
            let mut ext = Map::new();
            ext.insert(name, value);
            *target = Value::Object(ext);
        }
    }
}

/// The value-level steps ([`super::normalize_value`]) on every known attribute, core and extension.
pub fn attribute_values(object: &mut Map<String, Value>, schema: &ResourceSchema) {
    for (key, value) in object.iter_mut() {
        if let Some(ext) = schema.extension(key) {
            if let Value::Object(inner) = value {
                extension_values(&ext.schema, inner);
            }
        } else if let Some(def) = schema.top_level(key) {
            normalize_value(def, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn foreign_urns_are_removed_from_schemas() {
        let mut body = object(json!({"schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
        ]}));
        let mut notes = Vec::new();
        foreign_schema_urns(&mut body, ResourceSchema::group(), &mut notes);
        assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]));
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn misspelled_extension_key_is_renamed() {
        let mut body = object(json!({
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": "Sales"}
        }));
        let mut notes = Vec::new();
        misspelled_extension_keys(&mut body, ResourceSchema::user(), &mut notes);
        assert_eq!(body[ENTERPRISE_USER_SCHEMA], json!({"department": "Sales"}));
        // Unrelated custom extensions keep their key (and are ignored later as unknown).
        let mut body = object(json!({"urn:ietf:params:scim:schemas:extension:Custom:2.0:User": {"tag": "x"}}));
        misspelled_extension_keys(&mut body, ResourceSchema::user(), &mut notes);
        assert!(body.contains_key("urn:ietf:params:scim:schemas:extension:Custom:2.0:User"));
    }

    #[test]
    fn top_level_extension_attributes_move_into_the_extension() {
        let mut body = object(json!({
            "userName": "a",
            "department": "Sales",
            "manager": "42",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Kept"}
        }));
        let mut notes = Vec::new();
        misplaced_extension_attributes(&mut body, ResourceSchema::user(), &mut notes);
        assert!(!body.contains_key("department") && !body.contains_key("manager"));
        assert_eq!(body[ENTERPRISE_USER_SCHEMA]["department"], "Kept");
        assert_eq!(body[ENTERPRISE_USER_SCHEMA]["manager"], "42");
    }

    #[test]
    fn values_are_normalised_everywhere() {
        let mut body = object(json!({
            "active": "True",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "42"}
        }));
        attribute_values(&mut body, ResourceSchema::user());
        assert_eq!(body["active"], json!(true));
        assert_eq!(body[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "42"}));
    }
}
