//! The parts of the template the checks look at: resources by type, function environments (SAM `Globals`
//! merged in), table indexes, and an evaluator that resolves intrinsic functions for one set of parameter values,
//! so the environment a function would really get in AWS can be fed to that function's own configuration loader.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::cfn::{TemplateError, parse_template};

pub const SERVERLESS_FUNCTION: &str = "AWS::Serverless::Function";
pub const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
pub const DYNAMODB_TABLE: &str = "AWS::DynamoDB::Table";
pub const IAM_ROLE: &str = "AWS::IAM::Role";

/// Fake deployment identity used wherever the evaluator needs an account, region or partition.
pub const FAKE_ACCOUNT: &str = "123456789012";
pub const FAKE_REGION: &str = "us-east-1";

#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root = parse_template(text)?;
        if !root.get("Resources").is_some_and(Value::is_object) {
            return Err(TemplateError::Shape {
                line: 1,
                message: "Resources must be a mapping".into(),
            });
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Value {
        &self.root
    }

    pub fn resources(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.root["Resources"]
            .as_object()
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources().get(logical_id)
    }

    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resource(logical_id).and_then(|r| r["Type"].as_str())
    }

    /// Logical ids of every resource of one type, sorted.
    pub fn resources_of_type(&self, kind: &str) -> Vec<&str> {
        self.resources()
            .iter()
            .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Every Lambda function, SAM or plain.
    pub fn functions(&self) -> Vec<&str> {
        let mut ids = self.resources_of_type(SERVERLESS_FUNCTION);
        ids.extend(self.resources_of_type(LAMBDA_FUNCTION));
        ids.sort_unstable();
        ids
    }

    /// Every DynamoDB table with the names of its global and local secondary indexes.
    pub fn tables(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.resources_of_type(DYNAMODB_TABLE)
            .into_iter()
            .map(|id| {
                let props = &self.resources()[id]["Properties"];
                let indexes = ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
                    .iter()
                    .flat_map(|key| props[*key].as_array().into_iter().flatten())
                    .filter_map(|index| index["IndexName"].as_str().map(str::to_owned))
                    .collect();
                (id.to_owned(), indexes)
            })
            .collect()
    }

    /// A function's environment variables as written (unevaluated), SAM `Globals.Function` merged under its own.
    pub fn function_environment(&self, logical_id: &str) -> BTreeMap<String, Value> {
        let mut variables = BTreeMap::new();
        let own = self
            .resource(logical_id)
            .map(|r| &r["Properties"]["Environment"]["Variables"]);
        let global = (self.resource_type(logical_id) == Some(SERVERLESS_FUNCTION))
            .then(|| &self.root["Globals"]["Function"]["Environment"]["Variables"]);
        for source in [global, own].into_iter().flatten() {
            if let Some(map) = source.as_object() {
                for (name, value) in map {
                    variables.insert(name.clone(), value.clone());
                }
            }
        }
        variables
    }

    /// The Default of every parameter, as CloudFormation would pass it (a string).
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        self.root["Parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, parameter)| scalar_text(&parameter["Default"]).map(|value| (name.clone(), value)))
            .collect()
    }
}

/// A scalar as CloudFormation renders it into a string.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `{"Ref": X}` → X.
pub fn as_ref(value: &Value) -> Option<&str> {
    single_key(value, "Ref").and_then(Value::as_str)
}

/// `{"Fn::GetAtt": [X, Attr]}` → (X, Attr).
pub fn as_get_att(value: &Value) -> Option<(&str, &str)> {
    let parts = single_key(value, "Fn::GetAtt")?.as_array()?;
    match parts.as_slice() {
        [Value::String(resource), Value::String(attribute)] => Some((resource, attribute)),
        _ => None,
    }
}

/// The argument of a one-key intrinsic mapping such as `{"Fn::If": [...]}`.
pub fn single_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    if map.len() == 1 { map.get(key) } else { None }
}

