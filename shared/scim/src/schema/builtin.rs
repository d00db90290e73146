//! The RFC 7643 §4 / §8.7 schemas, attribute by attribute.

use super::{
    AttributeDef, AttributeType, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, ResourceKind, ResourceSchema,
    Returned, SchemaDef, SchemaExtension, USER_SCHEMA, Uniqueness,
};

fn string(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttributeType::String)
}

fn boolean(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttributeType::Boolean)
}

fn complex(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttributeType::Complex).sub_attributes(subs)
}

/// The value/display/type/primary shape shared by RFC 7643's multi-valued attributes (§2.4).
fn multi_valued(name: &str, value: AttributeDef, types: &[&str], description: &str) -> AttributeDef {
    let mut type_attr = string("type").description("A label indicating the attribute's function.");
    if !types.is_empty() {
        type_attr = type_attr.canonical_values(types);
    }
    complex(
        name,
        vec![
            value,
            string("display").description("A human-readable name, primarily used for display purposes."),
            type_attr,
            boolean("primary").description("Indicates the 'primary' or preferred attribute value for this attribute."),
        ],
    )
    .multi_valued()
    .description(description)
}

/// RFC 7643 §3.1 common attributes.
fn common() -> Vec<AttributeDef> {
    vec![
        string("id")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server)
            .description("A unique identifier for a SCIM resource as defined by the service provider."),
        string("externalId")
            .case_exact()
            .description("A String that is an identifier for the resource as defined by the provisioning client."),
        complex(
            "meta",
            vec![
                string("resourceType").case_exact().mutability(Mutability::ReadOnly),
                AttributeDef::new("created", AttributeType::DateTime).mutability(Mutability::ReadOnly),
                AttributeDef::new("lastModified", AttributeType::DateTime).mutability(Mutability::ReadOnly),
                AttributeDef::new("location", AttributeType::Reference)
                    .case_exact()
                    .reference_types(&["uri"])
                    .mutability(Mutability::ReadOnly),
                string("version").case_exact().mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly)
        .description("A complex attribute containing resource metadata."),
    ]
}

/// A list of references to users and groups (a user's `groups`, a group's `members`): `display` is the server's,
/// the other sub-attributes have `mutability`.
fn reference_list(name: &str, type_values: &[&str], mutability: Mutability) -> AttributeDef {
    complex(
        name,
        vec![
            string("value").mutability(mutability),
            AttributeDef::new("$ref", AttributeType::Reference)
                .reference_types(&["User", "Group"])
                .mutability(mutability),
            string("display").mutability(Mutability::ReadOnly),
            string("type").canonical_values(type_values).mutability(mutability),
        ],
    )
    .multi_valued()
}

fn user_core() -> SchemaDef {
    SchemaDef {
        id: USER_SCHEMA.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: [user_identity(), user_contacts(), user_privileges()].concat(),
    }
}

/// Who the user is: userName, name, display and locale preferences, status, password.
fn user_identity() -> Vec<AttributeDef> {
    let name = complex(
        "name",
        vec![
            string("formatted"),
            string("familyName"),
            string("givenName"),
            string("middleName"),
            string("honorificPrefix"),
            string("honorificSuffix"),
        ],
    )
    .description("The components of the user's real name.");
    vec![
        string("userName")
            .required()
            .uniqueness(Uniqueness::Server)
            .description("Unique identifier for the User, typically used by the user to directly authenticate."),
        name,
        string("displayName").description("The name of the User, suitable for display to end-users."),
        string("nickName").description("The casual way to address the user in real life."),
        AttributeDef::new("profileUrl", AttributeType::Reference)
            .reference_types(&["external"])
            .description("A fully qualified URL pointing to a page representing the User's online profile."),
        string("title").description("The user's title, such as \"Vice President\"."),
        string("userType").description("Used to identify the relationship between the organization and the user."),
        string("preferredLanguage").description("Indicates the User's preferred written or spoken language."),
        string("locale").description("Used to indicate the User's default location for localization."),
        string("timezone").description("The User's time zone in the 'Olson' time zone database format."),
        boolean("active").description("A Boolean value indicating the User's administrative status."),
        string("password")
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never)
            .description("The User's cleartext password, write-only."),
    ]
}

