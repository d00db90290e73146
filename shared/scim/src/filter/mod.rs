//! RFC 7644 §3.4.2.2 filters: the syntax tree ([`ast`]), the parser, the schema check and the evaluator.
//!
//! - [`parse`]: the RFC grammar, strictly (errors name the column and what was expected).
//! - [`parse_and_validate`]: what the directory service runs on a `filter` query parameter: the parser with Entra's
//!   unquoted values allowed, the Entra normalisations of [`crate::entra_compat::normalize_filter`], then
//!   [`validate`] against the resource schema.
//! - [`matches()`]: evaluates a filter against a resource document.

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
use crate::schema::ResourceSchema;

/// Parses a filter by the RFC 7644 grammar.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    parse_with(text, ParseOptions::default())
}

/// Parses a filter with the given grammar extensions.
pub fn parse_with(text: &str, options: ParseOptions) -> Result<Filter, ScimError> {
    parser::parse_filter(text, options).map_err(|e| syntax_error(text, &e))
}

/// Parses, normalises (Entra quirks) and schema-checks a filter: the one call the directory service needs.
pub fn parse_and_validate(text: &str, schema: &ResourceSchema) -> Result<Filter, ScimError> {
    let filter = parse_with(text, ParseOptions { bare_word_values: true })?;
    let filter = crate::entra_compat::normalize_filter(filter, schema);
    validate(&filter, schema)?;
    Ok(filter)
}

fn syntax_error(text: &str, error: &SyntaxError) -> ScimError {
    ScimError::invalid_filter(format!(
        "invalid filter at column {}: {}",
        column(text, error.offset),
        error.message
    ))
}
