//! PATCH (RFC 7644 §3.5.2): parsing, every path form of add/replace/remove, mutability, noTarget, the `changed`
//! flag, group member extraction, and each request shape Microsoft Entra sends, copied verbatim from Microsoft's
//! SCIM tutorial and known-issues pages and from peers' issue trackers.

use serde_json::{Value, json};
use wif_scim::entra_compat::patch::apply;
use wif_scim::entra_compat::resource::prepare_create;
use wif_scim::patch::{MemberOperation, PatchOp, PatchOutcome, PatchRequest, take_member_operations};
use wif_scim::resource::MemberRef;
use wif_scim::schema::ResourceSchema;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A stored user as `prepare_create` leaves it (plus the id/meta a store may keep).
fn stored_user() -> Value {
    let mut doc = prepare_create(
        ResourceSchema::user(),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "bjensen@example.com",
            "externalId": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
            "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "primary": true}],
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "m-1"}}
        }),
    )
    .expect("valid user")
    .document;
    doc["id"] = json!("2819c223");
    doc["meta"] = json!({"resourceType": "User", "version": "W/\"1\""});
    doc
}

fn run(doc: &mut Value, body: Value) -> Result<PatchOutcome, wif_scim::error::ScimError> {
    let request = PatchRequest::parse(&body)?;
    apply(doc, &request, ResourceSchema::user())
}

#[track_caller]
fn patched(body: Value) -> Value {
    let mut doc = stored_user();
    let outcome = run(&mut doc, body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert!(outcome.changed, "{body}");
    doc
}

#[track_caller]
fn failure(body: Value) -> (String, String) {
    let mut doc = stored_user();
    let before = doc.clone();
    let e = run(&mut doc, body.clone()).expect_err(&body.to_string());
    assert_eq!(doc, before, "a failed PATCH leaves the document untouched");
    (e.scim_type.map(|t| t.as_str().to_owned()).unwrap_or_default(), e.detail)
}

fn ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

#[test]
fn parse_accepts_any_op_case_and_empty_operations() {
    let request = PatchRequest::parse(&ops(json!([
        {"op": "Add", "path": "title", "value": "a"},
        {"op": "REPLACE", "path": "title", "value": "b"},
        {"op": "remove", "path": "title"}
    ])))
    .expect("parse");
    let kinds: Vec<PatchOp> = request.operations.iter().map(|o| o.op).collect();
    assert_eq!(kinds, [PatchOp::Add, PatchOp::Replace, PatchOp::Remove]);

    let empty = PatchRequest::parse(&ops(json!([]))).expect("empty is a no-op");
    assert!(empty.is_empty());
    let mut doc = stored_user();
    let before = doc.clone();
    let outcome = apply(&mut doc, &empty, ResourceSchema::user()).expect("no-op");
    assert!(!outcome.changed);
    assert_eq!(doc, before);

    // Missing schemas and lower-case member names are tolerated.
    PatchRequest::parse(&json!({"operations": [{"op": "add", "path": "title", "value": "x"}]})).expect("tolerant");
}

#[test]
fn parse_rejects_malformed_requests() {
    let cases = [
        (json!([]), "invalidSyntax"),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            "invalidSyntax",
        ),
        (json!({"Operations": {}}), "invalidSyntax"),
        (
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
            "invalidSyntax",
        ),
        (
            ops(json!([{"op": "merge", "path": "title", "value": "x"}])),
            "invalidSyntax",
        ),
        (ops(json!([{"path": "title", "value": "x"}])), "invalidSyntax"),
        (ops(json!(["add"])), "invalidSyntax"),
        (ops(json!([{"op": "add", "path": "title"}])), "invalidSyntax"),
        (ops(json!([{"op": "add", "path": 7, "value": "x"}])), "invalidPath"),
        (
            ops(json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}])),
            "invalidPath",
        ),
        (
            ops(json!([{"op": "add", "path": "emails[type eq \"work\"] junk", "value": "x"}])),
            "invalidPath",
        ),
    ];
    for (body, expected) in cases {
        let e = PatchRequest::parse(&body).expect_err(&body.to_string());
        assert_eq!(e.scim_type.map(|t| t.as_str()), Some(expected), "{body}: {}", e.detail);
    }
    let e = PatchRequest::parse(&ops(
        json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]),
    ))
    .expect_err("unterminated");
    assert!(
        e.detail.contains("Operations[0]") && e.detail.contains("column"),
        "{}",
        e.detail
    );
    let many: Vec<Value> = (0..1001).map(|_| json!({"op": "remove", "path": "title"})).collect();
    assert!(PatchRequest::parse(&ops(Value::Array(many))).is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// add

#[test]
fn add_without_path_merges() {
    let doc = patched(ops(json!([{"op": "add", "value": {
        "title": "Tour Guide",
        "emails": [{"value": "babs@work.example", "type": "other"}],
        "name": {"middleName": "J"},
        ENTERPRISE: {"costCenter": "4130"}
    }}])));
    assert_eq!(doc["title"], "Tour Guide");
    assert_eq!(doc["emails"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        doc["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"})
    );
    assert_eq!(doc[ENTERPRISE]["costCenter"], "4130");
    assert_eq!(doc[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(doc["id"], "2819c223", "id and meta are preserved");
    assert_eq!(doc["meta"]["version"], "W/\"1\"");
}

#[test]
fn add_simple_complex_and_multi_valued() {
    let doc = patched(ops(json!([{"op": "add", "path": "title", "value": "Guide"}])));
    assert_eq!(doc["title"], "Guide");
    let doc = patched(ops(json!([{"op": "add", "path": "name.middleName", "value": "Jane"}])));
    assert_eq!(doc["name"]["middleName"], "Jane");
    let doc = patched(ops(
        json!([{"op": "add", "path": "ims", "value": [{"value": "babs", "type": "xmpp"}]}]),
    ));
    assert_eq!(doc["ims"], json!([{"value": "babs", "type": "xmpp"}]));
    // A lone object where a list belongs is one element.
    let doc = patched(ops(
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555-1", "type": "mobile"}}]),
    ));
    assert_eq!(doc["phoneNumbers"].as_array().map(Vec::len), Some(2));
}

#[test]
fn add_an_existing_value_changes_nothing() {
    let mut doc = stored_user();
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "add", "path": "emails", "value": [{"value": "BABS@jensen.org", "type": "home"}]}])),
    )
    .expect("idempotent");
    assert!(!outcome.changed, "equal values (caseExact=false) are not added twice");
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "replace", "path": "title", "value": null}])),
    )
    .expect("no title");
    assert!(!outcome.changed);
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "replace", "path": "nickName", "value": "Babs"}])),
    )
    .expect("same");
    assert!(!outcome.changed);
}

