//! What each `wif-admin` command does: one typed-client call (or a few, following pages), and how to show the
//! answer. `--json` prints the server's JSON as it came; tables are built from the typed answer.

use serde_json::Value;

use wif_admin_client::model::{AuditFilter, AuditPage, ClientPage, ClientSettings, ClientUpdate, NewClient, NewSecret};
use wif_admin_client::{AdminClient, AdminTarget, ClientError, CredentialSource, Reply, exit};

use crate::cli::{AuditArgs, Cli, ClientsCommand, Command, MigrateCommand, RegistrationFields, SecretsCommand};
use crate::{credentials, output};

/// At most this many pages are followed by `--all` (a guard against a server that never stops paging).
const MAX_PAGES: usize = 1000;

/// What a command produced: JSON (printed as is with --json) and how to show it to a person.
pub struct Outcome {
    pub json: Value,
    pub view: output::View,
    pub exit: i32,
}

impl Outcome {
    pub(crate) fn new(json: Value, view: output::View) -> Self {
        Self {
            json,
            view,
            exit: exit::OK,
        }
    }
}

pub async fn run(cli: Cli) -> Result<Outcome, ClientError> {
    if let Command::PortalCertificate {
        kms_key_id,
        common_name,
        days,
        out,
    } = &cli.command
    {
        return crate::portal::portal_certificate(kms_key_id, common_name, *days, out).await;
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
        Command::Migrate(MigrateCommand::TrustMarkers) => {
            let reply = client.migrate_trust_markers().await?;
            let mut outcome = Outcome::new(reply.json, output::migration(&reply.value));
            if !reply.value.conflicts.is_empty() {
                outcome.exit = exit::API;
            }
            Ok(outcome)
        }
        Command::Migrate(MigrateCommand::DirectoryMemberships { cursor }) => migrate_memberships(&client, cursor).await,
        Command::TenantLinks(command) => crate::portal::links(&client, command).await,
        Command::Invitations(command) => crate::portal::invitations(&client, command).await,
        Command::PortalCertificate { .. } => Err(ClientError::Usage("handled above".into())),
    }
}

async fn clients(client: &AdminClient, command: ClientsCommand) -> Result<Outcome, ClientError> {
    match command {
        ClientsCommand::Create { tenant_id, fields } => create(client, tenant_id, fields).await,
        ClientsCommand::List {
            tenant_id,
            limit,
            cursor,
            all,
        } => {
            let fetch = |cursor: Option<String>| {
                let tenant_id = tenant_id.clone();
                async move {
                    let reply = client
                        .list_clients(tenant_id.as_deref(), limit, cursor.as_deref())
                        .await?;
                    Ok(page_of(reply, "clients", |page: ClientPage| {
                        (page.clients, page.next_cursor)
                    }))
                }
            };
            let pages = gather(all, cursor, fetch).await?;
            let view = output::client_list(&pages.items, pages.next_cursor.as_deref());
            Ok(Outcome::new(pages.json("clients"), view))
        }
        ClientsCommand::Get { client_id } => {
            let reply = client.get_client(&client_id).await?;
            Ok(Outcome::new(reply.json, output::client(&reply.value)))
        }
        ClientsCommand::Update {
            client_id,
            version,
            fields,
        } => update(client, &client_id, version, fields).await,
        ClientsCommand::Enable { client_id, version } => set_enabled(client, &client_id, version, true).await,
        ClientsCommand::Disable { client_id, version } => set_enabled(client, &client_id, version, false).await,
        ClientsCommand::Delete {
            client_id,
            version,
            yes,
        } => delete(client, &client_id, version, yes).await,
        ClientsCommand::RevokeTokens { client_id } => {
            let reply = client.revoke_tokens(&client_id).await?;
            let text = format!(
                "revoked {} live access token(s) of client {}",
                reply.value.revoked_tokens, reply.value.client_id
            );
            Ok(Outcome::new(reply.json, output::View::Text(text)))
        }
        ClientsCommand::Push { client_id } => {
            let reply = client.push_status(&client_id).await?;
            Ok(Outcome::new(reply.json, output::push(&reply.value)))
        }
        ClientsCommand::Redeliver { client_id } => {
            let reply = client.redeliver(&client_id).await?;
            Ok(Outcome::new(reply.json, output::push(&reply.value)))
        }
        ClientsCommand::Credentials(command) => credentials::run(client, command).await,
        ClientsCommand::Test { client_id } => {
            let reply = client.test_client(&client_id).await?;
            let mut outcome = Outcome::new(reply.json, output::report(&reply.value));
            if !reply.value.ok {
                outcome.exit = exit::CHECKS_FAILED;
            }
            Ok(outcome)
        }
    }
}

