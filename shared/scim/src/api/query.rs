//! Query-string parameters (`application/x-www-form-urlencoded` rules: `+` is a space, `%XX` a byte), as Entra
//! sends them (`filter=userName+eq+"x"`). Parameter names match case-insensitively; a repeated parameter is an
//! error rather than a silent pick.

use crate::entra_compat;
use crate::error::ScimError;
use crate::service::{ListQuery, Projection};

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one form-encoded component. A `%` not followed by two hex digits is kept literally (lenient, as
/// browsers are); bytes that are not UTF-8 are an error.
pub fn decode_component(raw: &str) -> Result<String, ScimError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ScimError::invalid_value("the query string is not valid UTF-8"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

const KNOWN: [&str; 8] = [
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "cursor",
    "attributes",
    "excludedAttributes",
];

impl Params {
    pub fn parse(raw: &str) -> Result<Self, ScimError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
                if params.iter().any(|(n, _)| n == known) {
                    return Err(ScimError::invalid_value(format!(
                        "the query parameter '{known}' appears more than once"
                    )));
                }
                params.push(((*known).to_owned(), value));
            }
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, ScimError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer, got \"{v}\"")))
            })
            .transpose()
    }

    pub fn projection(&self) -> Result<Projection, ScimError> {
        let lenient = |name: &str| self.get(name).map(entra_compat::filter::attribute_list);
        Projection::parse(
            lenient("attributes").as_deref(),
            lenient("excludedAttributes").as_deref(),
        )
    }

    pub fn list_query(&self) -> Result<ListQuery, ScimError> {
        Ok(ListQuery {
            filter: self.get("filter").map(str::to_owned),
            sort_by: self.get("sortBy").map(str::to_owned),
            sort_order: self.get("sortOrder").map(str::to_owned),
            start_index: self.integer("startIndex")?,
            count: self.integer("count")?,
            cursor: self.get("cursor").map(str::to_owned),
            projection: self.projection()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entra_style_queries() {
        let params = Params::parse("filter=userName+eq+%22a%40b.c%22&excludedAttributes=members&Count=5").unwrap();
        assert_eq!(params.get("filter"), Some("userName eq \"a@b.c\""));
        assert_eq!(params.get("excludedAttributes"), Some("members"));
        assert_eq!(params.list_query().unwrap().count, Some(5));
        assert_eq!(decode_component("100%").unwrap(), "100%");
        assert_eq!(decode_component("%zz").unwrap(), "%zz");
        assert!(decode_component("%ff").is_err());
        assert!(Params::parse("count=1&count=2").is_err());
        assert!(Params::parse("count=ten").unwrap().list_query().is_err());
        assert_eq!(
            Params::parse("filter=userName eq \"x\"").unwrap().get("filter"),
            Some("userName eq \"x\"")
        );
    }
}