#[test]
fn primary_moves_to_the_new_value() {
    let doc = patched(ops(
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work", "primary": true}]}]),
    ));
    let primaries: Vec<&Value> = doc["emails"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["primary"] == true).collect())
        .unwrap_or_default();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "new@example.com");
    let doc = patched(ops(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    ));
    assert_eq!(doc["emails"][0]["primary"], false);
    assert_eq!(doc["emails"][1]["primary"], true);
}

// ---------------------------------------------------------------------------------------------------------------
// replace

#[test]
fn replace_forms() {
    let doc = patched(ops(
        json!([{"op": "replace", "path": "displayName", "value": "B. Jensen"}]),
    ));
    assert_eq!(doc["displayName"], "B. Jensen");
    // Complex: sub-attributes not given stay (RFC 7644 §3.5.2.3).
    let doc = patched(ops(
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Barb"}}]),
    ));
    assert_eq!(doc["name"], json!({"givenName": "Barb", "familyName": "Jensen"}));
    // Multi-valued without filter: the whole list.
    let doc = patched(ops(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]}]),
    ));
    assert_eq!(doc["emails"], json!([{"value": "only@example.com", "type": "work"}]));
    // Filter + sub-attribute.
    let doc = patched(ops(
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "2809 Johns Walk"}]),
    ));
    assert_eq!(doc["addresses"][0]["streetAddress"], "2809 Johns Walk");
    assert_eq!(doc["addresses"][0]["locality"], "Hollywood");
    // Filter without sub-attribute: matching elements are replaced whole.
    let doc = patched(ops(
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "b@home.example", "type": "home"}}]),
    ));
    assert_eq!(doc["emails"][1], json!({"value": "b@home.example", "type": "home"}));
    // Add through a filter merges into the element.
    let doc = patched(ops(
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
    ));
    assert_eq!(doc["emails"][1]["display"], "Home");
    assert_eq!(doc["emails"][1]["value"], "babs@jensen.org");
    // A path to an absent attribute is an add (RFC 7644 §3.5.2.3).
    let doc = patched(ops(json!([{"op": "replace", "path": "title", "value": "New"}])));
    assert_eq!(doc["title"], "New");
    // Sub-attribute of every element.
    let doc = patched(ops(json!([{"op": "replace", "path": "emails.display", "value": "x"}])));
    assert!(
        doc["emails"]
            .as_array()
            .is_some_and(|a| a.iter().all(|e| e["display"] == "x"))
    );
    // Replace with null unassigns.
    let doc = patched(ops(json!([{"op": "replace", "path": "nickName", "value": null}])));
    assert!(doc.get("nickName").is_none());
}

