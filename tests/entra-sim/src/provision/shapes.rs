//! The exact request bodies and query strings Entra's provisioning service sends, per dialect.
//!
//! Sources: Microsoft's "Develop and plan provisioning for a SCIM endpoint" tutorial (request examples) and
//! "Known issues and resolutions with SCIM 2.0 protocol compliance" (the `aadOptscim062020` flag), plus issue
//! threads of SCIM libraries quoting captured Entra traffic:
//!
//! | request | default (`scim` job) | `aadOptscim062020` |
//! |---|---|---|
//! | op casing | `Add` / `Replace` / `Remove` | `add` / `replace` / `remove` |
//! | disable | `{"op":"Replace","path":"active","value":"False"}` | `{"op":"replace","path":"active","value":false}` |
//! | several attributes | one op per attribute, with `path` | filtered paths keep their own op; the rest go in one path-less `replace` whose value keys are paths |
//! | member removal | `{"op":"Remove","path":"members","value":[{"value":"id"}]}` | `{"op":"remove","path":"members[value eq \"id\"]"}` |
//!
//! Attributes absent on the target are written with `Add`, present ones with `Replace` (as Entra does); an
//! attribute cleared in the source is not sent at all (Entra's documented "null values can't be provisioned").
//! The manager is a raw id string under the enterprise URN; it is removed with `manager[value eq "id"]`.

use serde_json::Value;

use crate::directory::DirectoryUser;
use crate::json_order::{Node, OrderedObject};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Entra adds this (non-standard) schema URN to every group it creates.
pub const ADSCIM_GROUP_SCHEMA: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const MANAGER_PATH: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// Which of Entra's two PATCH behaviours to emit (the tenant URL flag `aadOptscim062020` selects the second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Dialect {
    #[default]
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "aadOptscim062020")]
    AadOptscim062020,
}

impl Dialect {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "default" => Some(Dialect::Default),
            t if t.eq_ignore_ascii_case("aadOptscim062020") => Some(Dialect::AadOptscim062020),
            _ => None,
        }
    }

    fn op(self, kind: OpKind) -> &'static str {
        match (self, kind) {
            (Dialect::Default, OpKind::Add) => "Add",
            (Dialect::Default, OpKind::Replace) => "Replace",
            (Dialect::Default, OpKind::Remove) => "Remove",
            (Dialect::AadOptscim062020, OpKind::Add) => "add",
            (Dialect::AadOptscim062020, OpKind::Replace) => "replace",
            (Dialect::AadOptscim062020, OpKind::Remove) => "remove",
        }
    }

    /// Booleans in PATCH values: the default dialect sends them as the strings "True"/"False".
    fn boolean(self, b: bool) -> Value {
        match self {
            Dialect::Default => Value::String(if b { "True" } else { "False" }.into()),
            Dialect::AadOptscim062020 => Value::Bool(b),
        }
    }
}

/// How the manager reference is written. Entra sends a raw id string; many servers (scim2-server among them)
/// accept only the RFC 7643 complex form, so tests against them can switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ManagerValue {
    #[default]
    RawString,
    Object,
}

/// How a manager is removed: Entra's `manager[value eq "id"]`, or the RFC-plain attribute path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ManagerRemoval {
    #[default]
    ValueFilter,
    AttributePath,
}

/// Deviations from Entra's wire shapes, for pointing the simulator at servers that reject them. Everything
/// defaults to what Entra sends; only change these to test servers other than ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compat {
    pub manager_value: ManagerValue,
    pub manager_removal: ManagerRemoval,
    /// Add Entra's ADSCIM schema URN to created groups.
    pub adscim_group_schema: bool,
}

impl Default for Compat {
    fn default() -> Self {
        Compat {
            manager_value: ManagerValue::RawString,
            manager_removal: ManagerRemoval::ValueFilter,
            adscim_group_schema: true,
        }
    }
}

