//! RFC 7643 schemas: attribute characteristics, the built-in User (+ Enterprise extension) and Group resource
//! schemas, case-insensitive attribute resolution, and the discovery documents (`/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas`).
//!
//! A [`ResourceSchema`] is what every other engine module takes: the filter evaluator, PATCH, projection, sorting
//! and the resource rules all ask it what an attribute is (type, caseExact, mutability, returned, ...).

mod builtin;
pub mod discovery;

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::attr_path::AttrPath;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Decimal => "decimal",
            AttributeType::Integer => "integer",
            AttributeType::DateTime => "dateTime",
            AttributeType::Binary => "binary",
            AttributeType::Reference => "reference",
            AttributeType::Complex => "complex",
        }
    }

    /// Types whose values are JSON strings (compared as text, possibly case-folded).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            AttributeType::String | AttributeType::Reference | AttributeType::Binary | AttributeType::DateTime
        )
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition with its RFC 7643 §7 characteristics.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    pub name: String,
    pub attr_type: AttributeType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// RFC 7643 §2.2 defaults: single-valued, optional, caseExact false, readWrite, returned default, no uniqueness.
    pub fn new(name: &str, attr_type: AttributeType) -> Self {
        Self {
            name: name.to_owned(),
            attr_type,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    pub fn canonical_values(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn reference_types(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn sub_attributes(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    pub fn is_complex(&self) -> bool {
        self.attr_type == AttributeType::Complex
    }

    /// Case-insensitive sub-attribute lookup (RFC 7643 §2.1: attribute names are case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The attribute a filter or sort on the complex attribute itself compares: its `value` sub-attribute
    /// (RFC 7644 §3.4.2.2 example `emails co "example.com"`; Entra's `members eq ".."` and `manager eq ".."`).
    pub fn implicit_value(&self) -> Option<&AttributeDef> {
        if self.is_complex() {
            self.sub_attribute("value")
        } else {
            None
        }
    }

    /// The RFC 7643 §7 representation used by `/Schemas`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(self.attr_type.as_str()));
        out.insert("multiValued".into(), json!(self.multi_valued));
        out.insert("description".into(), json!(self.description));
        out.insert("required".into(), json!(self.required));
        if self.is_complex() {
            out.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(AttributeDef::to_json).collect()),
            );
        } else {
            out.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical_values.is_empty() {
            out.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            out.insert("referenceTypes".into(), json!(self.reference_types));
        }
        out.insert("mutability".into(), json!(self.mutability.as_str()));
        out.insert("returned".into(), json!(self.returned.as_str()));
        if !self.is_complex() {
            out.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        }
        Value::Object(out)
    }
}

/// A schema (core or extension) as served by `/Schemas/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn is(&self, urn: &str) -> bool {
        self.id.eq_ignore_ascii_case(urn)
    }
}

/// An extension schema attached to a resource type (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaExtension {
    pub schema: SchemaDef,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn resource_type(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }
}

/// A resource type: its core schema, its extensions, and the RFC 7643 §3.1 common attributes (`id`, `externalId`,
/// `meta`), which belong to every resource but to no schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    pub kind: ResourceKind,
    pub description: String,
    pub core: SchemaDef,
    pub extensions: Vec<SchemaExtension>,
    pub common: Vec<AttributeDef>,
}

/// Where an attribute lives in a resource document and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// `None`: a top-level attribute (common or core schema); `Some`: inside the extension object keyed by its URN.
    pub extension: Option<&'a SchemaDef>,
    pub attr: &'a AttributeDef,
    pub sub: Option<&'a AttributeDef>,
}

impl<'a> Resolved<'a> {
    /// The definition of the value a path designates: the sub-attribute if one was named, else the attribute.
    pub fn leaf(&self) -> &'a AttributeDef {
        self.sub.unwrap_or(self.attr)
    }

    /// The path spelled with canonical names, e.g. `urn:..:enterprise:2.0:User:manager.value`.
    pub fn display_path(&self) -> String {
        let mut out = String::new();
        if let Some(ext) = self.extension {
            out.push_str(&ext.id);
            out.push(':');
        }
        out.push_str(&self.attr.name);
        if let Some(sub) = self.sub {
            out.push('.');
            out.push_str(&sub.name);
        }
        out
    }
}

static USER: LazyLock<ResourceSchema> = LazyLock::new(builtin::user);
static GROUP: LazyLock<ResourceSchema> = LazyLock::new(builtin::group);

