//! Values an unauthenticated caller chose (the JOSE header's `alg` and `kid`, the unverified `iss` and `sub`, anything
//! quoted from them) are cut short and stripped of unprintable characters before they reach an audit record, a log
//! line or an error description: a 16 KB `alg` or a `kid` full of control characters must not become 16 KB of audit
//! trail per request, nor forge log lines.

/// Longest `alg` kept: every JOSE algorithm name fits.
pub const MAX_ALG_CHARS: usize = 16;
/// Longest `kid` kept: Entra's are 27–40 characters.
pub const MAX_KID_CHARS: usize = 64;
/// Longest unverified `iss` or `sub` kept: Entra's issuers are under 70 characters, subjects are GUIDs.
pub const MAX_CLAIM_CHARS: usize = 128;
/// Longest internal reason kept (it may quote several of the above).
pub const MAX_REASON_CHARS: usize = 512;

/// `text` with only printable ASCII (and spaces) kept, cut to `max_chars`; a cut is marked with `…`.
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut kept = text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ');
    let mut cleaned: String = kept.by_ref().take(max_chars).collect();
    if kept.next().is_some() {
        cleaned.push('…');
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_printable_text_and_cuts_the_rest() {
        assert_eq!(printable("RS256", MAX_ALG_CHARS), "RS256");
        assert_eq!(printable("kid with spaces", MAX_KID_CHARS), "kid with spaces");
        assert_eq!(printable("a\u{0}b\nc\u{1b}[31md\u{202e}é", 64), "abc[31md");
        assert_eq!(
            printable(&"A".repeat(16_000), MAX_ALG_CHARS),
            format!("{}…", "A".repeat(16))
        );
        assert_eq!(printable(&"x".repeat(16), MAX_ALG_CHARS), "x".repeat(16));
    }
}