impl Compat {
    /// What python's scim2-server accepts (it rejects Entra's raw-string manager and the ADSCIM group URN).
    pub fn strict_rfc() -> Self {
        Compat {
            manager_value: ManagerValue::Object,
            manager_removal: ManagerRemoval::AttributePath,
            adscim_group_schema: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One provisioned user attribute, in the order Entra's default attribute mapping lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    UserName,
    Active,
    DisplayName,
    Title,
    WorkEmail,
    PreferredLanguage,
    GivenName,
    FamilyName,
    Formatted,
    WorkPhone,
    MobilePhone,
    ExternalId,
    EmployeeNumber,
    Department,
    CostCenter,
    Organization,
    Division,
}

pub const USER_ATTRS: &[Attr] = &[
    Attr::UserName,
    Attr::Active,
    Attr::DisplayName,
    Attr::Title,
    Attr::WorkEmail,
    Attr::PreferredLanguage,
    Attr::GivenName,
    Attr::FamilyName,
    Attr::Formatted,
    Attr::WorkPhone,
    Attr::MobilePhone,
    Attr::ExternalId,
    Attr::EmployeeNumber,
    Attr::Department,
    Attr::CostCenter,
    Attr::Organization,
    Attr::Division,
];

impl Attr {
    /// The PATCH path Entra uses.
    pub fn path(self) -> &'static str {
        match self {
            Attr::UserName => "userName",
            Attr::Active => "active",
            Attr::DisplayName => "displayName",
            Attr::Title => "title",
            Attr::WorkEmail => "emails[type eq \"work\"].value",
            Attr::PreferredLanguage => "preferredLanguage",
            Attr::GivenName => "name.givenName",
            Attr::FamilyName => "name.familyName",
            Attr::Formatted => "name.formatted",
            Attr::WorkPhone => "phoneNumbers[type eq \"work\"].value",
            Attr::MobilePhone => "phoneNumbers[type eq \"mobile\"].value",
            Attr::ExternalId => "externalId",
            Attr::EmployeeNumber => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            Attr::Department => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            Attr::CostCenter => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
            Attr::Organization => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
            Attr::Division => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
        }
    }

    fn is_filtered(self) -> bool {
        self.path().contains('[')
    }

    /// The desired value from the source directory (None: not mapped for this user, so never sent).
    pub fn desired(self, u: &DirectoryUser) -> Option<Value> {
        let s = |v: Option<&str>| v.map(|v| Value::String(v.to_string()));
        match self {
            Attr::UserName => s(Some(&u.user_name)),
            Attr::Active => Some(Value::Bool(u.active)),
            Attr::DisplayName => s(u.display_name.as_deref()),
            Attr::Title => s(u.title.as_deref()),
            Attr::WorkEmail => s(u.work_email()),
            Attr::PreferredLanguage => s(u.preferred_language.as_deref()),
            Attr::GivenName => s(u.name.as_ref().and_then(|n| n.given_name.as_deref())),
            Attr::FamilyName => s(u.name.as_ref().and_then(|n| n.family_name.as_deref())),
            Attr::Formatted => u.formatted_name().map(Value::String),
            Attr::WorkPhone => s(u.phone("work")),
            Attr::MobilePhone => s(u.phone("mobile")),
            Attr::ExternalId => s(u.external_id.as_deref()),
            Attr::EmployeeNumber => s(u.employee_number.as_deref()),
            Attr::Department => s(u.department.as_deref()),
            Attr::CostCenter => s(u.cost_center.as_deref()),
            Attr::Organization => s(u.organization.as_deref()),
            Attr::Division => s(u.division.as_deref()),
        }
    }

    /// The value the SCIM server currently holds, read from a returned resource.
    pub fn current(self, resource: &Value) -> Option<Value> {
        let enterprise = |name: &str| resource.get(ENTERPRISE_SCHEMA).and_then(|e| e.get(name)).cloned();
        let typed = |attr: &str, kind: &str| {
            resource.get(attr).and_then(Value::as_array).and_then(|items| {
                items
                    .iter()
                    .find(|i| {
                        i.get("type")
                            .and_then(Value::as_str)
                            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
                    })
                    .and_then(|i| i.get("value"))
                    .cloned()
            })
        };
        let v = match self {
            Attr::UserName => resource.get("userName").cloned(),
            Attr::Active => resource.get("active").cloned(),
            Attr::DisplayName => resource.get("displayName").cloned(),
            Attr::Title => resource.get("title").cloned(),
            Attr::WorkEmail => typed("emails", "work"),
            Attr::PreferredLanguage => resource.get("preferredLanguage").cloned(),
            Attr::GivenName => resource.get("name").and_then(|n| n.get("givenName")).cloned(),
            Attr::FamilyName => resource.get("name").and_then(|n| n.get("familyName")).cloned(),
            Attr::Formatted => resource.get("name").and_then(|n| n.get("formatted")).cloned(),
            Attr::WorkPhone => typed("phoneNumbers", "work"),
            Attr::MobilePhone => typed("phoneNumbers", "mobile"),
            Attr::ExternalId => resource.get("externalId").cloned(),
            Attr::EmployeeNumber => enterprise("employeeNumber"),
            Attr::Department => enterprise("department"),
            Attr::CostCenter => enterprise("costCenter"),
            Attr::Organization => enterprise("organization"),
            Attr::Division => enterprise("division"),
        };
        v.filter(|v| !v.is_null())
    }
}

/// Servers return booleans as JSON booleans, sometimes as strings; compare leniently so a "True" answer is
/// not an endless difference.
fn same(desired: &Value, current: &Value) -> bool {
    match (desired, current) {
        (Value::Bool(d), Value::String(c)) => crate::directory::parse_bool(c) == Some(*d),
        _ => desired == current,
    }
}

/// A planned attribute change.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub attr: Attr,
    pub kind: OpKind,
    pub value: Value,
}

