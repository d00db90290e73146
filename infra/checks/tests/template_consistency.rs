//! The committed template agrees with every function's declarations, and the check provably fails for the kinds
//! of drift it exists to catch: each test below breaks the real template text in one way and expects that exact
//! violation.

mod common;

use common::FUNCTIONS;
use infra_checks::{TEMPLATE_YAML, Violation, check};

fn violations_of(template: &str) -> Vec<Violation> {
    check(template, FUNCTIONS)
}

/// Replaces the only occurrence of `from` that follows `anchor` (so a change lands in one resource).
fn edit(anchor: &str, from: &str, to: &str) -> String {
    let start = TEMPLATE_YAML
        .find(anchor)
        .unwrap_or_else(|| panic!("template has no {anchor:?}"));
    let offset = TEMPLATE_YAML[start..]
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} after {anchor:?}"));
    let at = start + offset;
    format!("{}{}{}", &TEMPLATE_YAML[..at], to, &TEMPLATE_YAML[at + from.len()..])
}

/// The template without one top-level resource block.
fn without_resource(logical_id: &str) -> String {
    let header = format!("\n  {logical_id}:\n");
    let start = TEMPLATE_YAML.find(&header).expect("resource") + 1;
    let rest = &TEMPLATE_YAML[start + header.len() - 1..];
    let end = rest
        .match_indices("\n  ")
        .find(|(i, _)| {
            let line = &rest[i + 3..];
            line.starts_with(|c: char| c.is_ascii_uppercase())
        })
        .map(|(i, _)| start + header.len() - 1 + i + 1)
        .or_else(|| rest.find("\nOutputs:").map(|i| start + header.len() - 1 + i + 1))
        .expect("end of resource");
    format!("{}{}", &TEMPLATE_YAML[..start], &TEMPLATE_YAML[end..])
}

fn expect(template: &str, wanted: &Violation) {
    let violations = violations_of(template);
    assert!(
        violations.contains(wanted),
        "expected {wanted:?}\n  got: {}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n       ")
    );
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn committed_template_matches_every_declaration() {
    let violations = violations_of(TEMPLATE_YAML);
    assert!(
        violations.is_empty(),
        "infra/template.yaml disagrees with the code:\n  {}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn a_removed_table_is_caught() {
    let template = without_resource("KeysTable");
    assert!(!template.contains("\n  KeysTable:\n"));
    expect(&template, &Violation::MissingTable { table: s("KeysTable") });
}

#[test]
fn an_action_widened_to_a_wildcard_is_caught() {
    let template = edit(
        "  JwksRefreshRole:",
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]",
        "Action: [\"dynamodb:*\"]",
    );
    expect(
        &template,
        &Violation::WildcardAction {
            function: s("JwksRefreshFunction"),
            action: s("dynamodb:*"),
        },
    );
    expect(
        &template,
        &Violation::ActionMissing {
            function: s("JwksRefreshFunction"),
            table: s("KeysTable"),
            action: s("dynamodb:PutItem"),
        },
    );
}

#[test]
fn an_extra_action_is_caught() {
    let template = edit(
        "  JwksRefreshRole:",
        "Action: [dynamodb:Scan]",
        "Action: [dynamodb:Scan, dynamodb:DeleteItem]",
    );
    expect(
        &template,
        &Violation::ActionExtra {
            function: s("JwksRefreshFunction"),
            table: s("ClientsTable"),
            action: s("dynamodb:DeleteItem"),
        },
    );
}

#[test]
fn a_missing_action_is_caught() {
    let template = edit(
        "  JwksRefreshRole:",
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]",
        "Action: [dynamodb:GetItem, dynamodb:PutItem]",
    );
    expect(
        &template,
        &Violation::ActionMissing {
            function: s("JwksRefreshFunction"),
            table: s("KeysTable"),
            action: s("dynamodb:UpdateItem"),
        },
    );
}

#[test]
fn an_extra_table_is_caught() {
    let template = edit(
        "  JwksRefreshRole:",
        "Resource: !GetAtt ClientsTable.Arn",
        "Resource: [!GetAtt ClientsTable.Arn, !GetAtt TokensTable.Arn]",
    );
    expect(
        &template,
        &Violation::ActionExtra {
            function: s("JwksRefreshFunction"),
            table: s("TokensTable"),
            action: s("dynamodb:Scan"),
        },
    );
}

