//! The command line of `wif-admin`, as clap declares it.

use clap::{Args, Parser, Subcommand};

use wif_admin_client::model::{ClientEvents, ClientSettings};
use wif_admin_client::{LOCAL_ADMIN_URL, SignMode};

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
pub struct Cli {
    /// Admin API base URL: the function URL in AWS, or the local stack's .../lambda-url/admin.
    #[arg(long, global = true, env = "WIF_ADMIN_URL", default_value = LOCAL_ADMIN_URL)]
    pub url: String,
    /// Print the server's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to SigV4-sign requests.
    #[arg(long, global = true, value_enum, default_value_t = SignMode::Auto)]
    pub sign: SignMode,
    /// Region to sign for when the URL does not name one (default: AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile of the credential chain (default: AWS_PROFILE or "default").
    #[arg(long, global = true)]
    pub profile: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Client registrations.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Client secrets (the non-WIF mode: client_secret_basic / client_secret_post).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Query the audit trail of a tenant or a client.
    Audit(AuditArgs),
    /// One-off data migrations after an upgrade.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// The customer portal: which Entra tenant is which customer account.
    #[command(subcommand)]
    TenantLinks(crate::portal::LinksCommand),
    /// The customer portal: one-time onboarding invitations.
    #[command(subcommand)]
    Invitations(crate::portal::InvitationsCommand),
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

#[derive(Subcommand)]
pub enum MigrateCommand {
    /// Give registrations stored before federated credentials their trust uniqueness markers (idempotent). Until
    /// then they are found only by client_id, and nothing stops another registration from claiming their trust.
    TrustMarkers,
    /// Give Directory memberships stored before group-of-user items their reverse item (idempotent, resumable:
    /// run it right after upgrading; until it has run, users' `groups` and user deletes miss those memberships).
    /// Also removes memberships of users or groups that no longer exist.
    DirectoryMemberships {
        /// Continue from the cursor an interrupted run printed.
        #[arg(long)]
        cursor: Option<String>,
    },
}

#[derive(Args)]
pub struct RegistrationFields {
    /// Exact `iss`: https://sts.windows.net/<tid>/ (v1) or https://login.microsoftonline.com/<tid>/v2.0 (v2).
    /// Required on create unless --wif-enabled false; on update only for a secrets-only client turning WIF on.
    #[arg(long)]
    pub issuer: Option<String>,
    /// JWKS URL of the customer's tenant (https://login.microsoftonline.com/<tid>/discovery/keys). May be left
    /// out for an Entra issuer: it is then discovered from the issuer's OpenID configuration.
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Exact `sub` of the assertions: the workload identity's object id.
    #[arg(long)]
    pub subject: Option<String>,
    /// Exact `aud` of the assertions (api://<appid>); repeat for every form Entra may send (e.g. also the bare
    /// app id, or api://<appid>/<host>). On update the list replaces the credential's audiences.
    #[arg(long = "audience", value_name = "AUD")]
    pub audiences: Vec<String>,
    #[arg(long)]
    pub display_name: Option<String>,
    /// Allowed scope (repeat): scim, scim.read, scim.readwrite, events.read. Default on create: the three SCIM scopes.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Access-token lifetime in seconds (3600-21600 by default policy).
    #[arg(long, value_name = "SECONDS")]
    pub token_lifetime: Option<u32>,
    /// Exact `tid` claim (default: the tenant GUID in an Entra issuer).
    #[arg(long)]
    pub expected_tid: Option<String>,
    /// Allowed JWS algorithm (repeat). Default: RS256.
    #[arg(long = "algorithm", value_name = "ALG")]
    pub algorithms: Vec<String>,
    /// Accept client_assertion (Workload Identity Federation).
    #[arg(long, value_name = "true|false")]
    pub wif_enabled: Option<bool>,
    /// Accept client secrets.
    #[arg(long, value_name = "true|false")]
    pub secrets_enabled: Option<bool>,
    /// Data level of the change events this registration receives (with --scope events.read): ids, notice, full.
    #[arg(long, value_name = "LEVEL")]
    pub events_level: Option<String>,
    /// RFC 8935 push endpoint for the change events ("" removes it).
    #[arg(long, value_name = "URL")]
    pub events_push_url: Option<String>,
}

impl RegistrationFields {
    /// The settings these options set (a repeatable option given no value is not set).
    pub fn settings(self) -> ClientSettings {
        let non_empty = |values: Vec<String>| (!values.is_empty()).then_some(values);
        let (audience, audiences) = audience_fields(self.audiences);
        ClientSettings {
            issuer: self.issuer,
            jwks_uri: self.jwks_uri,
            subject: self.subject,
            audience,
            audiences,
            federated_credentials: None,
            display_name: self.display_name,
            scopes: non_empty(self.scopes),
            token_lifetime_seconds: self.token_lifetime,
            expected_tid: self.expected_tid,
            allowed_algorithms: non_empty(self.algorithms),
            wif_enabled: self.wif_enabled,
            secrets_enabled: self.secrets_enabled,
            events: (self.events_level.is_some() || self.events_push_url.is_some()).then_some(ClientEvents {
                level: self.events_level,
                push_url: self.events_push_url,
            }),
        }
    }
}

/// One `--audience` travels as `audience`, several as `audiences` (the API accepts both).
pub fn audience_fields(mut values: Vec<String>) -> (Option<String>, Option<Vec<String>>) {
    match values.len() {
        0 => (None, None),
        1 => (values.pop(), None),
        _ => (None, Some(values)),
    }
}

/// One federated credential's values.
#[derive(Args)]
pub struct CredentialFields {
    /// Exact `iss` of the identity's tokens.
    #[arg(long)]
    pub issuer: String,
    /// Left out for an Entra issuer: discovered from its OpenID configuration.
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Exact `sub`: the workload identity's object id.
    #[arg(long)]
    pub subject: String,
    /// Exact `aud` (repeat for several).
    #[arg(long = "audience", value_name = "AUD", required = true)]
    pub audiences: Vec<String>,
    /// Exact `tid` claim (default: the tenant GUID in an Entra issuer).
    #[arg(long)]
    pub expected_tid: Option<String>,
}

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// The registration's federated credentials.
    List {
        client_id: String,
    },
    Get {
        client_id: String,
        credential_id: String,
    },
    /// Trust another workload identity (e.g. the v2 issuer of the same identity, or a new identity) beside the
    /// current ones: the first step of a rotation without downtime.
    Add {
        client_id: String,
        #[command(flatten)]
        fields: CredentialFields,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Change a credential's JWKS URL, audiences (the list replaces them) or expected tid.
    Update {
        client_id: String,
        credential_id: String,
        #[arg(long)]
        jwks_uri: Option<String>,
        #[arg(long = "audience", value_name = "AUD")]
        audiences: Vec<String>,
        #[arg(long)]
        expected_tid: Option<String>,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Stop trusting a credential (after the audit trail shows Entra using its replacement).
    Remove {
        client_id: String,
        credential_id: String,
        #[arg(long)]
        version: Option<u64>,
        /// Confirm: assertions of this identity are refused from now on.
        #[arg(long)]
        yes: bool,
    },
    /// Accept one more `aud` value from a credential.
    AddAudience {
        client_id: String,
        credential_id: String,
        audience: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Stop accepting one `aud` value (a credential keeps at least one).
    RemoveAudience {
        client_id: String,
        credential_id: String,
        audience: String,
        #[arg(long)]
        version: Option<u64>,
    },
}

#[derive(Subcommand)]
pub enum ClientsCommand {
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
    /// Run the checks Entra's Test Connection depends on (registration, each credential's JWKS, keys and cache,
    /// secrets).
    Test {
        client_id: String,
    },
    /// Show the RFC 8935 push delivery state (active, retrying, dead_letter, the last error).
    Push {
        client_id: String,
    },
    /// Push again after a dead letter (the events waited in the feed).
    Redeliver {
        client_id: String,
    },
    /// A registration's federated credentials and their audiences.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
}

#[derive(Subcommand)]
pub enum SecretsCommand {
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
pub struct AuditArgs {
    #[arg(long, required_unless_present = "client_id")]
    pub tenant_id: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Start (inclusive): Unix seconds or RFC 3339.
    #[arg(long)]
    pub from: Option<String>,
    /// End (inclusive): Unix seconds or RFC 3339.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long)]
    pub cursor: Option<String>,
    /// Oldest first (default: newest first).
    #[arg(long)]
    pub asc: bool,
    /// Follow every page.
    #[arg(long, conflicts_with = "cursor")]
    pub all: bool,
}