#[test]
fn replace_through_an_unmatched_filter_is_no_target_unless_the_element_can_be_built() {
    let (kind, detail) = failure(ops(
        json!([{"op": "replace", "path": "emails[value co \"nobody\"].type", "value": "other"}]),
    ));
    assert_eq!(kind, "noTarget", "{detail}");
    let (kind, _) = failure(ops(
        json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}]),
    ));
    assert_eq!(kind, "noTarget");
    // An `eq` conjunction describes the element: it is created (Entra relies on this).
    let doc = patched(ops(
        json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555-0100"}]),
    ));
    assert_eq!(doc["phoneNumbers"][1], json!({"type": "mobile", "value": "555-0100"}));
    let doc = patched(ops(
        json!([{"op": "add", "path": "addresses[type eq \"home\"]", "value": {"locality": "Ojai"}}]),
    ));
    assert_eq!(doc["addresses"][1], json!({"type": "home", "locality": "Ojai"}));
}

// ---------------------------------------------------------------------------------------------------------------
// remove

#[test]
fn remove_forms() {
    let doc = patched(ops(json!([{"op": "remove", "path": "nickName"}])));
    assert!(doc.get("nickName").is_none());
    let doc = patched(ops(json!([{"op": "remove", "path": "name.givenName"}])));
    assert_eq!(doc["name"], json!({"familyName": "Jensen"}));
    let doc = patched(ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])));
    assert_eq!(
        doc["emails"],
        json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
    );
    let doc = patched(ops(json!([{"op": "remove", "path": "emails"}])));
    assert!(doc.get("emails").is_none());
    // Removing the value of an element leaves nothing worth keeping: the element goes.
    let doc = patched(ops(
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"].value"}]),
    ));
    assert!(doc.get("phoneNumbers").is_none());
    let doc = patched(ops(
        json!([{"op": "remove", "path": "addresses[type eq \"work\"].locality"}]),
    ));
    assert_eq!(doc["addresses"][0]["streetAddress"], "100 Universal City Plaza");
    assert!(doc["addresses"][0].get("locality").is_none());
    let doc = patched(ops(
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
    ));
    assert!(doc[ENTERPRISE].get("department").is_none());
    let doc = patched(ops(json!([{"op": "remove", "path": ENTERPRISE}])));
    assert!(doc.get(ENTERPRISE).is_none());
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
        "schemas follow the data"
    );
}

#[test]
fn remove_edge_cases() {
    // A filter that matches nothing removes nothing and succeeds.
    let mut doc = stored_user();
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}])),
    )
    .expect("no-op");
    assert!(!outcome.changed);
    let outcome = run(&mut doc, ops(json!([{"op": "remove", "path": "title"}]))).expect("absent");
    assert!(!outcome.changed);
    // Remove needs a path.
    let (kind, _) = failure(ops(json!([{"op": "remove"}])));
    assert_eq!(kind, "noTarget");
    // A required attribute cannot be removed or emptied.
    let (kind, detail) = failure(ops(json!([{"op": "remove", "path": "userName"}])));
    assert_eq!(kind, "invalidValue");
    assert!(detail.contains("userName") && detail.contains("required"), "{detail}");
    let (kind, _) = failure(ops(json!([{"op": "replace", "path": "userName", "value": ""}])));
    assert_eq!(kind, "invalidValue");
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

