//! The consistency check between the code and infra/template.yaml: every table the code touches exists, every
//! environment variable a function reads is set on it (and nothing else is), and each function's role grants
//! exactly the DynamoDB actions its code sends, on exactly those tables. It takes the template as text, so tests
//! can prove it rejects broken templates.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;
use wif_store::TableKind;

use crate::template::{IAM_ROLE, Template, as_get_att, as_ref, is_no_value, single_key};

/// What one function's code needs, as its `permissions.rs` declares it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    /// The crate, e.g. `token` (used in messages).
    pub name: &'static str,
    /// The function's logical id in the template, e.g. `TokenFunction`.
    pub logical_id: &'static str,
    /// Table → IAM actions the code sends to it.
    pub dynamodb: &'static [(TableKind, &'static [&'static str])],
    /// Every environment variable the function's configuration reads.
    pub env_vars: &'static [&'static str],
    /// Other AWS resources (template logical id, `T.StreamArn` for a table's stream) → actions on them.
    pub aws: &'static [(&'static str, &'static [&'static str])],
}

/// The only KMS actions a role may hold: DynamoDB's use of a customer-managed table key on the caller's behalf.
pub const TABLE_KEY_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// What writing to a function's own log group takes.
pub const LOG_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    Template(String),
    /// The code names a table the template does not define.
    MissingTable {
        table: String,
    },
    /// The template defines a table no code uses.
    UnknownTable {
        table: String,
    },
    MissingFunction {
        function: String,
    },
    /// A function in the template that no declaration covers: its privileges cannot be checked.
    UnknownFunction {
        function: String,
    },
    InvalidDeclaration {
        function: String,
        reason: String,
    },
    RoleNotExplicit {
        function: String,
        reason: String,
    },
    RoleShared {
        role: String,
        functions: Vec<String>,
    },
    ManagedPolicyAttached {
        function: String,
        role: String,
    },
    /// The code reads a variable the template does not set on that function.
    EnvMissing {
        function: String,
        variable: String,
    },
    /// The template sets a variable the function never reads.
    EnvUnknown {
        function: String,
        variable: String,
    },
    EnvWrongTable {
        function: String,
        variable: String,
        expected: String,
        found: String,
    },
    /// A table the function has no name for, or a table name it is given but may not use.
    TableAccessWithoutName {
        function: String,
        table: String,
    },
    TableNameWithoutAccess {
        function: String,
        table: String,
    },
    /// The code sends an action the role does not grant on that table (it would fail with AccessDenied).
    ActionMissing {
        function: String,
        table: String,
        action: String,
    },
    /// The role grants an action the code never sends on that table (more privilege than needed).
    ActionExtra {
        function: String,
        table: String,
        action: String,
    },
    WildcardAction {
        function: String,
        action: String,
    },
    UnexpectedAction {
        function: String,
        action: String,
    },
    UnrecognisedResource {
        function: String,
        action: String,
        resource: String,
    },
    UnknownIndex {
        function: String,
        table: String,
        index: String,
    },
    IndexWithoutQuery {
        function: String,
        table: String,
        index: String,
    },
    ForbiddenStatement {
        function: String,
        reason: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Template(reason) => write!(f, "the template cannot be read: {reason}"),
            Violation::MissingTable { table } => write!(f, "the code uses table {table}, the template lacks it"),
            Violation::UnknownTable { table } => write!(f, "the template defines table {table}, no code uses it"),
            Violation::MissingFunction { function } => write!(f, "the template lacks function {function}"),
            Violation::UnknownFunction { function } => write!(
                f,
                "function {function} has no permissions declaration, so its privileges cannot be checked"
            ),
            Violation::InvalidDeclaration { function, reason } => {
                write!(f, "{function}: permissions.rs is inconsistent: {reason}")
            }
            Violation::RoleNotExplicit { function, reason } => {
                write!(
                    f,
                    "{function}: needs its own AWS::IAM::Role (Role: !GetAtt <Role>.Arn): {reason}"
                )
            }
            Violation::RoleShared { role, functions } => {
                write!(
                    f,
                    "role {role} is shared by {}; every function needs its own",
                    functions.join(", ")
                )
            }
            Violation::ManagedPolicyAttached { function, role } => {
                write!(
                    f,
                    "{function}: role {role} has managed policies attached; grant only inline statements"
                )
            }
            Violation::EnvMissing { function, variable } => {
                write!(f, "{function}: the code reads {variable}, the template does not set it")
            }
            Violation::EnvUnknown { function, variable } => {
                write!(f, "{function}: the template sets {variable}, the code never reads it")
            }
            Violation::EnvWrongTable {
                function,
                variable,
                expected,
                found,
            } => write!(
                f,
                "{function}: {variable} must be !Ref {expected}, the template has {found}"
            ),
            Violation::TableAccessWithoutName { function, table } => {
                write!(f, "{function}: uses {table} but is not given its name")
            }
            Violation::TableNameWithoutAccess { function, table } => {
                write!(
                    f,
                    "{function}: is given the name of {table} but declares no access to it"
                )
            }
            Violation::ActionMissing {
                function,
                table,
                action,
            } => write!(
                f,
                "{function}: the code sends {action} to {table}, its role does not grant it"
            ),
            Violation::ActionExtra {
                function,
                table,
                action,
            } => write!(
                f,
                "{function}: its role grants {action} on {table}, the code never sends it"
            ),
            Violation::WildcardAction { function, action } => {
                write!(f, "{function}: wildcard action {action}; name each action")
            }
            Violation::UnexpectedAction { function, action } => {
                write!(
                    f,
                    "{function}: its role grants {action}, which no function of this product needs"
                )
            }
            Violation::UnrecognisedResource {
                function,
                action,
                resource,
            } => write!(
                f,
                "{function}: {action} on {resource}; resources must be a table of this template (!GetAtt T.Arn) or \
                 one of its indexes"
            ),
            Violation::UnknownIndex { function, table, index } => {
                write!(
                    f,
                    "{function}: grants index {index} of {table}, which has no such index"
                )
            }
            Violation::IndexWithoutQuery { function, table, index } => {
                write!(f, "{function}: grants index {index} of {table} without Query or Scan")
            }
            Violation::ForbiddenStatement { function, reason } => write!(f, "{function}: {reason}"),
        }
    }
}

