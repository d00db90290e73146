//! Canonical text for filters and paths: `parse(f.to_string()) == f` for every parsed filter, which the tests check
//! on generated filters. Useful for logs, error details and cache keys.

use std::fmt;

use super::ast::{CompValue, CompareOp, Filter};
use super::eval::op_text;

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(op_text(*self))
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // serde_json's string serialisation is exactly the JSON escaping the filter grammar uses.
            CompValue::String(s) => f.write_str(&serde_json::Value::String(s.clone()).to_string()),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Or,
    And,
    Atom,
}

fn precedence(filter: &Filter) -> Precedence {
    match filter {
        Filter::Or(..) => Precedence::Or,
        Filter::And(..) => Precedence::And,
        _ => Precedence::Atom,
    }
}

/// Writes `child` as an operand of an operator of precedence `parent`; `right` operands of the same precedence are
/// parenthesised because the parser associates to the left.
fn operand(f: &mut fmt::Formatter<'_>, child: &Filter, parent: Precedence, right: bool) -> fmt::Result {
    let own = precedence(child);
    if own < parent || (right && own == parent) {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(a, b) => {
                operand(f, a, Precedence::And, false)?;
                f.write_str(" and ")?;
                operand(f, b, Precedence::And, true)
            }
            Filter::Or(a, b) => {
                operand(f, a, Precedence::Or, false)?;
                f.write_str(" or ")?;
                operand(f, b, Precedence::Or, true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}
