//! The customer portal in a real headless Chromium, driven over WebDriver (chromedriver on a loopback port, by
//! PID), against the running local stack and its Entra stand-in: sign in, create a registration, copy the three
//! values, run the connection test, run a provisioning cycle, see the activity and the chart change, every attack
//! of the portal's threat list, sign out. Screenshots go to `target/browser-screenshots/` (and replace the
//! README's in `tests/browser/screenshots/` with `WIF_BROWSER_SCREENSHOTS=update`). Page weight and server time per
//! page (p50) are printed at the end.
//!
//! A plain program (`harness = false`): one chromedriver for every scenario, scenarios one after the other (the
//! stand-in's "spoil the next ID token" switch is global), and a closing `N passed, M failed` line.

mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use browser_tests::driver::ChromeDriver;
use browser_tests::stack::Stack;

/// What scenarios share: the stack, chromedriver, and what the first scenario created.
pub struct Ctx {
    pub stack: Stack,
    pub driver: ChromeDriver,
    pub screenshots: PathBuf,
    pub update_screenshots: bool,
    /// Adele's registration (created by the first scenario), for the other tenants' and users' attempts.
    pub registration_id: Mutex<Option<String>>,
}

impl Ctx {
    pub fn registration_id(&self) -> Result<String, String> {
        self.registration_id
            .lock()
            .map_err(|_| "poisoned".to_owned())?
            .clone()
            .ok_or_else(|| "the first scenario did not create a registration".into())
    }
}

fn main() -> ExitCode {
    let Some(stack) = Stack::find() else {
        let message = "the local stack is not running; start it with infra/local/start.sh";
        if std::env::var("WIF_E2E_REQUIRED").is_ok_and(|v| v == "1") {
            eprintln!("FAILED: {message}");
            return ExitCode::FAILURE;
        }
        eprintln!("SKIPPED: {message}");
        println!("0 passed, 0 failed");
        return ExitCode::SUCCESS;
    };
    let port = std::env::var("WIF_BROWSER_DRIVER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .or_else(|| {
            std::env::var("WIF_WORKTREE_PORT_BASE")
                .ok()
                .and_then(|b| b.parse::<u16>().ok())
                .map(|b| b + 10)
        })
        .unwrap_or(9515);
    let driver = match ChromeDriver::start(port) {
        Ok(driver) => driver,
        Err(err) => {
            eprintln!("FAILED: {err}");
            return ExitCode::FAILURE;
        }
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let screenshots = repo.join("../../target/browser-screenshots");
    let _ = std::fs::create_dir_all(&screenshots);
    let ctx = Ctx {
        stack,
        driver,
        screenshots,
        update_screenshots: std::env::var("WIF_BROWSER_SCREENSHOTS").is_ok_and(|v| v == "update"),
        registration_id: Mutex::new(None),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("FAILED: no runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in scenarios::ALL {
        let started = std::time::Instant::now();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(300), scenario(&ctx))
                .await
                .unwrap_or_else(|_| Err("timed out after 300 s".into()))
        });
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({} ms)", started.elapsed().as_millis());
            }
            Err(reason) => {
                failed += 1;
                println!("test {name} ... FAILED: {reason}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    drop(ctx);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