/// A DynamoDB resource a statement may name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DynamoResource {
    Table(String),
    Index(String, String),
}

/// `!GetAtt T.Arn`, `!Sub "${T.Arn}"`, `!Sub "${T.Arn}/index/I"` or the ARN spelled out with `${T}`.
fn dynamo_resource(value: &Value) -> Option<DynamoResource> {
    if let Some((table, "Arn")) = as_get_att(value) {
        return Some(DynamoResource::Table(table.to_owned()));
    }
    let pattern = single_key(value, "Fn::Sub")?.as_str()?;
    let (table, rest) = if let Some(rest) = pattern.strip_prefix("${") {
        let (name, rest) = rest.split_once('}')?;
        (name.strip_suffix(".Arn")?, rest)
    } else {
        let rest = pattern.strip_prefix("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${")?;
        rest.split_once('}')?
    };
    if table.contains(['$', '{', '}', '*', '.']) {
        return None;
    }
    if rest.is_empty() {
        return Some(DynamoResource::Table(table.to_owned()));
    }
    let index = rest.strip_prefix("/index/")?;
    if index.is_empty() || index.contains(['$', '{', '}', '/']) || (index.contains('*') && index != "*") {
        return None;
    }
    Some(DynamoResource::Index(table.to_owned(), index.to_owned()))
}

