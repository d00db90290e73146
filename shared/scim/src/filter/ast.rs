//! The filter syntax tree. This shape is a contract between the parser/evaluator and the directory service's
//! query planner (which recognises fast paths such as `userName eq "x"` by matching on it): change it only
//! together with both.

/// An attribute path: optional schema URN, attribute name, optional sub-attribute
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` →
/// schema = enterprise URN, name = `manager`, sub_attr = `value`).
///
/// Names keep the case the client sent; SCIM attribute names are case-insensitive, so compare them with
/// [`AttrPath::is`] / `eq_ignore_ascii_case`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    pub fn simple(name: &str) -> Self {
        Self {
            schema: None,
            name: name.to_owned(),
            sub_attr: None,
        }
    }

    pub fn with_sub(name: &str, sub_attr: &str) -> Self {
        Self {
            schema: None,
            name: name.to_owned(),
            sub_attr: Some(sub_attr.to_owned()),
        }
    }

    /// Case-insensitive match on name and sub-attribute, ignoring the schema qualifier.
    pub fn is(&self, name: &str, sub_attr: Option<&str>) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && match (&self.sub_attr, sub_attr) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

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
