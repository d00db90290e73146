//! `wif-admin`: the admin API from a terminal or a script.
//!
//! Human-readable tables by default, `--json` for scripts (the server's JSON, unchanged). Errors go to stderr;
//! exit codes: 0 ok, 1 the API answered with an error, 2 usage, 3 no connection, 4 no credentials/region for
//! signing, 5 `clients test` found a failing check.

mod cli;
mod commands;
mod credentials;
mod output;
mod portal;

use std::process::ExitCode;

use clap::Parser;

use wif_admin_client::ClientError;

use crate::cli::Cli;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match commands::run(cli).await {
        Ok(outcome) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome.json).unwrap_or_else(|_| outcome.json.to_string())
                );
            } else {
                output::print(&outcome.view);
            }
            ExitCode::from(u8::try_from(outcome.exit).unwrap_or(1))
        }
        Err(err) => {
            eprintln!("wif-admin: error: {err}");
            if let ClientError::Api { status: 409, code, .. } = &err
                && code == "version_conflict"
            {
                eprintln!("hint: read the client again (wif-admin clients get <id>) and retry with its version");
            }
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}
