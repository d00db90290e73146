//! An EventBridge schedule on loopback: invokes a function through `cargo lambda watch`'s invoke endpoint with a
//! scheduled event every period, one invocation at a time (like the template's `ReservedConcurrentExecutions: 1`).

use std::time::Duration;

use serde_json::json;

/// Invokes `function` at `address` every `period` milliseconds, for ever.
pub async fn run(function: &str, address: &str, period: &str) -> Result<(), String> {
    let period: u64 = period
        .parse()
        .map_err(|_| format!("not a period in milliseconds: {period}"))?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        address.trim_end_matches('/')
    );
    eprintln!("schedule: {function} at {address} every {period} ms");
    loop {
        let event = json!({"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                           "account": "000000000000", "region": "us-east-1", "resources": [], "detail": {}});
        match http.post(&url).json(&event).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => eprintln!("schedule: {function} answered {}", response.status()),
            Err(err) => eprintln!("schedule: invoking {function} failed: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(period)).await;
    }
}
