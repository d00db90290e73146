//! `GET /clients/{id}/test`: what Entra's "Test Connection" needs from our side, checked one by one so the ISV can
//! tell a customer exactly what to fix before Entra quarantines the provisioning job.
//!
//! Entra's test requests a token (assertion signed with the tenant's current key) and then searches `/Users`. Our
//! side of that can fail because the registration is disabled or no longer valid under the deployment's policy,
//! because the JWKS URL is refused or unreachable, because the JWKS holds no key usable with the registration's
//! algorithms, or (for the secret mode) because no secret is active. The JWKS checks run once per federated
//! credential (each names its `credential_id`): each credential's keys are used for its own assertions only. The Keys table state is reported too: the
//! token endpoint falls back to it when the JWKS URL is down, so a stale or failing entry is worth knowing about.
//! The JWKS checks are in [`jwks`]; this module holds the tester and the checks of the registration itself.
//!
//! The checks only read: the fetched document is not written to the Keys table (that is jwks-refresh's and the
//! token endpoint's job, and keeps the admin role read-only on that table).

mod jwks;

use std::sync::Arc;

use wif_admin_api::{Check, ConnectionReport};
use wif_auth::credentials::active_secrets;
use wif_auth::ports::{JwksFetcher, KeyStore};
use wif_auth::registration::{Registration, RegistrationPolicy};
use wif_common::Clock;
use wif_common::clock::rfc3339;

use crate::trust::{registration_request, stored_settings};

/// A secret expiring sooner than this is called out so the rotation happens before Entra's cycles start failing.
pub const SECRET_EXPIRY_WARNING_DAYS: i64 = 30;

/// Runs the checks with the same JWKS fetcher and policy as the token endpoint, reading the shared Keys table.
pub struct ConnectionTester {
    pub keys: Arc<dyn KeyStore>,
    pub fetcher: Arc<dyn JwksFetcher>,
    pub clock: Arc<dyn Clock>,
    pub policy: RegistrationPolicy,
}

impl ConnectionTester {
    pub async fn test(&self, registration: &Registration) -> ConnectionReport {
        let now = self.clock.now_unix();
        let mut checks = vec![
            self.registration_valid(registration),
            enabled(registration),
            auth_methods(registration),
        ];
        if registration.wif_enabled {
            for credential in &registration.federated_credentials {
                let credential_checks = self.jwks_checks(registration, credential, now).await;
                checks.extend(
                    credential_checks
                        .into_iter()
                        .map(|check| check.for_credential(&credential.credential_id)),
                );
            }
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
        let request = registration_request(Some(registration.tenant_id.clone()), stored_settings(registration));
        match request.validate_with(&self.policy, registration.wif_enabled) {
            Ok(validated) => {
                let mut detail = registration_summary(registration);
                for warning in validated.warnings() {
                    detail.push_str(&format!("; warning: {warning}"));
                }
                if registration.markers_pending {
                    detail.push_str(
                        "; stored before trust markers: only requests with client_id find it until \
                         `wif-admin migrate trust-markers` (or any change of it) writes them",
                    );
                }
                Check::pass("registration", detail)
            }
            Err(err) => Check::fail(
                "registration",
                format!("not valid under the current deployment policy: {err}"),
            ),
        }
    }
}

/// Each credential's issuer, subject and audiences, and the scopes.
fn registration_summary(registration: &Registration) -> String {
    let mut parts: Vec<String> = registration
        .federated_credentials
        .iter()
        .map(|credential| {
            format!(
                "credential {}: issuer {}, subject {}, audiences {}",
                credential.credential_id,
                credential.issuer,
                credential.subject,
                credential.audiences.join(" ")
            )
        })
        .collect();
    let scopes: Vec<&str> = registration.allowed_scopes.iter().map(|s| s.as_str()).collect();
    parts.push(format!("scopes {}", scopes.join(" ")));
    parts.join("; ")
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
mod tests;
