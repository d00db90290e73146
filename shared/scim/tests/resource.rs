//! POST/PUT resource rules, with Entra's create bodies verbatim from Microsoft's SCIM tutorial.

use serde_json::{Value, json};
use wif_scim::entra_compat::resource::{prepare_create, prepare_replace};
use wif_scim::resource::{IndexKeys, MemberRef};
use wif_scim::schema::{
    AttributeDef, AttributeType, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, ResourceSchema, SchemaDef,
    SchemaExtension, USER_SCHEMA,
};

fn user(body: Value) -> wif_scim::resource::PreparedResource {
    prepare_create(ResourceSchema::user(), body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"))
}

#[track_caller]
fn rejected(schema: &ResourceSchema, body: Value) -> (String, String) {
    let e = prepare_create(schema, body.clone()).expect_err(&body.to_string());
    assert_eq!(e.status, 400);
    (e.scim_type.map(|t| t.as_str().to_owned()).unwrap_or_default(), e.detail)
}

#[test]
fn entra_create_user_request_verbatim() {
    let prepared = user(json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    }));
    assert_eq!(
        prepared.document,
        json!({
            "schemas": [USER_SCHEMA],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": true,
            "emails": [{
                "primary": true,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
            }],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
        })
    );
    assert!(prepared.ignored.iter().any(|i| i == "meta"));
    assert_eq!(
        prepared.index_keys(ResourceSchema::user()),
        IndexKeys {
            user_name: Some("Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee".into()),
            external_id: Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef".into()),
            display_name: None,
            work_email: Some("Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com".into()),
        }
    );
    assert_eq!(
        prepared.index_keys(ResourceSchema::user()).user_name_key().as_deref(),
        Some("test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
    );
}

#[test]
fn entra_create_user_with_nulls_misspelled_urn_and_top_level_extension_attributes() {
    // The tutorial's "Provision a user" example: a misspelled enterprise URN, nulls, and enterprise attributes at the
    // top level.
    let prepared = user(json!({
       "schemas":
       [
         "urn:ietf:params:scim:schemas:core:2.0:User",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
       "externalId":"jyoung",
       "userName":"jyoung@testuser.com",
       "active":true,
       "addresses":null,
       "displayName":"Joy Young",
       "emails": [
         {
           "type":"work",
           "value":"jyoung@Contoso.com",
           "primary":true}],
       "meta": {
         "resourceType":"User"},
        "name":{
         "familyName":"Young",
         "givenName":"Joy"},
       "phoneNumbers":null,
       "preferredLanguage":null,
       "title":null,
       "department":null,
       "manager":null}));
    assert_eq!(
        prepared.document,
        json!({
            "schemas": [USER_SCHEMA],
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": true,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
            "name": {"familyName": "Young", "givenName": "Joy"}
        })
    );
    let keys = prepared.index_keys(ResourceSchema::user());
    assert_eq!(keys.work_email_key().as_deref(), Some("jyoung@contoso.com"));
    assert_eq!(keys.display_name.as_deref(), Some("Joy Young"));
}

#[test]
fn entra_schema_example_with_raw_manager_and_custom_extension() {
    // The tutorial's schema example: `manager` as a raw id, a custom extension this deployment does not serve,
    // client-sent id and meta.
    let body = json!({
         "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
          "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"],
         "userName":"bjensen@testuser.com",
         "id": "48af03ac28ad4fb88478",
         "externalId":"bjensen",
         "name":{
           "familyName":"Jensen",
           "givenName":"Barbara"
         },
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
         "manager": "123456"
       },
         "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {
         "tag": "701984",
       },
       "meta": {
         "resourceType": "User",
         "created": "2010-01-23T04:56:22Z",
         "lastModified": "2011-05-13T04:42:34Z",
         "version": "W/\"3694e05e9dff591\"",
         "location":
     "https://example.com/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
       }
    });
    // (The tutorial's JSON has a trailing comma and a JSON-escaped `W\/`; the body above is that document as valid JSON.)
    let prepared = user(body.clone());
    assert_eq!(
        prepared.document[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "123456"}})
    );
    assert!(prepared.document.get("id").is_none());
    assert!(prepared.document.get("meta").is_none());
    assert!(
        prepared
            .document
            .get("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User")
            .is_none()
    );
    assert_eq!(
        prepared.document["schemas"],
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
    );

    // With the custom extension registered, its data is kept even though a client omits its URN from `schemas`.
    let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let schema = ResourceSchema::user().with_extensions(vec![SchemaExtension {
        schema: SchemaDef {
            id: custom.into(),
            name: "CustomExtension".into(),
            description: String::new(),
            attributes: vec![AttributeDef::new("tag", AttributeType::String)],
        },
        required: false,
    }]);
    let mut without_urn = body;
    without_urn["schemas"] = json!([USER_SCHEMA]);
    let prepared = prepare_create(&schema, without_urn).expect("custom extension");
    assert_eq!(prepared.document[custom], json!({"tag": "701984"}));
    assert_eq!(
        prepared.document["schemas"],
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, custom])
    );
}

