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

/// Positional arguments of a libtest-style command line are name filters; options are skipped (with the value of
/// those that take one).
fn selected(args: &[String]) -> bool {
    const TAKES_VALUE: &[&str] = &[
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
        "-Z",
        "--report-time",
        "--shuffle-seed",
    ];
    let mut filters = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if TAKES_VALUE.contains(&arg.as_str()) {
            i += 2;
            continue;
        }
        if !arg.starts_with('-') {
            filters.push(arg.as_str());
        }
        i += 1;
    }
    filters.is_empty() || filters.iter().any(|f| NAME.contains(f))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return ExitCode::SUCCESS;
    }
    if !selected(&args) || args.iter().any(|a| a == "--ignored") {
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
