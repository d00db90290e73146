//! The JWKS half of the connection test: the URL policy, a live fetch, the keys usable with the registration's
//! algorithms, and the state of the shared Keys table entry.

use std::time::Instant;

use wif_admin_api::Check;
use wif_auth::jwks::{JwkSet, JwsAlgorithm, KeyUseError};
use wif_auth::ports::JwksFetchOutcome;
use wif_auth::registration::{FederatedCredential, Registration};
use wif_common::clock::rfc3339;

use super::ConnectionTester;

impl ConnectionTester {
    pub(super) async fn jwks_checks(
        &self,
        registration: &Registration,
        credential: &FederatedCredential,
        now: i64,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        let jwks_uri = credential.jwks_uri.as_str();
        let url_ok = match self.policy.url_policy().check(jwks_uri) {
            Ok(_) => {
                checks.push(Check::pass("jwks_url_policy", format!("{jwks_uri} is allowed")));
                true
            }
            Err(err) => {
                checks.push(Check::fail("jwks_url_policy", format!("{jwks_uri} is refused: {err}")));
                false
            }
        };
        let algorithms = algorithms(registration);
        let mut live_kids: Option<Vec<String>> = None;
        if url_ok {
            let started = Instant::now();
            let fetched = self.fetcher.fetch(jwks_uri, None).await;
            let elapsed_ms = started.elapsed().as_millis();
            match fetched {
                Ok(JwksFetchOutcome::Fresh { body, .. }) => {
                    checks.push(Check::pass(
                        "jwks_reachable",
                        format!("fetched {} bytes in {elapsed_ms} ms", body.len()),
                    ));
                    let (check, kids) = keys_check("jwks_keys", &body, &algorithms);
                    live_kids = kids;
                    checks.push(check);
                }
                // We sent no ETag, so a 304 is a broken server; the token endpoint could not use it either.
                Ok(JwksFetchOutcome::NotModified { .. }) => {
                    checks.push(Check::fail(
                        "jwks_reachable",
                        "the server answered 304 Not Modified to an unconditional request",
                    ));
                    checks.push(Check::fail("jwks_keys", "no JWKS document to inspect"));
                }
                Err(err) => {
                    checks.push(Check::fail("jwks_reachable", format!("{err} (after {elapsed_ms} ms)")));
                    checks.push(Check::fail("jwks_keys", "no JWKS document to inspect"));
                }
            }
        } else {
            checks.push(Check::fail(
                "jwks_reachable",
                "not attempted: the URL is refused by policy",
            ));
            checks.push(Check::fail("jwks_keys", "not attempted: the URL is refused by policy"));
        }
        checks.push(self.cache_check(jwks_uri, &algorithms, live_kids.as_deref(), now).await);
        checks
    }

    /// The Keys table entry. A missing entry is fine (the first token request fetches); a failing one is fine
    /// while it still holds a usable document (last known good); a document without usable keys is not.
    async fn cache_check(
        &self,
        jwks_uri: &str,
        algorithms: &[JwsAlgorithm],
        live_kids: Option<&[String]>,
        now: i64,
    ) -> Check {
        let entry = match self.keys.get_jwks(jwks_uri).await {
            Ok(entry) => entry,
            Err(err) => return Check::fail("keys_cache", format!("the Keys table could not be read: {err}")),
        };
        let Some(entry) = entry else {
            return Check::pass(
                "keys_cache",
                "not cached yet; the first token request or the next jwks-refresh run fetches it",
            );
        };
        let failure = match (&entry.last_failure, entry.last_failure_at) {
            (Some(reason), Some(at)) => format!("; last fetch failure {} ({reason})", rfc3339(at)),
            (Some(reason), None) => format!("; last fetch failure: {reason}"),
            _ => String::new(),
        };
        let Some(document) = &entry.document else {
            return Check::fail(
                "keys_cache",
                format!("no good JWKS document has ever been cached{failure}"),
            );
        };
        let age = entry
            .fetched_at
            .map(|at| format!("fetched {} ({} s ago)", rfc3339(at), now.saturating_sub(at)))
            .unwrap_or_else(|| "fetch time unknown".to_owned());
        let (keys, cached_kids) = keys_check("keys_cache", document, algorithms);
        if !keys.ok {
            return Check::fail(
                "keys_cache",
                format!("cached document is unusable: {}{failure}", keys.detail),
            );
        }
        let mut detail = format!("{age}; {}{failure}", keys.detail);
        if let (Some(live), Some(cached)) = (live_kids, cached_kids) {
            let missing: Vec<&str> = live
                .iter()
                .filter(|kid| !cached.contains(kid))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                // Not a failure: an unknown kid makes the token endpoint refetch (once per cooldown).
                detail.push_str(&format!(
                    "; the live JWKS has keys the cache lacks ({}), fetched on first use",
                    missing.join(", ")
                ));
            }
        }
        Check::pass("keys_cache", detail)
    }
}

fn algorithms(registration: &Registration) -> Vec<JwsAlgorithm> {
    registration
        .allowed_algorithms
        .iter()
        .filter_map(|name| JwsAlgorithm::parse(name))
        .collect()
}

/// Parses a JWKS and counts the keys usable with at least one allowed algorithm. Usability is probed by verifying
/// an empty signature: a key of the wrong type or pinned to another algorithm refuses before any cryptography, a
/// usable key gets as far as rejecting the signature itself.
fn keys_check(name: &'static str, document: &str, algorithms: &[JwsAlgorithm]) -> (Check, Option<Vec<String>>) {
    let set = match JwkSet::parse(document) {
        Ok(set) => set,
        Err(err) => return (Check::fail(name, err.to_string()), None),
    };
    let mut usable: Vec<String> = set
        .kids()
        .filter(|kid| {
            set.get(kid).is_some_and(|key| {
                algorithms
                    .iter()
                    .any(|alg| key.verify(*alg, b"", b"") == Err(KeyUseError::BadSignature))
            })
        })
        .map(str::to_owned)
        .collect();
    usable.sort();
    let mut all: Vec<String> = set.kids().map(str::to_owned).collect();
    all.sort();
    let skipped = if set.skipped().is_empty() {
        String::new()
    } else {
        format!("; skipped: {}", set.skipped().join("; "))
    };
    let allowed = algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
    let check = if usable.is_empty() {
        Check::fail(
            name,
            format!(
                "no key usable with {allowed} ({} keys in the set: {}){skipped}",
                all.len(),
                all.join(", ")
            ),
        )
    } else {
        Check::pass(
            name,
            format!("{} usable with {allowed}: {}{skipped}", usable.len(), usable.join(", ")),
        )
    };
    (check, Some(all))
}