/// Attributes whose desired value differs from the resource (Add when absent there, Replace when present).
pub fn user_changes(user: &DirectoryUser, resource: &Value) -> Vec<Change> {
    USER_ATTRS
        .iter()
        .filter_map(|&attr| {
            let desired = attr.desired(user)?;
            match attr.current(resource) {
                Some(current) if same(&desired, &current) => None,
                Some(_) => Some(Change {
                    attr,
                    kind: OpKind::Replace,
                    value: desired,
                }),
                None => Some(Change {
                    attr,
                    kind: OpKind::Add,
                    value: desired,
                }),
            }
        })
        .collect()
}

fn patch_body(operations: Vec<OrderedObject>) -> String {
    OrderedObject::new()
        .with("schemas", Value::from(vec![PATCH_SCHEMA]))
        .with("Operations", operations)
        .to_json()
}

fn op(dialect: Dialect, kind: OpKind, path: Option<&str>, value: Option<Node>) -> OrderedObject {
    let mut o = OrderedObject::new().with("op", dialect.op(kind));
    if let Some(p) = path {
        o.set("path", p);
    }
    if let Some(v) = value {
        o.set("value", v);
    }
    o
}

fn patch_value(dialect: Dialect, attr: Attr, value: &Value) -> Value {
    match (attr, value) {
        (Attr::Active, Value::Bool(b)) => dialect.boolean(*b),
        _ => value.clone(),
    }
}

/// The PATCH body for attribute changes (not the manager), or None when there is nothing to send.
pub fn user_patch(dialect: Dialect, changes: &[Change]) -> Option<String> {
    if changes.is_empty() {
        return None;
    }
    let ops = match dialect {
        Dialect::Default => changes
            .iter()
            .map(|c| {
                op(
                    dialect,
                    c.kind,
                    Some(c.attr.path()),
                    Some(patch_value(dialect, c.attr, &c.value).into()),
                )
            })
            .collect(),
        Dialect::AadOptscim062020 => {
            let mut ops = Vec::new();
            let mut grouped = OrderedObject::new();
            for c in changes {
                let value = patch_value(dialect, c.attr, &c.value);
                if c.kind == OpKind::Add || c.attr.is_filtered() || c.attr == Attr::Active {
                    ops.push(op(dialect, c.kind, Some(c.attr.path()), Some(value.into())));
                } else {
                    grouped.set(c.attr.path(), value);
                }
            }
            if !grouped.is_empty() {
                ops.push(op(dialect, OpKind::Replace, None, Some(grouped.into())));
            }
            ops
        }
    };
    Some(patch_body(ops))
}

/// Disabling a user (soft delete), Entra's most recognisable request.
pub fn disable_patch(dialect: Dialect) -> String {
    patch_body(vec![op(
        dialect,
        OpKind::Replace,
        Some("active"),
        Some(dialect.boolean(false).into()),
    )])
}

/// Sets or changes the manager (`Add` when the user has none yet, `Replace` otherwise).
pub fn manager_set_patch(dialect: Dialect, compat: Compat, kind: OpKind, manager_id: &str) -> String {
    let value: Node = match compat.manager_value {
        ManagerValue::RawString => manager_id.into(),
        ManagerValue::Object => OrderedObject::new().with("value", manager_id).into(),
    };
    patch_body(vec![op(dialect, kind, Some(MANAGER_PATH), Some(value))])
}

