//! A hand-written recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar (and the attribute paths of
//! `attributes`, `sortBy` and PATCH `path`).
//!
//! Precedence, loosest first: `or`, `and`, then `not (..)` / `( .. )` / attribute expressions. `and`/`or` chains are
//! left-associative. Keywords, operators and attribute names are case-insensitive (RFC 5234 strings are). Any run of
//! whitespace separates tokens, so a query decoded from `+` signs or padded by a client parses the same.
//!
//! Errors carry the byte offset of the offending token; the public wrappers turn it into a 1-based character column.

use super::ast::{AttrPath, CompValue, CompareOp, Filter};

/// Longest filter accepted, in bytes. Entra's lookups are under 200 bytes; a few thousand leaves room for long
/// `id eq .. or id eq ..` chains without letting a request make the evaluator walk megabytes.
pub const MAX_FILTER_LENGTH: usize = 10_000;
/// Deepest nesting of parentheses / `not` / value filters.
pub const MAX_NESTING: usize = 32;
/// Most attribute expressions in one filter.
pub const MAX_TERMS: usize = 500;
/// Longest PATCH path or attribute name accepted, in bytes.
pub const MAX_PATH_LENGTH: usize = 1_000;

/// Parser switches that go beyond the RFC grammar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept an unquoted word as a string value (`externalId eq jyoung`, as in Microsoft's SCIM tutorial). Off in
    /// [`super::parse`]; a dialect that turns it on still runs [`super::validate`], which rejects nonsense.
    pub bare_word_values: bool,
}

/// A parse failure: byte offset into the input and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// 1-based character column of a byte offset (offsets always sit on character boundaries).
pub(crate) fn column(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|s| s.chars().count())
        .unwrap_or(text.chars().count())
        + 1
}

