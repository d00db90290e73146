//! The filter syntax tree. This shape is a contract between the parser/evaluator and the directory service's
//! query planner (which recognises fast paths such as `userName eq "x"` by matching on it): change it only
//! together with both. Its attribute paths are [`crate::attr_path::AttrPath`], which the schema resolves too.

pub use crate::attr_path::AttrPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison literal (RFC 7644 `compValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attrPath compareOp compValue`.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `attrPath pr`.
    Present(AttrPath),
    /// `attrPath "[" valFilter "]"`: some element of the multi-valued attribute `path` matches `filter`, whose paths
    /// are relative to the element (sub-attribute names in `AttrPath::name`).
    ///
    /// Entra's `emails[type eq "work"].value eq "x"` (a value path followed by a sub-attribute comparison, outside
    /// RFC grammar) parses to `ValuePath { path: emails, filter: And(type eq "work", value eq "x") }`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}
