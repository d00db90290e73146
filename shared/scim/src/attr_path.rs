//! RFC 7644 attribute paths (`urn:…:enterprise:2.0:User:manager.value`): how every engine names an attribute.
//! The filter parser produces them, [`crate::schema::ResourceSchema::resolve`] says what they designate; keeping the
//! type here lets both use it without depending on each other.

use std::fmt;

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

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