#[test]
fn entra_create_group_request_verbatim() {
    let prepared = prepare_create(
        ResourceSchema::group(),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {
                "resourceType": "Group"
            }
        }),
    )
    .expect("group");
    assert_eq!(
        prepared.document,
        json!({"schemas": [GROUP_SCHEMA], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"})
    );
    assert!(prepared.members.is_empty());
    assert!(!prepared.members_specified);
    assert!(prepared.ignored.iter().any(|n| n.contains("Entra group schema")));
    let keys = prepared.index_keys(ResourceSchema::group());
    assert_eq!(keys.display_name_key().as_deref(), Some("displayname"));
    assert_eq!(keys.user_name, None);
}

#[test]
fn group_members_are_split_off() {
    let prepared = prepare_create(
        ResourceSchema::group(),
        json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Tour Guides",
            "members": [
                {"value": "2819c223", "$ref": "https://example.com/v2/Users/2819c223", "type": "User", "display": "Babs"},
                {"value": "902c246b", "type": "Group"},
                {"value": "2819c223"}
            ]
        }),
    )
    .expect("group");
    assert!(prepared.document.get("members").is_none());
    assert!(prepared.members_specified);
    assert_eq!(
        prepared.members,
        vec![
            MemberRef {
                value: "2819c223".into(),
                member_type: Some("User".into())
            },
            MemberRef {
                value: "902c246b".into(),
                member_type: Some("Group".into())
            }
        ]
    );
    let (kind, _) = rejected(
        ResourceSchema::group(),
        json!({"displayName": "x", "members": [{"type": "User"}]}),
    );
    assert_eq!(kind, "invalidValue");
}

#[test]
fn required_attributes() {
    let (kind, detail) = rejected(
        ResourceSchema::user(),
        json!({"schemas": [USER_SCHEMA], "name": {"givenName": "x"}}),
    );
    assert_eq!(kind, "invalidValue");
    assert!(detail.contains("userName") && detail.contains("required"), "{detail}");
    let (_, detail) = rejected(ResourceSchema::user(), json!({"userName": ""}));
    assert!(detail.contains("userName"), "{detail}");
    let (_, detail) = rejected(ResourceSchema::user(), json!({"userName": null}));
    assert!(detail.contains("userName"), "{detail}");
    let (_, detail) = rejected(ResourceSchema::group(), json!({"externalId": "x"}));
    assert!(detail.contains("displayName"), "{detail}");
}