#[test]
fn mutability_and_paths() {
    for path in [
        "id",
        "meta",
        "meta.lastModified",
        "groups",
        format!("{ENTERPRISE}:manager.displayName").as_str(),
    ] {
        let (kind, detail) = failure(ops(json!([{"op": "replace", "path": path, "value": "x"}])));
        assert_eq!(kind, "mutability", "{path}: {detail}");
        assert!(detail.contains("readOnly"), "{detail}");
    }
    let (kind, _) = failure(ops(json!([{"op": "remove", "path": "id"}])));
    assert_eq!(kind, "mutability");
    let (kind, detail) = failure(ops(json!([{"op": "add", "path": "favouriteColour", "value": "x"}])));
    assert_eq!(kind, "invalidPath");
    assert!(detail.contains("favouriteColour"), "{detail}");
    let (kind, _) = failure(ops(json!([{"op": "add", "path": "name.nosuch", "value": "x"}])));
    assert_eq!(kind, "invalidPath");
    let (kind, _) = failure(ops(
        json!([{"op": "add", "path": "emails[type eq \"work\"].nosuch", "value": "x"}]),
    ));
    assert_eq!(kind, "invalidPath");
    let (kind, _) = failure(ops(
        json!([{"op": "add", "path": "title[value eq \"x\"]", "value": "x"}]),
    ));
    assert_eq!(kind, "invalidPath");
    // Type errors name the attribute.
    let (kind, detail) = failure(ops(json!([{"op": "replace", "path": "active", "value": "maybe"}])));
    assert_eq!(kind, "invalidValue");
    assert!(detail.contains("active"), "{detail}");
    let (kind, detail) = failure(ops(
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": 7}]),
    ));
    assert_eq!(kind, "invalidValue");
    assert!(detail.contains("emails.value"), "{detail}");
    let (kind, _) = failure(ops(json!([{"op": "add", "value": "not an object"}])));
    assert_eq!(kind, "invalidValue");
    // A failing operation rolls back the earlier ones.
    let (kind, _) = failure(ops(json!([
        {"op": "replace", "path": "title", "value": "first"},
        {"op": "replace", "path": "id", "value": "x"}
    ])));
    assert_eq!(kind, "mutability");
}

#[test]
fn unknown_things_that_are_tolerated() {
    let mut doc = stored_user();
    // Data of an extension this deployment does not serve: ignored (no-op), not a failure.
    let outcome = run(
        &mut doc,
        ops(json!([
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag", "value": "701984"},
            {"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": "x"}, "nosuch": 1}},
            {"op": "replace", "value": {"id": "other", "meta": {}, "schemas": ["x"]}}
        ])),
    )
    .expect("tolerated");
    assert!(!outcome.changed);
}

#[test]
fn immutable_attributes_of_custom_extensions() {
    use wif_scim::schema::{AttributeDef, AttributeType, Mutability, SchemaDef, SchemaExtension};
    let schema = ResourceSchema::user().with_extensions(vec![SchemaExtension {
        schema: SchemaDef {
            id: "urn:example:scim:Badge:2.0:User".into(),
            name: "Badge".into(),
            description: String::new(),
            attributes: vec![AttributeDef::new("badge", AttributeType::String).mutability(Mutability::Immutable)],
        },
        required: false,
    }]);
    let mut doc = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
    let set = |v: &str| PatchRequest::parse(&ops(json!([{"op": "add", "path": "badge", "value": v}]))).expect("parse");
    // An immutable attribute may be set once...
    assert!(apply(&mut doc, &set("B-1"), &schema).expect("first set").changed);
    // ...re-set to the same value...
    assert!(!apply(&mut doc, &set("B-1"), &schema).expect("same").changed);
    // ...but not changed.
    let e = apply(&mut doc, &set("B-2"), &schema).expect_err("immutable");
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("mutability"));
}

#[test]
fn password_is_taken_out() {
    let mut doc = stored_user();
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "replace", "path": "password", "value": "t1meMa$heen"}])),
    )
    .expect("password");
    assert_eq!(outcome.password.as_deref(), Some("t1meMa$heen"));
    assert!(outcome.changed);
    assert!(doc.get("password").is_none());
}