async fn create(
    client: &AdminClient,
    tenant_id: Option<String>,
    fields: RegistrationFields,
) -> Result<Outcome, ClientError> {
    // A secrets-only client (--wif-enabled false) has no federation values; the server checks that they come all
    // together or not at all. The JWKS URL of an Entra issuer is discovered when left out.
    let federated = fields.wif_enabled != Some(false);
    let missing: Vec<&str> = [
        ("--issuer", fields.issuer.is_none()),
        ("--subject", fields.subject.is_none()),
        ("--audience", fields.audiences.is_empty()),
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
        tenant_id,
        settings: fields.settings(),
    };
    let reply = client.create_client(&body).await?;
    Ok(Outcome::new(reply.json, output::client(&reply.value)))
}

async fn update(
    client: &AdminClient,
    client_id: &str,
    version: Option<u64>,
    fields: RegistrationFields,
) -> Result<Outcome, ClientError> {
    let version = match version {
        Some(version) => version,
        None => client.get_client(client_id).await?.value.version,
    };
    let update = ClientUpdate {
        version: Some(version),
        settings: fields.settings(),
    };
    if update.settings == ClientSettings::default() {
        return Err(ClientError::Usage(
            "clients update needs at least one field to change (see --help)".into(),
        ));
    }
    let reply = client.update_client(client_id, &update).await?;
    Ok(Outcome::new(reply.json, output::client(&reply.value)))
}

async fn set_enabled(
    client: &AdminClient,
    client_id: &str,
    version: Option<u64>,
    enabled: bool,
) -> Result<Outcome, ClientError> {
    let reply = client.set_enabled(client_id, enabled, version).await?;
    Ok(Outcome::new(reply.json, output::client(&reply.value)))
}

async fn delete(
    client: &AdminClient,
    client_id: &str,
    version: Option<u64>,
    yes: bool,
) -> Result<Outcome, ClientError> {
    if !yes {
        return Err(ClientError::Usage(format!(
            "deleting {client_id} stops the customer's provisioning and revokes its tokens; add --yes"
        )));
    }
    let reply = client.delete_client(client_id, version).await?;
    let text = format!(
        "deleted client {}; revoked {} live access token(s)",
        reply.value.client_id, reply.value.revoked_tokens
    );
    Ok(Outcome::new(reply.json, output::View::Text(text)))
}

async fn secrets(client: &AdminClient, command: SecretsCommand) -> Result<Outcome, ClientError> {
    match command {
        SecretsCommand::Create {
            client_id,
            description,
            expires_in_days,
            version,
        } => {
            let options = NewSecret {
                description,
                expires_in_days,
                version,
            };
            let reply = client.create_secret(&client_id, &options).await?;
            Ok(Outcome::new(reply.json, output::created_secret(&reply.value)))
        }
        SecretsCommand::List { client_id } => {
            let reply = client.list_secrets(&client_id).await?;
            Ok(Outcome::new(reply.json, output::secret_list(&reply.value)))
        }
        SecretsCommand::Revoke {
            client_id,
            secret_id,
            version,
            revoke_tokens,
        } => {
            let reply = client
                .revoke_secret(&client_id, &secret_id, version, revoke_tokens)
                .await?;
            let revoked = reply.value;
            let mut text = format!("revoked secret {} of client {}", revoked.secret_id, revoked.client_id);
            if let Some(count) = revoked.revoked_tokens {
                text.push_str(&format!("; revoked {count} live access token(s)"));
            }
            Ok(Outcome::new(reply.json, output::View::Text(text)))
        }
    }
}