#[test]
fn a_wildcard_or_hand_written_resource_is_caught() {
    for resource in ["\"*\"", "arn:aws:dynamodb:us-east-1:123456789012:table/*"] {
        let template = edit(
            "  JwksRefreshRole:",
            "Resource: !GetAtt ClientsTable.Arn",
            &format!("Resource: {resource}"),
        );
        let violations = violations_of(&template);
        assert!(
            violations.iter().any(
                |v| matches!(v, Violation::UnrecognisedResource { function, .. } if function == "JwksRefreshFunction")
            ),
            "{resource}: {violations:?}"
        );
    }
}

#[test]
fn an_index_the_table_lacks_is_caught() {
    let template = edit(
        "  AdminRole:",
        "${ClientsTable.Arn}/index/TenantIndex",
        "${ClientsTable.Arn}/index/NoSuchIndex",
    );
    expect(
        &template,
        &Violation::UnknownIndex {
            function: s("AdminFunction"),
            table: s("ClientsTable"),
            index: s("NoSuchIndex"),
        },
    );
}

#[test]
fn a_non_dynamodb_privilege_is_caught() {
    let template = edit(
        "  AdminRole:",
        "Action: [logs:CreateLogStream, logs:PutLogEvents]",
        "Action: [logs:CreateLogStream, logs:PutLogEvents, s3:GetObject]",
    );
    expect(
        &template,
        &Violation::UnexpectedAction {
            function: s("AdminFunction"),
            action: s("s3:GetObject"),
        },
    );
    let template = edit(
        "  AdminRole:",
        "Resource: !GetAtt AdminLogGroup.Arn",
        "Resource: !GetAtt TokenLogGroup.Arn",
    );
    expect(
        &template,
        &Violation::ForbiddenStatement {
            function: s("AdminFunction"),
            reason: s("logs:CreateLogStream is allowed only on the function's own log group (LoggingConfig)"),
        },
    );
}

#[test]
fn kms_without_the_dynamodb_condition_is_caught() {
    let template = edit(
        "  ScimRole:",
        "kms:ViaService: !Sub dynamodb.${AWS::Region}.amazonaws.com",
        "kms:ViaService: !Sub s3.${AWS::Region}.amazonaws.com",
    );
    expect(
        &template,
        &Violation::ForbiddenStatement {
            function: s("ScimFunction"),
            reason: s("kms:Decrypt is allowed only on the table key, through DynamoDB (kms:ViaService)"),
        },
    );
}

#[test]
fn privileges_from_outside_the_role_are_caught() {
    let policy = "\n  SneakyPolicy:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: sneaky\n      \
                  Roles: [!Ref ScimRole]\n      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          \
                  - Effect: Allow\n            Action: dynamodb:Scan\n            Resource: !GetAtt DirectoryTable.Arn\n";
    let template = TEMPLATE_YAML.replacen("\nOutputs:", &format!("{policy}\nOutputs:"), 1);
    expect(
        &template,
        &Violation::ActionExtra {
            function: s("ScimFunction"),
            table: s("DirectoryTable"),
            action: s("dynamodb:Scan"),
        },
    );
    let template = edit(
        "  ScimRole:",
        "      Policies:",
        "      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess]\n      Policies:",
    );
    expect(
        &template,
        &Violation::ManagedPolicyAttached {
            function: s("ScimFunction"),
            role: s("ScimRole"),
        },
    );
}

#[test]
fn a_shared_role_is_caught() {
    let template = edit(
        "  AdminFunction:",
        "Role: !GetAtt AdminRole.Arn",
        "Role: !GetAtt TokenRole.Arn",
    );
    expect(
        &template,
        &Violation::RoleShared {
            role: s("TokenRole"),
            functions: vec![s("TokenFunction"), s("AdminFunction")],
        },
    );
}

