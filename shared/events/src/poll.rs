//! The RFC 8936 poll protocol: the request a SET Recipient POSTs (§2.2), the response (§2.3) and the error answer
//! to an invalid request (§2.5.1).
//!
//! A request is validated completely before anything is acknowledged: one malformed or unknown `jti` refuses the
//! whole request (400), so a recipient never has to guess which of its acknowledgements took effect. RFC 8936
//! §2.5.1 leaves the error body undefined; we send RFC 8935 §2.3's `{"err", "description"}` object with
//! `Content-Language` (the same shape recipients already parse in `setErrs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use wif_auth::event_settings::EventDataLevel;

use crate::set::parse_jti;

/// Largest poll request body we read.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Most acknowledgements (`ack` plus `setErrs`) in one request.
pub const MAX_ACKS_PER_REQUEST: usize = 1_000;
/// Most SETs in one answer, also when `maxEvents` is absent or larger (RFC 8936 §2.2 lets the transmitter choose;
/// `moreAvailable` tells the recipient to poll again).
pub const MAX_EVENTS_PER_RESPONSE: usize = 100;

/// An invalid poll request (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
pub struct PollError {
    /// An RFC 8935 §2.4 error code.
    pub err: &'static str,
    pub description: String,
}

impl PollError {
    pub fn invalid(description: impl Into<String>) -> Self {
        Self {
            err: "invalid_request",
            description: description.into(),
        }
    }

    /// The error body (RFC 8935 §2.3 shape).
    pub fn body(&self) -> Value {
        json!({"err": self.err, "description": self.description})
    }
}

/// A SET the recipient could not accept (RFC 8936 §2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    pub err: String,
    pub description: String,
}

/// An acknowledged or refused SET: the change it names and the level it was issued at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub jti: String,
    pub change_id: String,
    pub level: EventDataLevel,
    /// `Some` for a `setErrs` entry: settled like an acknowledgement (RFC 8936 §2.4.4), but logged.
    pub error: Option<SetError>,
}

/// A validated poll request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRequest {
    pub acknowledgements: Vec<Acknowledgement>,
    /// `None`: no limit asked (we still answer at most [`MAX_EVENTS_PER_RESPONSE`]).
    pub max_events: Option<usize>,
    /// RFC 8936 §2.2: the default is `false` (long polling).
    pub return_immediately: bool,
}

impl PollRequest {
    /// How many SETs to answer with.
    pub fn wanted(&self) -> usize {
        self.max_events
            .unwrap_or(MAX_EVENTS_PER_RESPONSE)
            .min(MAX_EVENTS_PER_RESPONSE)
    }

    /// Parses and validates a request body. An empty body is the default poll (`{}`, RFC 8936 §2.4.1).
    pub fn parse(body: &[u8]) -> Result<Self, PollError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(PollError::invalid(format!(
                "the request exceeds {MAX_REQUEST_BYTES} bytes"
            )));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self {
                acknowledgements: Vec::new(),
                max_events: None,
                return_immediately: false,
            });
        }
        let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) else {
            return Err(PollError::invalid("the request must be a JSON object"));
        };
        let mut acknowledgements = parse_ack(members.get("ack"))?;
        acknowledgements.extend(parse_set_errs(members.get("setErrs"))?);
        if acknowledgements.len() > MAX_ACKS_PER_REQUEST {
            return Err(PollError::invalid(format!(
                "at most {MAX_ACKS_PER_REQUEST} acknowledgements per request"
            )));
        }
        let max_events = match members.get("maxEvents") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| PollError::invalid("maxEvents must be a non-negative integer"))?,
            ),
        };
        let return_immediately = match members.get("returnImmediately") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(PollError::invalid("returnImmediately must be true or false")),
        };
        Ok(Self {
            acknowledgements,
            max_events,
            return_immediately,
        })
    }
}

fn issued_jti(value: &str, member: &str) -> Result<(String, EventDataLevel), PollError> {
    let printable: String = value.chars().filter(|c| !c.is_control()).take(80).collect();
    parse_jti(value)
        .map(|(change_id, level)| (change_id.to_owned(), level))
        .ok_or_else(|| PollError::invalid(format!("{member}: {printable:?} is not a jti of this feed")))
}

fn parse_ack(value: Option<&Value>) -> Result<Vec<Acknowledgement>, PollError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(PollError::invalid("ack must be an array of jti strings")),
    };
    items
        .iter()
        .map(|item| {
            let jti = item
                .as_str()
                .ok_or_else(|| PollError::invalid("ack must be an array of jti strings"))?;
            let (change_id, level) = issued_jti(jti, "ack")?;
            Ok(Acknowledgement {
                jti: jti.to_owned(),
                change_id,
                level,
                error: None,
            })
        })
        .collect()
}

