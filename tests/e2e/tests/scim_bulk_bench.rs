//! 1,000 user creates in one `POST /Bulk` through the running local stack: prints the wall time of the request and
//! how many creates fit in the service's 10 s time budget (the rest answer 503 unrun and are sent again, as a client
//! would), and asserts that every create succeeded and nothing else happened. A plain binary (`harness = false`) so the number reaches `cargo test`'s output.

use e2e_tests::is_emulator_relay_fault;
use e2e_tests::scim as scim_support;

use std::process::ExitCode;

use serde_json::{Value, json};

const NAME: &str = "bulk_of_1000_user_creates";
const CREATES: usize = 1000;

fn main() -> ExitCode {
    e2e_tests::run_plain_test(NAME, || async {
        run().await;
        true
    })
}

async fn run() {
    let Some(stack) = scim_support::stack().await else {
        return;
    };
    let token = stack.token().await;
    let prefix = scim_support::unique("bulk");
    let operations: Vec<Value> = (0..CREATES)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {
                "schemas": [scim_support::USER_SCHEMA], "userName": format!("{prefix}-{i}@example.com"),
                "active": true, "displayName": format!("Bulk user {i}"),
                "emails": [{"type": "work", "primary": true, "value": format!("{prefix}-{i}@example.com")}]}})
        })
        .collect();
    let bytes = serde_json::to_vec(&operations).expect("JSON").len();
    let mut pending = operations;
    let mut rounds = Vec::new();
    let started = std::time::Instant::now();
    // Operations the 10 s time budget left unstarted answer 503; a client sends those again (README, "SCIM Bulk").
    // A client sends the rest again for as long as each request makes progress; a request that creates nothing
    // (on any machine, however slow) is a failure.
    let mut progressing = true;
    while !pending.is_empty() && progressing {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": pending});
        let round_started = std::time::Instant::now();
        let reply = stack.scim(&token, "POST", "/Bulk", Some(&body)).await;
        if is_emulator_relay_fault(reply.status, &reply.body.to_string()) {
            // The emulator lost our answer (README, design notes), so what this request did is unknown: read back
            // which users exist, as a client would, and send the rest again.
            let existing = user_names(&stack, &token).await;
            let before = pending.len();
            pending.retain(|op| !existing.contains(op["data"]["userName"].as_str().expect("userName")));
            rounds.push(format!(
                "answer lost by cargo lambda watch; read back: {} created in {:.2} s",
                before - pending.len(),
                round_started.elapsed().as_secs_f64()
            ));
            progressing = pending.len() < before;
            continue;
        }
        assert_eq!(reply.status, 200, "{}", reply.body);
        let results = reply.body["Operations"].as_array().expect("Operations");
        let created = results.iter().filter(|op| op["status"] == "201").count();
        let deferred: Vec<&str> = results
            .iter()
            .filter(|op| op["status"] == "503")
            .filter_map(|op| op["bulkId"].as_str())
            .collect();
        assert_eq!(
            created + deferred.len(),
            results.len(),
            "only 201 or 503: {}",
            reply.body
        );
        rounds.push(format!(
            "{created} created + {} deferred in {:.2} s",
            deferred.len(),
            round_started.elapsed().as_secs_f64()
        ));
        progressing = created > 0;
        let pending_ids: std::collections::HashSet<&str> = deferred.into_iter().collect();
        pending = body["Operations"]
            .as_array()
            .expect("operations")
            .iter()
            .filter(|op| op["bulkId"].as_str().is_some_and(|id| pending_ids.contains(id)))
            .cloned()
            .collect();
    }
    assert!(
        pending.is_empty(),
        "every request creates at least one user until all are created: {}",
        rounds.join("; ")
    );
    let seconds = started.elapsed().as_secs_f64();
    let existing = user_names(&stack, &token).await;
    assert_eq!(
        existing.len(),
        CREATES,
        "exactly the bulk's users exist in this test's tenant"
    );
    println!(
        "{NAME}: {CREATES} creates ({bytes} bytes of operations): {seconds:.2} s wall time, {:.1} ms per create; \
         requests: {}",
        seconds * 1000.0 / CREATES as f64,
        rounds.join("; ")
    );
    println!("test {NAME} ... ok");
}

/// Every userName in this test's tenant (its own customer, so only the bulk's users), read page by page.
async fn user_names(stack: &scim_support::Stack, token: &str) -> std::collections::HashSet<String> {
    const PAGE: usize = 200;
    let mut names = std::collections::HashSet::new();
    loop {
        let target = format!("/Users?attributes=userName&count={PAGE}&startIndex={}", names.len() + 1);
        let reply = stack.scim(token, "GET", &target, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.body["Resources"].as_array().cloned().unwrap_or_default();
        names.extend(
            page.iter()
                .filter_map(|user| user["userName"].as_str().map(str::to_owned)),
        );
        if page.len() < PAGE {
            return names;
        }
    }
}