/// Whether a value is `!Ref AWS::NoValue`.
pub fn is_no_value(value: &Value) -> bool {
    as_ref(value) == Some("AWS::NoValue")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot evaluate {what}: {reason}")]
pub struct EvalError {
    pub what: String,
    pub reason: String,
}

fn eval_error(what: &Value, reason: impl Into<String>) -> EvalError {
    EvalError {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// Resolves intrinsic functions the way CloudFormation would for one set of parameter values. Attributes of
/// resources that only exist after deployment get recognisable fake values (a function URL becomes
/// `https://<logical id>.lambda-url.<region>.on.aws/`).
pub struct Evaluator<'a> {
    template: &'a Template,
    parameters: BTreeMap<String, String>,
}

impl<'a> Evaluator<'a> {
    /// Parameter defaults, overridden by `overrides`.
    pub fn new(template: &'a Template, overrides: &[(&str, &str)]) -> Self {
        let mut parameters = template.parameter_defaults();
        for (name, value) in overrides {
            parameters.insert((*name).to_owned(), (*value).to_owned());
        }
        Self { template, parameters }
    }

    pub fn condition(&self, name: &str) -> Result<bool, EvalError> {
        let definition = &self.template.root["Conditions"][name];
        if definition.is_null() {
            return Err(eval_error(&Value::String(name.into()), "no such condition"));
        }
        self.boolean(definition)
    }

    fn boolean(&self, value: &Value) -> Result<bool, EvalError> {
        let map = value
            .as_object()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| eval_error(value, "not a condition function"))?;
        let (function, argument) = map.iter().next().ok_or_else(|| eval_error(value, "empty"))?;
        let list = || argument.as_array().ok_or_else(|| eval_error(value, "expects a list"));
        match function.as_str() {
            "Condition" => self.condition(argument.as_str().ok_or_else(|| eval_error(value, "bad name"))?),
            "Fn::Equals" => match list()?.as_slice() {
                [a, b] => Ok(self.text(a)? == self.text(b)?),
                _ => Err(eval_error(value, "Fn::Equals takes two values")),
            },
            "Fn::Not" => match list()?.as_slice() {
                [inner] => Ok(!self.boolean(inner)?),
                _ => Err(eval_error(value, "Fn::Not takes one condition")),
            },
            "Fn::And" => list()?.iter().try_fold(true, |acc, c| Ok(acc & self.boolean(c)?)),
            "Fn::Or" => list()?.iter().try_fold(false, |acc, c| Ok(acc | self.boolean(c)?)),
            _ => Err(eval_error(value, "not a condition function")),
        }
    }

    /// A value that must exist (not `AWS::NoValue`) and be a string.
    pub fn text(&self, value: &Value) -> Result<String, EvalError> {
        self.string(value)?
            .ok_or_else(|| eval_error(value, "is AWS::NoValue where a value is required"))
    }

    /// Evaluates a value to a string; `None` for `AWS::NoValue`.
    pub fn string(&self, value: &Value) -> Result<Option<String>, EvalError> {
        if let Some(text) = scalar_text(value) {
            return Ok(Some(text));
        }
        if let Some(name) = as_ref(value) {
            return self.reference(name);
        }
        if let Some((resource, attribute)) = as_get_att(value) {
            return self.attribute(resource, attribute).map(Some);
        }
        let map = value
            .as_object()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| eval_error(value, "not a scalar or intrinsic function"))?;
        let (function, argument) = map.iter().next().ok_or_else(|| eval_error(value, "empty"))?;
        let list = || argument.as_array().ok_or_else(|| eval_error(value, "expects a list"));
        match function.as_str() {
            "Fn::If" => match list()?.as_slice() {
                [Value::String(condition), when_true, when_false] => {
                    let chosen = if self.condition(condition)? {
                        when_true
                    } else {
                        when_false
                    };
                    self.string(chosen)
                }
                _ => Err(eval_error(value, "Fn::If takes a condition name and two values")),
            },
            "Fn::Sub" => match argument {
                Value::String(pattern) => self.substitute(pattern, &Map::new()).map(Some),
                Value::Array(parts) => match parts.as_slice() {
                    [Value::String(pattern), Value::Object(variables)] => self.substitute(pattern, variables).map(Some),
                    _ => Err(eval_error(value, "Fn::Sub takes a string or [string, variables]")),
                },
                _ => Err(eval_error(value, "Fn::Sub takes a string or [string, variables]")),
            },
            "Fn::Join" => match list()?.as_slice() {
                [Value::String(delimiter), Value::Array(items)] => {
                    let parts = items
                        .iter()
                        .map(|item| self.text(item))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(parts.join(delimiter)))
                }
                _ => Err(eval_error(value, "Fn::Join takes a delimiter and a list")),
            },
            "Fn::Select" => match list()?.as_slice() {
                [index, source] => {
                    let index: usize = self
                        .text(index)?
                        .parse()
                        .map_err(|_| eval_error(value, "index is not a number"))?;
                    let items = self.list(source)?;
                    items
                        .get(index)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| eval_error(value, "index out of range"))
                }
                _ => Err(eval_error(value, "Fn::Select takes an index and a list")),
            },
            _ => Err(eval_error(value, "unsupported intrinsic function")),
        }
    }

    fn list(&self, value: &Value) -> Result<Vec<String>, EvalError> {
        if let Some(items) = value.as_array() {
            return items.iter().map(|item| self.text(item)).collect();
        }
        match single_key(value, "Fn::Split")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([Value::String(delimiter), source]) => Ok(self
                .text(source)?
                .split(delimiter.as_str())
                .map(str::to_owned)
                .collect()),
            _ => Err(eval_error(value, "not a list")),
        }
    }

    fn reference(&self, name: &str) -> Result<Option<String>, EvalError> {
        match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => return Ok(Some(FAKE_REGION.into())),
            "AWS::AccountId" => return Ok(Some(FAKE_ACCOUNT.into())),
            "AWS::Partition" => return Ok(Some("aws".into())),
            "AWS::StackName" => return Ok(Some("wif-check".into())),
            "AWS::URLSuffix" => return Ok(Some("amazonaws.com".into())),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        if self.template.resource(name).is_some() {
            // A resource's Ref is its physical name: recognisable, and the same on every evaluation.
            return Ok(Some(format!("wif-check-{name}")));
        }
        // SAM's generated resources (`<Function>Url`, `<Function>Aliaslive`) exist only after the transform.
        if let Some(function) = self.generated_parent(name) {
            return Ok(Some(format!(
                "arn:aws:lambda:{FAKE_REGION}:{FAKE_ACCOUNT}:function:{function}"
            )));
        }
        Err(eval_error(&Value::String(name.into()), "no such parameter or resource"))
    }

    fn generated_parent(&self, name: &str) -> Option<String> {
        self.template
            .resources_of_type(SERVERLESS_FUNCTION)
            .into_iter()
            .find(|function| name.starts_with(function) && name.len() > function.len())
            .map(str::to_owned)
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, EvalError> {
        let known = self.template.resource(resource).is_some() || self.generated_parent(resource).is_some();
        if !known {
            return Err(eval_error(
                &Value::String(format!("{resource}.{attribute}")),
                "no such resource",
            ));
        }
        Ok(match attribute {
            "FunctionUrl" => format!(
                "https://{}.lambda-url.{FAKE_REGION}.on.aws/",
                resource.to_ascii_lowercase()
            ),
            "Arn" => format!("arn:aws:check:{FAKE_REGION}:{FAKE_ACCOUNT}:{resource}"),
            "DomainName" => format!("{}.cloudfront.net", resource.to_ascii_lowercase()),
            other => format!("{resource}-{other}"),
        })
    }

    fn substitute(&self, pattern: &str, variables: &Map<String, Value>) -> Result<String, EvalError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| eval_error(&Value::String(pattern.into()), "unterminated ${"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&self.text(value)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name)?.unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The environment a function gets with these parameters: conditional variables resolved, `AWS::NoValue`
    /// ones left out.
    pub fn function_environment(&self, logical_id: &str) -> Result<BTreeMap<String, String>, EvalError> {
        let mut resolved = BTreeMap::new();
        for (name, value) in self.template.function_environment(logical_id) {
            if let Some(text) = self.string(&value)? {
                resolved.insert(name, text);
            }
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Domain: { Type: String, Default: "" }
  Limit: { Type: Number, Default: 60 }
Conditions:
  HasDomain: !Not [!Equals [!Ref Domain, ""]]
  Both: !And [!Condition HasDomain, !Equals [!Ref Limit, "60"]]
Globals:
  Function:
    Environment:
      Variables:
        FROM_GLOBALS: "g"
        OVERRIDDEN: "g"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      GlobalSecondaryIndexes:
        - IndexName: ByX
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          OVERRIDDEN: "own"
          TABLE: !Ref Table
          LIMIT: !Ref Limit
          URL: !If [HasDomain, !Sub "https://${Domain}/x", !Sub "${FnUrl.FunctionUrl}x"]
          ONLY_WITH_DOMAIN: !If [Both, !Ref Domain, !Ref AWS::NoValue]
          HOST: !Select [2, !Split ["/", !GetAtt FnUrl.FunctionUrl]]
          LITERAL: !Sub "${!NotAVariable}-${Var}"
"#;

    #[test]
    fn merges_globals_and_indexes() {
        let template = Template::parse(TEMPLATE).unwrap();
        let env = template.function_environment("Fn");
        assert_eq!(env["FROM_GLOBALS"], "g");
        assert_eq!(env["OVERRIDDEN"], "own");
        assert_eq!(template.tables()["Table"], BTreeSet::from(["ByX".to_owned()]));
        assert_eq!(template.functions(), vec!["Fn"]);
    }

    #[test]
    fn evaluates_environment_per_parameter_set() {
        let text = TEMPLATE.replace("${Var}", "v");
        let template = Template::parse(&text).unwrap();
        let defaults = Evaluator::new(&template, &[]).function_environment("Fn").unwrap();
        assert_eq!(defaults["TABLE"], "wif-check-Table");
        assert_eq!(defaults["LIMIT"], "60");
        assert_eq!(defaults["URL"], "https://fnurl.lambda-url.us-east-1.on.aws/x");
        assert_eq!(defaults["HOST"], "fnurl.lambda-url.us-east-1.on.aws");
        assert_eq!(defaults["LITERAL"], "${NotAVariable}-v");
        assert!(!defaults.contains_key("ONLY_WITH_DOMAIN"));

        let custom = Evaluator::new(&template, &[("Domain", "scim.example.com")]);
        let env = custom.function_environment("Fn").unwrap();
        assert_eq!(env["URL"], "https://scim.example.com/x");
        assert_eq!(env["ONLY_WITH_DOMAIN"], "scim.example.com");
        assert!(custom.condition("Both").unwrap());
        assert!(custom.condition("Missing").is_err());
    }
}