// ---------------------------------------------------------------------------------------------------------------
// Entra request shapes, verbatim

#[test]
fn entra_update_user_multi_valued_properties() {
    // Tutorial "Update User [Multi-valued properties]".
    let doc = patched(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
                {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "updatedEmail@microsoft.com"
                },
                {
                "op": "Replace",
                "path": "name.familyName",
                "value": "updatedFamilyName"
                }
        ]
    }));
    assert_eq!(
        doc["emails"][0],
        json!({"value": "updatedEmail@microsoft.com", "type": "work", "primary": true})
    );
    assert_eq!(doc["name"]["familyName"], "updatedFamilyName");
}

#[test]
fn entra_update_user_single_valued_properties() {
    let doc = patched(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "path": "userName",
            "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        }]
    }));
    assert_eq!(doc["userName"], "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com");
}

#[test]
fn entra_disable_user_with_and_without_the_compliance_flag() {
    // Tutorial "Disable User" and the aadOptscim062020 "with feature flag" shape.
    let doc = patched(json!({
        "Operations": [
            {
                "op": "Replace",
                "path": "active",
                "value": false
            }
        ],
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ]
    }));
    assert_eq!(doc["active"], false);
    // Known issues page, "without feature flag": a string boolean.
    let doc = patched(json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Replace",
                "path": "active",
                "value": "False"
            }
        ]
    }));
    assert_eq!(doc["active"], false);
    let doc = patched(ops(json!([{"op": "replace", "path": "active", "value": "false"}])));
    assert_eq!(doc["active"], false);
    let mut doc = patched(ops(json!([{"op": "Replace", "path": "active", "value": "False"}])));
    run(
        &mut doc,
        ops(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    )
    .expect("re-enable");
    assert_eq!(doc["active"], true);
}

#[test]
fn entra_add_single_value_string_attribute() {
    for op in ["Add", "add"] {
        let mut doc = stored_user();
        run(&mut doc, ops(json!([{"op": "remove", "path": "nickName"}]))).expect("clear");
        run(
            &mut doc,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                  {
                    "op": op,
                    "path": "nickName",
                    "value": "Babs"
                  }
                ]
            }),
        )
        .expect("add nickName");
        assert_eq!(doc["nickName"], "Babs");
    }
}

#[test]
fn entra_replace_multiple_attributes_without_flag() {
    let doc = patched(json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Replace",
                "path": "displayName",
                "value": "Pvlo"
            },
            {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "TestBcwqnm@test.microsoft.com"
            },
            {
                "op": "Replace",
                "path": "name.givenName",
                "value": "Gtfd"
            },
            {
                "op": "Replace",
                "path": "name.familyName",
                "value": "Pkqf"
            },
            {
                "op": "Replace",
                "path": "externalId",
                "value": "Eqpj"
            },
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "value": "Eqpj"
            }
        ]
    }));
    assert_eq!(doc["displayName"], "Pvlo");
    assert_eq!(doc["emails"][0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(doc["name"], json!({"givenName": "Gtfd", "familyName": "Pkqf"}));
    assert_eq!(doc["externalId"], "Eqpj");
    assert_eq!(doc[ENTERPRISE]["employeeNumber"], "Eqpj");
}

#[test]
fn entra_replace_multiple_attributes_with_flag_uses_path_keys() {
    let doc = patched(json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "replace",
                "path": "emails[type eq \"work\"].value",
                "value": "TestMhvaes@test.microsoft.com"
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
                }
            }
        ]
    }));
    assert_eq!(doc["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
    assert_eq!(doc["displayName"], "Bjfe");
    assert_eq!(doc["name"], json!({"givenName": "Kkom", "familyName": "Unua"}));
    assert_eq!(doc[ENTERPRISE]["employeeNumber"], "Aklq");
    assert_eq!(doc[ENTERPRISE]["department"], "Tour Operations");
    assert!(doc.get("name.givenName").is_none());
}

#[test]
fn entra_path_less_add_with_dotted_and_urn_keys() {
    let doc = patched(ops(json!([{"op": "Add", "value": {
        "name.givenName": "Barbie",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1234",
        "title": "Lead"
    }}])));
    assert_eq!(doc["name"]["givenName"], "Barbie");
    assert_eq!(doc[ENTERPRISE]["employeeNumber"], "1234");
    assert_eq!(doc["title"], "Lead");
}

#[test]
fn entra_work_email_on_a_user_without_one_is_created() {
    let mut doc = prepare_create(ResourceSchema::user(), json!({"userName": "nomail@example.com"}))
        .expect("user")
        .document;
    run(
        &mut doc,
        ops(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "nomail@example.com"}])),
    )
    .expect("created");
    assert_eq!(doc["emails"], json!([{"type": "work", "value": "nomail@example.com"}]));
    // Entra's "Add" form does the same, and a second one updates the element instead of adding another.
    run(
        &mut doc,
        ops(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "second@example.com"}])),
    )
    .expect("updated");
    assert_eq!(doc["emails"], json!([{"type": "work", "value": "second@example.com"}]));
    // Other multi-valued attributes Entra maps by type.
    run(
        &mut doc,
        ops(json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "555-0199"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin"}
        ])),
    )
    .expect("created");
    assert_eq!(doc["phoneNumbers"], json!([{"type": "fax", "value": "555-0199"}]));
    assert_eq!(
        doc["addresses"],
        json!([{"type": "work", "postalCode": "98052", "streetAddress": "1 Microsoft Way"}])
    );
    assert_eq!(doc["roles"], json!([{"primary": true, "value": "Admin"}]));
}

