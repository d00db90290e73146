//! Filter evaluation and schema validation: caseExact per attribute, every type, multi-valued attributes, `pr`,
//! `ne`/null semantics, value paths, URN paths, Entra's lookups and the invalidFilter rules.

use serde_json::{Value, json};
use wif_scim::entra_compat::filter::parse_and_validate;
use wif_scim::filter::{matches, parse, validate};
use wif_scim::schema::{AttributeDef, AttributeType, ResourceSchema, SchemaDef, SchemaExtension};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "BJensen",
        "userName": "Bjensen@Example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "postalCode": "91608"}],
        "roles": [{"value": "Admin", "primary": true}],
        "x509Certificates": [{"value": "TUlJRHFEQ0NBcEdnQXdJQkFnSUJBVEFOQmdrcWhraUc5dzBCQVFVRkFEQQ=="}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "type": "User"}]
    })
}

#[track_caller]
fn check(text: &str, expected: bool) {
    let schema = ResourceSchema::user();
    let filter = parse_and_validate(text, schema).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(matches(&filter, &user(), schema), expected, "{text}");
}

#[track_caller]
fn rejected(text: &str) -> String {
    let e = parse_and_validate(text, ResourceSchema::user()).expect_err(text);
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidFilter"), "{text}");
    e.detail
}