pub fn manager_remove_patch(dialect: Dialect, compat: Compat, old_manager_id: &str) -> String {
    let path = match compat.manager_removal {
        ManagerRemoval::ValueFilter => format!("manager[value eq \"{old_manager_id}\"]"),
        ManagerRemoval::AttributePath => MANAGER_PATH.to_string(),
    };
    patch_body(vec![op(dialect, OpKind::Remove, Some(&path), None)])
}

/// Reads the manager id from a resource, whichever form the server stores it in.
pub fn current_manager(resource: &Value) -> Option<String> {
    match resource.get(ENTERPRISE_SCHEMA)?.get("manager")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o
            .get("value")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        _ => None,
    }
}

/// Entra's create-user body: core + enterprise schemas, a client `meta`, `"roles":[]`; no manager (Entra links
/// managers in a second round trip, after every user exists).
pub fn create_user_body(u: &DirectoryUser) -> String {
    let mut body = OrderedObject::new().with("schemas", Value::from(vec![USER_SCHEMA, ENTERPRISE_SCHEMA]));
    if let Some(x) = &u.external_id {
        body.set("externalId", x);
    }
    body.set("userName", &*u.user_name);
    body.set("active", u.active);
    if let Some(d) = &u.display_name {
        body.set("displayName", d);
    }
    if let Some(email) = u.work_email() {
        body.set(
            "emails",
            vec![
                OrderedObject::new()
                    .with("primary", true)
                    .with("type", "work")
                    .with("value", email),
            ],
        );
    }
    body.set("meta", OrderedObject::new().with("resourceType", "User"));
    if let Some(n) = &u.name {
        let mut name = OrderedObject::new();
        if let Some(f) = u.formatted_name() {
            name.set("formatted", f);
        }
        if let Some(f) = &n.family_name {
            name.set("familyName", f);
        }
        if let Some(g) = &n.given_name {
            name.set("givenName", g);
        }
        body.set("name", name);
    }
    let phones: Vec<OrderedObject> = ["work", "mobile"]
        .into_iter()
        .filter_map(|kind| {
            u.phone(kind)
                .map(|v| OrderedObject::new().with("type", kind).with("value", v))
        })
        .collect();
    if !phones.is_empty() {
        body.set("phoneNumbers", phones);
    }
    if let Some(p) = &u.preferred_language {
        body.set("preferredLanguage", p);
    }
    if let Some(t) = &u.title {
        body.set("title", t);
    }
    let mut enterprise = OrderedObject::new();
    for (name, value) in [
        ("employeeNumber", &u.employee_number),
        ("department", &u.department),
        ("costCenter", &u.cost_center),
        ("organization", &u.organization),
        ("division", &u.division),
    ] {
        if let Some(v) = value {
            enterprise.set(name, v);
        }
    }
    if !enterprise.is_empty() {
        body.set(ENTERPRISE_SCHEMA, enterprise);
    }
    body.set("roles", Value::Array(Vec::new()));
    body.to_json()
}

/// Entra's create-group body: no members (they follow in PATCH requests), the ADSCIM URN, a client `meta`.
pub fn create_group_body(compat: Compat, display_name: &str, external_id: Option<&str>) -> String {
    let schemas = if compat.adscim_group_schema {
        vec![GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA]
    } else {
        vec![GROUP_SCHEMA]
    };
    let mut body = OrderedObject::new().with("schemas", Value::from(schemas));
    if let Some(x) = external_id {
        body.set("externalId", x);
    }
    body.set("displayName", display_name);
    body.set("meta", OrderedObject::new().with("resourceType", "Group"));
    body.to_json()
}