#[test]
fn entra_manager_shapes() {
    // Tutorial example 5: `manager` unqualified, value as an array of {$ref, value}.
    let doc = patched(json!({
        "schemas":
        [
          "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":
        [
          {
            "op":"Add",
            "path":"manager",
            "value":
              [
                {
                  "$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                  "value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}));
    assert_eq!(
        doc[ENTERPRISE]["manager"],
        json!({"$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee", "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"})
    );
    // A raw id string (SCIM-SDK documents this Entra shape).
    let doc = patched(json!({
        "Operations": [
            {
                "op": "Add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": "271"
            }
        ],
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ]
    }));
    assert_eq!(doc[ENTERPRISE]["manager"], json!({"value": "271"}));
    // {value} (Microsoft's SCIM validator).
    let doc = patched(ops(
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "CBEQXYNPNAZS"}}]),
    ));
    assert_eq!(doc[ENTERPRISE]["manager"], json!({"value": "CBEQXYNPNAZS"}));
}

#[test]
fn entra_manager_removal() {
    let removals = [
        json!({"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}),
        json!({"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}),
        json!({"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": ""}),
        json!({"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": ""}}),
        json!({"op": "Add", "path": "manager", "value": ""}),
        json!({"op": "Remove", "path": "manager", "value": [{"value": "m-1"}]}),
        json!({"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": null}),
    ];
    for operation in removals {
        let doc = patched(ops(json!([operation.clone()])));
        assert!(doc[ENTERPRISE].get("manager").is_none(), "{operation}");
        assert_eq!(doc[ENTERPRISE]["employeeNumber"], "701984", "{operation}");
    }
}

#[test]
fn entra_stringified_roles() {
    // SCIM-SDK issue #516: Entra's AppRoleAssignmentsComplex PATCH.
    let doc = patched(ops(json!([{
        "op": "Add",
        "path": "roles",
        "value": [
            {
                "value": "{\"id\":\"827f0d2e-be15-4d8f-a8e3-f8697239c112\",\"value\":\"DocumentMgmt-Admin\",\"displayName\":\"DocumentMgmt Admin\"}"
            },
            {
                "value": "{\"id\":\"8ae06bd4-35bb-4fcd-977e-14e074ad1192\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"
            }
        ]
    }])));
    assert_eq!(
        doc["roles"],
        json!([
            {"value": "DocumentMgmt-Admin", "display": "DocumentMgmt Admin"},
            {"value": "Admin", "display": "Admin"}
        ])
    );
    // The whole list as one string.
    let doc = patched(ops(json!([{
        "op": "Replace",
        "path": "roles",
        "value": "[{\"primary\":\"True\",\"type\":\"WindowsAzureActiveDirectoryRole\",\"value\":\"Admin\"}]"
    }])));
    assert_eq!(
        doc["roles"],
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    );
}

#[test]
fn entra_remove_values_listed_in_value() {
    let doc = patched(ops(
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}]),
    ));
    assert_eq!(
        doc["emails"],
        json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
    );
    // A value that names nothing removable removes nothing (never the whole attribute).
    let mut doc = stored_user();
    let outcome = run(
        &mut doc,
        ops(json!([{"op": "Remove", "path": "emails", "value": [{}]}])),
    )
    .expect("nothing");
    assert!(!outcome.changed);
}

