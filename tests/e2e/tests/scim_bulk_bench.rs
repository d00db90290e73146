//! 1,000 user creates in one `POST /Bulk` through the running local stack: prints the wall time of the request (the
//! figure that must stay well inside the SCIM function's 15 s timeout, README "SCIM Bulk") and asserts only that
//! every create succeeded. A plain binary (`harness = false`) so the number reaches `cargo test`'s output.

mod scim_support;

use std::process::ExitCode;

use serde_json::{Value, json};

const NAME: &str = "bulk_of_1000_user_creates";
const CREATES: usize = 1000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return ExitCode::SUCCESS;
    }
    if !e2e_tests::libtest_selects(NAME, &args) || args.iter().any(|a| a == "--ignored") {
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
    ExitCode::SUCCESS
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
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
    let bytes = serde_json::to_vec(&body).expect("JSON").len();
    let started = std::time::Instant::now();
    let reply = stack.scim(&token, "POST", "/Bulk", Some(&body)).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["Operations"].as_array().expect("Operations");
    let created = results.iter().filter(|op| op["status"] == "201").count();
    assert_eq!(created, CREATES, "every create succeeds");
    println!(
        "{NAME}: {CREATES} creates in one POST /Bulk ({bytes} bytes): {seconds:.2} s wall time, {:.1} ms per create",
        seconds * 1000.0 / CREATES as f64
    );
    println!("test {NAME} ... ok");
}