#[test]
fn type_checks_name_the_attribute() {
    let cases = [
        (json!({"userName": 42}), "userName"),
        (json!({"userName": "a", "active": "yes"}), "active"),
        (json!({"userName": "a", "name": "Barbara"}), "name"),
        (json!({"userName": "a", "name": {"givenName": 1}}), "name.givenName"),
        (json!({"userName": "a", "emails": [{"value": ["x"]}]}), "emails.value"),
        (json!({"userName": "a", "emails": ["a@x"]}), "emails"),
        (
            json!({"userName": "a", "x509Certificates": [{"value": "not base64!"}]}),
            "x509Certificates.value",
        ),
        (
            json!({"userName": "a", ENTERPRISE_USER_SCHEMA: "Sales"}),
            ENTERPRISE_USER_SCHEMA,
        ),
        (
            json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": 7}}),
            "manager",
        ),
        (json!({"userName": "a", "password": 12345}), "password"),
        (json!({"userName": "a", "schemas": "urn:x"}), "schemas"),
    ];
    for (body, attribute) in cases {
        let (_, detail) = rejected(ResourceSchema::user(), body.clone());
        assert!(detail.contains(attribute), "{body}: {detail}");
    }
    let (kind, _) = rejected(ResourceSchema::user(), json!("not an object"));
    assert_eq!(kind, "invalidSyntax");
    let (_, detail) = rejected(ResourceSchema::user(), json!({"userName": "a", "USERNAME": "b"}));
    assert!(detail.contains("more than once"), "{detail}");
}