type PResult<T> = Result<T, SyntaxError>;

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '$')
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn describe(found: Option<&str>) -> String {
    match found {
        None | Some("") => "the end of the filter".to_owned(),
        Some(s) => {
            let shown: String = s.chars().take(40).collect();
            format!("'{shown}'")
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    terms: usize,
    options: ParseOptions,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, options: ParseOptions) -> Self {
        Self {
            src,
            pos: 0,
            depth: 0,
            terms: 0,
            options,
        }
    }

    fn error<T>(&self, offset: usize, message: impl Into<String>) -> PResult<T> {
        Err(SyntaxError {
            offset,
            message: message.into(),
        })
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.bump(c);
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.bump(expected);
            true
        } else {
            false
        }
    }

    /// The word at the cursor without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        &rest[..end]
    }

    fn take_word(&mut self) -> (usize, &'a str) {
        let start = self.pos;
        let word = self.peek_word();
        self.pos += word.len();
        (start, word)
    }

    /// What sits at the cursor, for error messages: a word, or else the next character.
    fn found(&self) -> Option<&'a str> {
        let word = self.peek_word();
        if !word.is_empty() {
            return Some(word);
        }
        let rest = self.rest();
        rest.chars().next().map(|c| &rest[..c.len_utf8()])
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.peek_word().eq_ignore_ascii_case(keyword)
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.error(at, format!("filter nests deeper than {MAX_NESTING} levels"));
        }
        Ok(())
    }

    fn parse_or(&mut self, in_element: bool) -> PResult<Filter> {
        let mut left = self.parse_and(in_element)?;
        loop {
            self.skip_ws();
            if !self.at_keyword("or") {
                return Ok(left);
            }
            self.take_word();
            let right = self.parse_and(in_element)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn parse_and(&mut self, in_element: bool) -> PResult<Filter> {
        let mut left = self.parse_unary(in_element)?;
        loop {
            self.skip_ws();
            if !self.at_keyword("and") {
                return Ok(left);
            }
            self.take_word();
            let right = self.parse_unary(in_element)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn parse_unary(&mut self, in_element: bool) -> PResult<Filter> {
        self.skip_ws();
        let start = self.pos;
        if self.at_keyword("not") {
            // `not` is a keyword only when a parenthesised filter follows; otherwise it is an attribute name.
            let save = self.pos;
            self.take_word();
            self.skip_ws();
            if self.peek() == Some('(') {
                let inner = self.parse_group(in_element)?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            self.pos = save;
        }
        if self.peek() == Some('(') {
            return self.parse_group(in_element);
        }
        if self.peek_word().is_empty() {
            return self.error(
                start,
                format!(
                    "expected an attribute name, 'not' or '(' but found {}",
                    describe(self.found())
                ),
            );
        }
        self.parse_attribute_expression(in_element)
    }

    fn parse_group(&mut self, in_element: bool) -> PResult<Filter> {
        let open = self.pos;
        self.eat('(');
        self.enter(open)?;
        let inner = self.parse_or(in_element)?;
        self.skip_ws();
        if !self.eat(')') {
            return self.error(
                self.pos,
                format!(
                    "expected ')' to close the '(' at column {} but found {}",
                    column(self.src, open),
                    describe(self.found())
                ),
            );
        }
        self.depth -= 1;
        Ok(inner)
    }

    fn parse_path(&mut self) -> PResult<(usize, AttrPath)> {
        let (start, word) = self.take_word();
        if word.is_empty() {
            return self.error(
                start,
                format!("expected an attribute name but found {}", describe(self.found())),
            );
        }
        match parse_path_word(word) {
            Some(path) => Ok((start, path)),
            None => self.error(start, format!("'{word}' is not a valid attribute path")),
        }
    }

    fn parse_attribute_expression(&mut self, in_element: bool) -> PResult<Filter> {
        self.terms += 1;
        let (start, path) = self.parse_path()?;
        if self.terms > MAX_TERMS {
            return self.error(start, format!("filter has more than {MAX_TERMS} attribute expressions"));
        }
        if in_element && path.schema.is_some() {
            return self.error(
                start,
                "attributes inside a value filter '[..]' are sub-attributes and take no schema URN",
            );
        }
        self.skip_ws();
        if self.peek() == Some('[') {
            if in_element {
                return self.error(self.pos, "value filters '[..]' cannot be nested");
            }
            if path.sub_attr.is_some() {
                return self.error(
                    self.pos,
                    "a value filter '[..]' applies to an attribute, not to a sub-attribute",
                );
            }
            return self.parse_value_path(path);
        }
        self.parse_operation(path, start)
    }

    /// `attr[valFilter]`, optionally followed by Entra's `.subAttr op value` (see [`Filter::ValuePath`]).
    fn parse_value_path(&mut self, path: AttrPath) -> PResult<Filter> {
        let open = self.pos;
        self.eat('[');
        self.enter(open)?;
        let inner = self.parse_or(true)?;
        self.skip_ws();
        if !self.eat(']') {
            return self.error(
                self.pos,
                format!(
                    "expected ']' to close the '[' at column {} but found {}",
                    column(self.src, open),
                    describe(self.found())
                ),
            );
        }
        self.depth -= 1;
        let filter = if self.peek() == Some('.') {
            self.bump('.');
            let (sub_start, sub) = self.take_word();
            if !is_name(sub) {
                return self.error(
                    sub_start,
                    format!(
                        "expected a sub-attribute name after ']' but found {}",
                        describe(Some(sub))
                    ),
                );
            }
            let sub_path = AttrPath::simple(sub);
            let tail = self.parse_operation(sub_path, sub_start)?;
            Filter::And(Box::new(inner), Box::new(tail))
        } else {
            inner
        };
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    fn parse_operation(&mut self, path: AttrPath, path_start: usize) -> PResult<Filter> {
        self.skip_ws();
        let (op_start, word) = self.take_word();
        let op = match word.to_ascii_lowercase().as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => {
                let found = if word.is_empty() { self.found() } else { Some(word) };
                let attr = self.src.get(path_start..op_start).unwrap_or("").trim();
                return self.error(
                    op_start,
                    format!(
                        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after '{attr}' but found {}",
                        describe(found)
                    ),
                );
            }
        };
        self.skip_ws();
        let value = self.parse_value(word)?;
        Ok(Filter::Compare { path, op, value })
    }

    fn parse_value(&mut self, op: &str) -> PResult<CompValue> {
        let start = self.pos;
        match self.peek() {
            Some('"') => self.parse_string().map(CompValue::String),
            Some(c) if c == '-' || c.is_ascii_digit() => match self.parse_number() {
                // An unquoted date-time (`meta.created gt 2015-10-10T14:38:21Z`) is a bare word, not a number.
                Err(_) if self.options.bare_word_values => {
                    self.pos = start;
                    Ok(CompValue::String(self.take_word().1.to_owned()))
                }
                number => number.map(CompValue::Number),
            },
            _ => {
                let (start, word) = self.take_word();
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(CompValue::Bool(true)),
                    "false" => Ok(CompValue::Bool(false)),
                    "null" => Ok(CompValue::Null),
                    "" => self.error(
                        start,
                        format!(
                            "expected a value (a quoted string, number, true, false or null) after '{op}' but found {}",
                            describe(self.found())
                        ),
                    ),
                    "and" | "or" | "not" => self.error(
                        start,
                        format!("expected a value after '{op}' but found the keyword '{word}'"),
                    ),
                    _ if self.options.bare_word_values => Ok(CompValue::String(word.to_owned())),
                    _ => self.error(
                        start,
                        format!(
                            "expected a value after '{op}' but found '{word}': string values must be in double quotes"
                        ),
                    ),
                }
            }
        }
        .map_err(|mut e| {
            if e.offset < start {
                e.offset = start;
            }
            e
        })
    }

    fn parse_string(&mut self) -> PResult<String> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    let literal = &self.src[start..=i];
                    self.pos = i + 1;
                    return serde_json::from_str::<String>(literal).or_else(|e| {
                        self.error(
                            start,
                            format!("invalid string literal {}: {e}", describe(Some(literal))),
                        )
                    });
                }
                _ => i += 1,
            }
        }
        self.error(start, "unterminated string: missing closing '\"'")
    }

    fn parse_number(&mut self) -> PResult<serde_json::Number> {
        let start = self.pos;
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let literal = &rest[..end];
        self.pos += end;
        if self.peek().is_some_and(is_word_char) {
            return self.error(
                start,
                format!("invalid number {}", describe(Some(self.peek_word_from(start)))),
            );
        }
        let number = serde_json::from_str::<serde_json::Number>(literal)
            .or_else(|_| self.error(start, format!("invalid number {}", describe(Some(literal)))))?;
        // serde_json (without `float_roundtrip`) may round a float one ULP off, and then a printed filter would
        // parse back to another value (found by fuzzing: `7e+25`); std's parser rounds correctly.
        match literal.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(exact) if number.is_f64() => Ok(exact),
            _ => Ok(number),
        }
    }

    fn peek_word_from(&self, start: usize) -> &'a str {
        let rest = self.src.get(start..).unwrap_or("");
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ')' || c == ']')
            .unwrap_or(rest.len());
        &rest[..end]
    }
}