#[test]
fn entra_old_dot_notation_for_extension_attributes() {
    let doc = patched(ops(
        json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department", "value": "Sales"}]),
    ));
    assert_eq!(doc[ENTERPRISE]["department"], "Sales");
}

// ---------------------------------------------------------------------------------------------------------------
// Groups

fn stored_group() -> Value {
    let prepared = prepare_create(
        ResourceSchema::group(),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides", "externalId": "g-ext"}),
    )
    .expect("group");
    prepared.document
}

fn members_of(body: Value) -> (Vec<MemberOperation>, PatchRequest) {
    let mut request = PatchRequest::parse(&body).expect("parse");
    let taken = take_member_operations(&mut request).expect("member operations");
    (taken, request)
}

fn member(id: &str) -> MemberRef {
    MemberRef {
        value: id.into(),
        member_type: None,
    }
}

#[test]
fn entra_group_add_members() {
    let (taken, rest) = members_of(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "members",
            "value": [{
                "$ref": null,
                "value": "f648f8d5ea4e4cd38e9c"
            }]
        }]
    }));
    assert_eq!(taken, vec![MemberOperation::Add(vec![member("f648f8d5ea4e4cd38e9c")])]);
    assert!(rest.is_empty());
}

#[test]
fn entra_group_remove_members_both_shapes_remove_only_those() {
    // Tutorial "Update Group [Remove Members]" (and the known-issues page "without feature flag").
    let (taken, rest) = members_of(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Remove",
            "path": "members",
            "value": [{
                "$ref": null,
                "value": "f648f8d5ea4e4cd38e9c"
            }]
        }]
    }));
    assert_eq!(
        taken,
        vec![MemberOperation::Remove(vec!["f648f8d5ea4e4cd38e9c".into()])]
    );
    assert!(rest.is_empty());
    let (taken, _) = members_of(json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Remove",
                "path": "members",
                "value": [
                    {
                        "value": "u1091"
                    }
                ]
            }
        ]
    }));
    assert_eq!(taken, vec![MemberOperation::Remove(vec!["u1091".into()])]);
    // Known-issues page "with feature flag": a value filter.
    let (taken, _) = members_of(json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "remove",
                "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"
            }
        ]
    }));
    assert_eq!(
        taken,
        vec![MemberOperation::Remove(vec![
            "7f4bc1a3-285e-48ae-8202-5accb43efb0e".into()
        ])]
    );
    let (taken, _) = members_of(ops(
        json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
    ));
    assert_eq!(taken, vec![MemberOperation::Remove(vec!["a".into(), "b".into()])]);
    // Only a bare remove of `members` removes everyone.
    let (taken, _) = members_of(ops(json!([{"op": "remove", "path": "members"}])));
    assert_eq!(taken, vec![MemberOperation::RemoveAll]);
    let (taken, _) = members_of(ops(json!([{"op": "remove", "path": "members", "value": []}])));
    assert_eq!(taken, vec![MemberOperation::Remove(vec![])]);
}

