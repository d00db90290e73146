//! Entra's Test Connection: a token, then queries for a user and a group that cannot exist, each expected to
//! answer 200 with an empty ListResponse.

use reqwest::Method;
use serde_json::Value;

use super::client::ScimResponse;
use super::{Provisioner, shapes};

/// One step of Test Connection.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConnectionStep {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// What Entra's "Test Connection" button checks: a token, then a query for a user that cannot exist.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ConnectionReport {
    pub steps: Vec<ConnectionStep>,
}

impl ConnectionReport {
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            out.push_str(&format!(
                "{} {} — {}\n",
                if s.passed { "PASS" } else { "FAIL" },
                s.name,
                s.detail
            ));
        }
        out.push_str(if self.passed() {
            "Test Connection: PASS\n"
        } else {
            "Test Connection: FAIL\n"
        });
        out
    }
}

/// Checks an empty-ListResponse answer the way Entra does (a 404 here quarantines a real provisioning job).
fn empty_list_step(name: String, resp: std::result::Result<ScimResponse, crate::error::SimError>) -> ConnectionStep {
    let (passed, detail) = match resp {
        Err(e) => (false, e.to_string()),
        Ok(r) if r.status != 200 => (false, format!("HTTP {} (expected 200): {}", r.status, r.detail())),
        Ok(r) => match r.json() {
            None => (false, "200 but the body is not JSON".to_string()),
            Some(v) => {
                let is_list = v
                    .get("schemas")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|x| x == shapes::LIST_RESPONSE_SCHEMA));
                let total = v.get("totalResults").and_then(Value::as_u64);
                let content_type = r.content_type.unwrap_or_default();
                if !is_list {
                    (false, "200 but not a SCIM ListResponse".to_string())
                } else if total != Some(0) {
                    (false, format!("expected totalResults 0, got {total:?}"))
                } else {
                    (true, format!("200, empty ListResponse ({content_type})"))
                }
            }
        },
    };
    ConnectionStep { name, passed, detail }
}

impl Provisioner {
    /// Entra's Test Connection: token request, then `GET /Users?filter=userName+eq+"<random guid>"` (and the
    /// same for a group), each expected to answer 200 with an empty ListResponse.
    pub async fn test_connection(&self) -> ConnectionReport {
        let mut report = ConnectionReport::default();
        let token_step = match self.client.tokens().token().await {
            Ok(_) => ConnectionStep {
                name: "token".into(),
                passed: true,
                detail: match self.client.tokens().token_requests() {
                    0 => "token supplied".into(),
                    _ => "access token issued for the client assertion".into(),
                },
            },
            Err(e) => ConnectionStep {
                name: "token".into(),
                passed: false,
                detail: e.to_string(),
            },
        };
        let token_ok = token_step.passed;
        report.steps.push(token_step);
        if !token_ok {
            return report;
        }
        let guid = uuid::Uuid::new_v4().to_string();
        let user_query = shapes::user_lookup_query(&guid);
        let resp = self
            .client
            .send(Method::GET, &user_query, None, "GET /Users?filter=userName")
            .await;
        report.steps.push(empty_list_step(format!("GET {user_query}"), resp));
        let group_query = shapes::group_lookup_query(&uuid::Uuid::new_v4().to_string());
        let resp = self
            .client
            .send(Method::GET, &group_query, None, "GET /Groups?filter=displayName")
            .await;
        report.steps.push(empty_list_step(format!("GET {group_query}"), resp));
        report
    }
}