#[test]
fn entra_value_quirks_in_bodies() {
    let prepared = user(json!({
        "userName": "a@x",
        "active": "False",
        "emails": [{"value": "a@x", "type": "work", "primary": "True"}],
        "roles": "[{\"primary\":\"True\",\"type\":\"WindowsAzureActiveDirectoryRole\",\"value\":\"Admin\"}]",
        ENTERPRISE_USER_SCHEMA: {"manager": [{"value": "m1", "$ref": "../Users/m1"}]}
    }));
    assert_eq!(prepared.document["active"], false);
    assert_eq!(prepared.document["emails"][0]["primary"], true);
    assert_eq!(
        prepared.document["roles"],
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    );
    assert_eq!(
        prepared.document[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m1", "$ref": "../Users/m1"})
    );
    let prepared = user(json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": ""}}));
    assert!(prepared.document.get(ENTERPRISE_USER_SCHEMA).is_none());
}

#[test]
fn read_only_dropped_unknown_ignored_names_canonical() {
    let prepared = user(json!({
        "USERNAME": "a",
        "id": "client-chosen",
        "groups": [{"value": "g1"}],
        "favouriteColour": "blue",
        "Name": {"GivenName": "B", "nosuch": "x"},
        "emails": [{"Value": "a@x", "TYPE": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Sales", "manager": {"value": "m", "displayName": "Boss"}}
    }));
    assert_eq!(
        prepared.document,
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            "name": {"givenName": "B"},
            "emails": [{"value": "a@x", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m"}}
        })
    );
    for note in ["id", "groups", "favouriteColour", "name.nosuch"] {
        assert!(
            prepared.ignored.iter().any(|n| n == note),
            "{note}: {:?}",
            prepared.ignored
        );
    }
}

#[test]
fn password_is_write_only() {
    let prepared = user(json!({"userName": "a", "password": "t1meMa$heen"}));
    assert_eq!(prepared.password.as_deref(), Some("t1meMa$heen"));
    assert!(prepared.document.get("password").is_none());
    assert!(!prepared.document.to_string().contains("t1meMa$heen"));
}

#[test]
fn multi_valued_rules() {
    // At most one primary (RFC 7643 §2.4).
    let (kind, detail) = rejected(
        ResourceSchema::user(),
        json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}),
    );
    assert_eq!(kind, "invalidValue");
    assert!(detail.contains("primary"), "{detail}");
    // Duplicates collapse; nulls and empties vanish; a lone value becomes a list.
    let prepared = user(json!({
        "userName": "a",
        "emails": [{"value": "a@x", "type": "work"}, {"value": "A@X", "type": "WORK"}, null, {}],
        "phoneNumbers": {"value": "555", "type": "work"},
        "ims": []
    }));
    assert_eq!(prepared.document["emails"], json!([{"value": "a@x", "type": "work"}]));
    assert_eq!(
        prepared.document["phoneNumbers"],
        json!([{"value": "555", "type": "work"}])
    );
    assert!(prepared.document.get("ims").is_none());
    // The primary work e-mail is the indexed one.
    let prepared = user(json!({"userName": "a", "emails": [
        {"value": "w1@x", "type": "work"}, {"value": "w2@x", "type": "work", "primary": true}, {"value": "h@x", "type": "home"}
    ]}));
    assert_eq!(
        prepared.index_keys(ResourceSchema::user()).work_email.as_deref(),
        Some("w2@x")
    );
    let prepared = user(json!({"userName": "a", "emails": [{"value": "h@x", "type": "home"}]}));
    assert_eq!(prepared.index_keys(ResourceSchema::user()).work_email, None);
}

#[test]
fn replace_keeps_immutable_values() {
    let schema = ResourceSchema::user().with_extensions(vec![SchemaExtension {
        schema: SchemaDef {
            id: "urn:example:scim:Badge:2.0:User".into(),
            name: "Badge".into(),
            description: String::new(),
            attributes: vec![
                AttributeDef::new("badge", AttributeType::String).mutability(Mutability::Immutable),
                AttributeDef::new("issued", AttributeType::DateTime),
            ],
        },
        required: false,
    }]);
    let ext = "urn:example:scim:Badge:2.0:User";
    let existing = prepare_create(&schema, json!({"userName": "a", ext: {"badge": "B-1"}}))
        .expect("create")
        .document;
    prepare_replace(
        &schema,
        &existing,
        json!({"userName": "b", ext: {"badge": "B-1", "issued": "2024-01-01T00:00:00Z"}}),
    )
    .expect("same immutable value");
    let e = prepare_replace(&schema, &existing, json!({"userName": "a", ext: {"badge": "B-2"}})).expect_err("changed");
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("mutability"));
    let e = prepare_replace(&schema, &existing, json!({"userName": "a"})).expect_err("dropped");
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("mutability"));
    let e = prepare_create(&schema, json!({"userName": "a", ext: {"issued": "yesterday"}})).expect_err("dateTime");
    assert!(e.detail.contains("issued"), "{}", e.detail);
    // A plain replace with id/meta in the body works; they are ignored.
    let replaced = prepare_replace(
        ResourceSchema::user(),
        &json!({"schemas": [USER_SCHEMA], "userName": "a"}),
        json!({"id": "x", "meta": {"version": "W/\"9\""}, "userName": "renamed"}),
    )
    .expect("replace");
    assert_eq!(
        replaced.document,
        json!({"schemas": [USER_SCHEMA], "userName": "renamed"})
    );
}

#[test]
fn arbitrary_bodies_never_panic() {
    let values = [
        json!(null),
        json!(""),
        json!("x"),
        json!(true),
        json!("True"),
        json!(1),
        json!(1.5),
        json!([]),
        json!([null, 1, "a", {}]),
        json!({}),
        json!({"value": "v", "primary": true}),
        json!([{"value": "v", "primary": "yes"}]),
    ];
    let keys = [
        "userName",
        "name",
        "emails",
        "active",
        "roles",
        "members",
        "displayName",
        "password",
        "schemas",
        "meta",
        ENTERPRISE_USER_SCHEMA,
        "manager",
        "x509Certificates",
        "urn:x:y",
        "addresses",
    ];
    let mut seed: u64 = 11;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..3_000 {
        let mut body = serde_json::Map::new();
        for _ in 0..next(6) {
            body.insert(keys[next(keys.len())].into(), values[next(values.len())].clone());
        }
        let body = Value::Object(body);
        let _ = prepare_create(ResourceSchema::user(), body.clone());
        let _ = prepare_create(ResourceSchema::group(), body);
    }
}