#[test]
fn group_member_operations_in_every_position() {
    let (taken, rest) = members_of(ops(json!([
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": "u1", "type": "User"}, {"value": "u2"}, {"value": "u1"}]},
        {"op": "replace", "value": {"displayName": "Again", "members": [{"value": "u3"}]}},
        {"op": "add", "value": {"members": [{"value": "u4"}]}},
        {"op": "replace", "path": "members", "value": []},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": {"value": "u5"}},
        {"op": "add", "path": "members", "value": ["u6"]}
    ])));
    assert_eq!(
        taken,
        vec![
            MemberOperation::Add(vec![
                MemberRef {
                    value: "u1".into(),
                    member_type: Some("User".into())
                },
                member("u2")
            ]),
            MemberOperation::Replace(vec![member("u3")]),
            MemberOperation::Add(vec![member("u4")]),
            MemberOperation::Replace(vec![]),
            MemberOperation::Add(vec![member("u5")]),
            MemberOperation::Add(vec![member("u6")]),
        ]
    );
    // The rest applies to the group document.
    assert_eq!(rest.operations.len(), 2);
    let mut doc = stored_group();
    let outcome = apply(&mut doc, &rest, ResourceSchema::group()).expect("group patch");
    assert!(outcome.changed);
    assert_eq!(doc["displayName"], "Again");
    assert!(doc.get("members").is_none());
}

#[test]
fn group_member_operation_errors() {
    for body in [
        ops(json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}])),
        ops(json!([{"op": "add", "path": "members", "value": [42]}])),
        ops(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])),
        ops(json!([{"op": "replace", "path": "members[value eq \"x\"]", "value": {"value": "y"}}])),
        ops(json!([{"op": "replace", "path": "members[value eq \"x\"].display", "value": "y"}])),
        ops(json!([{"op": "replace", "path": "members.value", "value": "y"}])),
    ] {
        let mut request = PatchRequest::parse(&body).expect("parse");
        let e = take_member_operations(&mut request).expect_err(&body.to_string());
        assert_eq!(e.status, 400, "{body}");
    }
    // apply refuses member operations that were not taken out first.
    let request = PatchRequest::parse(&ops(
        json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
    ))
    .expect("parse");
    let mut doc = stored_group();
    assert!(apply(&mut doc, &request, ResourceSchema::group()).is_err());
}

#[test]
fn entra_group_non_member_attributes() {
    let mut doc = stored_group();
    let request = PatchRequest::parse(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "path": "displayName",
            "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
        }]
    }))
    .expect("parse");
    assert!(
        apply(&mut doc, &request, ResourceSchema::group())
            .expect("apply")
            .changed
    );
    assert_eq!(
        doc["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    // The validator's path-less replace of externalId.
    let request = PatchRequest::parse(&json!({
      "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations": [
        {
          "op": "replace",
          "value": {
            "externalId": "c3b97a69-ee33-427b-8bc1-d661b7769314"
          }
        }
      ]
    }))
    .expect("parse");
    apply(&mut doc, &request, ResourceSchema::group()).expect("apply");
    assert_eq!(doc["externalId"], "c3b97a69-ee33-427b-8bc1-d661b7769314");
    let request = PatchRequest::parse(&ops(json!([{"op": "remove", "path": "displayName"}]))).expect("parse");
    let e = apply(&mut doc, &request, ResourceSchema::group()).expect_err("required");
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidValue"));
}

#[test]
fn arbitrary_operations_never_panic() {
    let paths = [
        "title",
        "emails",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "name",
        "name.givenName",
        "addresses[type eq \"x\" or value pr].locality",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "manager.value",
        "active",
        "roles",
        "id",
        "x509Certificates.value",
        "members",
    ];
    let values = [
        json!(null),
        json!(""),
        json!("x"),
        json!(true),
        json!("True"),
        json!(1),
        json!([]),
        json!([1, "a", null]),
        json!({}),
        json!({"value": "v", "type": "work", "primary": true}),
        json!([{"value": "v", "primary": "True"}]),
        json!({"name.givenName": "g", "nosuch": 1}),
    ];
    let mut seed: u64 = 7;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..3_000 {
        let mut operations = Vec::new();
        for _ in 0..(1 + next(4)) {
            let op = ["add", "replace", "remove"][next(3)];
            let mut o = json!({"op": op});
            if next(5) != 0 {
                o["path"] = json!(paths[next(paths.len())]);
            }
            if next(4) != 0 {
                o["value"] = values[next(values.len())].clone();
            }
            operations.push(o);
        }
        let mut doc = stored_user();
        if let Ok(request) = PatchRequest::parse(&ops(Value::Array(operations))) {
            let _ = apply(&mut doc, &request, ResourceSchema::user());
        }
    }
}
