//! Fixtures shared by the fuzz targets: a fixed clock, a fixed key set and registration, fixed SCIM resources, and
//! the byte framing of structured inputs. Nothing here decides anything the product decides: every target calls the
//! library code and only checks what that code promises.

use std::sync::OnceLock;

use serde_json::{Value, json};
use wif_auth::jwks::JwkSet;
use wif_auth::registration::Registration;
use wif_auth::testing::{TestKey, jwks_document, sample_registration};
use wif_scim::entra_compat::resource::prepare_create;
use wif_scim::schema::ResourceSchema;

/// The fixed "now" of every target (a Unix time in June 2025, as in the assertion bench).
pub const NOW: i64 = 1_750_000_000;

/// Key ids of the fixed key set.
pub const EC_KID: &str = "fuzz-ec";
pub const RSA_KID: &str = "fuzz-rsa";

/// The key set the assertion target verifies with: one P-256 key (which also signs the target's structured inputs:
/// ECDSA signing costs microseconds, RSA signing a millisecond) and one RSA-2048 key. Generated once per process;
/// a crash input never depends on the key values, because the target signs it itself.
pub struct KeySet {
    pub ec: TestKey,
    pub jwks: JwkSet,
    pub registration: Registration,
}

pub fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ec = TestKey::ec256(EC_KID);
        let rsa = TestKey::rsa(RSA_KID);
        let jwks = JwkSet::parse(&jwks_document(&[&ec, &rsa])).unwrap_or_else(|err| panic!("fixture JWKS: {err}"));
        let mut registration = sample_registration("fuzz-client");
        registration.allowed_algorithms = vec!["RS256".into(), "PS256".into(), "ES256".into()];
        KeySet { ec, jwks, registration }
    })
}

/// A current-thread runtime for the targets whose library code is async over in-memory ports.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|err| panic!("runtime: {err}"))
    })
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A stored user as the directory keeps it (Entra's create body through `prepare_create`, plus `id` and `meta`).
pub fn stored_user() -> &'static Value {
    static USER: OnceLock<Value> = OnceLock::new();
    USER.get_or_init(|| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "bjensen@example.com",
            "externalId": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen"},
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "title": "Tour Guide",
            "preferredLanguage": "en-US",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
            "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                           "postalCode": "91608", "country": "US", "primary": true}],
            "roles": [{"value": "admin", "primary": true}],
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "m-1"}}
        });
        let mut doc = prepare_create(ResourceSchema::user(), body)
            .unwrap_or_else(|err| panic!("fixture user: {err}"))
            .document;
        doc["id"] = json!("2819c223-7f76-453a-919d-413861904646");
        doc["meta"] = json!({"resourceType": "User", "version": "W/\"1\""});
        doc
    })
}

/// A stored group (members are separate items in the directory, so the document has none).
pub fn stored_group() -> &'static Value {
    static GROUP: OnceLock<Value> = OnceLock::new();
    GROUP.get_or_init(|| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Tour Guides",
            "externalId": "tour-guides"
        });
        let mut doc = prepare_create(ResourceSchema::group(), body)
            .unwrap_or_else(|err| panic!("fixture group: {err}"))
            .document;
        doc["id"] = json!("e9e30dba-f08f-4109-8486-d5c6a331660a");
        doc["meta"] = json!({"resourceType": "Group", "version": "W/\"1\""});
        doc
    })
}

/// Splits `data` at the first `separator`: `(before, Some(after))`, or `(data, None)` without one. Structured
/// inputs are plain bytes with separators rather than `arbitrary` encodings, so seeds stay readable and the
/// dictionaries' tokens land where the parser sees them.
pub fn split_once(data: &[u8], separator: u8) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == separator) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    }
}

/// Whether `text` is what `wif_auth::untrusted::printable` promises: printable ASCII and spaces, plus the `…` that
/// marks a cut, at most `max_chars` kept.
pub fn is_printable(text: &str, max_chars: usize) -> bool {
    let body = text.strip_suffix('…').unwrap_or(text);
    body.chars().count() <= max_chars && body.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}
