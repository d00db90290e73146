//! What Microsoft's SCIM validation harness (AzureAD/SCIMReferenceCode,
//! `Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/`) reads from Entra before it tests: the target
//! directory's attributes and the attribute mappings of the app's provisioning job. The harness's Initialization
//! workflow takes them from the job's synchronization schema; here they are Entra's default mappings for a
//! non-gallery SCIM app (users: userPrincipalName → userName … manager → enterprise manager; groups: displayName,
//! objectId → externalId, members), which is what a new app has.

#![allow(dead_code)]

use serde_json::{Map, Value, json};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// One target-directory attribute as the synchronization schema names it (`emails[type eq "work"].value`).
pub struct TargetAttribute {
    pub name: String,
    /// Entra's attribute type: String, Boolean, Reference.
    pub kind: &'static str,
}

/// One attribute mapping: the Entra source, the target attribute, and its matching precedence (0: not matching).
pub struct Mapping {
    pub source: &'static str,
    pub target: String,
    pub matching_precedence: u8,
    pub target_kind: &'static str,
}

/// Entra's default user mappings of a non-gallery SCIM app, in the order of the admin center.
pub fn user_mappings() -> Vec<Mapping> {
    let map = |source: &'static str, target: &str, matching_precedence: u8, target_kind: &'static str| Mapping {
        source,
        target: target.to_owned(),
        matching_precedence,
        target_kind,
    };
    let enterprise = |name: &str| format!("{ENTERPRISE}:{name}");
    vec![
        map("userPrincipalName", "userName", 1, "String"),
        map("IsSoftDeleted", "active", 0, "Boolean"),
        map("displayName", "displayName", 0, "String"),
        map("jobTitle", "title", 0, "String"),
        map("mail", r#"emails[type eq "work"].value"#, 0, "String"),
        map("preferredLanguage", "preferredLanguage", 0, "String"),
        map("givenName", "name.givenName", 0, "String"),
        map("surname", "name.familyName", 0, "String"),
        map("formattedName", "name.formatted", 0, "String"),
        map(
            "physicalDeliveryOfficeName",
            r#"addresses[type eq "work"].formatted"#,
            0,
            "String",
        ),
        map(
            "streetAddress",
            r#"addresses[type eq "work"].streetAddress"#,
            0,
            "String",
        ),
        map("city", r#"addresses[type eq "work"].locality"#, 0, "String"),
        map("state", r#"addresses[type eq "work"].region"#, 0, "String"),
        map("postalCode", r#"addresses[type eq "work"].postalCode"#, 0, "String"),
        map("country", r#"addresses[type eq "work"].country"#, 0, "String"),
        map("telephoneNumber", r#"phoneNumbers[type eq "work"].value"#, 0, "String"),
        map("mobile", r#"phoneNumbers[type eq "mobile"].value"#, 0, "String"),
        map(
            "facsimileTelephoneNumber",
            r#"phoneNumbers[type eq "fax"].value"#,
            0,
            "String",
        ),
        map("mailNickname", "externalId", 0, "String"),
        map("employeeId", &enterprise("employeeNumber"), 0, "String"),
        map("department", &enterprise("department"), 0, "String"),
        map("manager", &enterprise("manager"), 0, "Reference"),
    ]
}

pub fn target_user_attributes() -> Vec<TargetAttribute> {
    user_mappings()
        .into_iter()
        .map(|m| TargetAttribute {
            name: m.target,
            kind: m.target_kind,
        })
        .collect()
}

pub fn target_group_attributes() -> Vec<TargetAttribute> {
    [
        ("displayName", "String"),
        ("externalId", "String"),
        ("members", "Reference"),
    ]
    .into_iter()
    .map(|(name, kind)| TargetAttribute {
        name: name.to_owned(),
        kind,
    })
    .collect()
}

/// The Entra user the harness provisions (`initializationData.userBody`), by source attribute.
pub fn entra_user(suffix: &str) -> Map<String, Value> {
    let values = json!({
        "userPrincipalName": format!("lasuser{suffix}@contoso.test"),
        "displayName": format!("Harness User {suffix}"),
        "jobTitle": "Engineer",
        "mail": format!("lasuser{suffix}@contoso.test"),
        "preferredLanguage": "en-US",
        "givenName": "Harness",
        "surname": format!("User{suffix}"),
        "formattedName": format!("Harness User{suffix}"),
        "physicalDeliveryOfficeName": "Building 1",
        "streetAddress": "1 Main Street",
        "city": "Redmond",
        "state": "WA",
        "postalCode": "98052",
        "country": "US",
        "telephoneNumber": "+1 425 555 0100",
        "mobile": "+1 425 555 0101",
        "facsimileTelephoneNumber": "+1 425 555 0102",
        "mailNickname": format!("lasuser{suffix}"),
        "employeeId": "E1000",
        "department": "Research",
    });
    values.as_object().cloned().unwrap_or_default()
}

/// `initializationData.scimUserBody`: the SCIM user the Initialization workflow builds from the mappings.
pub fn scim_user_body(suffix: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": format!("lasuser{suffix}@contoso.test"),
        "active": true,
        "displayName": format!("Harness User {suffix}"),
        "title": "Engineer",
        "emails": [{"type": "work", "primary": true, "value": format!("lasuser{suffix}@contoso.test")}],
        "name": {"givenName": "Harness", "familyName": format!("User{suffix}")},
        ENTERPRISE: {"department": "Research"},
    })
}

/// `initializationData.scimGroupBody`.
pub fn scim_group_body() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "placeholder"})
}

/// Schema_Discoverability_Test's flattening of one `/Schemas` attribute list into attribute names: references
/// (`manager`, `members`) by name; multi-valued complex attributes as `attr[type eq "<canonical>"].sub` when the
/// `type` sub-attribute has canonical values, else `attr[primary eq "True"].sub`; single complex attributes as
/// `attr.sub` (simple subs only); simple attributes by name; reference-typed attributes not at all.
pub fn flatten_core(attributes: &[Value]) -> Vec<String> {
    let mut names = Vec::new();
    for attr in attributes {
        let name = attr["name"].as_str().unwrap_or_default();
        let kind = attr["type"].as_str().unwrap_or_default();
        let subs = attr["subAttributes"].as_array().cloned().unwrap_or_default();
        let sub_name = |s: &Value| s["name"].as_str().unwrap_or_default().to_owned();
        if name == "manager" || name == "members" {
            names.push(name.to_owned());
        } else if kind == "complex" && attr["multiValued"].as_bool().unwrap_or(false) {
            let canonical: Vec<String> = subs
                .iter()
                .find(|s| s["name"] == "type")
                .and_then(|t| t["canonicalValues"].as_array())
                .map(|values| values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if canonical.is_empty() {
                for sub in subs.iter().filter(|s| s["name"] != "primary") {
                    names.push(format!(r#"{name}[primary eq "True"].{}"#, sub_name(sub)));
                }
            } else {
                for value in &canonical {
                    for sub in subs.iter().filter(|s| s["name"] != "type" && s["name"] != "primary") {
                        names.push(format!(r#"{name}[type eq "{value}"].{}"#, sub_name(sub)));
                    }
                }
            }
        } else if kind == "complex" {
            for sub in subs
                .iter()
                .filter(|s| s["type"] != "complex" && s["type"] != "reference")
            {
                names.push(format!("{name}.{}", sub_name(sub)));
            }
        } else if kind != "reference" {
            names.push(name.to_owned());
        }
    }
    names
}

/// The value the null-update and update tests read back for a target attribute path, as the harness reads it:
/// `attr[type eq "x"].sub` in the element of that type, `a.b` one level down, `urn:…:attr` in the extension.
pub fn read_target(resource: &Value, target: &str) -> Value {
    if let Some((attr, rest)) = target.split_once('[') {
        let wanted = rest.split('"').nth(1).unwrap_or_default();
        let element = resource[attr].as_array().and_then(|items| {
            items
                .iter()
                .find(|e| e["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(wanted)))
        });
        let sub = target.rsplit('.').next().unwrap_or("value");
        return element.map(|e| e[sub].clone()).unwrap_or(Value::Null);
    }
    if target.starts_with("urn:") {
        let (schema, attr) = target.rsplit_once(':').unwrap_or_default();
        return resource[schema][attr].clone();
    }
    if let Some((parent, sub)) = target.split_once('.') {
        return resource[parent][sub].clone();
    }
    resource[target].clone()
}

/// ForEach_Build_Null_Create_Body + ForEach_Convert_To_Arrays: the user the null-update test creates, every mapped
/// attribute set from the Entra user (except the matching, state and reference ones), typed elements as arrays.
pub fn null_test_create_body(user_name: &str, suffix: &str) -> Value {
    let source = entra_user(suffix);
    let mut body = json!({
        "schemas": scim_user_body(suffix)["schemas"].clone(),
        "userName": user_name,
        "active": true,
        "externalId": uuid::Uuid::new_v4().to_string(),
    });
    let mut typed: Map<String, Value> = Map::new();
    for mapping in user_mappings() {
        let skip = ["userName", "active", "externalId", "roles"].contains(&mapping.target.as_str());
        if skip || mapping.source == "manager" {
            continue;
        }
        let value = source.get(mapping.source).cloned().unwrap_or(json!("Test"));
        let target = &mapping.target;
        if let Some((attr, rest)) = target.split_once('[') {
            let kind = rest.split('"').nth(1).unwrap_or_default().to_owned();
            let sub = target.rsplit('.').next().unwrap_or("value").to_owned();
            let elements = typed.entry(attr.to_owned()).or_insert_with(|| json!({}));
            let first = elements.as_object().is_some_and(Map::is_empty);
            let element = elements.as_object_mut().map(|m| {
                m.entry(kind.clone())
                    .or_insert_with(|| json!({"type": kind, "primary": first}))
            });
            if let Some(element) = element {
                element[sub] = value;
            }
        } else if target.starts_with("urn:") {
            let (schema, attr) = target.rsplit_once(':').unwrap_or_default();
            if body[schema].is_null() {
                body[schema] = json!({});
            }
            body[schema][attr] = value;
        } else if let Some((parent, sub)) = target.split_once('.') {
            if body[parent].is_null() {
                body[parent] = json!({});
            }
            body[parent][sub] = value;
        } else {
            body[target.as_str()] = value;
        }
    }
    for (attr, elements) in typed {
        let list: Vec<Value> = elements
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        body[attr.as_str()] = Value::Array(list);
    }
    body
}