impl ResourceSchema {
    /// Core User (RFC 7643 §4.1) with the Enterprise User extension (§4.3).
    pub fn user() -> &'static ResourceSchema {
        &USER
    }

    /// Core Group (RFC 7643 §4.2).
    pub fn group() -> &'static ResourceSchema {
        &GROUP
    }

    pub fn for_kind(kind: ResourceKind) -> &'static ResourceSchema {
        match kind {
            ResourceKind::User => Self::user(),
            ResourceKind::Group => Self::group(),
        }
    }

    /// A copy of this resource schema with more extensions (an ISV's custom extension, e.g. Entra's
    /// `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`): their data is then kept and validated
    /// instead of being ignored as unknown.
    pub fn with_extensions(&self, extra: Vec<SchemaExtension>) -> ResourceSchema {
        let mut out = self.clone();
        for ext in extra {
            if out.extension(&ext.schema.id).is_none() && !out.core.is(&ext.schema.id) {
                out.extensions.push(ext);
            }
        }
        out
    }

    pub fn resource_type(&self) -> &'static str {
        self.kind.resource_type()
    }

    pub fn endpoint(&self) -> &'static str {
        self.kind.endpoint()
    }

    pub fn extension(&self, urn: &str) -> Option<&SchemaExtension> {
        self.extensions.iter().find(|e| e.schema.is(urn))
    }

    /// Every schema URN of this resource type, core first.
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str()).chain(self.extensions.iter().map(|e| e.schema.id.as_str()))
    }

    pub fn is_known_urn(&self, urn: &str) -> bool {
        self.core.is(urn) || self.extension(urn).is_some()
    }

    /// A top-level attribute (common attributes first, then the core schema).
    pub fn top_level(&self, name: &str) -> Option<&AttributeDef> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .or_else(|| self.core.attribute(name))
    }

    /// Resolves an attribute path case-insensitively.
    ///
    /// - `urn:<core>:name` and plain `name` look at the common and core attributes;
    /// - `urn:<extension>:name` looks in that extension;
    /// - a plain `name` that is not a core attribute resolves to the extension attribute of that name when exactly one
    ///   extension has it (Entra sends `manager` unqualified in some requests);
    /// - `urn:<extension>.name` (the pre-2019 Entra "dot before the attribute" spelling, which tokenises as schema
    ///   `urn:..:2.0`, name `User`, sub-attribute `name`) is accepted as `urn:<extension>:name`.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (extension, attr, sub_name) = match &path.schema {
            Some(urn) if self.core.is(urn) => (None, self.top_level(&path.name)?, path.sub_attr.as_deref()),
            Some(urn) => match self.extension(urn) {
                Some(ext) => (
                    Some(&ext.schema),
                    ext.schema.attribute(&path.name)?,
                    path.sub_attr.as_deref(),
                ),
                None => {
                    let joined = format!("{urn}:{}", path.name);
                    let ext = self.extension(&joined)?;
                    let name = path.sub_attr.as_deref()?;
                    (Some(&ext.schema), ext.schema.attribute(name)?, None)
                }
            },
            None => match self.top_level(&path.name) {
                Some(attr) => (None, attr, path.sub_attr.as_deref()),
                None => {
                    let mut found = self
                        .extensions
                        .iter()
                        .filter_map(|e| e.schema.attribute(&path.name).map(|a| (&e.schema, a)));
                    let (ext, attr) = found.next()?;
                    if found.next().is_some() {
                        return None;
                    }
                    (Some(ext), attr, path.sub_attr.as_deref())
                }
            },
        };
        let sub = match sub_name {
            Some(name) => Some(attr.sub_attribute(name)?),
            None => None,
        };
        Some(Resolved { extension, attr, sub })
    }

    /// The extension a path names as a whole (`urn:..:enterprise:2.0:User`, which tokenises as schema `urn:..:2.0`
    /// and name `User`), used by PATCH and projection to address the extension object itself.
    pub fn extension_root(&self, path: &AttrPath) -> Option<&SchemaExtension> {
        let urn = path.schema.as_deref()?;
        if path.sub_attr.is_some() {
            return None;
        }
        self.extension(&format!("{urn}:{}", path.name))
    }

    /// True when the path is qualified with a schema URN this resource type does not know (an extension the
    /// deployment has not registered). PATCH and resource rules ignore such data instead of failing Entra's cycle.
    pub fn is_unknown_schema(&self, path: &AttrPath) -> bool {
        match &path.schema {
            Some(urn) => !self.is_known_urn(urn) && self.extension(&format!("{urn}:{}", path.name)).is_none(),
            None => false,
        }
    }
}

