//! RFC 7644 §3.4.2.2 filters: the syntax tree ([`ast`]), the parser, the schema check and the evaluator.
//!
//! - [`parse`]: the RFC grammar, strictly (errors name the column and what was expected); [`parse_with`] adds the
//!   grammar extensions of [`ParseOptions`] (unquoted values).
//! - [`validate`]: the schema check (unknown attributes, operators that do not fit the attribute's type).
//! - [`matches()`]: evaluates a filter against a resource document.
//!
//! A client dialect composes these with its own rewrites (the directory service's `filter` parameter goes through
//! the Entra dialect's `parse_and_validate`); nothing here calls a dialect.

pub mod ast;
mod display;
mod eval;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use eval::{matches, validate};
pub use parser::{MAX_FILTER_LENGTH, MAX_NESTING, MAX_PATH_LENGTH, MAX_TERMS, ParseOptions};

pub(crate) use eval::{attribute_value, matches_element, parse_bool};
pub(crate) use parser::{SyntaxError, column, parse_attr_path, parse_patch_path};

use crate::error::ScimError;

/// Parses a filter by the RFC 7644 grammar.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    parse_with(text, ParseOptions::default())
}

/// Parses a filter with the given grammar extensions.
pub fn parse_with(text: &str, options: ParseOptions) -> Result<Filter, ScimError> {
    parser::parse_filter(text, options).map_err(|e| syntax_error(text, &e))
}

fn syntax_error(text: &str, error: &SyntaxError) -> ScimError {
    ScimError::invalid_filter(format!(
        "invalid filter at column {}: {}",
        column(text, error.offset),
        error.message
    ))
}
