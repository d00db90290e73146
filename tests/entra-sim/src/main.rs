//! `entra-sim`: play Microsoft Entra ID against a local ISV stack. Run `entra-sim --help`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use serde_json::{Value, json};

use entra_sim::provision::{Compat, Dialect, ProvisionOptions, Provisioner, ProvisioningState, RemovalAction};
use entra_sim::register::{Registration, RegistrationValues, register};
use entra_sim::sample;
use entra_sim::token_client::{Credentials, TokenClient};
use entra_sim::{Directory, Identity, JwksServer, JwksServerOptions, Outage, SimError, TokenVersion};

mod cli;

use cli::{AuthArgs, Cli, Command, CompatArg, DialectArg, OnOff, OutageMode, ProvisionArgs, RemovalArg, SampleFormat};

const SERVER_FILE: &str = "server.json";
const REGISTRATION_FILE: &str = "registration.json";

/// Failures the user can fix by changing arguments exit 2; everything else exits 1.
enum Failure {
    Usage(String),
    Failed(String),
}

impl From<SimError> for Failure {
    fn from(e: SimError) -> Self {
        match e {
            SimError::InvalidArgument(_) | SimError::Directory { .. } => Failure::Usage(e.to_string()),
            other => Failure::Failed(other.to_string()),
        }
    }
}

type CliResult = Result<ExitCode, Failure>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> CliResult {
    let dir = cli.state_dir.clone();
    match cli.command {
        Command::Serve {
            port,
            control_port,
            tenant_id,
            version,
        } => serve(&dir, port, control_port, tenant_id.as_deref(), version).await,
        Command::Register {
            version,
            jwks_base_url,
            admin_url,
            display_name,
            json,
        } => register_cmd(&dir, version, jwks_base_url, admin_url, display_name, json).await,
        Command::Token {
            auth,
            claims,
            lifetime_seconds,
            assertion_only,
            json,
        } => token_cmd(&dir, auth, claims, lifetime_seconds, assertion_only, json).await,
        Command::TestConnection { scim_url, auth, json } => test_connection_cmd(&dir, scim_url, &auth, json).await,
        Command::Provision(args) => provision_cmd(&dir, args).await,
        Command::RotateKeys { drop_old, control_url } => rotate_keys_cmd(&dir, drop_old, control_url).await,
        Command::Outage {
            state,
            mode,
            delay_ms,
            control_url,
        } => outage_cmd(&dir, state, mode, delay_ms, control_url).await,
        Command::Sample { out, users, format } => sample_cmd(&out, users, format),
    }
}

async fn test_connection_cmd(dir: &Path, scim_url: Option<String>, auth: &AuthArgs, json: bool) -> CliResult {
    let scim_url = scim_url_or_registered(dir, scim_url)?;
    let credentials = credentials(dir, auth)?;
    let provisioner = Provisioner::new(ProvisionOptions::new(scim_url), credentials)?;
    let report = provisioner.test_connection().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", report.render());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn provision_options(args: &ProvisionArgs, scim_url: String) -> ProvisionOptions {
    let mut options = ProvisionOptions::new(scim_url)
        .dialect(match args.dialect {
            DialectArg::Default => Dialect::Default,
            DialectArg::AadOptscim062020 => Dialect::AadOptscim062020,
        })
        .compat(match args.compat {
            CompatArg::Entra => Compat::default(),
            CompatArg::StrictRfc => Compat::strict_rfc(),
        })
        .concurrency(args.concurrency)
        .removal(match args.removal {
            RemovalArg::Delete => RemovalAction::Delete,
            RemovalArg::Disable => RemovalAction::Disable,
        });
    options.max_requests_per_second = args.max_rps;
    options.progress = !args.no_progress && !args.json;
    options
}