/// Case folding used for every caseExact=false comparison and index key, so the directory's unique indexes and the
/// evaluator agree on what "equal" means.
pub fn fold_case(value: &str) -> String {
    value.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_extension_and_sub_attributes_case_insensitively() {
        let user = ResourceSchema::user();
        let r = user.resolve(&AttrPath::simple("USERNAME")).expect("userName");
        assert_eq!(r.attr.name, "userName");
        assert!(r.extension.is_none());

        let r = user
            .resolve(&AttrPath::with_sub("Name", "GIVENNAME"))
            .expect("name.givenName");
        assert_eq!(r.leaf().name, "givenName");

        let path = AttrPath {
            schema: Some(ENTERPRISE_USER_SCHEMA.to_ascii_uppercase()),
            name: "manager".into(),
            sub_attr: Some("value".into()),
        };
        let r = user.resolve(&path).expect("manager.value");
        assert_eq!(r.extension.map(|e| e.id.as_str()), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(r.display_path(), format!("{ENTERPRISE_USER_SCHEMA}:manager.value"));

        let r = user
            .resolve(&AttrPath::simple("employeeNumber"))
            .expect("unqualified extension attribute");
        assert!(r.extension.is_some());

        let path = AttrPath {
            schema: Some(USER_SCHEMA.into()),
            name: "emails".into(),
            sub_attr: Some("value".into()),
        };
        assert!(user.resolve(&path).is_some());
        assert!(user.resolve(&AttrPath::simple("id")).is_some());
        assert!(user.resolve(&AttrPath::with_sub("meta", "lastModified")).is_some());
        assert!(user.resolve(&AttrPath::simple("nope")).is_none());
        assert!(user.resolve(&AttrPath::with_sub("userName", "x")).is_none());
    }

    #[test]
    fn old_dot_notation_and_extension_roots() {
        let user = ResourceSchema::user();
        // `urn:..:enterprise:2.0:User.employeeNumber` tokenises as schema `urn:..:2.0`, name `User`, sub `employeeNumber`.
        let path = AttrPath {
            schema: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0".into()),
            name: "User".into(),
            sub_attr: Some("employeeNumber".into()),
        };
        assert_eq!(
            user.resolve(&path).map(|r| r.attr.name.as_str()),
            Some("employeeNumber")
        );
        let root = AttrPath {
            schema: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0".into()),
            name: "User".into(),
            sub_attr: None,
        };
        assert!(user.extension_root(&root).is_some());
        let unknown = AttrPath {
            schema: Some("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User".into()),
            name: "tag".into(),
            sub_attr: None,
        };
        assert!(user.is_unknown_schema(&unknown));
        assert!(!user.is_unknown_schema(&root));
    }

    #[test]
    fn characteristics_follow_rfc7643() {
        let user = ResourceSchema::user();
        let get = |p: &str| user.resolve(&AttrPath::simple(p)).map(|r| r.attr.clone()).expect(p);
        assert!(get("id").case_exact);
        assert_eq!(get("id").returned, Returned::Always);
        assert_eq!(get("id").mutability, Mutability::ReadOnly);
        assert!(get("externalId").case_exact);
        assert!(!get("userName").case_exact);
        assert!(get("userName").required);
        assert_eq!(get("userName").uniqueness, Uniqueness::Server);
        assert_eq!(get("password").returned, Returned::Never);
        assert_eq!(get("password").mutability, Mutability::WriteOnly);
        assert_eq!(get("groups").mutability, Mutability::ReadOnly);
        assert!(get("emails").multi_valued);
        assert!(!get("emails").sub_attribute("value").expect("value").case_exact);
        assert_eq!(get("active").attr_type, AttributeType::Boolean);
        let group = ResourceSchema::group();
        let members = group.resolve(&AttrPath::simple("members")).expect("members").attr;
        assert!(members.multi_valued);
        assert_eq!(
            members.sub_attribute("value").expect("value").mutability,
            Mutability::Immutable
        );
        assert!(
            group
                .resolve(&AttrPath::simple("displayName"))
                .expect("displayName")
                .attr
                .required
        );
    }

    #[test]
    fn custom_extensions_are_added_once() {
        let ext = SchemaExtension {
            schema: SchemaDef {
                id: "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User".into(),
                name: "Custom".into(),
                description: String::new(),
                attributes: vec![AttributeDef::new("tag", AttributeType::String)],
            },
            required: false,
        };
        let schema = ResourceSchema::user().with_extensions(vec![ext.clone(), ext]);
        assert_eq!(schema.extensions.len(), 2);
        assert!(schema.resolve(&AttrPath::simple("tag")).is_some());
    }
}
