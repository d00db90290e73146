//! Which request gets which fault. A [`Rule`] names the requests it applies to (the DynamoDB operation and
//! substrings of the request body, such as a tenant's key prefix `T#<tenant>#` or a table name), the [`Fault`],
//! and when it fires: after `skip` matching requests, at most `times` times, optionally with a seeded
//! probability. Scoping by body keeps concurrent tests apart; `skip` + `times` make a run exact ("fail the 2nd
//! BatchWriteItem of this tenant, once").

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The throttling error DynamoDB answers with (all 400s the SDK retries as throttling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThrottleError {
    /// Provisioned capacity or partition throughput exceeded (also what on-demand tables send when throttled).
    #[default]
    ProvisionedThroughputExceededException,
    /// The control plane's and on-demand's request-rate throttling.
    ThrottlingException,
    /// The account's throughput limit.
    RequestLimitExceeded,
}

impl ThrottleError {
    pub fn name(self) -> &'static str {
        match self {
            ThrottleError::ProvisionedThroughputExceededException => "ProvisionedThroughputExceededException",
            ThrottleError::ThrottlingException => "ThrottlingException",
            ThrottleError::RequestLimitExceeded => "RequestLimitExceeded",
        }
    }
}

/// What happens to a request a rule fires on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answered at once with a 400 throttling error, as DynamoDB sends it; nothing is forwarded.
    Throttle {
        #[serde(default)]
        error: ThrottleError,
    },
    /// Answered at once with a 500 `InternalServerError`; nothing is forwarded.
    ServerError,
    /// Forwarded (so the write is applied), then the answer is replaced by a 500 `InternalServerError`.
    AppliedThenServerError,
    /// Forwarded (so the write is applied), then the connection is reset instead of answering.
    AppliedThenReset,
    /// The connection is reset before anything is forwarded.
    Reset,
    /// Forwarded after a delay.
    Latency { ms: u64 },
}

impl Fault {
    /// Whether the request reaches the server (the write is applied) despite the fault.
    pub fn forwards(&self) -> bool {
        matches!(
            self,
            Fault::AppliedThenServerError | Fault::AppliedThenReset | Fault::Latency { .. }
        )
    }
}

/// One fault rule, as the control API takes it (JSON), e.g.
/// `{"operation":"TransactWriteItems","body_contains":["T#acme#"],"fault":{"kind":"throttle"},"times":3}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The DynamoDB operation (`X-Amz-Target` after the dot, e.g. `PutItem`); every operation when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Substrings that must all occur in the request body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_contains: Vec<String>,
    pub fault: Fault,
    /// Matching requests let through before the rule may fire: the Nth matching request is `skip: N-1`.
    #[serde(default)]
    pub skip: u64,
    /// Faults injected at most; no limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Chance that an eligible request gets the fault (always when absent). Drawn from a generator seeded with
    /// `seed`, so the same requests in the same order get the same faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: u64,
}

impl Rule {
    /// A rule firing on every request, to be narrowed with the builder methods.
    pub fn new(fault: Fault) -> Self {
        Rule {
            operation: None,
            body_contains: Vec::new(),
            fault,
            skip: 0,
            times: None,
            probability: None,
            seed: 0,
        }
    }

    pub fn operation(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_owned());
        self
    }

    pub fn body_contains(mut self, text: &str) -> Self {
        self.body_contains.push(text.to_owned());
        self
    }

    pub fn skip(mut self, requests: u64) -> Self {
        self.skip = requests;
        self
    }

    pub fn times(mut self, faults: u64) -> Self {
        self.times = Some(faults);
        self
    }

    pub fn probability(mut self, probability: f64, seed: u64) -> Self {
        self.probability = Some(probability);
        self.seed = seed;
        self
    }

    /// Why the rule cannot work, if it cannot.
    pub fn invalid(&self) -> Option<String> {
        match self.probability {
            Some(p) if !(0.0..=1.0).contains(&p) => Some(format!("probability {p} is not within 0..=1")),
            _ if self.body_contains.iter().any(String::is_empty) => Some("body_contains has an empty text".into()),
            _ => None,
        }
    }

    fn matches(&self, operation: Option<&str>, body: &[u8]) -> bool {
        let operation_matches = self.operation.as_deref().is_none_or(|wanted| operation == Some(wanted));
        operation_matches && self.body_contains.iter().all(|text| contains(body, text.as_bytes()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}

/// A rule with its counters, as the control API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleReport {
    pub id: u64,
    pub rule: Rule,
    /// Requests that matched the rule's operation and body texts.
    pub matched: u64,
    /// Faults injected.
    pub fired: u64,
}

/// Requests seen by the proxy, by operation, and the faults it injected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
    pub faults: u64,
}

struct Active {
    report: RuleReport,
    random: SplitMix64,
}

impl Active {
    fn fires(&mut self) -> bool {
        let rule = &self.report.rule;
        let eligible = self.report.matched > rule.skip && rule.times.is_none_or(|times| self.report.fired < times);
        eligible && rule.probability.is_none_or(|p| self.random.next_unit() < p)
    }
}

/// The proxy's rules, in the order they were added, and its counters.
#[derive(Default)]
pub struct RuleSet {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    rules: Vec<Active>,
    stats: Stats,
}