async fn provision_cmd(dir: &Path, args: ProvisionArgs) -> CliResult {
    // A missing or malformed directory file is the caller's to fix: exit 2 like other usage errors.
    let directory = Directory::load(&args.file).map_err(|e| Failure::Usage(e.to_string()))?;
    let scim_url = scim_url_or_registered(dir, args.scim_url.clone())?;
    let options = provision_options(&args, scim_url.clone());
    let mut provisioner = Provisioner::new(options, credentials(dir, &args.auth)?)?;
    let state_path = args
        .state_file
        .clone()
        .unwrap_or_else(|| dir.join("provisioning-state.json"));
    if !args.fresh {
        let state = ProvisioningState::load(&state_path)?;
        if !provisioner.resume(state) {
            eprintln!(
                "note: {} belongs to another SCIM URL; starting without earlier state",
                state_path.display()
            );
        }
    }
    let report = provisioner.run_cycle(&directory).await?;
    provisioner.state().save(&state_path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        println!("provisioned {} → {scim_url}", args.file.display());
        print!("{}", report.summary());
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn rotate_keys_cmd(dir: &Path, drop_old: bool, control_url: Option<String>) -> CliResult {
    let url = control_url_or_recorded(dir, control_url)?;
    let answer = post_control(&url, "rotate", json!({ "drop_old": drop_old })).await?;
    println!(
        "signing kid {}; published kids {}",
        answer["signing_kid"].as_str().unwrap_or("?"),
        answer["kids"]
    );
    Ok(ExitCode::SUCCESS)
}

async fn outage_cmd(
    dir: &Path,
    state: OnOff,
    mode: OutageMode,
    delay_ms: u64,
    control_url: Option<String>,
) -> CliResult {
    let url = control_url_or_recorded(dir, control_url)?;
    let outage = match (state, mode) {
        (OnOff::Off, _) => Outage::Off,
        (OnOff::On, OutageMode::Unavailable) => Outage::Unavailable,
        (OnOff::On, OutageMode::Refuse) => Outage::Refuse,
        (OnOff::On, OutageMode::Delay) => Outage::Delay { millis: delay_ms },
    };
    let body = serde_json::to_value(&outage).map_err(|e| Failure::Failed(e.to_string()))?;
    let answer = post_control(&url, "outage", body).await?;
    println!("outage now {}", answer["outage"]);
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(out: &Path, users: usize, format: SampleFormat) -> CliResult {
    std::fs::create_dir_all(out).map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    let base = sample::generate(users);
    let (changed, summary) = sample::changed(&base);
    for (name, d) in [("directory", &base), ("directory-changed", &changed)] {
        match format {
            SampleFormat::Json => write_file(&out.join(format!("{name}.json")), &(d.to_json_pretty() + "\n"))?,
            SampleFormat::Csv => {
                let (users_csv, groups_csv) = sample::to_csv(d);
                write_file(&out.join(format!("{name}.csv")), &users_csv)?;
                write_file(&out.join(format!("{name}.groups.csv")), &groups_csv)?;
            }
        }
    }
    println!(
        "wrote {} users / {} groups and the changed version to {} ({summary:?})",
        base.users.len(),
        base.groups.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))
}

fn read_json(path: &Path) -> Option<Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

async fn serve(dir: &Path, port: u16, control_port: u16, tenant_id: Option<&str>, version: TokenVersion) -> CliResult {
    let identity = Identity::load_or_create(dir, tenant_id)?;
    let server = JwksServer::start_with(
        identity,
        JwksServerOptions {
            port,
            control_port,
            state_dir: Some(dir.to_path_buf()),
        },
    )
    .await?;
    let info = json!({
        "base_url": server.base_url(),
        "control_url": server.control_url(),
        "tenant_id": server.tenant_id(),
        "pid": std::process::id(),
        "jwks_uri_v1": server.jwks_url(TokenVersion::V1),
        "jwks_uri_v2": server.jwks_url(TokenVersion::V2),
    });
    write_file(&dir.join(SERVER_FILE), &format!("{info:#}\n"))?;
    let values = RegistrationValues::new(&server.identity(), version, &server.base_url());
    println!(
        "entra-sim serving tenant {} (pid {})",
        server.tenant_id(),
        std::process::id()
    );
    println!("  JWKS (v1)   {}", server.jwks_url(TokenVersion::V1));
    println!("  JWKS (v2)   {}", server.jwks_url(TokenVersion::V2));
    println!("  OpenID      {}", server.openid_configuration_url());
    println!("  control     {}", server.control_url());
    print_values(&values);
    wait_for_stop_signal().await;
    server.shutdown();
    let _ = std::fs::remove_file(dir.join(SERVER_FILE));
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn print_values(values: &RegistrationValues) {
    println!("Values to copy into the ISV portal:");
    println!("  issuer      {}", values.issuer);
    println!("  JWKS URL    {}", values.jwks_uri);
    println!("  subject     {}", values.subject);
    println!("  audience    {}", values.audience);
}

async fn register_cmd(
    dir: &Path,
    version: TokenVersion,
    jwks_base_url: Option<String>,
    admin_url: Option<String>,
    display_name: Option<String>,
    json_out: bool,
) -> CliResult {
    let identity = Identity::load(dir)
        .map_err(|e| Failure::Usage(format!("{e} (run `entra-sim serve` first, or pass --state-dir)")))?;
    let base = match jwks_base_url {
        Some(b) => b,
        None => read_json(&dir.join(SERVER_FILE))
            .and_then(|v| v["base_url"].as_str().map(str::to_string))
            .ok_or_else(|| Failure::Usage("no running `entra-sim serve` recorded; pass --jwks-base-url".into()))?,
    };
    let values = RegistrationValues::new(&identity, version, &base);
    let Some(admin_url) = admin_url else {
        if json_out {
            println!("{}", serde_json::to_string_pretty(&values).unwrap_or_default());
        } else {
            print_values(&values);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let name = display_name.unwrap_or_else(|| format!("entra-sim tenant {}", identity.tenant_id()));
    let registration = register(&admin_url, &values, Some(&name)).await?;
    let record = json!({
        "client_id": registration.client_id,
        "token_url": registration.token_url,
        "scim_url": registration.scim_url,
        "version": version,
        "admin_answer": registration.raw,
    });
    write_file(&dir.join(REGISTRATION_FILE), &format!("{record:#}\n"))?;
    if json_out {
        println!("{}", json!({"values": values, "registration": registration.raw}));
    } else {
        print_values(&values);
        print_registration(&registration);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_registration(r: &Registration) {
    println!("Registered. Values to paste into Entra's provisioning settings:");
    println!("  client ID   {}", r.client_id);
    println!("  token URL   {}", r.token_url.as_deref().unwrap_or("(not returned)"));
    println!("  SCIM URL    {}", r.scim_url.as_deref().unwrap_or("(not returned)"));
}

fn registered(dir: &Path, field: &str) -> Option<String> {
    read_json(&dir.join(REGISTRATION_FILE)).and_then(|v| v[field].as_str().map(str::to_string))
}

fn scim_url_or_registered(dir: &Path, scim_url: Option<String>) -> Result<String, Failure> {
    scim_url
        .or_else(|| registered(dir, "scim_url"))
        .ok_or_else(|| Failure::Usage("no SCIM URL: pass --scim-url or run `entra-sim register --admin-url ..`".into()))
}

fn control_url_or_recorded(dir: &Path, control_url: Option<String>) -> Result<String, Failure> {
    control_url
        .or_else(|| read_json(&dir.join(SERVER_FILE)).and_then(|v| v["control_url"].as_str().map(str::to_string)))
        .ok_or_else(|| Failure::Usage("no running `entra-sim serve` recorded; pass --control-url".into()))
}

/// A static token, or WIF credentials whose assertions are minted from the state dir's identity each time (so
/// a rotation done by a running `serve` is picked up).
fn credentials(dir: &Path, auth: &AuthArgs) -> Result<Credentials, Failure> {
    if let Some(t) = &auth.token {
        return Ok(Credentials::Static(t.clone()));
    }
    let token_url = auth
        .token_url
        .clone()
        .or_else(|| registered(dir, "token_url"))
        .ok_or_else(|| Failure::Usage("pass --token, or --token-url and --client-id (or register first)".into()))?;
    let client_id = auth.client_id.clone().or_else(|| registered(dir, "client_id"));
    Identity::load(dir).map_err(|e| Failure::Usage(format!("{e} (run `entra-sim serve` first)")))?;
    let dir = dir.to_path_buf();
    let version = auth.version;
    Ok(Credentials::ClientAssertion {
        client: TokenClient::new(token_url)?,
        client_id,
        scope: auth.scope.clone(),
        minter: Arc::new(move || Identity::load(&dir)?.mint(version)),
    })
}

fn parse_claim(spec: &str) -> Result<(String, Option<Value>), Failure> {
    let (name, value) = spec
        .split_once('=')
        .ok_or_else(|| Failure::Usage(format!("--claim {spec:?}: expected NAME=VALUE")))?;
    if name.is_empty() {
        return Err(Failure::Usage(format!("--claim {spec:?}: empty claim name")));
    }
    if value.is_empty() {
        return Ok((name.to_string(), None));
    }
    let parsed = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((name.to_string(), Some(parsed)))
}

async fn token_cmd(
    dir: &Path,
    auth: AuthArgs,
    claims: Vec<String>,
    lifetime: Option<i64>,
    assertion_only: bool,
    json_out: bool,
) -> CliResult {
    let identity = Identity::load(dir).map_err(|e| Failure::Usage(format!("{e} (run `entra-sim serve` first)")))?;
    let mut builder = identity.assertion(auth.version);
    if let Some(l) = lifetime {
        builder = builder.lifetime_seconds(l);
    }
    for spec in &claims {
        builder = match parse_claim(spec)? {
            (name, Some(v)) => builder.claim(name, v),
            (name, None) => builder.without_claim(name),
        };
    }
    let assertion = builder.sign(&identity)?;
    let token_url = auth.token_url.clone().or_else(|| registered(dir, "token_url"));
    let (Some(token_url), false) = (token_url, assertion_only) else {
        if json_out {
            println!("{}", json!({ "assertion": assertion }));
        } else {
            println!("{assertion}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let client_id = auth.client_id.clone().or_else(|| registered(dir, "client_id"));
    let resp = TokenClient::new(&token_url)?
        .request_token(client_id.as_deref(), &assertion, &auth.scope)
        .await?;
    if json_out {
        println!(
            "{}",
            json!({
                "access_token": resp.access_token,
                "token_type": resp.token_type,
                "expires_in": resp.expires_in,
                "scope": resp.scope,
            })
        );
    } else {
        // Printing the token is this command's purpose (a developer copies it into curl).
        println!("{}", resp.access_token);
        eprintln!(
            "token_type {} expires_in {} scope {}",
            resp.token_type,
            resp.expires_in.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            resp.scope.as_deref().unwrap_or("?")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn post_control(control_url: &str, action: &str, body: Value) -> Result<Value, Failure> {
    let url = format!("{}/_control/{action}", control_url.trim_end_matches('/'));
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| Failure::Failed(format!("{url}: {e} (is `entra-sim serve` running?)")))?;
    let status = resp.status();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(Failure::Failed(format!("{url}: HTTP {status}: {answer}")));
    }
    Ok(answer)
}
