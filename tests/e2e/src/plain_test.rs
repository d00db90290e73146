//! `harness = false` test binaries (the ones that print their numbers or a per-case report, which libtest would
//! capture): their `main` ([`run_plain_test`]) and libtest's command line ([`libtest_selects`]).

use std::future::Future;
use std::process::ExitCode;

/// Whether a libtest-style command line selects the test `name`: positional arguments are name filters; options
/// are skipped (with the value of those that take one).
pub fn libtest_selects(name: &str, args: &[String]) -> bool {
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
    filters.is_empty() || filters.iter().any(|f| name.contains(f))
}

/// The `main` of a `harness = false` test binary: answers `--list`, honours name filters and `--ignored`, runs
/// `test` on a multi-threaded runtime, and exits non-zero when it returns false.
pub fn run_plain_test<F: Future<Output = bool>>(name: &str, test: impl FnOnce() -> F) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{name}: test");
        return ExitCode::SUCCESS;
    }
    if !libtest_selects(name, &args) || args.iter().any(|a| a == "--ignored") {
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if runtime.block_on(test()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
