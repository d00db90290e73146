//! A provisioning cycle of 1,000 users + 10 groups (the stand-in's deterministic sample generator: a CEO, eight
//! departments with heads and team leads, every 40th user disabled; "All Staff" with 250 members, one group per
//! department, "Managers") through the running local stack, as Entra would run it. Prints the wall time and
//! SCIM requests per second; asserts only correctness (every object created, nothing failed, the directory read
//! back equals the file), never timing: the machine is shared and moto answers one DynamoDB call at a time.
//!
//! A plain binary (`harness = false`), so the numbers reach the output of `cargo test` (libtest would capture
//! them). Accepts and ignores libtest's flags; a name filter that does not match this test skips it.

use std::process::ExitCode;

use e2e_tests::LocalStack;
use e2e_tests::provisioning::{ServerDirectory, Tenant, assert_clean, assert_state, ids_by_index_pages};
use entra_sim::{Dialect, RemovalAction, TokenVersion, sample};

const NAME: &str = "provisioning_cycle_of_1000_users_and_10_groups";
const USERS: usize = 1000;

fn main() -> ExitCode {
    e2e_tests::run_plain_test(NAME, || async {
        run().await;
        true
    })
}

async fn run() {
    let Some(stack) = LocalStack::get() else { return };
    let dir = sample::generate(USERS);
    assert_eq!((dir.users.len(), dir.groups.len()), (USERS, 10));
    let memberships: u64 = dir.groups.iter().map(|g| g.members.len() as u64).sum();

    let tenant = Tenant::register(&stack, TokenVersion::V2).await;
    let mut job = tenant.provisioner(&stack.scim_url, Dialect::Default, RemovalAction::Delete);
    let report = job.run_cycle(&dir).await.expect("cycle");
    assert_clean(&report, NAME);
    assert_eq!(report.users.created, USERS as u64, "{}", report.summary());
    assert_eq!(report.groups.created, 10, "{}", report.summary());
    assert_eq!(report.memberships_added, memberships, "{}", report.summary());

    let reader = tenant.token().await;
    let started = std::time::Instant::now();
    // The users' derived groups attribute costs an index query per user; the smaller tests compare it.
    let server = ServerDirectory::read_with(&tenant, &reader, false).await;
    let read_back = started.elapsed().as_secs_f64();
    assert_state(&dir, &server, &[], None);
    // 1,000 users are more than one 1 MB DynamoDB page: index pages must still list every one exactly once.
    let by_index = ids_by_index_pages(&tenant, &reader, "/Users", 200).await;
    let unique: std::collections::BTreeSet<&String> = by_index.iter().collect();
    assert_eq!(
        (by_index.len(), unique.len()),
        (USERS, USERS),
        "index pages of 1,000 users"
    );

    let writes = report.writes();
    println!(
        "{NAME}: {USERS} users + 10 groups ({memberships} memberships, {} managers), concurrency {}: \
         {:.1} s wall time, {} SCIM requests ({writes} writes) + {} token request(s) = {:.1} requests/s; \
         read back in {read_back:.1} s",
        report.managers_changed,
        job.options().concurrency,
        report.wall_time_seconds,
        report.requests,
        report.token_requests,
        report.requests_per_second(),
    );
    println!("requests by kind:");
    for (kind, n) in &report.requests_by_kind {
        println!("  {kind:<40} {n:>6}");
    }
    println!("test {NAME} ... ok");
}