async fn audit(client: &AdminClient, args: AuditArgs) -> Result<Outcome, ClientError> {
    let filter = AuditFilter {
        tenant_id: args.tenant_id,
        client_id: args.client_id,
        from: args.from,
        to: args.to,
        cursor: None,
        limit: args.limit.map(|limit| limit.to_string()),
        order: args.asc.then(|| "asc".to_owned()),
    };
    let fetch = |cursor: Option<String>| {
        let filter = AuditFilter {
            cursor,
            ..filter.clone()
        };
        async move {
            let reply = client.audit(&filter).await?;
            Ok(page_of(reply, "events", |page: AuditPage| {
                (page.events, page.next_cursor)
            }))
        }
    };
    let pages = gather(args.all, args.cursor, fetch).await?;
    let view = output::audit(&pages.items, pages.next_cursor.as_deref());
    Ok(Outcome::new(pages.json("events"), view))
}

/// One page: its items typed and as the server sent them, and the cursor of the next page.
struct Page<T> {
    items: Vec<T>,
    raw: Vec<Value>,
    next_cursor: Option<String>,
}

fn page_of<P, T>(reply: Reply<P>, key: &str, split: impl FnOnce(P) -> (Vec<T>, Option<String>)) -> Page<T> {
    let raw = reply.json[key].as_array().cloned().unwrap_or_default();
    let (items, next_cursor) = split(reply.value);
    Page {
        items,
        raw,
        next_cursor,
    }
}

impl<T> Page<T> {
    /// The pages as one answer of the server's shape: `{key: [...], "next_cursor": ...}`.
    fn json(&self, key: &str) -> Value {
        let mut json = serde_json::json!({ key: self.raw });
        if let Some(cursor) = &self.next_cursor {
            json["next_cursor"] = cursor.clone().into();
        }
        json
    }
}

/// The page at `cursor`, and with `all` every following one (up to [`MAX_PAGES`]), as one page.
async fn gather<T, F, Fut>(all: bool, mut cursor: Option<String>, fetch: F) -> Result<Page<T>, ClientError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ClientError>>,
{
    let mut gathered = Page {
        items: Vec::new(),
        raw: Vec::new(),
        next_cursor: None,
    };
    for _ in 0..MAX_PAGES {
        let page = fetch(cursor).await?;
        gathered.items.extend(page.items);
        gathered.raw.extend(page.raw);
        cursor = page.next_cursor;
        if !all || cursor.is_none() {
            break;
        }
    }
    gathered.next_cursor = cursor;
    Ok(gathered)
}

/// Runs the Directory membership migration slice after slice until the table is scanned, printing progress; an
/// interrupted run prints the cursor to continue from.
async fn migrate_memberships(client: &AdminClient, mut cursor: Option<String>) -> Result<Outcome, ClientError> {
    let mut total = wif_admin_client::model::MembershipMigration::default();
    loop {
        let reply = match client.migrate_directory_memberships(cursor.as_deref()).await {
            Ok(reply) => reply,
            Err(err) => {
                if let Some(cursor) = &cursor {
                    eprintln!("interrupted; continue with --cursor {cursor}");
                }
                return Err(err);
            }
        };
        let step = reply.value;
        total.examined += step.examined;
        total.migrated += step.migrated;
        total.orphans_removed += step.orphans_removed;
        total.skipped += step.skipped;
        eprintln!(
            "{} items examined, {} memberships migrated, {} orphans removed",
            total.examined, total.migrated, total.orphans_removed
        );
        cursor = step.next_cursor;
        if cursor.is_none() {
            let json = serde_json::to_value(&total).unwrap_or(Value::Null);
            return Ok(Outcome::new(json, output::membership_migration(&total)));
        }
    }
}
