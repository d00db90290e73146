//! Support for the end-to-end tests: they drive the running local stack (`infra/local/start.sh`) over real HTTP,
//! with the Entra stand-in playing the customer's identity provider. One library, used by every test binary under
//! `tests/`:
//!
//! - [`stack`]: the running stack ([`LocalStack::get`] skips or fails when it is down), a registered [`Customer`],
//!   the stack's settings, log and direct DynamoDB access;
//! - [`relay`]: answers read in full, GETs re-sent when `cargo lambda watch` fails to relay an answer;
//! - [`admin`]: admin-API calls and client-secret token requests (admin_*.rs, cli_*.rs);
//! - [`scim`]: SCIM calls with a customer's token (scim_*.rs);
//! - [`provisioning`]: the stand-in's provisioning engine against the stack, and the outcome read back and
//!   compared (provisioning_*.rs);
//! - [`faults`]: DynamoDB faults programmed on the stack's fault proxy, scoped to one customer, and the
//!   Directory table's invariants read straight from moto (faults_*.rs);
//! - [`answers`]: the rules every SCIM and OAuth error answer must follow;
//! - [`plain_test`]: the `main` of the `harness = false` binaries that print numbers or a per-case report.

pub mod admin;
pub mod answers;
pub mod faults;
pub mod plain_test;
pub mod provisioning;
pub mod relay;
pub mod scim;
pub mod stack;

pub use plain_test::{libtest_selects, run_plain_test};
pub use relay::{Answer, is_emulator_relay_fault, send_retrying_relay_faults};
pub use stack::{Customer, LocalStack, function_log, http, local_token_repository, test_connection_status};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A SCIM filter expression encoded the way Entra sends it in a query string: `+` for spaces, quotes and other
/// reserved characters percent-encoded.
pub fn encode_filter(expression: &str) -> String {
    let mut out = String::new();
    for byte in expression.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