fn parse_set_errs(value: Option<&Value>) -> Result<Vec<Acknowledgement>, PollError> {
    let members: &Map<String, Value> = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(members)) => members,
        Some(_) => return Err(PollError::invalid("setErrs must be an object keyed by jti")),
    };
    members
        .iter()
        .map(|(jti, detail)| {
            let (change_id, level) = issued_jti(jti, "setErrs")?;
            let text = |name: &str| detail.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(err), Some(description)) = (text("err"), text("description")) else {
                return Err(PollError::invalid(
                    "setErrs: each value must be an object with string err and description (RFC 8936 §2.6)",
                ));
            };
            // RFC 8935 §7.1.1: error codes are letters, digits and underscores.
            if err.is_empty() || err.len() > 64 || !err.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(PollError::invalid(
                    "setErrs: err must be an error code (letters, digits, _)",
                ));
            }
            Ok(Acknowledgement {
                jti: jti.clone(),
                change_id,
                level,
                error: Some(SetError {
                    err,
                    description: description.chars().take(500).collect(),
                }),
            })
        })
        .collect()
}

/// The answer to a valid poll (RFC 8936 §2.3): `jti` → compact SET, and whether more are waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollResponse {
    pub sets: BTreeMap<String, String>,
    pub more_available: bool,
}

impl PollResponse {
    pub fn body(&self) -> Value {
        json!({"sets": self.sets, "moreAvailable": self.more_available})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::change_id;
    use crate::set::jti;

    fn a_jti(seed: &str) -> String {
        jti(&change_id(seed), EventDataLevel::Notice)
    }

    #[test]
    fn the_default_poll_is_a_long_poll_without_limit() {
        for body in [&b""[..], b"{}", b"  \n"] {
            let request = PollRequest::parse(body).unwrap();
            assert!(request.acknowledgements.is_empty());
            assert_eq!((request.max_events, request.return_immediately), (None, false));
            assert_eq!(request.wanted(), MAX_EVENTS_PER_RESPONSE);
        }
    }

    #[test]
    fn acknowledgements_and_errors_are_parsed() {
        let (a, b) = (a_jti("a"), a_jti("b"));
        let body = json!({
            "ack": [a],
            "setErrs": {b.clone(): {"err": "authentication_failed", "description": "bad signature"}},
            "maxEvents": 0,
            "returnImmediately": true
        });
        let request = PollRequest::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(request.acknowledgements.len(), 2);
        assert_eq!(request.acknowledgements[0].change_id, change_id("a"));
        assert_eq!(
            request.acknowledgements[1].error.as_ref().unwrap().err,
            "authentication_failed"
        );
        assert_eq!((request.max_events, request.wanted()), (Some(0), 0));
        assert!(request.return_immediately);
    }

    #[test]
    fn malformed_requests_are_refused_whole() {
        let good = a_jti("a");
        for body in [
            json!([]),
            json!({"ack": good}),
            json!({"ack": [good, 7]}),
            json!({"ack": [good, "4d3559ec67504aaba65d40b0363faad8"]}),
            json!({"setErrs": []}),
            json!({"setErrs": {good.clone(): {"err": "x"}}}),
            json!({"setErrs": {good.clone(): {"err": "no spaces", "description": "d"}}}),
            json!({"maxEvents": -1}),
            json!({"maxEvents": 1.5}),
            json!({"returnImmediately": "yes"}),
        ] {
            let err = PollRequest::parse(body.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.err, "invalid_request", "{body}");
        }
        assert!(PollRequest::parse(b"{not json").is_err());
        let many: Vec<String> = (0..=MAX_ACKS_PER_REQUEST).map(|i| a_jti(&i.to_string())).collect();
        assert!(PollRequest::parse(json!({"ack": many}).to_string().as_bytes()).is_err());
        assert!(PollRequest::parse(&vec![b' '; MAX_REQUEST_BYTES + 1]).is_err());
    }

    #[test]
    fn a_control_character_jti_is_described_printably() {
        let err = PollRequest::parse(json!({"ack": ["a\u{0007}b"]}).to_string().as_bytes()).unwrap_err();
        assert!(!err.description.contains('\u{0007}'));
        assert_eq!(err.body()["err"], "invalid_request");
    }

    #[test]
    fn responses_have_the_rfc_members() {
        let mut response = PollResponse::default();
        assert_eq!(response.body(), json!({"sets": {}, "moreAvailable": false}));
        response.sets.insert("j".into(), "a.b.c".into());
        response.more_available = true;
        assert_eq!(response.body(), json!({"sets": {"j": "a.b.c"}, "moreAvailable": true}));
    }
}
