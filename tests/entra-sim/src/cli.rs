//! The `entra-sim` binary's command line (clap definitions). Part of the binary, not of the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use entra_sim::TokenVersion;
use entra_sim::token_client::DEFAULT_SCOPE;

#[derive(Parser)]
#[command(
    name = "entra-sim",
    version,
    about = "A local stand-in for Microsoft Entra ID (keys, JWKS, assertions, provisioning)"
)]
pub(crate) struct Cli {
    /// Where the tenant's keys, the running server's URLs and the registration are kept.
    #[arg(long, global = true, default_value = ".entra-sim", env = "ENTRA_SIM_STATE_DIR")]
    pub(crate) state_dir: PathBuf,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DialectArg {
    #[value(name = "default")]
    Default,
    #[value(name = "aadOptscim062020")]
    AadOptscim062020,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CompatArg {
    /// Exactly what Entra sends.
    Entra,
    /// RFC-plain manager and group shapes, for servers that reject Entra's (e.g. python scim2-server).
    StrictRfc,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum RemovalArg {
    Delete,
    Disable,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutageMode {
    Unavailable,
    Refuse,
    Delay,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum SampleFormat {
    Json,
    Csv,
}

#[derive(clap::Args, Clone)]
pub(crate) struct AuthArgs {
    /// A bearer token to use as is (skips the token endpoint).
    #[arg(long, env = "ENTRA_SIM_TOKEN", conflicts_with_all = ["token_url", "client_id"])]
    pub(crate) token: Option<String>,
    /// The ISV token endpoint (default: from the registration in the state dir).
    #[arg(long)]
    pub(crate) token_url: Option<String>,
    /// The client ID the ISV portal issued (default: from the registration in the state dir).
    #[arg(long)]
    pub(crate) client_id: Option<String>,
    /// Assertion format.
    #[arg(long, value_enum, default_value = "v2")]
    pub(crate) version: TokenVersion,
    #[arg(long, default_value = DEFAULT_SCOPE)]
    pub(crate) scope: String,
}

#[derive(clap::Args)]
pub(crate) struct ProvisionArgs {
    #[arg(long)]
    pub(crate) file: PathBuf,
    #[arg(long, value_enum, default_value = "default")]
    pub(crate) dialect: DialectArg,
    #[arg(long)]
    pub(crate) scim_url: Option<String>,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Cap on SCIM requests per second (Entra sustains about 25).
    #[arg(long)]
    pub(crate) max_rps: Option<f64>,
    #[arg(long, value_enum, default_value = "delete")]
    pub(crate) removal: RemovalArg,
    #[arg(long, value_enum, default_value = "entra")]
    pub(crate) compat: CompatArg,
    /// Provisioning state between cycles (default: <state-dir>/provisioning-state.json).
    #[arg(long)]
    pub(crate) state_file: Option<PathBuf>,
    /// Forget earlier cycles (no deletions of objects removed from the file).
    #[arg(long)]
    pub(crate) fresh: bool,
    #[arg(long)]
    pub(crate) no_progress: bool,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the tenant's JWKS and OpenID metadata on 127.0.0.1 until interrupted.
    Serve {
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value_t = 0)]
        control_port: u16,
        /// Tenant id for a new state dir (default: random GUID).
        #[arg(long)]
        tenant_id: Option<String>,
        /// Which issuer/JWKS URL to print for registration.
        #[arg(long, value_enum, default_value = "v2")]
        version: TokenVersion,
    },
    /// Print the four values an admin copies from Entra; with --admin-url, register them with our admin API.
    Register {
        #[arg(long, value_enum, default_value = "v2")]
        version: TokenVersion,
        /// JWKS base URL (default: the running `serve` recorded in the state dir).
        #[arg(long)]
        jwks_base_url: Option<String>,
        /// e.g. http://127.0.0.1:9000/lambda-url/admin/clients
        #[arg(long)]
        admin_url: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Mint an assertion and print it; with --token-url, exchange it and print the access token.
    Token {
        #[command(flatten)]
        auth: AuthArgs,
        /// Extra or replaced claims, NAME=JSON (or NAME=text); NAME= removes the claim.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        #[arg(long)]
        lifetime_seconds: Option<i64>,
        /// Only mint the assertion, even if a token URL is known.
        #[arg(long)]
        assertion_only: bool,
        #[arg(long)]
        json: bool,
    },
    /// Entra's Test Connection: token request, then a query for a random userName expecting an empty list.
    TestConnection {
        #[arg(long)]
        scim_url: Option<String>,
        #[command(flatten)]
        auth: AuthArgs,
        #[arg(long)]
        json: bool,
    },
    /// Run a provisioning cycle from a directory file (JSON or CSV).
    Provision(ProvisionArgs),
    /// Rotate the signing key of a running `serve` (new key published and used from now on).
    RotateKeys {
        /// Withdraw every older key at once.
        #[arg(long)]
        drop_old: bool,
        #[arg(long)]
        control_url: Option<String>,
    },
    /// Start or end a JWKS outage on a running `serve`.
    Outage {
        #[arg(value_enum)]
        state: OnOff,
        #[arg(long, value_enum, default_value = "unavailable")]
        mode: OutageMode,
        #[arg(long, default_value_t = 5000)]
        delay_ms: u64,
        #[arg(long)]
        control_url: Option<String>,
    },
    /// Write the deterministic sample directory (and its changed second-cycle version).
    Sample {
        #[arg(long, default_value = "tests/entra-sim/fixtures")]
        out: PathBuf,
        #[arg(long, default_value_t = 300)]
        users: usize,
        #[arg(long, value_enum, default_value = "json")]
        format: SampleFormat,
    },
}
