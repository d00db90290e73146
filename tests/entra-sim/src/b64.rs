//! The two base64 alphabets JOSE and X.509 use.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// base64url without padding (JWS segments, JWK members, kid/x5t).
pub fn url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 with padding (x5c certificates, Entra's `aio` claim).
pub fn standard(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes base64url without padding; `None` for anything else.
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes standard base64 with padding; `None` for anything else.
pub fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}
