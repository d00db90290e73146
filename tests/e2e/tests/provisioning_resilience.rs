//! What happens to a provisioning cycle when the ground moves under it, through the running local stack: the
//! customer's Entra tenant rotates its signing keys (between and within cycles), its JWKS endpoint goes down
//! mid-cycle, the access token is revoked or expires mid-cycle. A [`ScimProxy`] holds the cycle at a chosen
//! request while the test changes the world, so "mid-cycle" is exact, not a race.
//!
//! The stack runs with `WIF_JWKS_REFETCH_COOLDOWN_SECONDS=5` (infra/local/start.sh): an unknown kid may trigger
//! one JWKS fetch per cooldown per URL. Where a test needs the next unknown kid to be allowed a fetch, it waits
//! out that window from the last fetch it caused ([`wait_out_cooldown`]).

use std::time::{Duration, Instant};

use e2e_tests::provisioning::{
    PATIENCE, ScimProxy, ServerDirectory, Tenant, assert_clean, assert_state, wait_out_cooldown,
};
use e2e_tests::{LocalStack, local_token_repository};
use entra_sim::{Dialect, Outage, Provisioner, RemovalAction, SimError, TokenVersion, sample};
use wif_auth::ports::TokenStore;

/// Runs `job` over `dir` through `proxy`, holding it at request `at`; once the requests already past the gate
/// have their answers, `during` runs (given the instant the hold began) while nothing moves. Returns the report.
async fn cycle_with_checkpoint<F, Fut>(
    job: &mut Provisioner,
    dir: &entra_sim::Directory,
    proxy: &ScimProxy,
    at: u64,
    during: F,
) -> entra_sim::CycleReport
where
    F: FnOnce(Instant) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let checkpoint = proxy.requests() + at;
    let reached = proxy.pause_at(checkpoint);
    let intervene = async {
        let held_at = tokio::time::timeout(PATIENCE, reached)
            .await
            .expect("the cycle reached the checkpoint in time")
            .expect("checkpoint armed");
        proxy.wait_idle().await;
        during(held_at).await;
        // The hold is what makes "mid-cycle" exact: nothing from the checkpoint on may have slipped through.
        assert_eq!(
            proxy.passed(),
            checkpoint - 1,
            "requests passed the gate while the cycle was held"
        );
        proxy.resume();
    };
    let (report, ()) = tokio::join!(job.run_cycle(dir), intervene);
    report.expect("the cycle ran")
}

/// The provisioner's view of one token request with a fresh assertion from the live identity.
async fn token_status(tenant: &Tenant) -> (u16, String, String) {
    let (status, _, body) = tenant.token_response().await;
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Key rotation within a cycle (old key withdrawn, token revoked, so the very next token request must carry the
/// new kid) and between cycles (new key published alongside the old one). The new kid is picked up with one
/// JWKS fetch (two at most, when two function instances each miss it), the job renews once and finishes, and the
/// directory ends up exactly as the file says.
#[tokio::test]
async fn key_rotation_mid_cycle_and_between_cycles() {
    let Some(stack) = LocalStack::get() else { return };
    let base = sample::generate(40);
    let (changed, _) = sample::changed(&base);
    let tenant = Tenant::register(&stack, TokenVersion::V2).await;
    let proxy = ScimProxy::start(&stack.scim_url).await;
    let mut job = tenant.provisioner(proxy.url(), Dialect::Default, RemovalAction::Delete);
    let first_kid = tenant.jwks.identity().signing_kid().to_owned();

    let mut fetches_at_rotation = 0;
    let mut new_kid = String::new();
    let report = cycle_with_checkpoint(&mut job, &base, &proxy, 30, |held_at| {
        let tenant = &tenant;
        let (fetches, kid) = (&mut fetches_at_rotation, &mut new_kid);
        async move {
            *fetches = tenant.jwks.key_fetches();
            assert!(*fetches >= 1, "the first token request should have fetched the JWKS");
            *kid = tenant.jwks.rotate_keys(true).expect("rotate");
            assert!(tenant.revoke_tokens().await >= 1, "the job's token was not revoked");
            // The first fetch happened before request 1; the next unknown kid must be allowed its own fetch.
            wait_out_cooldown(held_at).await;
        }
    })
    .await;
    assert_clean(&report, "cycle with a mid-cycle key rotation");
    assert_eq!(report.users.created, base.users.len() as u64, "{}", report.summary());
    assert_eq!(
        report.token_requests,
        2,
        "the job renews once after the 401: {}",
        report.summary()
    );
    assert!(
        proxy.status_count(401) >= 1,
        "no request saw the revoked token: {:?}",
        proxy.statuses()
    );
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());
    let rotation_fetches = tenant.jwks.key_fetches() - fetches_at_rotation;
    assert!(
        (1..=2).contains(&rotation_fetches),
        "the rotated kid {new_kid} took {rotation_fetches} JWKS fetches"
    );
    assert_ne!(new_kid, first_kid);
    println!("mid-cycle rotation: new kid picked up with {rotation_fetches} JWKS fetch(es)");

    let reader = tenant.token().await;
    assert_state(&base, &ServerDirectory::read(&tenant, &reader).await, &[], None);

    // A withdrawn key is not checked here: a function instance that has not needed the rotated set keeps the old
    // one in memory until WIF_JWKS_MEMORY_TTL_SECONDS (300) pass, by design, and which instance answers is not
    // ours to choose (seen: one instance refused the withdrawn kid, another accepted it). shared/auth's
    // tests/jwks_cache.rs pins both sides with a fixed clock (key_rotation_is_picked_up_by_one_fetch,
    // memory_rereads_the_table_after_its_ttl_and_sees_rotation).
    let after_rotation = Instant::now();

    // Between cycles: Entra publishes the next key before signing with it. A new job (fresh token) signs with it.
    tenant.jwks.reset_stats();
    let third_kid = tenant.jwks.rotate_keys(false).expect("rotate");
    wait_out_cooldown(after_rotation).await;
    let mut next = tenant.provisioner(proxy.url(), Dialect::Default, RemovalAction::Delete);
    assert!(next.resume(job.state().clone()));
    let report = next.run_cycle(&changed).await.expect("cycle after rotation");
    assert_clean(&report, "cycle after a rotation between cycles");
    assert_eq!(report.token_requests, 1);
    let fetches = tenant.jwks.key_fetches();
    assert!(
        (1..=2).contains(&fetches),
        "kid {third_kid} took {fetches} JWKS fetches"
    );
    println!("rotation between cycles: new kid picked up with {fetches} JWKS fetch(es)");
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());
    assert_state(&changed, &ServerDirectory::read(&tenant, &reader).await, &[], None);
}

