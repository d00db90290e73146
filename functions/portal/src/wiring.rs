//! What the portal function builds once per Lambda environment. `main.rs` calls it with the real SDK clients and
//! HTTP clients; the IaC honesty tests call the same code over moto.

use std::sync::Arc;

use wif_auth::jwks_cache::{JwksCache, JwksCacheSettings};
use wif_auth::ports::JwksFetcher;
use wif_auth::user_token::UserTokenPolicy;
use wif_common::{Clock, ConfigError};
use wif_jose::{JwsAlgorithm, JwsSigner};
use wif_portal::activity::ActivityReader;
use wif_portal::client_assertion::CertificateAssertion;
use wif_portal::links::TenantLinks;
use wif_portal::oidc::OidcSettings;
use wif_portal::ports::TokenEndpoint;
use wif_portal::registrations::PortalRegistrations;
use wif_portal::sessions::Sessions;
use wif_portal::signin::{SignIn, SignInPorts};
use wif_portal::verifier::EntraVerifier;
use wif_portal::web::{Portal, PortalSite, pages::Pages};
use wif_registry::{ConnectionTester, RegistryPorts, RegistryService};
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::portal::PortalRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{DynamoClient, TableKind};

use crate::PortalApp;
use crate::config::{EntraApp, PortalConfig};

/// The clients the portal talks through.
pub struct Clients {
    pub dynamo: DynamoClient,
    pub kms: aws_sdk_kms::Client,
    pub clock: Arc<dyn Clock>,
    pub fetcher: Arc<dyn JwksFetcher>,
    pub token_endpoint: Arc<dyn TokenEndpoint>,
}

fn oidc(config: &PortalConfig, app: &EntraApp) -> OidcSettings {
    let login = &config.login_url;
    OidcSettings {
        authorize_url: format!("{login}/organizations/oauth2/v2.0/authorize"),
        token_url: format!("{login}/organizations/oauth2/v2.0/token"),
        jwks_uri: format!("{login}/organizations/discovery/v2.0/keys"),
        client_id: app.client_id.clone(),
        scope: "openid profile".into(),
    }
}

/// The portal's client credential: a certificate assertion signed by its KMS key (the private key never leaves KMS).
fn certificate_assertion(app: &EntraApp, kms: aws_sdk_kms::Client) -> Result<CertificateAssertion, ConfigError> {
    let signer =
        wif_kms::KmsSigner::new(kms, &app.signing_key, JwsAlgorithm::RS256).map_err(|err| ConfigError::Invalid {
            name: "WIF_PORTAL_SIGNING_KEY",
            value: app.signing_key.clone(),
            reason: err.to_string(),
        })?;
    let signer: Arc<dyn JwsSigner> = Arc::new(signer);
    Ok(CertificateAssertion::new(
        signer,
        app.client_id.clone(),
        app.certificate_thumbprint.clone(),
    ))
}

impl PortalApp {
    pub fn from_config(config: &PortalConfig, clients: Clients) -> Result<Self, ConfigError> {
        let Some(app) = &config.entra else {
            return Ok(PortalApp::NotSetUp {
                product_name: config.product_name.clone(),
            });
        };
        let tables = &config.tables;
        let dynamo = &clients.dynamo;
        let clock = clients.clock.clone();
        let store = Arc::new(PortalRepository::new(dynamo.clone(), tables.get(TableKind::Portal)?));
        let audit = Arc::new(AuditRepository::new(
            dynamo.clone(),
            tables.get(TableKind::Audit)?,
            config.audit_retention_days,
        ));
        let keys = Arc::new(KeyRepository::new(dynamo.clone(), tables.get(TableKind::Keys)?));
        let registry = registry(config, &clients, audit.clone())?;
        let tester = Arc::new(ConnectionTester {
            keys: keys.clone(),
            fetcher: clients.fetcher.clone(),
            clock: clock.clone(),
            policy: config.policy.clone(),
        });
        let settings = JwksCacheSettings {
            memory_ttl_seconds: config.jwks_memory_ttl_seconds,
            refetch_cooldown_seconds: config.jwks_refetch_cooldown_seconds,
            ..JwksCacheSettings::default()
        };
        let cache = Arc::new(JwksCache::new(keys, clients.fetcher, clock.clone(), settings));
        let oidc = oidc(config, app);
        let verifier = Arc::new(EntraVerifier::new(
            cache,
            oidc.jwks_uri.clone(),
            UserTokenPolicy::new(&config.issuer_template, vec![app.client_id.clone()]),
            UserTokenPolicy::new(&config.issuer_template, app.api_audiences.clone()),
        ));
        let ports = SignInPorts {
            pending: store.clone(),
            links: store.clone(),
            endpoint: clients.token_endpoint,
            signer: Arc::new(certificate_assertion(app, clients.kms)?),
            audit: audit.clone(),
            clock: clock.clone(),
        };
        Ok(PortalApp::Ready(Box::new(Portal {
            site: PortalSite::new(config.public_url.as_deref(), &config.product_name),
            signin: SignIn::new(oidc, ports, verifier.clone()),
            sessions: Sessions::new(store.clone(), store.clone(), clock.clone(), config.sessions),
            links: TenantLinks::new(store, audit.clone(), clock.clone(), config.public_url.clone()),
            registrations: PortalRegistrations::new(registry, tester, config.trust.clone()),
            activity: ActivityReader::new(audit, config.activity_max_events),
            verifier,
            clock,
            pages: Pages::new(),
        })))
    }
}

/// The registration lifecycle the portal drives, over the same tables as the admin API.
fn registry(
    config: &PortalConfig,
    clients: &Clients,
    audit: Arc<AuditRepository>,
) -> Result<Arc<RegistryService>, ConfigError> {
    let tables = &config.tables;
    let dynamo = &clients.dynamo;
    let ports = RegistryPorts {
        store: Arc::new(ClientRepository::new(dynamo.clone(), tables.get(TableKind::Clients)?)),
        tokens: Arc::new(TokenRepository::new(
            dynamo.clone(),
            tables.get(TableKind::Tokens)?,
            clients.clock.clone(),
        )),
        audit,
        clock: clients.clock.clone(),
        fetcher: clients.fetcher.clone(),
    };
    Ok(Arc::new(RegistryService::new(
        ports,
        config.policy.clone(),
        config.urls.clone(),
    )))
}
