//! What admin actions do at the token endpoint and the SCIM API, against the running local stack: secret rotation
//! and expiry, revocation latency, disable/delete revoking live tokens, per-client rate limiting, and that no
//! credential ever reaches a log line or an audit record.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e_tests::admin::{
    Customer, admin_ok, credential_like, scim_status, stack, stack_setting, token_with_secret_basic,
    token_with_secret_post,
};
use entra_sim::TokenVersion;
use futures::StreamExt;
use serde_json::json;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn create_secret(stack: &e2e_tests::LocalStack, client_id: &str) -> (String, String) {
    let created = admin_ok(stack, "POST", &format!("/clients/{client_id}/secrets"), None, 201).await;
    (
        created["secret_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_rotation_keeps_old_and_new_working_until_the_old_is_revoked() {
    let Some(stack) = stack() else { return };
    let http = e2e_tests::admin::http();
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = customer.client_id.as_str();

    let (old_id, old) = create_secret(&stack, id).await;
    let granted = token_with_secret_post(&stack, &http, id, &old).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["token_type"], "Bearer");
    let token_from_old = granted.access_token().to_owned();
    assert_eq!(scim_status(&stack, &token_from_old).await, 200);
    let basic = token_with_secret_basic(&stack, id, &old).await;
    assert_eq!(basic.status, 200, "{}", basic.body);

    // Rotation: a second secret; both work during the overlap.
    let (_, new) = create_secret(&stack, id).await;
    for secret in [&old, &new] {
        let answer = token_with_secret_post(&stack, &http, id, secret).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let answer = token_with_secret_basic(&stack, id, secret).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // WIF keeps working next to the secrets.
    assert_eq!(scim_status(&stack, &customer.access_token(&stack).await).await, 200);

    // The old one is revoked: refused at once, the new one still works.
    admin_ok(&stack, "DELETE", &format!("/clients/{id}/secrets/{old_id}"), None, 200).await;
    let refused = token_with_secret_post(&stack, &http, id, &old).await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (401, Some("invalid_client")),
        "{}",
        refused.body
    );
    let refused = token_with_secret_basic(&stack, id, &old).await;
    assert_eq!(refused.status, 401);
    assert_eq!(token_with_secret_post(&stack, &http, id, &new).await.status, 200);
    // A planned rotation leaves tokens already issued alone.
    assert_eq!(scim_status(&stack, &token_from_old).await, 200);

    // A wrong secret, and two authentication methods at once.
    let wrong = token_with_secret_post(&stack, &http, id, &format!("wif_cs_{}", "A".repeat(43))).await;
    assert_eq!(wrong.status, 401);
    let both = http
        .post(&stack.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", new.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", customer.assertion().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);

    // Secrets switched off: the remaining secret stops working, WIF does not.
    let current = admin_ok(&stack, "GET", &format!("/clients/{id}"), None, 200).await;
    admin_ok(
        &stack,
        "PATCH",
        &format!("/clients/{id}"),
        Some(&json!({ "version": current["version"], "secrets_enabled": false })),
        200,
    )
    .await;
    let off = token_with_secret_post(&stack, &http, id, &new).await;
    assert_eq!(off.status, 401, "{}", off.body);
    assert_eq!(scim_status(&stack, &customer.access_token(&stack).await).await, 200);

    // Revoking a secret after a leak can take the live tokens with it.
    let current = admin_ok(&stack, "GET", &format!("/clients/{id}"), None, 200).await;
    let new_id = current["secrets"][0]["secret_id"].as_str().unwrap().to_owned();
    let revoked = admin_ok(
        &stack,
        "DELETE",
        &format!("/clients/{id}/secrets/{new_id}?revoke_tokens=true"),
        None,
        200,
    )
    .await;
    assert!(revoked["revoked_tokens"].as_u64().unwrap() >= 1, "{revoked}");
    assert_eq!(scim_status(&stack, &token_from_old).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_secret_is_refused() {
    let Some(stack) = stack() else { return };
    let http = e2e_tests::admin::http();
    let customer = Customer::register(&stack, TokenVersion::V1).await;
    let id = customer.client_id.as_str();
    let (_, current) = create_secret(&stack, id).await;

    // The API only issues secrets that live at least a year, so the expired one is written straight into the
    // Clients table, exactly as the service stores secrets (wif-auth generates it, only its hash is kept).
    let repository = wif_store::clients::ClientRepository::new(
        e2e_tests::admin::dynamodb(&stack).await,
        e2e_tests::admin::clients_table(),
    );
    let current_registration = repository.get(id).await.expect("read").expect("registration");
    let mut registration = current_registration.clone();
    let issued = now() - 400 * 86_400;
    let expired =
        wif_auth::credentials::generate_client_secret(&registration, issued, 365 * 86_400, None).expect("generate");
    let expired_id = expired.stored.secret_id.clone();
    registration.secrets.push(expired.stored);
    registration.version += 1;
    repository
        .replace(&current_registration, &registration)
        .await
        .expect("write back-dated secret");

    let refused = token_with_secret_post(&stack, &http, id, &expired.value).await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (401, Some("invalid_client")),
        "{}",
        refused.body
    );
    assert_eq!(token_with_secret_basic(&stack, id, &expired.value).await.status, 401);
    assert_eq!(token_with_secret_post(&stack, &http, id, &current).await.status, 200);

    let listed = admin_ok(&stack, "GET", &format!("/clients/{id}/secrets"), None, 200).await;
    let status_of = |listed: &serde_json::Value, secret_id: &str| {
        listed["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["secret_id"] == secret_id)
            .map(|s| s["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of(&listed, &expired_id).as_deref(), Some("expired"));
    assert_eq!(listed["active"], 1, "an expired secret does not take a slot");
    let report = admin_ok(&stack, "GET", &format!("/clients/{id}/test"), None, 200).await;
    assert!(report.to_string().contains("1 active"), "{report}");
    // The next creation prunes it.
    create_secret(&stack, id).await;
    let listed = admin_ok(&stack, "GET", &format!("/clients/{id}/secrets"), None, 200).await;
    assert_eq!(status_of(&listed, &expired_id), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_on_the_very_next_scim_request() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = customer.client_id.as_str();
    let mut revoke_ms = Vec::new();
    let mut next_ms = Vec::new();
    for _ in 0..5 {
        let token = customer.access_token(&stack).await;
        assert_eq!(scim_status(&stack, &token).await, 200);
        let started = Instant::now();
        let revoked = admin_ok(&stack, "POST", &format!("/clients/{id}/revoke-tokens"), None, 200).await;
        revoke_ms.push(started.elapsed().as_millis());
        assert!(revoked["revoked_tokens"].as_u64().unwrap() >= 1, "{revoked}");
        let started = Instant::now();
        let status = scim_status(&stack, &token).await;
        next_ms.push(started.elapsed().as_millis());
        assert_eq!(
            status, 401,
            "the first SCIM request after revoke-tokens must be refused"
        );
    }
    revoke_ms.sort();
    next_ms.sort();
    println!(
        "revocation: revoke-tokens answered in {} ms (median of 5, max {}); the next SCIM request was refused \
         (401) in {} ms (median, max {}); 5/5 refused on the first request after the revoke",
        revoke_ms[2], revoke_ms[4], next_ms[2], next_ms[4]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_and_delete_revoke_live_tokens() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = customer.client_id.as_str();
    let first = customer.access_token(&stack).await;
    assert_eq!(scim_status(&stack, &first).await, 200);

    let disabled = admin_ok(&stack, "POST", &format!("/clients/{id}/disable"), None, 200).await;
    assert_eq!(disabled["enabled"], false);
    assert_eq!(scim_status(&stack, &first).await, 401, "disable revokes live tokens");
    let (status, body) = customer
        .token_response(
            &stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", customer.assertion().as_str()),
                ("scope", "scim"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    admin_ok(&stack, "POST", &format!("/clients/{id}/enable"), None, 200).await;
    assert_eq!(
        scim_status(&stack, &first).await,
        401,
        "re-enabling does not resurrect revoked tokens"
    );
    let second = customer.access_token(&stack).await;
    assert_eq!(scim_status(&stack, &second).await, 200);

    let deleted = admin_ok(&stack, "DELETE", &format!("/clients/{id}"), None, 200).await;
    assert!(deleted["revoked_tokens"].as_u64().unwrap() >= 1, "{deleted}");
    assert_eq!(scim_status(&stack, &second).await, 401, "delete revokes live tokens");
    let (status, body) = customer
        .token_response(
            &stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", customer.assertion().as_str()),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_over_the_client_limit_gets_429_and_another_client_is_unaffected() {
    let Some(stack) = stack() else { return };
    let limit: u64 = stack_setting("WIF_RATE_LIMIT_CLIENT_PER_MINUTE")
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    assert!(
        limit > 0,
        "the local stack runs with WIF_RATE_LIMIT_CLIENT_PER_MINUTE=0 (rate limiting off)"
    );
    assert!(
        limit <= 3000,
        "a limit of {limit}/min is too large to exceed in one burst here"
    );
    let http = e2e_tests::admin::http();
    let noisy = Customer::register(&stack, TokenVersion::V2).await;
    let quiet = Customer::register(&stack, TokenVersion::V2).await;
    let probe = Customer::register(&stack, TokenVersion::V2).await;
    let (_, noisy_secret) = create_secret(&stack, &noisy.client_id).await;
    let (_, quiet_secret) = create_secret(&stack, &quiet.client_id).await;
    let (_, probe_secret) = create_secret(&stack, &probe.client_id).await;

    // Measure throughput with a third client (so neither burst client spends any of its window on it) to know
    // whether the burst fits into the rest of the current fixed one-minute window; if not, start at the next one.
    const CONCURRENCY: usize = 16;
    let warm_requests = (limit / 2).clamp(1, 32);
    let warm_started = Instant::now();
    let warm: Vec<u16> = futures::stream::iter(0..warm_requests)
        .map(|_| {
            let (stack, http, id, secret) = (&stack, &http, &probe.client_id, &probe_secret);
            async move { token_with_secret_post(stack, http, id, secret).await.status }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    assert!(warm.iter().all(|s| *s == 200), "{warm:?}");
    let per_second = warm_requests as f64 / warm_started.elapsed().as_secs_f64();
    let extra = 10u64;
    // The quiet client stays well inside its own limit.
    let quiet_requests = (limit / 2).clamp(1, 40);
    let burst = limit + extra + quiet_requests;
    let needed = (burst as f64 / per_second * 1.5).ceil() as i64 + 2;
    assert!(
        needed < 58,
        "the burst of {burst} requests would take ~{needed} s at {per_second:.0} req/s"
    );
    let into_window = now() % 60;
    if into_window + needed > 59 {
        tokio::time::sleep(Duration::from_secs((61 - into_window) as u64)).await;
    }

    // One burst: the noisy client's requests with the quiet client's interleaved.
    let mut plan = Vec::new();
    let every = (limit + extra) / quiet_requests + 1;
    for i in 0..(limit + extra) {
        plan.push(true);
        if i % every == 0 {
            plan.push(false);
        }
    }
    while plan.iter().filter(|noisy| !**noisy).count() < quiet_requests as usize {
        plan.push(false);
    }
    // Under `cargo lambda watch`, a source change rebuilds and restarts the token function and requests in flight
    // are lost; that is an artefact of the emulator, recognised from its log so the failure says so.
    let log_before = std::fs::metadata(e2e_tests::admin::lambda_log())
        .map(|m| m.len())
        .unwrap_or(0);
    let burst_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let window = now() / 60;
    let started = Instant::now();
    let results: Vec<(bool, u16, Option<u64>, Option<String>)> = futures::stream::iter(plan)
        .map(|is_noisy| {
            let (stack, http) = (&stack, &burst_http);
            let (id, secret) = if is_noisy {
                (&noisy.client_id, &noisy_secret)
            } else {
                (&quiet.client_id, &quiet_secret)
            };
            async move {
                match e2e_tests::admin::try_token_with_secret_post(stack, http, id, secret).await {
                    Ok(answer) => {
                        let error = answer.body["error"].as_str().map(str::to_owned);
                        (is_noisy, answer.status, answer.retry_after, error)
                    }
                    Err(err) => (is_noisy, 0, None, Some(err.to_string())),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let lost = results.iter().filter(|r| r.1 == 0).count();
    if lost > 0 {
        let log = std::fs::read(e2e_tests::admin::lambda_log()).unwrap_or_default();
        let during = String::from_utf8_lossy(log.get(log_before as usize..).unwrap_or_default());
        let restarted = during.contains("Running `target/debug/token`");
        panic!(
            "{lost} token requests got no answer{}",
            if restarted {
                " because cargo lambda watch rebuilt and restarted the token function during the burst (a source \
                 file changed); rerun when nobody is editing"
            } else {
                ""
            }
        );
    }
    assert_eq!(now() / 60, window, "the burst crossed a rate-limit window; rerun");

    let noisy_ok = results.iter().filter(|r| r.0 && r.1 == 200).count() as u64;
    let limited: Vec<_> = results.iter().filter(|r| r.0 && r.1 == 429).collect();
    let quiet_ok = results.iter().filter(|r| !r.0 && r.1 == 200).count() as u64;
    let other: Vec<_> = results.iter().filter(|r| r.1 != 200 && r.1 != 429).collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!(noisy_ok, limit, "exactly the limit is granted within the window");
    assert_eq!(limited.len() as u64, extra, "every request over the limit gets 429");
    for (_, _, retry_after, error) in &limited {
        let retry_after = retry_after.expect("429 carries Retry-After");
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        assert!(error.is_some(), "429 carries an OAuth error body");
    }
    assert_eq!(
        quiet_ok, quiet_requests,
        "the other client is never limited by this one's burst"
    );
    let retry_after: Vec<u64> = limited.iter().filter_map(|r| r.2).collect();
    println!(
        "rate limit: {limit}/min per client; burst of {} token requests (client_secret_post, concurrency \
         {CONCURRENCY}) in {:.1} s ({:.0} req/s): noisy client {noisy_ok}x200 then {}x429 (Retry-After {}-{} s), \
         quiet client {quiet_ok}/{quiet_requests}x200",
        results.len(),
        elapsed.as_secs_f64(),
        results.len() as f64 / elapsed.as_secs_f64(),
        limited.len(),
        retry_after.iter().min().unwrap_or(&0),
        retry_after.iter().max().unwrap_or(&0),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_assertion_or_token_reaches_a_log_line_or_an_audit_record() {
    let Some(stack) = stack() else { return };
    let http = e2e_tests::admin::http();
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = customer.client_id.as_str();
    let created = admin_ok(&stack, "POST", &format!("/clients/{id}/secrets"), None, 201).await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let mut credentials = vec![secret.clone()];

    let granted = token_with_secret_post(&stack, &http, id, &secret).await;
    credentials.push(granted.access_token().to_owned());
    let basic = token_with_secret_basic(&stack, id, &secret).await;
    credentials.push(basic.access_token().to_owned());
    let assertion = customer.assertion();
    credentials.push(assertion.clone());
    let (status, body) = customer
        .token_response(
            &stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("scope", "scim"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let wif_token = body["access_token"].as_str().unwrap().to_owned();
    credentials.push(wif_token.clone());
    assert_eq!(scim_status(&stack, &wif_token).await, 200);
    // Failures are logged and audited with their reasons, but never with what was presented.
    let wrong = format!("wif_cs_{}", "Z".repeat(43));
    credentials.push(wrong.clone());
    assert_eq!(token_with_secret_post(&stack, &http, id, &wrong).await.status, 401);
    let bogus_token = format!("wif_at_{}", "Q".repeat(43));
    credentials.push(bogus_token.clone());
    assert_eq!(scim_status(&stack, &bogus_token).await, 401);
    let tampered = format!("{}x", &assertion[..assertion.len() - 1]);
    credentials.push(tampered.clone());
    let (status, _) = customer
        .token_response(
            &stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", tampered.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 401);
    admin_ok(&stack, "POST", &format!("/clients/{id}/revoke-tokens"), None, 200).await;

    // The token function logs one line per grant or denial naming the client; wait until ours are there.
    let log = e2e_tests::admin::wait_for_log(|text| text.matches(id).count() >= 6, Duration::from_secs(10)).await;
    assert!(
        log.contains(id),
        "the functions' log ({}) has no line about {id}",
        e2e_tests::admin::lambda_log().display()
    );
    for credential in &credentials {
        let probe = &credential[..credential.len().min(60)];
        assert!(
            !log.contains(probe),
            "a credential ({}…) appears in the functions' log",
            &credential[..12]
        );
    }
    let leaked = credential_like(&log);
    assert!(
        leaked.is_empty(),
        "credential-shaped strings in the functions' log: {leaked:?}"
    );

    let audit = admin_ok(&stack, "GET", &format!("/audit?client_id={id}&limit=500"), None, 200).await;
    let text = audit.to_string();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"token.granted") && actions.contains(&"token.denied"),
        "{actions:?}"
    );
    assert!(actions.contains(&"admin.secret.create"), "{actions:?}");
    for credential in &credentials {
        assert!(
            !text.contains(&credential[..credential.len().min(60)]),
            "a credential appears in the audit trail"
        );
    }
    assert!(
        credential_like(&text).is_empty(),
        "credential-shaped strings in the audit trail"
    );
}
