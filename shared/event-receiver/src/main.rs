//! `event-receiver`: polls the SCIM event feed and prints one line per event, e.g.
//! `deactivated user alice@contoso.com (tenant contoso) 0.8 s after Entra's PATCH`.
//!
//! The client secret comes from `WIF_EVENTS_CLIENT_SECRET` (never a command-line argument: it would show in `ps`).
//! `--seen-file` makes duplicate suppression survive restarts; `--idle-exit` stops after that many seconds
//! without a new event (demos and tests); `--json` prints the verified claims instead of sentences.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use event_receiver::describe::describe;
use event_receiver::seen::Seen;
use event_receiver::{Receiver, Settings};

#[derive(Parser)]
#[command(about = "Poll, verify and print the SCIM events of one tenant")]
struct Args {
    #[arg(long)]
    token_url: String,
    #[arg(long)]
    client_id: String,
    /// The RFC 8936 poll URL (`events_url` of the registration).
    #[arg(long)]
    events_url: String,
    /// The signing keys (`events_jwks_url`).
    #[arg(long)]
    jwks_url: String,
    /// The SETs' `iss`: the events URL without `/events`.
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long, env = "WIF_EVENTS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    #[arg(long)]
    seen_file: Option<PathBuf>,
    /// Exit after this many seconds without a new event (0: run until killed).
    #[arg(long, default_value_t = 0)]
    idle_exit: u64,
    #[arg(long)]
    json: bool,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let issuer = args.issuer.clone().unwrap_or_else(|| {
        args.events_url
            .trim_end_matches('/')
            .trim_end_matches("/events")
            .to_owned()
    });
    let seen = match &args.seen_file {
        Some(path) => Seen::at(path.clone()),
        None => Ok(Seen::volatile()),
    };
    let receiver = seen.map_err(Into::into).and_then(|seen| {
        Receiver::new(
            Settings {
                token_url: args.token_url.clone(),
                client_id: args.client_id.clone(),
                client_secret: args.client_secret.clone(),
                events_url: args.events_url.clone(),
                jwks_url: args.jwks_url.clone(),
                issuer,
            },
            seen,
        )
    });
    let mut receiver = match receiver {
        Ok(receiver) => receiver,
        Err(err) => {
            eprintln!("event-receiver: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut last_event = Instant::now();
    loop {
        match receiver.poll(true).await {
            Ok((received, _more)) => {
                for event in &received {
                    if args.json {
                        println!("{}", event.claims);
                    } else {
                        println!("{}", describe(&event.claims, now()));
                    }
                }
                if !received.is_empty() {
                    last_event = Instant::now();
                }
            }
            Err(err) => {
                eprintln!("event-receiver: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if args.idle_exit > 0 && last_event.elapsed() > Duration::from_secs(args.idle_exit) {
            // One last exchange acknowledges what was processed.
            let _ = receiver.poll(false).await;
            return ExitCode::SUCCESS;
        }
    }
}