impl RuleSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a rule; its id.
    pub fn add(&self, rule: Rule) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let random = SplitMix64(rule.seed);
        inner.rules.push(Active {
            report: RuleReport {
                id,
                rule,
                matched: 0,
                fired: 0,
            },
            random,
        });
        id
    }

    /// Removes a rule; whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|active| active.report.id != id);
        inner.rules.len() != before
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    pub fn report(&self, id: u64) -> Option<RuleReport> {
        let inner = self.lock();
        inner.rules.iter().find(|a| a.report.id == id).map(|a| a.report.clone())
    }

    pub fn reports(&self) -> Vec<RuleReport> {
        self.lock().rules.iter().map(|a| a.report.clone()).collect()
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// The fault for one request and the id of the rule that chose it, if any. Every rule the request matches
    /// counts it; the first rule (in the order added) that fires decides.
    pub fn decide(&self, operation: Option<&str>, body: &[u8]) -> Option<(u64, Fault)> {
        let mut inner = self.lock();
        *inner
            .stats
            .requests
            .entry(operation.unwrap_or("-").to_owned())
            .or_default() += 1;
        let mut chosen = None;
        for active in inner.rules.iter_mut() {
            if !active.report.rule.matches(operation, body) {
                continue;
            }
            active.report.matched += 1;
            if chosen.is_none() && active.fires() {
                active.report.fired += 1;
                chosen = Some((active.report.id, active.report.rule.fault.clone()));
            }
        }
        if chosen.is_some() {
            inner.stats.faults += 1;
        }
        chosen
    }
}

/// A small, seedable generator (SplitMix64): probabilities stay repeatable without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUT: Option<&str> = Some("PutItem");

    fn fired(rules: &RuleSet, operation: Option<&str>, body: &str, n: usize) -> Vec<bool> {
        (0..n)
            .map(|_| rules.decide(operation, body.as_bytes()).is_some())
            .collect()
    }

    #[test]
    fn skip_and_times_pick_exact_requests() {
        let rules = RuleSet::default();
        let id = rules.add(Rule::new(Fault::ServerError).operation("PutItem").skip(2).times(2));
        assert_eq!(fired(&rules, PUT, "{}", 6), [false, false, true, true, false, false]);
        let report = rules.report(id).unwrap();
        assert_eq!((report.matched, report.fired), (6, 2));
    }

    #[test]
    fn operation_and_every_body_text_must_match() {
        let rules = RuleSet::default();
        rules.add(
            Rule::new(Fault::Reset)
                .operation("TransactWriteItems")
                .body_contains("T#a#")
                .body_contains("Directory"),
        );
        let both = r#"{"TableName":"local-DirectoryTable","Key":{"pk":{"S":"T#a#U#1"}}}"#;
        let other_tenant = both.replace("T#a#", "T#ab#");
        assert!(rules.decide(Some("TransactWriteItems"), both.as_bytes()).is_some());
        assert!(rules.decide(Some("PutItem"), both.as_bytes()).is_none());
        assert!(
            rules
                .decide(Some("TransactWriteItems"), other_tenant.as_bytes())
                .is_none()
        );
        assert!(rules.decide(None, both.as_bytes()).is_none());
        assert!(rules.decide(Some("TransactWriteItems"), b"T#a#").is_none());
    }

    #[test]
    fn first_firing_rule_decides_and_every_match_counts() {
        let rules = RuleSet::default();
        let first = rules.add(Rule::new(Fault::ServerError).times(1));
        let second = rules.add(Rule::new(Fault::Reset));
        assert_eq!(rules.decide(PUT, b"x"), Some((first, Fault::ServerError)));
        assert_eq!(rules.decide(PUT, b"x"), Some((second, Fault::Reset)));
        assert_eq!(rules.report(first).map(|r| (r.matched, r.fired)), Some((2, 1)));
        assert_eq!(rules.report(second).map(|r| (r.matched, r.fired)), Some((2, 1)));
        assert_eq!(rules.stats().faults, 2);
        assert_eq!(rules.stats().requests.get("PutItem"), Some(&2));
        assert!(rules.remove(first) && rules.remove(second) && !rules.remove(second));
        assert_eq!(rules.decide(PUT, b"x"), None);
    }

    #[test]
    fn probability_is_repeatable_for_a_seed() {
        let draw = |seed: u64| {
            let rules = RuleSet::default();
            rules.add(Rule::new(Fault::ServerError).probability(0.3, seed));
            fired(&rules, PUT, "{}", 400)
        };
        let run = draw(7);
        assert_eq!(run, draw(7));
        assert_ne!(run, draw(8));
        let share = run.iter().filter(|f| **f).count();
        assert!((80..=160).contains(&share), "{share} of 400 at 30%");
        let never = RuleSet::default();
        never.add(Rule::new(Fault::ServerError).probability(0.0, 1));
        assert!(fired(&never, PUT, "{}", 50).iter().all(|f| !f));
    }

    #[test]
    fn rules_read_from_json_and_reject_typos() {
        let rule: Rule = serde_json::from_str(
            r#"{"operation":"BatchWriteItem","body_contains":["T#t1#"],"fault":{"kind":"applied_then_reset"},"skip":1,"times":1}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            Rule::new(Fault::AppliedThenReset)
                .operation("BatchWriteItem")
                .body_contains("T#t1#")
                .skip(1)
                .times(1)
        );
        let throttle: Rule = serde_json::from_str(r#"{"fault":{"kind":"throttle"}}"#).unwrap();
        assert_eq!(
            throttle.fault,
            Fault::Throttle {
                error: ThrottleError::ProvisionedThroughputExceededException
            }
        );
        assert!(serde_json::from_str::<Rule>(r#"{"fault":{"kind":"throttle"},"time":1}"#).is_err());
        assert!(serde_json::from_str::<Rule>(r#"{"fault":{"kind":"latency"}}"#).is_err());
        assert!(Rule::new(Fault::Reset).probability(1.5, 0).invalid().is_some());
        assert!(Rule::new(Fault::Reset).body_contains("").invalid().is_some());
        assert!(Fault::AppliedThenServerError.forwards() && !Fault::Reset.forwards());
    }
}