/// How to reach the user: e-mails, phone numbers, instant messaging, photos, addresses.
fn user_contacts() -> Vec<AttributeDef> {
    let addresses = complex(
        "addresses",
        vec![
            string("formatted"),
            string("streetAddress"),
            string("locality"),
            string("region"),
            string("postalCode"),
            string("country"),
            string("type").canonical_values(&["work", "home", "other"]),
            boolean("primary"),
        ],
    )
    .multi_valued()
    .description("A physical mailing address for this User.");
    vec![
        multi_valued(
            "emails",
            string("value"),
            &["work", "home", "other"],
            "Email addresses for the user.",
        ),
        multi_valued(
            "phoneNumbers",
            string("value"),
            &["work", "home", "mobile", "fax", "pager", "other"],
            "Phone numbers for the User.",
        ),
        multi_valued(
            "ims",
            string("value"),
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            "Instant messaging addresses for the User.",
        ),
        multi_valued(
            "photos",
            AttributeDef::new("value", AttributeType::Reference).reference_types(&["external"]),
            &["photo", "thumbnail"],
            "URLs of photos of the User.",
        ),
        addresses,
    ]
}

/// What the user may do: groups (derived from memberships, read-only), entitlements, roles, certificates.
fn user_privileges() -> Vec<AttributeDef> {
    vec![
        reference_list("groups", &["direct", "indirect"], Mutability::ReadOnly)
            .mutability(Mutability::ReadOnly)
            .description("A list of groups to which the user belongs, either through direct membership or indirectly."),
        multi_valued(
            "entitlements",
            string("value"),
            &[],
            "A list of entitlements for the User.",
        ),
        multi_valued("roles", string("value"), &[], "A list of roles for the User."),
        multi_valued(
            "x509Certificates",
            AttributeDef::new("value", AttributeType::Binary),
            &[],
            "A list of certificates issued to the User.",
        ),
    ]
}

fn enterprise_user() -> SchemaDef {
    SchemaDef {
        id: ENTERPRISE_USER_SCHEMA.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            string("employeeNumber").description("Numeric or alphanumeric identifier assigned to a person."),
            string("costCenter").description("Identifies the name of a cost center."),
            string("organization").description("Identifies the name of an organization."),
            string("division").description("Identifies the name of a division."),
            string("department").description("Identifies the name of a department."),
            complex(
                "manager",
                vec![
                    string("value").description("The id of the SCIM resource representing the User's manager."),
                    AttributeDef::new("$ref", AttributeType::Reference).reference_types(&["User"]),
                    string("displayName").mutability(Mutability::ReadOnly),
                ],
            )
            .description("The User's manager."),
        ],
    }
}

fn group_core() -> SchemaDef {
    SchemaDef {
        id: GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            // RFC 7643 §4.2 calls displayName REQUIRED (the §8.7.1 listing's `false` is a known erratum); Entra matches
            // groups by it, so the directory keeps it unique per tenant.
            string("displayName")
                .required()
                .uniqueness(Uniqueness::Server)
                .description("A human-readable name for the Group."),
            reference_list("members", &["User", "Group"], Mutability::Immutable)
                .description("A list of members of the Group."),
        ],
    }
}

pub(super) fn user() -> ResourceSchema {
    ResourceSchema {
        kind: ResourceKind::User,
        description: "User Account".into(),
        core: user_core(),
        extensions: vec![SchemaExtension {
            schema: enterprise_user(),
            required: false,
        }],
        common: common(),
    }
}

pub(super) fn group() -> ResourceSchema {
    ResourceSchema {
        kind: ResourceKind::Group,
        description: "Group".into(),
        core: group_core(),
        extensions: Vec::new(),
        common: common(),
    }
}