/// The customer's JWKS endpoint goes down in the middle of a cycle. Tokens for the cached kid keep being issued
/// without a single request to the endpoint (the job renews after a revocation and finishes); a kid first seen
/// during the outage fails clearly — 503 `temporarily_unavailable` with Retry-After, never a 500, whether the
/// endpoint answers 503 or refuses connections — and costs at most one fetch attempt per cooldown however often it
/// is asked; once the endpoint is back, the new kid works and provisioning continues.
#[tokio::test]
async fn jwks_outage_mid_cycle_and_recovery() {
    let Some(stack) = LocalStack::get() else { return };
    let base = sample::generate(40);
    let (changed, _) = sample::changed(&base);
    let tenant = Tenant::register(&stack, TokenVersion::V1).await;
    let proxy = ScimProxy::start(&stack.scim_url).await;
    let mut job = tenant.provisioner(proxy.url(), Dialect::AadOptscim062020, RemovalAction::Delete);

    let mut fetches_before_outage = 0;
    let mut outage_began = Instant::now();
    let report = cycle_with_checkpoint(&mut job, &base, &proxy, 30, |held_at| {
        let tenant = &tenant;
        let (fetches, began) = (&mut fetches_before_outage, &mut outage_began);
        async move {
            *fetches = tenant.jwks.key_fetches();
            *began = held_at;
            // 503 for every key request; the server counts each one that reaches it.
            tenant.jwks.set_outage(Outage::Unavailable);
            assert!(tenant.revoke_tokens().await >= 1);
        }
    })
    .await;
    assert_clean(&report, "cycle through a JWKS outage");
    assert_eq!(
        report.token_requests,
        2,
        "renewed with the cached kid: {}",
        report.summary()
    );
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());
    assert_eq!(
        (tenant.jwks.key_fetches(), tenant.jwks.stats().unavailable),
        (fetches_before_outage, 0),
        "a cached kid must not need the JWKS endpoint"
    );

    // A new kid while the endpoint answers 503.
    tenant.jwks.reset_stats();
    let new_kid = tenant.jwks.rotate_keys(false).expect("rotate");
    wait_out_cooldown(outage_began).await;
    let asked_from = Instant::now();
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(tenant.token_response().await);
    }
    let asked_for = asked_from.elapsed();
    for (status, retry_after, body) in &answers {
        assert_eq!(*status, 503, "kid {new_kid} during the outage: {body}");
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        assert_eq!(
            body["error_description"], "the client's signing keys could not be retrieved; retry shortly",
            "{body}"
        );
        assert!(retry_after.is_some(), "503 without Retry-After: {body}");
    }
    let attempts = tenant.jwks.stats().unavailable;
    println!("outage: 6 token requests for an unknown kid in {asked_for:?} caused {attempts} JWKS attempt(s)");
    let windows = 1 + asked_for.as_secs() / e2e_tests::provisioning::jwks_refetch_cooldown().as_secs().max(1);
    assert!(
        attempts >= 1 && attempts <= 2 * windows,
        "{attempts} JWKS attempts for 6 token requests in {asked_for:?}"
    );

    // The same once the endpoint refuses connections (a DNS or network failure in front of the login host): the
    // next allowed fetch fails differently, the answer is the same clear 503.
    tenant.jwks.set_outage(Outage::Refuse);
    wait_out_cooldown(Instant::now()).await;
    let (status, retry_after, body) = tenant.token_response().await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "kid {new_kid} with the JWKS endpoint refusing connections: {body}"
    );
    assert!(retry_after.is_some(), "503 without Retry-After: {body}");
    // A job starting now fails fast with that error instead of sending SCIM requests without a token.
    let mut blocked = tenant.provisioner(proxy.url(), Dialect::AadOptscim062020, RemovalAction::Delete);
    match blocked.run_cycle(&changed).await {
        Err(SimError::OAuth { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (503, "temporarily_unavailable"));
        }
        Err(other) => panic!("expected the token error, got {other}"),
        Ok(report) => panic!("a cycle ran without a token:\n{}", report.summary()),
    }

    // Recovery: the next attempt after the cooldown fetches the set with the new kid.
    tenant.jwks.set_outage(Outage::Off);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, error, description) = token_status(&tenant).await;
        if status == 200 {
            break;
        }
        assert!(
            status == 503 && error == "temporarily_unavailable",
            "while recovering: {status} {error} {description}"
        );
        assert!(
            Instant::now() < deadline,
            "no token for kid {new_kid} after the outage ended"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut recovered = tenant.provisioner(proxy.url(), Dialect::AadOptscim062020, RemovalAction::Delete);
    assert!(recovered.resume(job.state().clone()));
    let report = recovered.run_cycle(&changed).await.expect("cycle after the outage");
    assert_clean(&report, "cycle after the outage");
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());
    let reader = tenant.token().await;
    assert_state(&changed, &ServerDirectory::read(&tenant, &reader).await, &[], None);
}