/// Splits `[urn ":"] name ["." sub]`. The URN is everything up to the last colon, so
/// `urn:..:enterprise:2.0:User:manager.value` gives (enterprise URN, `manager`, `value`).
pub(crate) fn parse_path_word(word: &str) -> Option<AttrPath> {
    let (schema, rest) = match word.rfind(':') {
        Some(i) => {
            let schema = &word[..i];
            if schema.is_empty() || schema.ends_with(':') {
                return None;
            }
            (Some(schema.to_owned()), &word[i + 1..])
        }
        None => (None, word),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_name(name) || sub.is_some_and(|s| !is_name(s)) {
        return None;
    }
    Some(AttrPath {
        schema,
        name: name.to_owned(),
        sub_attr: sub.map(str::to_owned),
    })
}

pub(crate) fn parse_filter(text: &str, options: ParseOptions) -> PResult<Filter> {
    if text.len() > MAX_FILTER_LENGTH {
        return Err(SyntaxError {
            offset: 0,
            message: format!("filter is longer than {MAX_FILTER_LENGTH} bytes"),
        });
    }
    let mut parser = Parser::new(text, options);
    parser.skip_ws();
    if parser.peek().is_none() {
        return parser.error(0, "filter is empty");
    }
    let filter = parser.parse_or(false)?;
    parser.skip_ws();
    if parser.peek().is_some() {
        let at = parser.pos;
        let found = parser.found();
        let hint = if found == Some(")") {
            "; this ')' has no matching '('"
        } else if found == Some("]") {
            "; this ']' has no matching '['"
        } else {
            ""
        };
        return parser.error(
            at,
            format!(
                "expected 'and', 'or' or the end of the filter but found {}{hint}",
                describe(found)
            ),
        );
    }
    Ok(filter)
}

/// One attribute path (`attributes`, `excludedAttributes`, `sortBy` items).
pub(crate) fn parse_attr_path(text: &str) -> PResult<AttrPath> {
    if text.len() > MAX_PATH_LENGTH {
        return Err(SyntaxError {
            offset: 0,
            message: format!("attribute path is longer than {MAX_PATH_LENGTH} bytes"),
        });
    }
    let mut parser = Parser::new(text, ParseOptions::default());
    parser.skip_ws();
    let (_, path) = parser.parse_path()?;
    parser.skip_ws();
    if parser.peek().is_some() {
        return parser.error(
            parser.pos,
            format!("unexpected {} after the attribute path", describe(parser.found())),
        );
    }
    Ok(path)
}

/// A PATCH path (RFC 7644 §3.5.2 `PATH = attrPath / valuePath [subAttr]`): the attribute, the value filter if any,
/// and the sub-attribute after the filter if any.
pub(crate) fn parse_patch_path(text: &str) -> PResult<(AttrPath, Option<Filter>, Option<String>)> {
    if text.len() > MAX_PATH_LENGTH {
        return Err(SyntaxError {
            offset: 0,
            message: format!("path is longer than {MAX_PATH_LENGTH} bytes"),
        });
    }
    let mut parser = Parser::new(text, ParseOptions::default());
    parser.skip_ws();
    let (_, path) = parser.parse_path()?;
    parser.skip_ws();
    let mut filter = None;
    let mut sub = None;
    if parser.peek() == Some('[') {
        if path.sub_attr.is_some() {
            return parser.error(
                parser.pos,
                "a value filter '[..]' applies to an attribute, not to a sub-attribute",
            );
        }
        let open = parser.pos;
        parser.bump('[');
        parser.enter(open)?;
        filter = Some(parser.parse_or(true)?);
        parser.skip_ws();
        if !parser.eat(']') {
            return parser.error(
                parser.pos,
                format!(
                    "expected ']' to close the '[' at column {} but found {}",
                    column(text, open),
                    describe(parser.found())
                ),
            );
        }
        if parser.eat('.') {
            let (start, word) = parser.take_word();
            if !is_name(word) {
                return parser.error(
                    start,
                    format!(
                        "expected a sub-attribute name after '].' but found {}",
                        describe(Some(word))
                    ),
                );
            }
            sub = Some(word.to_owned());
        }
        parser.skip_ws();
    }
    if parser.peek().is_some() {
        return parser.error(
            parser.pos,
            format!("unexpected {} in the path", describe(parser.found())),
        );
    }
    Ok((path, filter, sub))
}
