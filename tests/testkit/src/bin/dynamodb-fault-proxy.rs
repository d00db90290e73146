//! `dynamodb-fault-proxy --listen 127.0.0.1:8010 --control 127.0.0.1:8011 --upstream http://127.0.0.1:8000`:
//! the local stack's DynamoDB endpoint. Passes everything through to the DynamoDB-compatible server until a test
//! programs faults over the control API (see `wif_testkit::fault_proxy`). Loopback addresses only.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use wif_testkit::fault_proxy::{ProxyConfig, run_until_stopped};

#[derive(Parser)]
#[command(about = "A fault-injecting proxy in front of a DynamoDB-compatible server")]
struct Args {
    /// Where DynamoDB clients connect.
    #[arg(long)]
    listen: SocketAddr,
    /// Where the control API listens.
    #[arg(long)]
    control: SocketAddr,
    /// The DynamoDB-compatible server, e.g. http://127.0.0.1:8000.
    #[arg(long)]
    upstream: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.listen.ip().is_loopback() && args.control.ip().is_loopback()) {
        eprintln!("dynamodb-fault-proxy: listen and control addresses must be loopback addresses");
        return ExitCode::from(2);
    }
    let config = ProxyConfig {
        listen: args.listen,
        control: args.control,
        upstream: args.upstream,
        log_faults: true,
    };
    match run_until_stopped(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dynamodb-fault-proxy: {err}");
            ExitCode::FAILURE
        }
    }
}