/// Group attribute changes (displayName/externalId).
pub fn group_patch(dialect: Dialect, changes: &[(&'static str, OpKind, String)]) -> Option<String> {
    if changes.is_empty() {
        return None;
    }
    let ops = match dialect {
        Dialect::Default => changes
            .iter()
            .map(|(path, kind, v)| op(dialect, *kind, Some(path), Some(v.as_str().into())))
            .collect(),
        Dialect::AadOptscim062020 => {
            let mut grouped = OrderedObject::new();
            let mut ops = Vec::new();
            for (path, kind, v) in changes {
                if *kind == OpKind::Add {
                    ops.push(op(dialect, *kind, Some(path), Some(v.as_str().into())));
                } else {
                    grouped.set(*path, v.as_str());
                }
            }
            if !grouped.is_empty() {
                ops.push(op(dialect, OpKind::Replace, None, Some(grouped.into())));
            }
            ops
        }
    };
    Some(patch_body(ops))
}

fn member_values(ids: &[String]) -> Vec<OrderedObject> {
    ids.iter()
        .map(|id| OrderedObject::new().with("value", id.as_str()))
        .collect()
}

pub fn add_members_patch(dialect: Dialect, ids: &[String]) -> String {
    patch_body(vec![op(
        dialect,
        OpKind::Add,
        Some("members"),
        Some(member_values(ids).into()),
    )])
}

pub fn remove_members_patch(dialect: Dialect, ids: &[String]) -> String {
    match dialect {
        Dialect::Default => patch_body(vec![op(
            dialect,
            OpKind::Remove,
            Some("members"),
            Some(member_values(ids).into()),
        )]),
        Dialect::AadOptscim062020 => patch_body(
            ids.iter()
                .map(|id| {
                    op(
                        dialect,
                        OpKind::Remove,
                        Some(&format!("members[value eq \"{id}\"]")),
                        None,
                    )
                })
                .collect(),
        ),
    }
}

/// `filter=<expression>` encoded the way Entra encodes it: form encoding, so spaces become `+`.
pub fn filter_query(expression: &str) -> String {
    format!(
        "filter={}",
        form_urlencoded::byte_serialize(expression.as_bytes()).collect::<String>()
    )
}

/// SCIM string literal: quotes and backslashes escaped (RFC 7644 filters use JSON string syntax).
pub fn literal(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

pub fn user_lookup_query(user_name: &str) -> String {
    format!(
        "/Users?{}",
        filter_query(&format!("userName eq {}", literal(user_name)))
    )
}

pub fn group_lookup_query(display_name: &str) -> String {
    format!(
        "/Groups?excludedAttributes=members&{}",
        filter_query(&format!("displayName eq {}", literal(display_name)))
    )
}

pub fn membership_query(group_id: &str, user_id: &str) -> String {
    format!(
        "/Groups?excludedAttributes=members&{}",
        filter_query(&format!(
            "id eq {} and members eq {}",
            literal(group_id),
            literal(user_id)
        ))
    )
}

pub fn manager_check_query(user_id: &str, manager_id: &str) -> String {
    format!(
        "/Users?{}&attributes=id",
        filter_query(&format!(
            "id eq {} and manager eq {}",
            literal(user_id),
            literal(manager_id)
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{PersonName, TypedValue};
    use serde_json::json;

    fn ann() -> DirectoryUser {
        let mut u = DirectoryUser::new("ann@contoso.com");
        u.external_id = Some("ann".into());
        u.display_name = Some("Ann Lee".into());
        u.name = Some(PersonName {
            given_name: Some("Ann".into()),
            family_name: Some("Lee".into()),
            formatted: None,
        });
        u.emails.push(TypedValue {
            value: "ann@contoso.com".into(),
            kind: "work".into(),
            primary: true,
        });
        u.title = Some("Engineer".into());
        u.department = Some("R&D".into());
        u.employee_number = Some("1001".into());
        u
    }

    #[test]
    fn create_user_body_is_entras() {
        assert_eq!(
            create_user_body(&ann()),
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"ann","userName":"ann@contoso.com","active":true,"displayName":"Ann Lee","emails":[{"primary":true,"type":"work","value":"ann@contoso.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"Ann Lee","familyName":"Lee","givenName":"Ann"},"title":"Engineer","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1001","department":"R&D"},"roles":[]}"#
        );
    }

    #[test]
    fn create_group_body_is_entras() {
        assert_eq!(
            create_group_body(Compat::default(), "Sales", Some("g1")),
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"g1","displayName":"Sales","meta":{"resourceType":"Group"}}"#
        );
    }

    #[test]
    fn disable_differs_by_dialect() {
        assert_eq!(
            disable_patch(Dialect::Default),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#
        );
        assert_eq!(
            disable_patch(Dialect::AadOptscim062020),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#
        );
    }

    #[test]
    fn member_patches_differ_by_dialect() {
        let ids = vec!["u1".to_string()];
        assert_eq!(
            add_members_patch(Dialect::Default, &ids),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u1"}]}]}"#
        );
        assert_eq!(
            remove_members_patch(Dialect::Default, &ids),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}"#
        );
        assert_eq!(
            remove_members_patch(Dialect::AadOptscim062020, &ids),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}"#
        );
    }

    #[test]
    fn changes_use_add_for_absent_and_replace_for_present() {
        let mut u = ann();
        u.active = false;
        let resource = json!({
            "userName": "ann@contoso.com", "active": true, "displayName": "Ann L.",
            "emails": [{"type": "work", "value": "old@contoso.com"}],
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "externalId": "ann",
            ENTERPRISE_SCHEMA: {"employeeNumber": "1001", "department": "R&D"}
        });
        let changes = user_changes(&u, &resource);
        let summary: Vec<(Attr, OpKind)> = changes.iter().map(|c| (c.attr, c.kind)).collect();
        assert_eq!(
            summary,
            [
                (Attr::Active, OpKind::Replace),
                (Attr::DisplayName, OpKind::Replace),
                (Attr::Title, OpKind::Add),
                (Attr::WorkEmail, OpKind::Replace),
            ]
        );
        assert_eq!(
            user_patch(Dialect::Default, &changes).expect("patch"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"},{"op":"Replace","path":"displayName","value":"Ann Lee"},{"op":"Add","path":"title","value":"Engineer"},{"op":"Replace","path":"emails[type eq \"work\"].value","value":"ann@contoso.com"}]}"#
        );
        assert_eq!(
            user_patch(Dialect::AadOptscim062020, &changes).expect("patch"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false},{"op":"add","path":"title","value":"Engineer"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann@contoso.com"},{"op":"replace","value":{"displayName":"Ann Lee"}}]}"#
        );
    }

    #[test]
    fn path_less_replace_groups_plain_and_extension_attributes() {
        let mut u = ann();
        u.employee_number = Some("2002".into());
        u.name = Some(PersonName {
            given_name: Some("Anne".into()),
            family_name: Some("Lee".into()),
            formatted: None,
        });
        let resource = json!({
            "userName": "ann@contoso.com", "active": true, "displayName": "Ann Lee", "title": "Engineer",
            "emails": [{"type": "work", "value": "ann@contoso.com"}], "externalId": "ann",
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            ENTERPRISE_SCHEMA: {"employeeNumber": "1001", "department": "R&D"}
        });
        let changes = user_changes(&u, &resource);
        assert_eq!(
            user_patch(Dialect::AadOptscim062020, &changes).expect("patch"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name.givenName":"Anne","name.formatted":"Anne Lee","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"2002"}}]}"#
        );
    }

    #[test]
    fn identical_resource_means_no_patch_even_with_string_booleans() {
        let resource = json!({
            "userName": "ann@contoso.com", "active": "True", "displayName": "Ann Lee", "title": "Engineer",
            "emails": [{"type": "Work", "value": "ann@contoso.com"}], "externalId": "ann",
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            ENTERPRISE_SCHEMA: {"employeeNumber": "1001", "department": "R&D"}
        });
        assert!(user_changes(&ann(), &resource).is_empty());
        assert_eq!(user_patch(Dialect::Default, &[]), None);
    }

    #[test]
    fn manager_shapes() {
        assert_eq!(
            manager_set_patch(Dialect::Default, Compat::default(), OpKind::Add, "m1"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]}"#
        );
        assert_eq!(
            manager_set_patch(Dialect::AadOptscim062020, Compat::strict_rfc(), OpKind::Replace, "m1"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m1"}}]}"#
        );
        assert_eq!(
            manager_remove_patch(Dialect::Default, Compat::default(), "m1"),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"manager[value eq \"m1\"]"}]}"#
        );
        assert_eq!(
            current_manager(&json!({ENTERPRISE_SCHEMA: {"manager": "m1"}})),
            Some("m1".into())
        );
        assert_eq!(
            current_manager(&json!({ENTERPRISE_SCHEMA: {"manager": {"value": "m2"}}})),
            Some("m2".into())
        );
        assert_eq!(current_manager(&json!({ENTERPRISE_SCHEMA: {"manager": ""}})), None);
    }

    #[test]
    fn queries_use_plus_for_spaces_like_entra() {
        assert_eq!(
            user_lookup_query("ann@contoso.com"),
            "/Users?filter=userName+eq+%22ann%40contoso.com%22"
        );
        assert_eq!(
            group_lookup_query("Sales Team"),
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+Team%22"
        );
        assert_eq!(
            membership_query("g1", "u1"),
            "/Groups?excludedAttributes=members&filter=id+eq+%22g1%22+and+members+eq+%22u1%22"
        );
        assert_eq!(user_lookup_query(r#"a"b"#), "/Users?filter=userName+eq+%22a%5C%22b%22");
    }
}
