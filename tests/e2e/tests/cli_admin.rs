//! The `wif-admin` binary end to end against the running local stack: every command, table and JSON output, and
//! the exit codes scripts rely on. The binary is the one `cargo build` (infra/local/start.sh builds every binary)
//! put next to this test; a binary older than its sources is reported rather than silently tested.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use e2e_tests::admin::{admin_base, stack, token_with_secret_post};
use entra_sim::{Identity, JwksServer, TokenVersion};
use serde_json::Value;

fn newest_source(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let modified = if path.is_dir() {
            newest_source(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        };
        newest = newest.max(modified);
    }
    newest
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WIF_ADMIN_BIN") {
        return PathBuf::from(path);
    }
    // target/debug/deps/cli_admin-<hash> → target/debug/wif-admin
    let exe = std::env::current_exe().expect("test executable path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("wif-admin"))
        .expect("target directory");
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or_else(|_| {
        panic!(
            "{} does not exist: build it with `cargo build -p wif-admin-client --bin wif-admin`",
            path.display()
        )
    });
    let sources = newest_source(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/admin-client/src"));
    assert!(
        built >= sources,
        "{} is older than its sources: rebuild it with `cargo build -p wif-admin-client --bin wif-admin`",
        path.display()
    );
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

fn run_with(url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(binary());
    command.arg("--url").arg(url).args(args);
    // The tests choose the URL explicitly; an ambient value must not leak in.
    command.env_remove("WIF_ADMIN_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    let Output { status, stdout, stderr } = command.output().expect("run wif-admin");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cli_command_against_the_local_stack() {
    let Some(stack) = stack() else { return };
    let url = admin_base(&stack);
    let run = |args: &[&str]| run_with(&url, args, &[]);
    let jwks = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("JWKS server");
    let workload = jwks.identity().workload().clone();
    let tenant = format!("e2e-cli-{}", uuid::Uuid::new_v4().simple());
    let issuer = jwks.issuer(TokenVersion::V2);
    let jwks_uri = jwks.jwks_url(TokenVersion::V2);

    // clients create (JSON) — what the portal shows the customer for Entra's step 2.
    let created = run(&[
        "--json",
        "clients",
        "create",
        "--issuer",
        &issuer,
        "--jwks-uri",
        &jwks_uri,
        "--subject",
        &workload.object_id,
        "--audience",
        &workload.audience,
        "--tenant-id",
        &tenant,
        "--display-name",
        "CLI customer",
        "--scope",
        "scim",
        "--scope",
        "scim.read",
    ])
    .ok()
    .json();
    let id = created["client_id"].as_str().expect("client_id").to_owned();
    assert_eq!(created["token_url"], stack.token_url.as_str());
    assert_eq!(created["scopes"], serde_json::json!(["scim", "scim.read"]));

    // clients get (table)
    let shown = run(&["clients", "get", &id]).ok();
    assert!(
        shown.stdout.contains(&id) && shown.stdout.contains("SCIM URL (Entra)"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains(&stack.scim_url), "{}", shown.stdout);

    // clients list, JSON and table, following pages
    let listed = run(&["--json", "clients", "list", "--tenant-id", &tenant]).ok().json();
    assert_eq!(listed["clients"][0]["client_id"], id.as_str());
    let table = run(&["clients", "list", "--tenant-id", &tenant, "--limit", "1", "--all"]).ok();
    assert!(
        table.stdout.contains(&id) && table.stderr.contains("1 client(s)"),
        "{}{}",
        table.stdout,
        table.stderr
    );

    // clients update: reads the version itself, or takes the one given
    let updated = run(&[
        "--json",
        "clients",
        "update",
        &id,
        "--display-name",
        "Renamed",
        "--token-lifetime",
        "7200",
    ])
    .ok()
    .json();
    assert_eq!(
        (updated["version"].as_u64(), updated["display_name"].as_str()),
        (Some(2), Some("Renamed"))
    );
    let stale = run(&["clients", "update", &id, "--version", "1", "--display-name", "x"]);
    assert_eq!(stale.code, 1, "{}", stale.stderr);
    assert!(
        stale.stderr.contains("version_conflict") && stale.stderr.contains("hint:"),
        "{}",
        stale.stderr
    );
    let nothing = run(&["clients", "update", &id]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);

    // clients test: all checks pass while the JWKS is served
    let tested = run(&["clients", "test", &id]).ok();
    assert!(
        tested.stdout.contains("jwks_reachable") && tested.stderr.contains("all checks passed"),
        "{}",
        tested.stdout
    );

    // secrets: create (shown once), use it, list without values, the two-active limit, revoke
    let secret = run(&[
        "--json",
        "secrets",
        "create",
        &id,
        "--description",
        "gallery",
        "--expires-in-days",
        "400",
    ])
    .ok()
    .json();
    let value = secret["client_secret"].as_str().unwrap().to_owned();
    let secret_id = secret["secret_id"].as_str().unwrap().to_owned();
    let granted = token_with_secret_post(&stack, &e2e_tests::admin::http(), &id, &value).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let table = run(&["secrets", "create", &id]).ok();
    assert!(table.stdout.contains("wif_cs_") && table.stderr.contains("only time the secret is shown"));
    let third = run(&["secrets", "create", &id]);
    assert_eq!(third.code, 1);
    assert!(
        third.stderr.contains("already has 2 active secrets"),
        "{}",
        third.stderr
    );
    let listed = run(&["secrets", "list", &id]).ok();
    assert!(
        listed.stdout.contains(&secret_id) && listed.stdout.contains("active"),
        "{}",
        listed.stdout
    );
    assert!(!listed.stdout.contains(&value));
    let revoked = run(&["secrets", "revoke", &id, &secret_id, "--revoke-tokens"]).ok();
    assert!(revoked.stdout.contains("revoked secret") && revoked.stdout.contains("live access token"));
    assert_eq!(
        token_with_secret_post(&stack, &e2e_tests::admin::http(), &id, &value)
            .await
            .status,
        401
    );

    // disable → the test reports it with exit code 5; enable; revoke-tokens
    let disabled = run(&["--json", "clients", "disable", &id]).ok().json();
    assert_eq!(disabled["enabled"], false);
    let failing = run(&["clients", "test", &id]);
    assert_eq!(failing.code, 5, "{}{}", failing.stdout, failing.stderr);
    assert!(failing.stdout.contains("FAILED"), "{}", failing.stdout);
    run(&["clients", "enable", &id]).ok();
    let revoked = run(&["clients", "revoke-tokens", &id]).ok();
    assert!(revoked.stdout.starts_with("revoked "), "{}", revoked.stdout);

    // audit, JSON and table
    let audit = run(&["--json", "audit", "--client-id", &id, "--all"]).ok().json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "admin.client.create",
        "admin.client.update",
        "admin.secret.create",
        "admin.secret.revoke",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert!(!audit.to_string().contains(&value));
    let table = run(&["audit", "--tenant-id", &tenant, "--asc", "--limit", "2", "--all"]).ok();
    assert!(
        table.stdout.contains("admin.client.create") && table.stderr.contains("event(s)"),
        "{}",
        table.stdout
    );

    // delete needs --yes; afterwards the client is gone (exit 1, the API's message)
    let refused = run(&["clients", "delete", &id]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--yes"));
    let deleted = run(&["clients", "delete", &id, "--yes"]).ok();
    assert!(deleted.stdout.contains("deleted client"), "{}", deleted.stdout);
    let gone = run(&["clients", "get", &id]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr.contains("not_found") && gone.stderr.contains("HTTP 404"),
        "{}",
        gone.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_errors_have_clear_messages_and_exit_codes() {
    let Some(stack) = stack() else { return };
    let url = admin_base(&stack);

    // 1: the API refused (validation), with its message
    let invalid = run_with(
        &url,
        &[
            "clients",
            "create",
            "--issuer",
            "https://sts.windows.net/6b1b4e58-2f7c-4a2e-9c44-1f0e8d3c7a10/",
            "--jwks-uri",
            "http://login.microsoftonline.com/6b1b4e58-2f7c-4a2e-9c44-1f0e8d3c7a10/discovery/keys",
            "--subject",
            "s",
            "--audience",
            "a",
        ],
        &[],
    );
    assert_eq!(invalid.code, 1, "{}", invalid.stderr);
    assert!(invalid.stderr.contains("jwks_uri: must use https") && invalid.stderr.contains("HTTP 400"));
    assert!(invalid.stdout.is_empty());

    // 2: usage
    assert_eq!(run_with(&url, &["clients", "bogus"], &[]).code, 2);
    assert_eq!(run_with(&url, &["audit"], &[]).code, 2);
    let missing = run_with(
        &url,
        &["clients", "create", "--issuer", "https://sts.windows.net/x/"],
        &[],
    );
    assert_eq!(missing.code, 2);
    // The JWKS URL of an Entra issuer may be left out (it is discovered); subject and audience may not.
    assert!(missing.stderr.contains("--subject"), "{}", missing.stderr);
    let cleartext = run_with("http://admin.example.com", &["clients", "list"], &[]);
    assert_eq!(cleartext.code, 2);
    assert!(cleartext.stderr.contains("plain http"), "{}", cleartext.stderr);

    // 3: nothing listening
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = run_with(
        &format!("http://127.0.0.1:{port}/lambda-url/admin"),
        &["clients", "list"],
        &[],
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("could not reach the admin API"),
        "{}",
        unreachable.stderr
    );

    // 4: a function URL needs credentials; none are configured here, so nothing is sent at all
    let no_credentials = run_with(
        "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws",
        &["clients", "list"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_PROFILE", "wif-e2e-none"),
            ("AWS_CONFIG_FILE", "/nonexistent/wif-e2e/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/wif-e2e/credentials"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(no_credentials.code, 4, "{}", no_credentials.stderr);
    assert!(
        no_credentials.stderr.contains("no AWS credentials"),
        "{}",
        no_credentials.stderr
    );

    // WIF_ADMIN_URL is honoured, also in the form the local stack prints (…/admin/clients).
    let mut command = Command::new(binary());
    command
        .args(["--json", "clients", "list", "--limit", "1"])
        .env("WIF_ADMIN_URL", format!("{url}/clients"));
    let output = command.output().expect("run wif-admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(listed["clients"].is_array());
}

/// The app-gallery mode: a client that authenticates with a secret only needs no Entra federation values, and gets
/// a working SCIM token; turning WIF on later needs all four values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_only_client_from_the_cli_provisions_with_a_secret() {
    let Some(stack) = stack() else { return };
    let url = admin_base(&stack);
    let run = |args: &[&str]| run_with(&url, args, &[]);

    let missing = run(&["clients", "create", "--display-name", "needs federation"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("--issuer"), "{}", missing.stderr);

    let created = run(&[
        "--json",
        "clients",
        "create",
        "--wif-enabled",
        "false",
        "--secrets-enabled",
        "true",
        "--display-name",
        "Gallery customer",
    ])
    .ok()
    .json();
    let id = created["client_id"].as_str().expect("client_id").to_owned();
    assert_eq!(
        (created["wif_enabled"].as_bool(), created["secrets_enabled"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(
        created["federated_credentials"].as_array().is_none_or(Vec::is_empty),
        "a secrets-only client trusts no workload identity: {created}"
    );

    let secret = run(&["--json", "secrets", "create", &id]).ok().json();
    let value = secret["client_secret"].as_str().expect("client_secret");
    let answer = token_with_secret_post(&stack, &e2e_tests::http(), &id, value).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(e2e_tests::admin::scim_status(&stack, answer.access_token()).await, 200);

    // Half the federation values are refused with the name of the first missing one.
    let half = run(&[
        "clients",
        "update",
        &id,
        "--wif-enabled",
        "true",
        "--issuer",
        "https://issuer.example.com/",
    ]);
    assert_eq!(half.code, 1, "{}", half.stderr);
    assert!(half.stderr.contains("jwks_uri: is required"), "{}", half.stderr);

    run(&["clients", "delete", &id, "--yes"]).ok();
}
