//! Test support for integration tests that need a real DynamoDB-protocol server.
//!
//! One moto server is started per test binary on a free loopback port and shared by all its tests; each test
//! isolates itself with its own table-name prefix ([`unique_prefix`]). It is moto's own server application behind
//! `moto_serialized.py` (beside this crate's manifest), which handles one request at a time: moto's threaded server
//! loses writes under concurrent transactions and `ADD` updates, while DynamoDB's are atomic. The server is started
//! through a small shell guard that kills it when the test process exits, so no moto outlives the run.
//! Set `WIF_TEST_DYNAMODB_ENDPOINT` to use an already running server instead.
//!
//! Also: the product's tables created from `infra/template.yaml` ([`tables`]), and a fault-injecting proxy to put
//! between the SDK and that server ([`fault_proxy`], also the `dynamodb-fault-proxy` binary of the local stack).

pub mod fault_proxy;
pub mod tables;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server (or an external endpoint).
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    _child: Option<Child>,
}

impl MotoServer {
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

static SHARED: OnceLock<MotoServer> = OnceLock::new();

/// The moto server of this test binary, started on first use.
pub fn shared_moto() -> &'static MotoServer {
    SHARED.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("WIF_TEST_DYNAMODB_ENDPOINT") {
            return MotoServer { endpoint, _child: None };
        }
        start_moto().unwrap_or_else(|err| panic!("cannot start moto for integration tests: {err}"))
    })
}

fn free_loopback_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start_moto() -> Result<MotoServer, String> {
    let port = free_loopback_port().map_err(|e| e.to_string())?;
    let parent = std::process::id();
    // The guard shell polls the test process and stops moto once it is gone; `exec` is avoided so the guard
    // survives to do that.
    let wrapper = concat!(env!("CARGO_MANIFEST_DIR"), "/moto_serialized.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = format!(
        "'{python}' '{wrapper}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null"
    );
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn sh: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(MotoServer {
                endpoint: format!("http://127.0.0.1:{port}"),
                _child: Some(child),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto did not listen on 127.0.0.1:{port} within 60 s (is `moto[server]` installed?)"
    ))
}

/// An SDK config pointed at `endpoint` with static test credentials, a region, and no metadata probing.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "wif-testkit",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A DynamoDB client of the shared moto server. Create one per test: clients belong to the test's runtime.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(shared_moto().endpoint()).await)
}

/// A table-name prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
