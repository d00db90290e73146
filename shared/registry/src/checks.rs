//! `GET /clients/{id}/test`: what Entra's "Test Connection" needs from our side, checked one by one so the ISV can
//! tell a customer exactly what to fix before Entra quarantines the provisioning job.
//!
//! Entra's test requests a token (assertion signed with the tenant's current key) and then searches `/Users`. Our
//! side of that can fail because the registration is disabled or no longer valid under the deployment's policy,
//! because the JWKS URL is refused or unreachable, because the JWKS holds no key usable with the registration's
//! algorithms, or (for the secret mode) because no secret is active. The Keys table state is reported too: the
//! token endpoint falls back to it when the JWKS URL is down, so a stale or failing entry is worth knowing about.
//!
//! The checks only read: the fetched document is not written to the Keys table (that is jwks-refresh's and the
//! token endpoint's job, and keeps the admin role read-only on that table).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use wif_auth::credentials::active_secrets;
use wif_auth::jwks::{JwkSet, JwsAlgorithm, KeyUseError};
use wif_auth::ports::{JwksFetchOutcome, JwksFetcher, KeyStore};
use wif_auth::registration::{Registration, RegistrationPolicy, RegistrationRequest};
use wif_common::Clock;
use wif_common::clock::rfc3339;

/// A secret expiring sooner than this is called out so the rotation happens before Entra's cycles start failing.
pub const SECRET_EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// True when the check did not apply (e.g. JWKS checks for a secrets-only client); `ok` is then true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    pub detail: String,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            skipped: false,
            detail: detail.into(),
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            skipped: false,
            detail: detail.into(),
        }
    }

    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            skipped: true,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionReport {
    pub client_id: String,
    /// True when every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

pub struct ConnectionTester {
    keys: Arc<dyn KeyStore>,
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    policy: RegistrationPolicy,
}

impl ConnectionTester {
    pub fn new(
        keys: Arc<dyn KeyStore>,
        fetcher: Arc<dyn JwksFetcher>,
        clock: Arc<dyn Clock>,
        policy: RegistrationPolicy,
    ) -> Self {
        Self {
            keys,
            fetcher,
            clock,
            policy,
        }
    }

    pub async fn test(&self, registration: &Registration) -> ConnectionReport {
        let now = self.clock.now_unix();
        let mut checks = vec![
            self.registration_valid(registration),
            enabled(registration),
            auth_methods(registration),
        ];
        if registration.wif_enabled {
            checks.extend(self.jwks_checks(registration, now).await);
        } else {
            let why = "client_assertion (WIF) is off for this client";
            for name in ["jwks_url_policy", "jwks_reachable", "jwks_keys", "keys_cache"] {
                checks.push(Check::skip(name, why));
            }
        }
        checks.push(secrets(registration, now));
        ConnectionReport {
            client_id: registration.client_id.clone(),
            ok: checks.iter().all(|check| check.ok),
            checks,
        }
    }

    /// The stored registration re-validated under the deployment's current policy: a registration stored while
    /// the policy was laxer (another JWKS host allowed, other lifetime bounds) would fail at the token endpoint.
    fn registration_valid(&self, registration: &Registration) -> Check {
        let request = RegistrationRequest {
            issuer: crate::service::stored_text(&registration.issuer),
            jwks_uri: crate::service::stored_text(&registration.jwks_uri),
            subject: crate::service::stored_text(&registration.subject),
            audience: crate::service::stored_text(&registration.audience),
            tenant_id: Some(registration.tenant_id.clone()),
            display_name: registration.display_name.clone(),
            scopes: Some(
                registration
                    .allowed_scopes
                    .iter()
                    .map(|scope| scope.as_str().to_owned())
                    .collect(),
            ),
            token_lifetime_seconds: Some(registration.token_lifetime_seconds),
            expected_tid: registration.expected_tid.clone(),
            allowed_algorithms: Some(registration.allowed_algorithms.clone()),
            events: None,
        };
        match request.validate_with(&self.policy, registration.wif_enabled) {
            Ok(_) => Check::pass(
                "registration",
                format!(
                    "issuer {}, subject {}, audience {}, scopes {}",
                    registration.issuer,
                    registration.subject,
                    registration.audience,
                    registration
                        .allowed_scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
            Err(err) => Check::fail(
                "registration",
                format!("not valid under the current deployment policy: {err}"),
            ),
        }
    }

    async fn jwks_checks(&self, registration: &Registration, now: i64) -> Vec<Check> {
        let mut checks = Vec::new();
        let url_ok = match self.policy.url_policy().check(&registration.jwks_uri) {
            Ok(_) => {
                checks.push(Check::pass(
                    "jwks_url_policy",
                    format!("{} is allowed", registration.jwks_uri),
                ));
                true
            }
            Err(err) => {
                checks.push(Check::fail(
                    "jwks_url_policy",
                    format!("{} is refused: {err}", registration.jwks_uri),
                ));
                false
            }
        };
        let algorithms = algorithms(registration);
        let mut live_kids: Option<Vec<String>> = None;
        if url_ok {
            let started = Instant::now();
            let fetched = self.fetcher.fetch(&registration.jwks_uri, None).await;
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
        checks.push(
            self.cache_check(registration, &algorithms, live_kids.as_deref(), now)
                .await,
        );
        checks
    }

    /// The Keys table entry. A missing entry is fine (the first token request fetches); a failing one is fine
    /// while it still holds a usable document (last known good); a document without usable keys is not.
    async fn cache_check(
        &self,
        registration: &Registration,
        algorithms: &[JwsAlgorithm],
        live_kids: Option<&[String]>,
        now: i64,
    ) -> Check {
        let entry = match self.keys.get_jwks(&registration.jwks_uri).await {
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

fn enabled(registration: &Registration) -> Check {
    if registration.enabled {
        Check::pass("enabled", "the client is enabled")
    } else {
        Check::fail(
            "enabled",
            "the client is disabled: every token request is refused (POST /clients/{id}/enable)",
        )
    }
}

fn auth_methods(registration: &Registration) -> Check {
    let methods = crate::secrets::auth_methods(registration);
    if methods.is_empty() {
        Check::fail(
            "auth_methods",
            "neither client_assertion (WIF) nor client secrets are enabled",
        )
    } else {
        Check::pass("auth_methods", format!("accepted: {}", methods.join(", ")))
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

fn secrets(registration: &Registration, now: i64) -> Check {
    if !registration.secrets_enabled {
        return Check::skip("client_secrets", "client secrets are off for this client");
    }
    let active: Vec<_> = active_secrets(registration, now).collect();
    let Some(latest) = active.iter().map(|secret| secret.expires_at).max() else {
        return Check::fail(
            "client_secrets",
            "secrets are enabled but no secret is active (POST /clients/{id}/secrets)",
        );
    };
    let days_left = (latest - now) / 86_400;
    let mut detail = format!(
        "{} active; the longest-lived expires {} (in {days_left} days)",
        active.len(),
        rfc3339(latest)
    );
    if days_left < SECRET_EXPIRY_WARNING_DAYS {
        detail.push_str("; create a new secret and rotate Entra to it now");
    }
    Check::pass("client_secrets", detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wif_auth::ports::{JwksFetchError, StoredJwks};
    use wif_auth::registration::StoredSecret;
    use wif_auth::testing::{InMemoryKeyStore, StaticJwksFetcher, TestKey, jwks_document, sample_registration};
    use wif_common::FixedClock;

    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        tester: ConnectionTester,
        keys: Arc<InMemoryKeyStore>,
        fetcher: Arc<StaticJwksFetcher>,
    }

    fn fixture() -> Fixture {
        let keys = Arc::new(InMemoryKeyStore::default());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        let tester = ConnectionTester::new(
            keys.clone(),
            fetcher.clone(),
            Arc::new(FixedClock::at(NOW)),
            RegistrationPolicy::default(),
        );
        Fixture { tester, keys, fetcher }
    }

    fn check<'a>(report: &'a ConnectionReport, name: &str) -> &'a Check {
        report
            .checks
            .iter()
            .find(|check| check.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {report:?}"))
    }

    #[tokio::test]
    async fn a_healthy_wif_client_passes_every_check() {
        let f = fixture();
        let registration = sample_registration("c1");
        let document = jwks_document(&[&TestKey::rsa("k1"), &TestKey::ec256("e1")]);
        f.fetcher.serve(&registration.jwks_uri, &document);
        f.keys.seed(&registration.jwks_uri, &document, NOW - 120);
        let report = f.tester.test(&registration).await;
        assert!(report.ok, "{report:#?}");
        let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            vec![
                "registration",
                "enabled",
                "auth_methods",
                "jwks_url_policy",
                "jwks_reachable",
                "jwks_keys",
                "keys_cache",
                "client_secrets"
            ]
        );
        // Only the RSA key fits RS256.
        assert!(
            check(&report, "jwks_keys")
                .detail
                .starts_with("1 usable with RS256: k1"),
            "{report:#?}"
        );
        assert!(check(&report, "keys_cache").detail.contains("120 s ago"));
        assert!(check(&report, "client_secrets").skipped);
    }

    #[tokio::test]
    async fn each_failure_is_reported_by_name() {
        let f = fixture();
        let mut registration = sample_registration("c2");
        registration.enabled = false;
        f.fetcher.answer(&registration.jwks_uri, Err(JwksFetchError::Timeout));
        let report = f.tester.test(&registration).await;
        assert!(!report.ok);
        assert!(!check(&report, "enabled").ok);
        assert!(check(&report, "jwks_url_policy").ok);
        assert!(!check(&report, "jwks_reachable").ok);
        assert!(check(&report, "jwks_reachable").detail.contains("timed out"));
        assert!(!check(&report, "jwks_keys").ok);
        // Not cached is not a failure.
        assert!(check(&report, "keys_cache").ok);

        // A JWKS with only EC keys cannot verify RS256 assertions.
        let registration = sample_registration("c3");
        f.fetcher
            .serve(&registration.jwks_uri, &jwks_document(&[&TestKey::ec256("e1")]));
        let report = f.tester.test(&registration).await;
        assert!(!check(&report, "jwks_keys").ok);
        assert!(check(&report, "jwks_keys").detail.contains("no key usable with RS256"));
    }

    #[tokio::test]
    async fn a_registration_the_current_policy_refuses_fails_before_any_fetch() {
        let f = fixture();
        let mut registration = sample_registration("c4");
        registration.jwks_uri = "https://keys.example.net/jwks".into();
        let report = f.tester.test(&registration).await;
        assert!(!check(&report, "registration").ok);
        assert!(
            check(&report, "registration")
                .detail
                .contains("jwks_uri: host keys.example.net")
        );
        assert!(!check(&report, "jwks_url_policy").ok);
        assert!(check(&report, "jwks_reachable").detail.starts_with("not attempted"));
        assert_eq!(f.fetcher.count(), 0);
    }

    #[tokio::test]
    async fn the_cache_state_is_reported_with_its_last_failure() {
        let f = fixture();
        let registration = sample_registration("c5");
        let document = jwks_document(&[&TestKey::rsa("k1")]);
        let rotated = jwks_document(&[&TestKey::rsa("k1"), &TestKey::rsa("k2")]);
        f.fetcher.serve(&registration.jwks_uri, &rotated);
        f.keys
            .put_jwks(&StoredJwks {
                jwks_uri: registration.jwks_uri.clone(),
                document: Some(document),
                fetched_at: Some(NOW - 3600),
                etag: None,
                last_attempt_at: Some(NOW - 60),
                last_failure: Some("JWKS server answered with status 503".into()),
                last_failure_at: Some(NOW - 60),
            })
            .await
            .unwrap();
        let report = f.tester.test(&registration).await;
        let cache = check(&report, "keys_cache");
        assert!(cache.ok, "last known good still validates: {cache:?}");
        assert!(cache.detail.contains("status 503"), "{cache:?}");
        assert!(cache.detail.contains("lacks (k2)"), "{cache:?}");

        let registration = sample_registration("c6");
        f.fetcher.serve(&registration.jwks_uri, &rotated);
        f.keys
            .record_fetch_failure(&registration.jwks_uri, NOW - 5, "JWKS fetch timed out")
            .await
            .unwrap();
        let report = f.tester.test(&registration).await;
        let cache = check(&report, "keys_cache");
        assert!(!cache.ok, "{cache:?}");
        assert!(cache.detail.contains("no good JWKS document"), "{cache:?}");
    }

    #[tokio::test]
    async fn secrets_only_clients_skip_the_jwks_and_need_an_active_secret() {
        let f = fixture();
        let mut registration = sample_registration("c7");
        registration.wif_enabled = false;
        registration.secrets_enabled = true;
        let report = f.tester.test(&registration).await;
        assert!(check(&report, "jwks_reachable").skipped);
        assert!(!check(&report, "client_secrets").ok);
        assert_eq!(f.fetcher.count(), 0);
        assert!(!report.ok);

        registration.secrets.push(StoredSecret {
            secret_id: "s1".into(),
            hash: "00".repeat(32),
            created_at: NOW - 350 * 86_400,
            expires_at: NOW + 15 * 86_400,
            description: None,
        });
        let report = f.tester.test(&registration).await;
        assert!(report.ok, "{report:#?}");
        let detail = &check(&report, "client_secrets").detail;
        assert!(detail.contains("in 15 days") && detail.contains("rotate"), "{detail}");

        registration.secrets[0].expires_at = NOW;
        let report = f.tester.test(&registration).await;
        assert!(!check(&report, "client_secrets").ok);
    }
}
