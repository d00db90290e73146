//! `cargo lambda watch` sometimes fails to relay a function's answer and sends its own 500 instead; GETs that
//! meet it are sent again (see the README's design notes). Every answer of our own functions, 5xx included, is
//! returned as it came.

use serde_json::{Value, json};

/// The body `cargo lambda watch` itself answers with when it fails to relay a function's answer to the caller
/// (an `http-api-problem` document, members in its own order). Our functions never produce it: their errors are
/// SCIM or OAuth JSON.
fn emulator_relay_fault() -> Value {
    json!({"type": "https://httpstatuses.com/500", "status": 500, "title": "Internal Server Error"})
}

/// Whether an answer is the emulator's relay fault rather than a function's. Seen with `cargo lambda watch` 1.9
/// on large function answers (list pages of ~100 KB) while other requests are in flight: about 1 in 150 such
/// answers under 8 parallel clients, never with small answers or without parallel load.
pub fn is_emulator_relay_fault(status: u16, body: &str) -> bool {
    // Compared as JSON: the emulator sends `type` first, and member order is not part of the document.
    status == 500 && serde_json::from_str::<Value>(body).is_ok_and(|v| v == emulator_relay_fault())
}

/// An answer read in full: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

/// Sends `request`; a GET that meets the emulator's relay fault (see [`is_emulator_relay_fault`]) is sent again,
/// up to three times, with a notice on stderr. Only GET: a repeated write could change what the test observes.
/// Every other answer, including every 5xx of our own functions, is returned as it came.
pub async fn send_retrying_relay_faults(request: reqwest::RequestBuilder) -> Answer {
    const ATTEMPTS: usize = 4;
    let retryable = request
        .try_clone()
        .and_then(|r| r.build().ok())
        .is_some_and(|r| r.method() == reqwest::Method::GET);
    let mut pending = Some(request);
    let mut attempt = 1;
    loop {
        let current = pending.take().expect("a request to send");
        let spare = if retryable { current.try_clone() } else { None };
        let response = current.send().await.expect("local stack reachable");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().path().to_owned();
        let text = response.text().await.unwrap_or_default();
        match spare {
            Some(next) if attempt < ATTEMPTS && is_emulator_relay_fault(status, &text) => {
                eprintln!(
                    "cargo lambda watch failed to relay the answer to GET {url} (attempt {attempt}); sending it again"
                );
                pending = Some(next);
                attempt += 1;
            }
            _ => return Answer { status, headers, text },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_emulators_own_problem_document_is_a_relay_fault() {
        // As cargo lambda watch 1.9 sends it, and as a re-serialised copy with sorted members.
        let as_sent = r#"{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}"#;
        let sorted = r#"{"status":500,"title":"Internal Server Error","type":"https://httpstatuses.com/500"}"#;
        assert!(is_emulator_relay_fault(500, as_sent));
        assert!(is_emulator_relay_fault(500, &format!("{sorted}\n")));
        assert!(!is_emulator_relay_fault(502, as_sent));
        let with_detail =
            r#"{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error","detail":"x"}"#;
        assert!(!is_emulator_relay_fault(500, with_detail));
        let scim_error = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"x"}"#;
        assert!(!is_emulator_relay_fault(500, scim_error));
        assert!(!is_emulator_relay_fault(500, r#"{"error":"temporarily_unavailable"}"#));
    }
}
