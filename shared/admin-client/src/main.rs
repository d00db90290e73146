//! `wif-admin`: the admin API from a terminal or a script.
//!
//! Human-readable tables by default, `--json` for scripts (the server's JSON, unchanged). Errors go to stderr;
//! exit codes: 0 ok, 1 the API answered with an error, 2 usage, 3 no connection, 4 no credentials/region for
//! signing, 5 `clients test` found a failing check.

mod output;
mod portal;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use reqwest::Method;

use wif_admin_client::model::{AuditFilter, ClientUpdate, NewClient, NewSecret};
use wif_admin_client::{AdminClient, AdminTarget, ClientError, CredentialSource, LOCAL_ADMIN_URL, SignMode, exit};

/// At most this many pages are followed by `--all` (a guard against a server that never stops paging).
const MAX_PAGES: usize = 1000;

#[derive(Parser)]
#[command(
    name = "wif-admin",
    version,
    about = "Manage WIF SCIM client registrations, secrets and the audit trail through the admin API",
    after_help = "Exit codes: 0 ok, 1 API error, 2 usage, 3 connection failed, 4 no AWS credentials/region for \
                  signing, 5 `clients test` reported a failing check.\n\nRequests to an AWS function URL \
                  (https://<id>.lambda-url.<region>.on.aws) are SigV4-signed with the standard AWS credential \
                  chain; the local stack is plain HTTP."
)]
struct Cli {
    /// Admin API base URL: the function URL in AWS, or the local stack's .../lambda-url/admin.
    #[arg(long, global = true, env = "WIF_ADMIN_URL", default_value = LOCAL_ADMIN_URL)]
    url: String,
    /// Print the server's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// When to SigV4-sign requests.
    #[arg(long, global = true, value_enum, default_value_t = SignMode::Auto)]
    sign: SignMode,
    /// Region to sign for when the URL does not name one (default: AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(long, global = true)]
    region: Option<String>,
    /// AWS profile of the credential chain (default: AWS_PROFILE or "default").
    #[arg(long, global = true)]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Client registrations.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Client secrets (the non-WIF mode: client_secret_basic / client_secret_post).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Query the audit trail of a tenant or a client.
    Audit(AuditArgs),
    /// The customer portal: which Entra tenant is which customer account.
    #[command(subcommand)]
    TenantLinks(portal::LinksCommand),
    /// The customer portal: one-time onboarding invitations.
    #[command(subcommand)]
    Invitations(portal::InvitationsCommand),
    /// The certificate of the portal's Entra credential, signed by its KMS key (needs no admin API).
    PortalCertificate {
        /// The KMS key (ARN or id; output PortalSigningKeyArn of the stack).
        #[arg(long)]
        kms_key_id: String,
        #[arg(long, default_value = "WIF SCIM customer portal")]
        common_name: String,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Where to write the certificate (DER, the .cer Entra accepts).
        #[arg(long)]
        out: String,
    },
}

#[derive(Args)]
struct RegistrationFields {
    /// Exact `iss`: https://sts.windows.net/<tid>/ (v1) or https://login.microsoftonline.com/<tid>/v2.0 (v2).
    /// Required on create unless --wif-enabled false; on update only for a secrets-only client turning WIF on.
    #[arg(long)]
    issuer: Option<String>,
    /// JWKS URL of the customer's tenant (https://login.microsoftonline.com/<tid>/discovery/keys).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Exact `sub` of the assertions: the workload identity's object id.
    #[arg(long)]
    subject: Option<String>,
    /// Exact `aud` of the assertions (api://<appid>).
    #[arg(long)]
    audience: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    /// Allowed scope (repeat): scim, scim.read, scim.readwrite. Default on create: all.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Access-token lifetime in seconds (3600-21600 by default policy).
    #[arg(long, value_name = "SECONDS")]
    token_lifetime: Option<u32>,
    /// Exact `tid` claim (default: the tenant GUID in an Entra issuer).
    #[arg(long)]
    expected_tid: Option<String>,
    /// Allowed JWS algorithm (repeat). Default: RS256.
    #[arg(long = "algorithm", value_name = "ALG")]
    algorithms: Vec<String>,
    /// Accept client_assertion (Workload Identity Federation).
    #[arg(long, value_name = "true|false")]
    wif_enabled: Option<bool>,
    /// Accept client secrets.
    #[arg(long, value_name = "true|false")]
    secrets_enabled: Option<bool>,
}

fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a customer's Entra workload identity; prints the client ID, token URL and SCIM URL for Entra.
    Create {
        /// The ISV-side customer id (generated when absent).
        #[arg(long)]
        tenant_id: Option<String>,
        #[command(flatten)]
        fields: RegistrationFields,
    },
    /// List registrations (of one tenant).
    List {
        #[arg(long)]
        tenant_id: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
        /// Follow every page.
        #[arg(long, conflicts_with = "cursor")]
        all: bool,
    },
    Get {
        client_id: String,
    },
    /// Change a registration. Without --version the current version is read first.
    Update {
        client_id: String,
        /// The version your change is based on (optimistic concurrency).
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        fields: RegistrationFields,
    },
    Enable {
        client_id: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Disable: token requests are refused and live access tokens revoked at once.
    Disable {
        client_id: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Delete the registration and revoke its live access tokens.
    Delete {
        client_id: String,
        #[arg(long)]
        version: Option<u64>,
        /// Confirm: the customer's provisioning stops working.
        #[arg(long)]
        yes: bool,
    },
    /// Revoke every live access token of the client (the SCIM API refuses them on the next request).
    RevokeTokens {
        client_id: String,
    },
    /// Run the checks Entra's Test Connection depends on (registration, JWKS, keys, cache, secrets).
    Test {
        client_id: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Create a secret (shown once; at most two active per client). Switches secrets on for the client.
    Create {
        client_id: String,
        #[arg(long)]
        description: Option<String>,
        /// 365-1095 (default 365).
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<i64>,
        #[arg(long)]
        version: Option<u64>,
    },
    /// List a client's secrets (never their values).
    List { client_id: String },
    /// Revoke one secret: it stops working on the next token request.
    Revoke {
        client_id: String,
        secret_id: String,
        #[arg(long)]
        version: Option<u64>,
        /// Also revoke the client's live access tokens (after a leak).
        #[arg(long)]
        revoke_tokens: bool,
    },
}

#[derive(Args)]
struct AuditArgs {
    #[arg(long, required_unless_present = "client_id")]
    tenant_id: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    /// Start (inclusive): Unix seconds or RFC 3339.
    #[arg(long)]
    from: Option<String>,
    /// End (inclusive): Unix seconds or RFC 3339.
    #[arg(long)]
    to: Option<String>,
    #[arg(long)]
    limit: Option<u32>,
    #[arg(long)]
    cursor: Option<String>,
    /// Oldest first (default: newest first).
    #[arg(long)]
    asc: bool,
    /// Follow every page.
    #[arg(long, conflicts_with = "cursor")]
    all: bool,
}

/// What a command produced: JSON (printed as is with --json) and how to show it to a person.
struct Outcome {
    json: serde_json::Value,
    view: output::View,
    exit: i32,
}

impl Outcome {
    fn new(json: serde_json::Value, view: output::View) -> Self {
        Self {
            json,
            view,
            exit: exit::OK,
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, ClientError> {
    serde_json::from_value(value.clone()).map_err(|err| ClientError::InvalidResponse {
        status: 200,
        message: format!("the answer does not have the expected shape: {err}"),
    })
}

const NO_BODY: Option<&()> = None;

async fn run(cli: Cli) -> Result<Outcome, ClientError> {
    if let Command::PortalCertificate {
        kms_key_id,
        common_name,
        days,
        out,
    } = &cli.command
    {
        return portal::portal_certificate(kms_key_id, common_name, *days, out).await;
    }
    let region = cli
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let target = AdminTarget::parse(&cli.url, cli.sign, region)?;
    let client = AdminClient::new(
        target,
        CredentialSource::DefaultChain {
            profile: cli.profile.clone(),
        },
    )?;
    match cli.command {
        Command::Clients(command) => clients(&client, command).await,
        Command::Secrets(command) => secrets(&client, command).await,
        Command::Audit(args) => audit(&client, args).await,
        Command::TenantLinks(command) => portal::links(&client, command).await,
        Command::Invitations(command) => portal::invitations(&client, command).await,
        Command::PortalCertificate { .. } => Err(ClientError::Usage("handled above".into())),
    }
}

async fn clients(client: &AdminClient, command: ClientsCommand) -> Result<Outcome, ClientError> {
    match command {
        ClientsCommand::Create { tenant_id, fields } => {
            // A secrets-only client (--wif-enabled false) has no federation values; the server checks that they
            // come all together or not at all.
            let federated = fields.wif_enabled != Some(false);
            let missing: Vec<&str> = [
                ("--issuer", federated && fields.issuer.is_none()),
                ("--jwks-uri", fields.jwks_uri.is_none()),
                ("--subject", fields.subject.is_none()),
                ("--audience", fields.audience.is_none()),
            ]
            .iter()
            .filter(|(_, missing)| *missing && federated)
            .map(|(name, _)| *name)
            .collect();
            if !missing.is_empty() {
                return Err(ClientError::Usage(format!(
                    "clients create needs {}",
                    missing.join(", ")
                )));
            }
            let body = NewClient {
                issuer: fields.issuer.clone(),
                jwks_uri: fields.jwks_uri.clone(),
                subject: fields.subject.clone(),
                audience: fields.audience.clone(),
                tenant_id,
                display_name: fields.display_name.clone(),
                scopes: non_empty(&fields.scopes),
                token_lifetime_seconds: fields.token_lifetime,
                expected_tid: fields.expected_tid.clone(),
                allowed_algorithms: non_empty(&fields.algorithms),
                wif_enabled: fields.wif_enabled,
                secrets_enabled: fields.secrets_enabled,
            };
            let json = client.call(Method::POST, &["clients"], &[], Some(&body)).await?;
            Ok(Outcome::new(json.clone(), output::client(&typed(&json)?)))
        }
        ClientsCommand::List {
            tenant_id,
            limit,
            cursor,
            all,
        } => {
            let mut pages = Vec::new();
            let mut cursor = cursor;
            loop {
                let query = wif_admin_client::client::list_query(tenant_id.as_deref(), limit, cursor.as_deref());
                let json = client.call(Method::GET, &["clients"], &query, NO_BODY).await?;
                let page: wif_admin_client::model::ClientPage = typed(&json)?;
                cursor = page.next_cursor.clone();
                pages.push(page);
                if !all || cursor.is_none() || pages.len() >= MAX_PAGES {
                    break;
                }
            }
            let next_cursor = cursor;
            let clients: Vec<_> = pages.into_iter().flat_map(|page| page.clients).collect();
            let mut json = serde_json::json!({ "clients": clients });
            if let Some(cursor) = &next_cursor {
                json["next_cursor"] = cursor.clone().into();
            }
            Ok(Outcome::new(
                json,
                output::client_list(&clients, next_cursor.as_deref()),
            ))
        }
        ClientsCommand::Get { client_id } => {
            let json = client.call(Method::GET, &["clients", &client_id], &[], NO_BODY).await?;
            Ok(Outcome::new(json.clone(), output::client(&typed(&json)?)))
        }
        ClientsCommand::Update {
            client_id,
            version,
            fields,
        } => {
            let version = match version {
                Some(version) => version,
                None => client.get_client(&client_id).await?.version,
            };
            let update = ClientUpdate {
                version,
                issuer: fields.issuer,
                jwks_uri: fields.jwks_uri,
                subject: fields.subject,
                audience: fields.audience,
                display_name: fields.display_name,
                scopes: non_empty(&fields.scopes),
                token_lifetime_seconds: fields.token_lifetime,
                expected_tid: fields.expected_tid,
                allowed_algorithms: non_empty(&fields.algorithms),
                wif_enabled: fields.wif_enabled,
                secrets_enabled: fields.secrets_enabled,
            };
            if update.is_empty() {
                return Err(ClientError::Usage(
                    "clients update needs at least one field to change (see --help)".into(),
                ));
            }
            let json = client
                .call(Method::PATCH, &["clients", &client_id], &[], Some(&update))
                .await?;
            Ok(Outcome::new(json.clone(), output::client(&typed(&json)?)))
        }
        ClientsCommand::Enable { client_id, version } => set_enabled(client, &client_id, version, true).await,
        ClientsCommand::Disable { client_id, version } => set_enabled(client, &client_id, version, false).await,
        ClientsCommand::Delete {
            client_id,
            version,
            yes,
        } => {
            if !yes {
                return Err(ClientError::Usage(format!(
                    "deleting {client_id} stops the customer's provisioning and revokes its tokens; add --yes"
                )));
            }
            let query = wif_admin_client::client::version_query(version);
            let json = client
                .call(Method::DELETE, &["clients", &client_id], &query, NO_BODY)
                .await?;
            let deleted: wif_admin_client::model::Deleted = typed(&json)?;
            let text = format!(
                "deleted client {}; revoked {} live access token(s)",
                deleted.client_id, deleted.revoked_tokens
            );
            Ok(Outcome::new(json, output::View::Text(text)))
        }
        ClientsCommand::RevokeTokens { client_id } => {
            let json = client
                .call(Method::POST, &["clients", &client_id, "revoke-tokens"], &[], NO_BODY)
                .await?;
            let revoked: wif_admin_client::model::TokensRevoked = typed(&json)?;
            let text = format!(
                "revoked {} live access token(s) of client {}",
                revoked.revoked_tokens, revoked.client_id
            );
            Ok(Outcome::new(json, output::View::Text(text)))
        }
        ClientsCommand::Test { client_id } => {
            let json = client
                .call(Method::GET, &["clients", &client_id, "test"], &[], NO_BODY)
                .await?;
            let report: wif_admin_client::model::ConnectionReport = typed(&json)?;
            let mut outcome = Outcome::new(json, output::report(&report));
            if !report.ok {
                outcome.exit = exit::CHECKS_FAILED;
            }
            Ok(outcome)
        }
    }
}

async fn set_enabled(
    client: &AdminClient,
    client_id: &str,
    version: Option<u64>,
    enabled: bool,
) -> Result<Outcome, ClientError> {
    let action = if enabled { "enable" } else { "disable" };
    let query = wif_admin_client::client::version_query(version);
    let json = client
        .call(Method::POST, &["clients", client_id, action], &query, NO_BODY)
        .await?;
    Ok(Outcome::new(json.clone(), output::client(&typed(&json)?)))
}

async fn secrets(client: &AdminClient, command: SecretsCommand) -> Result<Outcome, ClientError> {
    match command {
        SecretsCommand::Create {
            client_id,
            description,
            expires_in_days,
            version,
        } => {
            let body = NewSecret {
                description,
                expires_in_days,
                version,
            };
            let json = client
                .call(Method::POST, &["clients", &client_id, "secrets"], &[], Some(&body))
                .await?;
            Ok(Outcome::new(json.clone(), output::created_secret(&typed(&json)?)))
        }
        SecretsCommand::List { client_id } => {
            let json = client
                .call(Method::GET, &["clients", &client_id, "secrets"], &[], NO_BODY)
                .await?;
            Ok(Outcome::new(json.clone(), output::secret_list(&typed(&json)?)))
        }
        SecretsCommand::Revoke {
            client_id,
            secret_id,
            version,
            revoke_tokens,
        } => {
            let query = wif_admin_client::client::revoke_secret_query(version, revoke_tokens);
            let json = client
                .call(
                    Method::DELETE,
                    &["clients", &client_id, "secrets", &secret_id],
                    &query,
                    NO_BODY,
                )
                .await?;
            let revoked: wif_admin_client::model::RevokedSecret = typed(&json)?;
            let mut text = format!("revoked secret {} of client {}", revoked.secret_id, revoked.client_id);
            if let Some(count) = revoked.revoked_tokens {
                text.push_str(&format!("; revoked {count} live access token(s)"));
            }
            Ok(Outcome::new(json, output::View::Text(text)))
        }
    }
}

async fn audit(client: &AdminClient, args: AuditArgs) -> Result<Outcome, ClientError> {
    let mut filter = AuditFilter {
        tenant_id: args.tenant_id,
        client_id: args.client_id,
        from: args.from,
        to: args.to,
        limit: args.limit,
        cursor: args.cursor,
        ascending: args.asc,
    };
    let mut events = Vec::new();
    let mut pages = 0;
    let next_cursor = loop {
        let query = wif_admin_client::client::audit_query(&filter);
        let json = client.call(Method::GET, &["audit"], &query, NO_BODY).await?;
        let page: wif_admin_client::model::AuditPage = typed(&json)?;
        events.extend(page.events);
        pages += 1;
        match page.next_cursor {
            Some(cursor) if args.all && pages < MAX_PAGES => filter.cursor = Some(cursor),
            other => break other,
        }
    };
    let mut json = serde_json::json!({ "events": events });
    if let Some(cursor) = &next_cursor {
        json["next_cursor"] = cursor.clone().into();
    }
    Ok(Outcome::new(json, output::audit(&events, next_cursor.as_deref())))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
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