#[test]
fn case_exact_follows_the_schema() {
    // userName, emails.value, displayName, name.* are caseExact=false.
    check(r#"userName eq "bjensen@example.com""#, true);
    check(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#, true);
    check(r#"emails.value eq "BJENSEN@example.COM""#, true);
    check(r#"name.familyName eq "jensen""#, true);
    check(r#"displayName co "BABS""#, true);
    // id, externalId and meta.version are caseExact=true.
    check(r#"externalId eq "BJensen""#, true);
    check(r#"externalId eq "bjensen""#, false);
    check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false);
    check(r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true);
    check(r#"meta.version eq "W/\"3694E05E9DFF591\"""#, false);
    check(r#"meta.resourceType eq "User""#, true);
    check(r#"meta.resourceType eq "user""#, false);
}

#[test]
fn string_operators() {
    check(r#"userName sw "bjen""#, true);
    check(r#"userName sw "jensen""#, false);
    check(r#"userName ew "EXAMPLE.com""#, true);
    check(r#"userName co "@exam""#, true);
    check(r#"userName co "nope""#, false);
    check(r#"userName ne "other""#, true);
    check(r#"userName ne "BJENSEN@example.com""#, false);
    check(r#"title gt "Tour""#, true);
    check(r#"title lt "tour guide""#, false);
    check(r#"title le "tour guide""#, true);
    check(r#"title ge "TOUR GUIDE""#, true);
    check(r#"userName co """#, true);
}

#[test]
fn booleans_numbers_dates_and_binary() {
    check("active eq true", true);
    check("active eq false", false);
    check("active ne false", true);
    // Entra's string booleans are normalised before validation.
    check(r#"active eq "True""#, true);
    check(r#"roles[primary eq "True"]"#, true);
    check(r#"roles[primary eq "False"]"#, false);
    // dateTime compares instants, whatever the offset or precision.
    check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true);
    check(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true);
    check(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#, true);
    check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false);
    check(r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true);
    check(
        r#"meta.created ge "2010-01-23T04:56:22Z" and meta.created lt "2010-01-24T00:00:00Z""#,
        true,
    );
    // Binary is caseExact and compares as text.
    check(
        r#"x509Certificates.value eq "TUlJRHFEQ0NBcEdnQXdJQkFnSUJBVEFOQmdrcWhraUc5dzBCQVFVRkFEQQ==""#,
        true,
    );
    check(
        r#"x509Certificates.value eq "tuljrhfeq0nbcednqxdjqkfnsujbvefoqmdrcwhraudvdzbcqvfvrkfequ==""#,
        false,
    );
}

#[test]
fn numbers_in_a_custom_extension() {
    let ext = SchemaExtension {
        schema: SchemaDef {
            id: "urn:example:params:scim:schemas:extension:Metrics:2.0:User".into(),
            name: "Metrics".into(),
            description: String::new(),
            attributes: vec![
                AttributeDef::new("logins", AttributeType::Integer),
                AttributeDef::new("score", AttributeType::Decimal),
            ],
        },
        required: false,
    };
    let schema = ResourceSchema::user().with_extensions(vec![ext]);
    let doc = json!({"userName": "a", "urn:example:params:scim:schemas:extension:Metrics:2.0:User": {"logins": 10, "score": 2.5}});
    for (text, expected) in [
        ("logins gt 9", true),
        ("logins gt 10", false),
        ("logins ge 10", true),
        ("logins eq 10.0", true),
        ("score lt 3", true),
        ("score eq 2.5", true),
        (
            "urn:example:params:scim:schemas:extension:Metrics:2.0:User:score gt 2",
            true,
        ),
    ] {
        let f = parse_and_validate(text, &schema).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(matches(&f, &doc, &schema), expected, "{text}");
    }
    for text in [r#"logins eq "10""#, r#"logins co "1""#, "score eq true"] {
        assert!(parse_and_validate(text, &schema).is_err(), "{text}");
    }
}

#[test]
fn multi_valued_and_complex_attributes() {
    // Any element matches.
    check(r#"emails.value eq "babs@jensen.org""#, true);
    check(r#"emails.type eq "home""#, true);
    // A complex attribute without a sub-attribute compares its `value`.
    check(r#"emails co "jensen.org""#, true);
    check(r#"emails eq "nobody@example.com""#, false);
    // Value paths require one element to satisfy the whole expression.
    check(r#"emails[type eq "work" and value co "@example.com"]"#, true);
    check(r#"emails[type eq "home" and value co "@example.com"]"#, false);
    check(r#"emails[type eq "work"].value eq "bjensen@example.com""#, true);
    check(r#"emails[type eq "work"].value eq "babs@jensen.org""#, false);
    check(r#"emails[not (type eq "work")]"#, true);
    check(r#"emails[primary eq true].value sw "bjensen""#, true);
    check(r#"addresses[type eq "work"].postalCode eq "91608""#, true);
    check(r#"addresses[type eq "work" and locality eq "hollywood"]"#, true);
    check(r#"phoneNumbers[type eq "mobile"]"#, false);
    // `ne` is "no value equals".
    check(r#"emails.type ne "home""#, false);
    check(r#"emails.type ne "other""#, true);
    // RFC 7644's compound example.
    check(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        true,
    );
    check(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        false,
    );
}

#[test]
fn present_and_null() {
    check("title pr", true);
    check("nickName pr", false);
    check("emails pr", true);
    check("emails.display pr", false);
    check("name.givenName pr", true);
    check("name.middleName pr", false);
    check("title eq null", false);
    check("nickName eq null", true);
    check("nickName ne null", false);
    check("title ne null", true);
    let schema = ResourceSchema::user();
    let empty = json!({"userName": "", "nickName": null, "emails": [], "name": {}, "title": "x"});
    for (text, expected) in [
        ("userName pr", false),
        ("nickName pr", false),
        ("emails pr", false),
        ("name pr", false),
        ("title pr", true),
        ("name.givenName pr", false),
    ] {
        assert_eq!(matches(&parse(text).expect(text), &empty, schema), expected, "{text}");
    }
}

#[test]
fn extension_attributes() {
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        true,
    );
    check(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:employeeNumber eq "701984""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co "smith""#,
        true,
    );
    // Unqualified extension attributes resolve too (Entra's `manager eq ".."`).
    check(r#"employeeNumber eq "701984""#, true);
    check(
        r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        true,
    );
    check(
        r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "someone-else""#,
        false,
    );
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#,
        true,
    );
}

#[test]
fn group_membership_check() {
    let schema = ResourceSchema::group();
    for (text, expected) in [
        (
            r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a" and members eq "2819c223-7f76-453a-919d-413861904646""#,
            true,
        ),
        (
            r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a" and members eq "nobody""#,
            false,
        ),
        (r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#, true),
        (r#"members.type eq "user""#, true),
        (r#"displayName eq "TOUR GUIDES""#, true),
        (r#"displayName eq "Tour""#, false),
    ] {
        let f = parse_and_validate(text, schema).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(matches(&f, &group(), schema), expected, "{text}");
    }
}

#[test]
fn entra_test_connection_matches_nothing() {
    let f = parse_and_validate(
        r#"userName eq "a3c0ab2b-ef2f-4b6c-97c9-dc6e5c7ef26b""#,
        ResourceSchema::user(),
    )
    .expect("valid");
    assert!(!matches(&f, &user(), ResourceSchema::user()));
    // Unquoted values from Microsoft's tutorial are accepted by the lenient entry point.
    let f = parse_and_validate("externalId eq BJensen", ResourceSchema::user()).expect("valid");
    assert!(matches(&f, &user(), ResourceSchema::user()));
}

#[test]
fn validation_rejects_what_cannot_match() {
    assert!(rejected(r#"nosuch eq "x""#).contains("unknown attribute 'nosuch'"));
    assert!(rejected(r#"name.nosuch eq "x""#).contains("unknown attribute"));
    assert!(rejected(r#"urn:example:unknown:2.0:User:x eq "x""#).contains("unknown attribute"));
    assert!(rejected(r#"emails[nosuch eq "x"]"#).contains("no sub-attribute 'nosuch'"));
    assert!(rejected(r#"userName[value eq "x"]"#).contains("not a complex attribute"));
    assert!(rejected(r#"password eq "secret""#).contains("cannot be used in a filter"));
    assert!(rejected(r#"name eq "x""#).contains("complex attribute"));
    // RFC 7644 §3.4.2.2: ordering operators on boolean and binary attributes are invalidFilter.
    assert!(rejected("active gt true").contains("not defined for the boolean"));
    assert!(rejected(r#"x509Certificates.value lt "AA==""#).contains("binary"));
    assert!(rejected(r#"active co "t""#).contains("needs a string attribute"));
    assert!(rejected(r#"active eq "yes""#).contains("boolean"));
    assert!(rejected("userName eq 42").contains("quoted string"));
    assert!(rejected("userName eq true").contains("quoted string"));
    assert!(rejected(r#"meta.lastModified gt "yesterday""#).contains("RFC 3339"));
    assert!(rejected("userName gt null").contains("null"));
    // Syntax errors surface through the same entry point.
    assert!(rejected(r#"userName eq "x" and"#).contains("column"));
    // validate() alone on a parsed tree.
    assert!(validate(&parse(r#"userName eq "x""#).expect("parse"), ResourceSchema::user()).is_ok());
    assert!(validate(&parse(r#"members eq "x""#).expect("parse"), ResourceSchema::user()).is_err());
}

#[test]
fn unknown_attributes_never_match_when_not_validated() {
    let f = parse(r#"nosuch eq "x" or not (nosuch pr)"#).expect("parse");
    // `not` of a non-match is a match; the unknown comparison itself is simply false.
    assert!(matches(&f, &user(), ResourceSchema::user()));
    let f = parse(r#"nosuch eq "x""#).expect("parse");
    assert!(!matches(&f, &user(), ResourceSchema::user()));
}