/// The access token stops working mid-cycle — revoked by the ISV's admin API in the first cycle, expired (its
/// record's expiry passed, before DynamoDB's TTL removed it) in the second. Each time the SCIM API answers 401
/// `invalid_token`, the job requests a new token once and finishes the cycle without a single failed object.
#[tokio::test]
async fn token_revoked_or_expired_mid_cycle_is_renewed() {
    let Some(stack) = LocalStack::get() else { return };
    let base = sample::generate(40);
    let (changed, _) = sample::changed(&base);
    let tenant = Tenant::register(&stack, TokenVersion::V2).await;
    let proxy = ScimProxy::start(&stack.scim_url).await;
    let mut job = tenant.provisioner(proxy.url(), Dialect::Default, RemovalAction::Delete);

    let report = cycle_with_checkpoint(&mut job, &base, &proxy, 30, |_| async {
        assert!(tenant.revoke_tokens().await >= 1);
    })
    .await;
    assert_clean(&report, "cycle with a revoked token");
    assert_eq!(report.token_requests, 2, "{}", report.summary());
    let unauthorized = proxy.status_count(401);
    assert!(unauthorized >= 1, "{:?}", proxy.statuses());
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());

    let repository = local_token_repository(&stack).await;
    let report = cycle_with_checkpoint(&mut job, &changed, &proxy, 20, |_| async {
        let token = proxy.last_token().expect("the job sent a bearer token");
        let hash = wif_auth::credentials::sha256_hex(&token);
        let mut record = repository
            .get_token(&hash)
            .await
            .expect("tokens table")
            .expect("the job's token is stored");
        assert!(!record.revoked);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        record.issued_at = now - 3600;
        record.expires_at = now - 1;
        repository.put_token(&record).await.expect("expire the token");
    })
    .await;
    assert_clean(&report, "cycle with an expired token");
    assert_eq!(
        report.token_requests,
        1,
        "one renewal in the second cycle: {}",
        report.summary()
    );
    assert!(proxy.status_count(401) > unauthorized, "{:?}", proxy.statuses());
    assert_eq!(proxy.server_errors(), 0, "{:?}", proxy.statuses());

    let reader = tenant.token().await;
    assert_state(&changed, &ServerDirectory::read(&tenant, &reader).await, &[], None);
}
