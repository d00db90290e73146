//! The `entra-sim` binary end to end: serve (as a child process, stopped by PID), register, token, rotate-keys,
//! outage, test-connection, provision, and exit codes.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use entra_sim::{Identity, verify_rs256_with_jwks};
use serde_json::Value;
use support::{MiniScim, STATIC_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_entra-sim");

fn sim(state: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .expect("run entra-sim")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_serve(state: &Path) -> (Serve, Value) {
    let child = Command::new(BIN)
        .arg("--state-dir")
        .arg(state)
        .args(["serve", "--tenant-id", "aaaaaaaa-1111-2222-3333-444444444444"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let serve = Serve(child);
    for _ in 0..200 {
        if let Some(info) = std::fs::read_to_string(state.join("server.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            return (serve, info);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("serve did not write server.json");
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.expect("get").json().await.expect("json")
}

#[tokio::test]
async fn serve_register_token_rotate_and_outage_work_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path();
    let (_serve, info) = start_serve(state).await;
    let jwks_url = info["jwks_uri_v2"].as_str().expect("jwks url").to_string();

    let out = sim(state, &["register", "--json"]);
    assert!(out.status.success());
    let values: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        values["issuer"],
        "https://login.microsoftonline.com/aaaaaaaa-1111-2222-3333-444444444444/v2.0"
    );
    assert_eq!(values["jwks_uri"], jwks_url.as_str());

    let out = sim(
        state,
        &["token", "--claim", "xms_mirid=/subscriptions/s", "--claim", "aio="],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let assertion = stdout(&out).trim().to_string();
    let verified = verify_rs256_with_jwks(&assertion, &get_json(&jwks_url).await).expect("verifies with served JWKS");
    assert_eq!(verified.claims["xms_mirid"], "/subscriptions/s");
    assert!(verified.claims.get("aio").is_none());
    assert_eq!(verified.claims["sub"], values["subject"]);

    let out = sim(state, &["rotate-keys", "--drop-old"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let jwks = get_json(&jwks_url).await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
    assert!(verify_rs256_with_jwks(&assertion, &jwks).is_err(), "old key withdrawn");
    let fresh = stdout(&sim(state, &["token", "--version", "v1"])).trim().to_string();
    let v1 = get_json(info["jwks_uri_v1"].as_str().expect("v1")).await;
    assert_eq!(
        verify_rs256_with_jwks(&fresh, &v1).expect("new key signs").header["kid"],
        Identity::load(state).expect("state").signing_kid()
    );

    assert!(sim(state, &["outage", "on"]).status.success());
    assert_eq!(reqwest::get(&jwks_url).await.expect("get").status(), 503);
    assert!(sim(state, &["outage", "off"]).status.success());
    assert_eq!(reqwest::get(&jwks_url).await.expect("get").status(), 200);
}

// The SCIM server lives in this process while the CLI blocks a thread waiting for the child: it needs a
// runtime thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_and_test_connection_from_the_command_line() {
    let server = MiniScim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let file = fixtures.join("directory.json");
    let file = file.to_str().expect("utf8 path");
    let scim = server.scim_url();

    let out = sim(
        state,
        &["test-connection", "--scim-url", &scim, "--token", STATIC_TOKEN],
    );
    assert!(out.status.success());
    assert!(stdout(&out).ends_with("Test Connection: PASS\n"), "{}", stdout(&out));
    let out = sim(state, &["test-connection", "--scim-url", &scim, "--token", "wrong"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("rejected the supplied token (401)"),
        "{}",
        stdout(&out)
    );

    let args = [
        "provision",
        "--file",
        file,
        "--scim-url",
        &scim,
        "--token",
        STATIC_TOKEN,
        "--json",
    ];
    let out = sim(state, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["users"]["created"], 300);
    // The state file lets the next run (a new process) know what it provisioned.
    let out = sim(state, &args);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["users"]["unchanged"], 300);
    let changed = fixtures.join("directory-changed.json");
    let changed_args = [
        "provision",
        "--file",
        changed.to_str().expect("utf8"),
        "--scim-url",
        &scim,
        "--token",
        STATIC_TOKEN,
        "--json",
    ];
    let report: Value = serde_json::from_slice(&sim(state, &changed_args).stdout).expect("json report");
    assert_eq!(report["users"]["deleted"], 8);
    assert_eq!(report["groups"]["deleted"], 1);

    let out = sim(
        state,
        &[
            "provision",
            "--file",
            "/does/not/exist.json",
            "--scim-url",
            &scim,
            "--token",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/does/not/exist.json"));
    let out = sim(state, &["provision", "--file", file, "--token", "x"]);
    assert_eq!(out.status.code(), Some(2), "no SCIM URL known");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_admin_url_posts_the_four_values_and_later_commands_use_the_answer() {
    let server = MiniScim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path();
    let (_serve, info) = start_serve(state).await;
    let admin = server.admin_url();
    let out = sim(state, &["register", "--admin-url", &admin]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("client ID   c-0001"), "{text}");
    assert!(text.contains(&format!("SCIM URL    {}", server.scim_url())), "{text}");
    let posted: Value = serde_json::from_str(&server.admin_posts.lock().expect("lock")[0]).expect("json");
    let identity = Identity::load(state).expect("identity");
    assert_eq!(posted["issuer"], identity.issuer(entra_sim::TokenVersion::V2).as_str());
    assert_eq!(posted["jwks_uri"], info["jwks_uri_v2"]);
    assert_eq!(posted["subject"], identity.workload().object_id.as_str());
    assert_eq!(posted["audience"], identity.workload().audience.as_str());
    assert_eq!(posted["expected_tid"], identity.tenant_id());

    // test-connection now finds token URL, client ID and SCIM URL in the recorded registration, and goes
    // through the token endpoint with a freshly minted assertion.
    *server.jwks.lock().expect("lock") = Some(identity.jwks(entra_sim::TokenVersion::V2));
    let out = sim(state, &["test-connection"]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("PASS token — access token issued"),
        "{}",
        stdout(&out)
    );
    let form = server.token_forms.lock().expect("lock")[0].clone();
    assert!(form.contains("client_id=c-0001&"), "{form}");

    let out = sim(state, &["token"]);
    assert!(
        stdout(&out).starts_with("wif_at_test_"),
        "token command exchanges when a token URL is known"
    );
}
