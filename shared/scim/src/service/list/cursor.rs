//! The service's opaque list cursor (RFC 9865 `cursor` / `nextCursor`): base64url JSON holding where the next page
//! starts, bound to the query it was issued for by a fingerprint, so a cursor reused with another filter or sort is
//! refused (`invalidCursor`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::ListQuery;
use crate::error::{ScimError, ScimType};
use crate::schema::ResourceKind;

/// Longest cursor text accepted; the service's own are far shorter.
const MAX_CURSOR_LENGTH: usize = 4096;

pub(in crate::service) fn invalid_cursor() -> ScimError {
    ScimError::new(
        400,
        Some(ScimType::InvalidCursor),
        "the cursor is not valid for this query (start again without one)",
    )
}

/// Where a streamed (cursor, unsorted) scan continues.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ScanPosition {
    /// The store cursor of the page to (re-)read; `None` = from the start.
    pub store_cursor: Option<String>,
    /// Skip records of that page up to and including this id.
    pub after_id: Option<String>,
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cursor {
    /// Offset into the complete, sorted (or fast-path) result.
    Offset(usize),
    /// A streamed scan: which kind (for root searches: users first, then groups) and where in it.
    Scan { phase: usize, position: ScanPosition },
}

/// Binds a cursor to its query: the scope, filter and sort (not the page size or projection, which may change
/// between pages).
pub(super) fn query_fingerprint(query: &ListQuery, scope: Option<ResourceKind>) -> String {
    // FNV-1a: only binds a cursor to its query so a cursor reused with another filter or sort is refused.
    let text = format!(
        "{scope:?}|{:?}|{:?}|{:?}",
        query.filter, query.sort_by, query.sort_order
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

pub(super) fn encode_cursor(cursor: &Cursor, fingerprint: &str) -> String {
    let body = match cursor {
        Cursor::Offset(offset) => json!({"q": fingerprint, "o": offset}),
        Cursor::Scan { phase, position } => json!({
            "q": fingerprint,
            "p": phase,
            "c": position.store_cursor,
            "a": position.after_id,
        }),
    };
    URL_SAFE_NO_PAD.encode(body.to_string())
}

pub(super) fn decode_cursor(text: &str, fingerprint: &str) -> Result<Cursor, ScimError> {
    if text.len() > MAX_CURSOR_LENGTH {
        return Err(invalid_cursor());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid_cursor())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if value.get("q").and_then(Value::as_str) != Some(fingerprint) {
        return Err(invalid_cursor());
    }
    if let Some(offset) = value.get("o").and_then(Value::as_u64) {
        return Ok(Cursor::Offset(usize::try_from(offset).map_err(|_| invalid_cursor())?));
    }
    let phase = value.get("p").and_then(Value::as_u64).ok_or_else(invalid_cursor)?;
    let text_of = |key: &str| match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_cursor()),
    };
    Ok(Cursor::Scan {
        phase: usize::try_from(phase).map_err(|_| invalid_cursor())?,
        position: ScanPosition {
            store_cursor: text_of("c")?,
            after_id: text_of("a")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_their_query() {
        let cursor = Cursor::Scan {
            phase: 1,
            position: ScanPosition {
                store_cursor: Some("abc".into()),
                after_id: Some("id-9".into()),
            },
        };
        let text = encode_cursor(&cursor, "f1");
        assert_eq!(decode_cursor(&text, "f1").unwrap(), cursor);
        assert!(decode_cursor(&text, "f2").is_err());
        assert!(decode_cursor("!!", "f1").is_err());
        assert_eq!(
            decode_cursor(&encode_cursor(&Cursor::Offset(7), "f"), "f").unwrap(),
            Cursor::Offset(7)
        );
    }
}
