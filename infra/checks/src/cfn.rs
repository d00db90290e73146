//! Reads a CloudFormation/SAM YAML template into JSON, the form CloudFormation itself works on: short-form
//! intrinsics (`!Ref X`, `!GetAtt A.B`, `!Sub ...`, `!If [...]`) become their long form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, ...). A generic YAML loader drops those tags, which would make `!Ref ClientsTable`
//! indistinguishable from the literal string "ClientsTable"; the checks must tell them apart.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid YAML: {0}")]
    Yaml(String),
    #[error("template line {line}: {message}")]
    Shape { line: usize, message: String },
}

/// The intrinsic functions CloudFormation accepts in short form, and whether the long form has the `Fn::` prefix.
const INTRINSICS: &[(&str, bool)] = &[
    ("Ref", false),
    ("Condition", false),
    ("GetAtt", true),
    ("Sub", true),
    ("If", true),
    ("Join", true),
    ("Select", true),
    ("Split", true),
    ("Equals", true),
    ("Not", true),
    ("And", true),
    ("Or", true),
    ("FindInMap", true),
    ("GetAZs", true),
    ("ImportValue", true),
    ("Base64", true),
    ("Cidr", true),
    ("Transform", true),
    ("ToJsonString", true),
    ("Length", true),
];

/// A container being built: a sequence, or a mapping waiting for a key or a value.
enum Frame {
    Sequence {
        items: Vec<Value>,
        tag: Option<Tag>,
        anchor: usize,
    },
    Mapping {
        entries: Map<String, Value>,
        pending_key: Option<String>,
        tag: Option<Tag>,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Value>,
    anchors: HashMap<usize, Value>,
    error: Option<TemplateError>,
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        "null" | "Null" | "NULL" | "~" | "" => Value::Null,
        _ => {
            if let Ok(int) = text.parse::<i64>() {
                Value::from(int)
            } else if let Some(number) = text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && text.chars().any(|c| c.is_ascii_digit()))
                .and_then(serde_json::Number::from_f64)
            {
                Value::Number(number)
            } else {
                Value::String(text.to_owned())
            }
        }
    }
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(TemplateError::Shape {
                line: mark.line(),
                message: message.into(),
            });
        }
    }

    /// Applies a `!Tag` to a finished node.
    fn tagged(&mut self, tag: Option<Tag>, value: Value, mark: Marker) -> Value {
        let Some(tag) = tag else { return value };
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            // Core-schema tags: `!!str 123` stays the string it is written as.
            return match (tag.suffix.as_str(), value) {
                ("str", Value::Number(n)) => Value::String(n.to_string()),
                ("str", Value::Bool(b)) => Value::String(b.to_string()),
                (_, other) => other,
            };
        }
        if tag.handle != "!" {
            self.fail(mark, format!("unknown tag {}{}", tag.handle, tag.suffix));
            return Value::Null;
        }
        let Some(&(name, prefixed)) = INTRINSICS.iter().find(|(name, _)| *name == tag.suffix) else {
            self.fail(mark, format!("unknown intrinsic function !{}", tag.suffix));
            return Value::Null;
        };
        let value = match (name, value) {
            // `!GetAtt Resource.Attribute` is shorthand for `[Resource, Attribute]` (split at the first dot).
            ("GetAtt", Value::String(text)) => match text.split_once('.') {
                Some((resource, attribute)) => Value::Array(vec![resource.into(), attribute.into()]),
                None => {
                    self.fail(mark, format!("!GetAtt {text} names no attribute"));
                    return Value::Null;
                }
            },
            (_, other) => other,
        };
        let key = if prefixed {
            format!("Fn::{name}")
        } else {
            name.to_owned()
        };
        let mut wrapper = Map::new();
        wrapper.insert(key, value);
        Value::Object(wrapper)
    }

    fn push_value(&mut self, value: Value, mark: Marker) {
        match self.stack.last_mut() {
            None => self.documents.push(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping {
                entries, pending_key, ..
            }) => match pending_key.take() {
                Some(key) => {
                    if entries.contains_key(&key) {
                        let message = format!("duplicate key {key:?}");
                        self.fail(mark, message);
                    } else {
                        entries.insert(key, value);
                    }
                }
                None => match value {
                    Value::String(key) => *pending_key = Some(key),
                    Value::Number(n) => *pending_key = Some(n.to_string()),
                    Value::Bool(b) => *pending_key = Some(b.to_string()),
                    _ => self.fail(mark, "mapping keys must be scalars"),
                },
            },
        }
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = if style == TScalarStyle::Plain {
                    plain_scalar(&text)
                } else {
                    Value::String(text)
                };
                let value = self.tagged(tag, value, mark);
                self.remember(anchor, &value);
                self.push_value(value, mark);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Sequence {
                items: Vec::new(),
                tag,
                anchor,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Mapping {
                entries: Map::new(),
                pending_key: None,
                tag,
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, tag, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, tag, anchor }) => (Value::Array(items), tag, anchor),
                    Some(Frame::Mapping {
                        entries, tag, anchor, ..
                    }) => (Value::Object(entries), tag, anchor),
                    None => {
                        self.fail(mark, "unbalanced YAML structure");
                        return;
                    }
                };
                let value = self.tagged(tag, value, mark);
                self.remember(anchor, &value);
                self.push_value(value, mark);
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
                Some(value) => self.push_value(value, mark),
                None => self.fail(mark, "alias of an unknown anchor"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

/// Parses a one-document YAML template into CloudFormation JSON.
pub fn parse_template(text: &str) -> Result<Value, TemplateError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|err| TemplateError::Yaml(err.to_string()))?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    let mut documents = builder.documents.into_iter();
    match (documents.next(), documents.next()) {
        (Some(document @ Value::Object(_)), None) => Ok(document),
        (Some(_), None) => Err(TemplateError::Shape {
            line: 1,
            message: "the template must be a mapping".into(),
        }),
        (None, _) => Err(TemplateError::Shape {
            line: 1,
            message: "the template is empty".into(),
        }),
        (Some(_), Some(_)) => Err(TemplateError::Shape {
            line: 1,
            message: "a template is a single YAML document".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_intrinsics_become_long_form() {
        let template = parse_template(
            "A: !Ref ClientsTable\n\
             B: !GetAtt ClientsTable.Arn\n\
             C: !Sub \"${ClientsTable.Arn}/index/X\"\n\
             D: !If [HasDomain, !Sub \"https://${Name}\", !Ref AWS::NoValue]\n\
             E: !Select [2, !Split [\"/\", !GetAtt TokenFunctionUrl.FunctionUrl]]\n\
             F: { Condition: X }\n\
             G: !Not [!Equals [!Ref P, \"0\"]]\n",
        )
        .unwrap();
        assert_eq!(template["A"], json!({"Ref": "ClientsTable"}));
        assert_eq!(template["B"], json!({"Fn::GetAtt": ["ClientsTable", "Arn"]}));
        assert_eq!(template["C"], json!({"Fn::Sub": "${ClientsTable.Arn}/index/X"}));
        assert_eq!(
            template["D"],
            json!({"Fn::If": ["HasDomain", {"Fn::Sub": "https://${Name}"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            template["E"],
            json!({"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": ["TokenFunctionUrl", "FunctionUrl"]}]}]})
        );
        assert_eq!(template["F"], json!({"Condition": "X"}));
        assert_eq!(template["G"], json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, "0"]}]}));
    }

    #[test]
    fn scalars_follow_yaml_and_quotes_keep_strings() {
        let template = parse_template("a: true\nb: \"true\"\nc: 60\nd: \"60\"\ne: rate(15 minutes)\nf: 1.5\n").unwrap();
        assert_eq!(
            template,
            json!({"a": true, "b": "true", "c": 60, "d": "60", "e": "rate(15 minutes)", "f": 1.5})
        );
    }

    #[test]
    fn rejects_what_cloudformation_would_reject() {
        assert!(matches!(
            parse_template("a: 1\na: 2\n"),
            Err(TemplateError::Shape { line: 2, .. })
        ));
        assert!(matches!(
            parse_template("a: !Bogus x\n"),
            Err(TemplateError::Shape { .. })
        ));
        assert!(matches!(
            parse_template("a: !GetAtt NoAttribute\n"),
            Err(TemplateError::Shape { .. })
        ));
        assert!(matches!(parse_template("a: [1, 2\n"), Err(TemplateError::Yaml(_))));
        assert!(parse_template("- 1\n").is_err());
        assert!(parse_template("").is_err());
    }

    #[test]
    fn anchors_resolve_to_their_value() {
        let template = parse_template("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(template["b"], json!([1, 2]));
    }
}