#[test]
fn environment_drift_is_caught() {
    let template = edit(
        "  JwksRefreshFunction:",
        "          WIF_KEYS_TABLE: !Ref KeysTable\n",
        "",
    );
    expect(
        &template,
        &Violation::EnvMissing {
            function: s("JwksRefreshFunction"),
            variable: s("WIF_KEYS_TABLE"),
        },
    );
    let template = edit(
        "  JwksRefreshFunction:",
        "          WIF_KEYS_TABLE: !Ref KeysTable\n",
        "          WIF_KEYS_TABLE: !Ref KeysTable\n          WIF_UNREAD_SETTING: \"1\"\n",
    );
    expect(
        &template,
        &Violation::EnvUnknown {
            function: s("JwksRefreshFunction"),
            variable: s("WIF_UNREAD_SETTING"),
        },
    );
    let template = edit(
        "  JwksRefreshFunction:",
        "WIF_KEYS_TABLE: !Ref KeysTable",
        "WIF_KEYS_TABLE: !Ref ClientsTable",
    );
    expect(
        &template,
        &Violation::EnvWrongTable {
            function: s("JwksRefreshFunction"),
            variable: s("WIF_KEYS_TABLE"),
            expected: s("KeysTable"),
            found: s(r#"{"Ref":"ClientsTable"}"#),
        },
    );
}

#[test]
fn an_undeclared_function_is_caught() {
    let function = "\n  ExtraFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      \
                    CodeUri: ../functions/admin\n      Role: !GetAtt AdminRole.Arn\n";
    let template = TEMPLATE_YAML.replacen("\nOutputs:", &format!("{function}\nOutputs:"), 1);
    expect(
        &template,
        &Violation::UnknownFunction {
            function: s("ExtraFunction"),
        },
    );
}

#[test]
fn broken_yaml_is_a_violation_not_a_panic() {
    let violations = violations_of("Resources: [unclosed\n");
    assert!(
        matches!(violations.as_slice(), [Violation::Template(_)]),
        "{violations:?}"
    );
}

#[test]
fn public_surface_is_as_designed() {
    let template = infra_checks::template::Template::parse(TEMPLATE_YAML).unwrap();
    let auth = |id: &str| {
        template.resource(id).unwrap()["Properties"]["FunctionUrlConfig"]["AuthType"]
            .as_str()
            .map(str::to_owned)
    };
    // Entra cannot sign AWS requests: the token and SCIM functions authenticate every request themselves.
    assert_eq!(auth("TokenFunction").as_deref(), Some("NONE"));
    assert_eq!(auth("ScimFunction").as_deref(), Some("NONE"));
    // The admin API is for IAM principals only.
    assert_eq!(auth("AdminFunction").as_deref(), Some("AWS_IAM"));
    assert_eq!(auth("JwksRefreshFunction"), None, "the refresher has no URL");
    for function in ["TokenFunction", "ScimFunction", "AdminFunction", "JwksRefreshFunction"] {
        let metadata = &template.resource(function).unwrap()["Metadata"];
        assert_eq!(metadata["BuildMethod"], "rust-cargolambda", "{function}");
        let binary = metadata["BuildProperties"]["Binary"].as_str().unwrap();
        let code_uri = template.resource(function).unwrap()["Properties"]["CodeUri"]
            .as_str()
            .unwrap();
        assert_eq!(
            code_uri,
            format!("../functions/{binary}"),
            "{function} builds its own workspace member"
        );
    }
}

#[test]
fn stream_bus_queue_and_signing_key_grants_are_checked_like_table_grants() {
    let template = edit(
        "  EventsRole:",
        "Action: [events:PutEvents]",
        "Action: [events:PutRule]",
    );
    expect(
        &template,
        &Violation::ActionMissing {
            function: s("EventsFunction"),
            table: s("EventsBus"),
            action: s("events:PutEvents"),
        },
    );
    expect(
        &template,
        &Violation::ActionExtra {
            function: s("EventsFunction"),
            table: s("EventsBus"),
            action: s("events:PutRule"),
        },
    );
    let template = edit(
        "  EventsFeedRole:",
        "Action: [kms:GetPublicKey, kms:Sign]",
        "Action: [kms:GetPublicKey, kms:Sign, kms:Decrypt]",
    );
    expect(
        &template,
        &Violation::ActionExtra {
            function: s("EventsFeedFunction"),
            table: s("EventsSigningKey"),
            action: s("kms:Decrypt"),
        },
    );
    let template = edit("  EventsRole:", "dynamodb:GetRecords, ", "");
    expect(
        &template,
        &Violation::ActionMissing {
            function: s("EventsFunction"),
            table: s("DirectoryTable.StreamArn"),
            action: s("dynamodb:GetRecords"),
        },
    );
}

#[test]
fn the_portal_signs_only_with_its_own_signing_key() {
    let without = edit("PortalRole:", "Action: [kms:Sign]", "Action: [kms:GetPublicKey]");
    expect(
        &without,
        &Violation::ActionMissing {
            function: s("PortalFunction"),
            table: s("PortalSigningKey"),
            action: s("kms:Sign"),
        },
    );
    let elsewhere = edit(
        "PortalRole:",
        "Resource: !GetAtt PortalSigningKey.Arn",
        "Resource: \"*\"",
    );
    expect(
        &elsewhere,
        &Violation::UnexpectedAction {
            function: s("PortalFunction"),
            action: s("kms:Sign"),
        },
    );
}