fn strings(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(one) => Some(vec![one.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn values(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Unwraps `!If [cond, x, !Ref AWS::NoValue]` (and the reverse): a conditional statement still grants in some
/// deployment, so it is checked like an unconditional one. Both branches are returned when both are values.
fn branches(value: &Value) -> Vec<&Value> {
    match single_key(value, "Fn::If").and_then(Value::as_array).map(Vec::as_slice) {
        Some([_, when_true, when_false]) => [when_true, when_false]
            .into_iter()
            .filter(|branch| !is_no_value(branch))
            .flat_map(branches)
            .collect(),
        _ => vec![value],
    }
}

/// Whether a KMS statement's resource is the table key (the stack's own key or the TableKmsKeyArn parameter).
fn is_table_key(value: &Value) -> bool {
    branches(value)
        .into_iter()
        .all(|branch| as_get_att(branch) == Some(("TableKey", "Arn")) || as_ref(branch) == Some("TableKmsKeyArn"))
}

fn via_dynamodb_only(condition: &Value) -> bool {
    condition["StringEquals"]["kms:ViaService"]
        .get("Fn::Sub")
        .and_then(Value::as_str)
        .is_some_and(|service| service == "dynamodb.${AWS::Region}.amazonaws.com")
}

struct RoleGrants {
    /// (table, action) granted on the table itself.
    table_actions: BTreeSet<(String, String)>,
    /// (resource, action) granted on other resources of the template (streams, queues, buses, signing keys).
    aws_actions: BTreeSet<(String, String)>,
}

struct Checker<'a> {
    template: &'a Template,
    tables: BTreeMap<String, BTreeSet<String>>,
    violations: BTreeSet<Violation>,
}

impl Checker<'_> {
    fn push(&mut self, violation: Violation) {
        self.violations.insert(violation);
    }

    fn check_tables(&mut self, functions: &[FunctionSpec]) {
        let known: BTreeSet<&str> = TableKind::ALL.iter().map(|kind| kind.logical_id()).collect();
        for kind in TableKind::ALL {
            if !self.tables.contains_key(kind.logical_id()) {
                self.push(Violation::MissingTable {
                    table: kind.logical_id().into(),
                });
            }
        }
        let used: BTreeSet<&str> = functions
            .iter()
            .flat_map(|f| f.dynamodb.iter().map(|(kind, _)| kind.logical_id()))
            .collect();
        let tables: Vec<String> = self.tables.keys().cloned().collect();
        for table in tables {
            if !known.contains(table.as_str()) || !used.contains(table.as_str()) {
                self.push(Violation::UnknownTable { table });
            }
        }
    }

    fn check_declaration(&mut self, spec: &FunctionSpec) {
        let mut seen = BTreeSet::new();
        for (kind, actions) in spec.dynamodb {
            if !seen.insert(kind.logical_id()) {
                self.push(Violation::InvalidDeclaration {
                    function: spec.name.into(),
                    reason: format!("{} is listed twice", kind.logical_id()),
                });
            }
            let mut distinct = BTreeSet::new();
            for action in *actions {
                if !action.starts_with("dynamodb:") || action.contains('*') || !distinct.insert(*action) {
                    self.push(Violation::InvalidDeclaration {
                        function: spec.name.into(),
                        reason: format!(
                            "{action} on {} is not one named, unique dynamodb action",
                            kind.logical_id()
                        ),
                    });
                }
            }
            if actions.is_empty() {
                self.push(Violation::InvalidDeclaration {
                    function: spec.name.into(),
                    reason: format!("{} is listed without actions", kind.logical_id()),
                });
            }
        }
    }

    /// The role a function runs as, if it is an explicit role of this template.
    fn role_of(&mut self, spec: &FunctionSpec) -> Option<String> {
        let props = &self.template.resources()[spec.logical_id]["Properties"];
        for sam_policy_property in ["Policies", "PermissionsBoundary"] {
            if !props[sam_policy_property].is_null() {
                self.push(Violation::RoleNotExplicit {
                    function: spec.logical_id.into(),
                    reason: format!("SAM {sam_policy_property} would add permissions outside the role"),
                });
            }
        }
        match as_get_att(&props["Role"]) {
            Some((role, "Arn")) if self.template.resource_type(role) == Some(IAM_ROLE) => Some(role.to_owned()),
            _ => {
                self.push(Violation::RoleNotExplicit {
                    function: spec.logical_id.into(),
                    reason: format!("Role is {}", props["Role"]),
                });
                None
            }
        }
    }

    /// Every statement that applies to a role: its inline policies and any AWS::IAM::Policy or ManagedPolicy
    /// resource attached to it.
    fn statements_of(&mut self, function: &str, role: &str) -> Vec<Value> {
        let resources = self.template.resources();
        let role_props = &resources[role]["Properties"];
        if role_props["ManagedPolicyArns"]
            .as_array()
            .is_some_and(|arns| !arns.is_empty())
        {
            self.push(Violation::ManagedPolicyAttached {
                function: function.into(),
                role: role.into(),
            });
        }
        let mut documents: Vec<&Value> = role_props["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(branches)
            .map(|policy| &policy["PolicyDocument"])
            .collect();
        for resource in resources.values() {
            let kind = resource["Type"].as_str().unwrap_or_default();
            if kind != "AWS::IAM::Policy" && kind != "AWS::IAM::ManagedPolicy" {
                continue;
            }
            let attached = resource["Properties"]["Roles"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| as_ref(r) == Some(role));
            if attached {
                documents.push(&resource["Properties"]["PolicyDocument"]);
            }
        }
        documents
            .into_iter()
            .flat_map(|document| values(&document["Statement"]))
            .flat_map(branches)
            .cloned()
            .collect()
    }

    fn log_group_of(&self, spec: &FunctionSpec) -> Option<String> {
        as_ref(&self.template.resources()[spec.logical_id]["Properties"]["LoggingConfig"]["LogGroup"])
            .map(str::to_owned)
    }

    fn check_statement(&mut self, spec: &FunctionSpec, statement: &Value, grants: &mut RoleGrants) {
        let function = spec.logical_id;
        for forbidden in ["NotAction", "NotResource", "NotPrincipal"] {
            if !statement[forbidden].is_null() {
                self.push(Violation::ForbiddenStatement {
                    function: function.into(),
                    reason: format!("{forbidden} grants everything it does not name"),
                });
            }
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return,
            Some("Allow") => {}
            _ => {
                self.push(Violation::ForbiddenStatement {
                    function: function.into(),
                    reason: format!("statement Effect {} is not Allow or Deny", statement["Effect"]),
                });
                return;
            }
        }
        let Some(actions) = strings(&statement["Action"]) else {
            self.push(Violation::ForbiddenStatement {
                function: function.into(),
                reason: format!("Action {} is not a list of names", statement["Action"]),
            });
            return;
        };
        let resources = values(&statement["Resource"]);
        let other = actions.iter().all(|a| !LOG_ACTIONS.contains(a));
        if let Some(targets) = self.other_resources(&resources).filter(|_| other) {
            for action in &actions {
                if action.contains('*') {
                    self.push(Violation::WildcardAction {
                        function: function.into(),
                        action: (*action).into(),
                    });
                }
                for target in &targets {
                    grants.aws_actions.insert((target.clone(), (*action).to_owned()));
                }
            }
            return;
        }
        let queries = actions.iter().any(|a| *a == "dynamodb:Query" || *a == "dynamodb:Scan");
        for action in &actions {
            if action.contains('*') {
                self.push(Violation::WildcardAction {
                    function: function.into(),
                    action: (*action).into(),
                });
            } else if action.starts_with("dynamodb:") {
                for resource in resources.iter().flat_map(|r| branches(r)) {
                    match dynamo_resource(resource) {
                        Some(DynamoResource::Table(table)) if self.tables.contains_key(&table) => {
                            grants.table_actions.insert((table, (*action).to_owned()));
                        }
                        Some(DynamoResource::Index(table, index)) if self.tables.contains_key(&table) => {
                            if !queries {
                                self.push(Violation::IndexWithoutQuery {
                                    function: function.into(),
                                    table: table.clone(),
                                    index: index.clone(),
                                });
                            }
                            if index != "*" && !self.tables[&table].contains(&index) {
                                self.push(Violation::UnknownIndex {
                                    function: function.into(),
                                    table,
                                    index,
                                });
                            }
                        }
                        _ => self.push(Violation::UnrecognisedResource {
                            function: function.into(),
                            action: (*action).into(),
                            resource: resource.to_string(),
                        }),
                    }
                }
            } else if LOG_ACTIONS.contains(action) {
                let own = self.log_group_of(spec);
                let on_own_group = !resources.is_empty()
                    && resources.iter().all(|r| {
                        as_get_att(r).is_some_and(|(group, attr)| attr == "Arn" && Some(group) == own.as_deref())
                    });
                if !on_own_group {
                    self.push(Violation::ForbiddenStatement {
                        function: function.into(),
                        reason: format!("{action} is allowed only on the function's own log group (LoggingConfig)"),
                    });
                }
            } else if TABLE_KEY_ACTIONS.contains(action) {
                let scoped = !resources.is_empty()
                    && resources.iter().all(|r| is_table_key(r))
                    && via_dynamodb_only(&statement["Condition"]);
                if !scoped {
                    self.push(Violation::ForbiddenStatement {
                        function: function.into(),
                        reason: format!("{action} is allowed only on the table key, through DynamoDB (kms:ViaService)"),
                    });
                }
            } else {
                self.push(Violation::UnexpectedAction {
                    function: function.into(),
                    action: (*action).into(),
                });
            }
        }
    }

    /// The statement's resources when every one is another resource of this template (`!GetAtt X.Arn` of a
    /// non-table resource other than the table key, or `!GetAtt T.StreamArn`); `None` otherwise.
    fn other_resources(&self, resources: &[&Value]) -> Option<Vec<String>> {
        let targets: Vec<String> = resources
            .iter()
            .flat_map(|r| branches(r))
            .map(|resource| match as_get_att(resource) {
                // `!Ref` of a Secrets Manager secret is its ARN.
                None => as_ref(resource)
                    .filter(|id| self.template.resource_type(id) == Some("AWS::SecretsManager::Secret"))
                    .map(str::to_owned),
                Some((table, "StreamArn")) if self.tables.contains_key(table) => Some(format!("{table}.StreamArn")),
                Some((name, "Arn"))
                    if !self.tables.contains_key(name)
                        && name != "TableKey"
                        && self.template.resource(name).is_some() =>
                {
                    Some(name.to_owned())
                }
                _ => None,
            })
            .collect::<Option<_>>()?;
        (!targets.is_empty()).then_some(targets)
    }

    fn check_grants(&mut self, spec: &FunctionSpec, grants: &RoleGrants) {
        let declared_aws: BTreeSet<(String, String)> = spec
            .aws
            .iter()
            .flat_map(|(resource, actions)| actions.iter().map(|a| ((*resource).to_owned(), (*a).to_owned())))
            .collect();
        for (resource, action) in declared_aws.difference(&grants.aws_actions) {
            self.push(Violation::ActionMissing {
                function: spec.logical_id.into(),
                table: resource.clone(),
                action: action.clone(),
            });
        }
        for (resource, action) in grants.aws_actions.difference(&declared_aws) {
            self.push(Violation::ActionExtra {
                function: spec.logical_id.into(),
                table: resource.clone(),
                action: action.clone(),
            });
        }
        let declared: BTreeSet<(String, String)> = spec
            .dynamodb
            .iter()
            .flat_map(|(kind, actions)| actions.iter().map(|a| (kind.logical_id().to_owned(), (*a).to_owned())))
            .collect();
        for (table, action) in declared.difference(&grants.table_actions) {
            self.push(Violation::ActionMissing {
                function: spec.logical_id.into(),
                table: table.clone(),
                action: action.clone(),
            });
        }
        for (table, action) in grants.table_actions.difference(&declared) {
            self.push(Violation::ActionExtra {
                function: spec.logical_id.into(),
                table: table.clone(),
                action: action.clone(),
            });
        }
        for (kind, _) in spec.dynamodb {
            if !self.tables.contains_key(kind.logical_id()) {
                self.push(Violation::MissingTable {
                    table: kind.logical_id().into(),
                });
            }
        }
    }

    fn check_environment(&mut self, spec: &FunctionSpec) {
        let env = self.template.function_environment(spec.logical_id);
        let reads: BTreeSet<&str> = spec.env_vars.iter().copied().collect();
        for variable in &reads {
            if !env.contains_key(*variable) {
                self.push(Violation::EnvMissing {
                    function: spec.logical_id.into(),
                    variable: (*variable).into(),
                });
            }
        }
        for variable in env.keys() {
            if !reads.contains(variable.as_str()) {
                self.push(Violation::EnvUnknown {
                    function: spec.logical_id.into(),
                    variable: variable.clone(),
                });
            }
        }
        let declared: BTreeSet<&str> = spec.dynamodb.iter().map(|(kind, _)| kind.logical_id()).collect();
        for kind in TableKind::ALL {
            if let Some(value) = env.get(kind.env_var())
                && as_ref(value) != Some(kind.logical_id())
            {
                self.push(Violation::EnvWrongTable {
                    function: spec.logical_id.into(),
                    variable: kind.env_var().into(),
                    expected: kind.logical_id().into(),
                    found: value.to_string(),
                });
            }
            let declares = declared.contains(kind.logical_id());
            let reads_name = reads.contains(kind.env_var());
            if declares && !reads_name {
                self.push(Violation::TableAccessWithoutName {
                    function: spec.logical_id.into(),
                    table: kind.logical_id().into(),
                });
            }
            if reads_name && !declares {
                self.push(Violation::TableNameWithoutAccess {
                    function: spec.logical_id.into(),
                    table: kind.logical_id().into(),
                });
            }
        }
    }
}

/// Checks a template against the functions' declarations; an empty list means consistent.
pub fn check(template_text: &str, functions: &[FunctionSpec]) -> Vec<Violation> {
    let template = match Template::parse(template_text) {
        Ok(template) => template,
        Err(err) => return vec![Violation::Template(err.to_string())],
    };
    let mut checker = Checker {
        tables: template.tables(),
        template: &template,
        violations: BTreeSet::new(),
    };
    checker.check_tables(functions);

    let declared: BTreeSet<&str> = functions.iter().map(|f| f.logical_id).collect();
    for function in template.functions() {
        if !declared.contains(function) {
            checker.push(Violation::UnknownFunction {
                function: function.into(),
            });
        }
    }
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in functions {
        checker.check_declaration(spec);
        if template.resource(spec.logical_id).is_none() || !template.functions().contains(&spec.logical_id) {
            checker.push(Violation::MissingFunction {
                function: spec.logical_id.into(),
            });
            continue;
        }
        checker.check_environment(spec);
        let Some(role) = checker.role_of(spec) else { continue };
        roles.entry(role.clone()).or_default().push(spec.logical_id.into());
        let mut grants = RoleGrants {
            table_actions: BTreeSet::new(),
            aws_actions: BTreeSet::new(),
        };
        for statement in checker.statements_of(spec.logical_id, &role) {
            checker.check_statement(spec, &statement, &mut grants);
        }
        checker.check_grants(spec, &grants);
    }
    for (role, users) in roles {
        if users.len() > 1 {
            checker.push(Violation::RoleShared { role, functions: users });
        }
    }
    checker.violations.into_iter().collect()
}

/// Index names a function's role may query, per table (for comparing with the indexes the code really queries).
pub fn granted_indexes(template_text: &str, role: &str) -> Result<BTreeSet<(String, String)>, String> {
    let template = Template::parse(template_text).map_err(|e| e.to_string())?;
    let mut checker = Checker {
        tables: template.tables(),
        template: &template,
        violations: BTreeSet::new(),
    };
    let mut indexes = BTreeSet::new();
    for statement in checker.statements_of(role, role) {
        for resource in values(&statement["Resource"]).into_iter().flat_map(branches) {
            if let Some(DynamoResource::Index(table, index)) = dynamo_resource(resource) {
                indexes.insert((table, index));
            }
        }
    }
    Ok(indexes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_table_and_index_resources() {
        assert_eq!(
            dynamo_resource(&json!({"Fn::GetAtt": ["ClientsTable", "Arn"]})),
            Some(DynamoResource::Table("ClientsTable".into()))
        );
        assert_eq!(
            dynamo_resource(&json!({"Fn::Sub": "${ClientsTable.Arn}/index/TenantIndex"})),
            Some(DynamoResource::Index("ClientsTable".into(), "TenantIndex".into()))
        );
        assert_eq!(
            dynamo_resource(&json!({"Fn::Sub": "${DirectoryTable.Arn}/index/*"})),
            Some(DynamoResource::Index("DirectoryTable".into(), "*".into()))
        );
        assert_eq!(
            dynamo_resource(&json!({
                "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${KeysTable}"
            })),
            Some(DynamoResource::Table("KeysTable".into()))
        );
        for bad in [
            json!("*"),
            json!("arn:aws:dynamodb:us-east-1:123456789012:table/*"),
            json!({"Fn::Sub": "${ClientsTable.Arn}*"}),
            json!({"Fn::Sub": "${ClientsTable.Arn}/index/Issuer*"}),
            json!({"Fn::Sub": "${ClientsTable.Arn}/stream/*"}),
            json!({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"}),
            json!({"Fn::GetAtt": ["ClientsTable", "StreamArn"]}),
        ] {
            assert_eq!(dynamo_resource(&bad), None, "{bad}");
        }
    }

    #[test]
    fn conditional_values_count_in_every_branch() {
        let value = json!({"Fn::If": ["C", {"Fn::If": ["D", "a", "b"]}, {"Ref": "AWS::NoValue"}]});
        assert_eq!(branches(&value), vec![&json!("a"), &json!("b")]);
        assert!(is_table_key(
            &json!({"Fn::If": ["X", {"Ref": "TableKmsKeyArn"}, {"Fn::GetAtt": ["TableKey", "Arn"]}]})
        ));
        assert!(!is_table_key(&json!({"Fn::If": ["X", {"Ref": "TableKmsKeyArn"}, "*"]})));
    }
}
