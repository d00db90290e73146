//! In-memory stores and stub Entra endpoints (feature `test-support`), for unit tests here and in other crates.

use std::collections::HashMap;
use std::sync::Mutex;

use wif_auth::ports::StoreUnavailable;

use crate::model::{Invitation, PendingSignIn, Session, TenantLink};
use crate::ports::{
    AssertionSigner, LinkWriteError, SessionStore, SigningFailed, TenantLinkStore, TokenEndpoint, TokenEndpointAnswer,
    TokenEndpointUnreachable,
};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every portal item in maps.
#[derive(Default)]
pub struct InMemoryPortalStore {
    pending: Mutex<HashMap<String, PendingSignIn>>,
    sessions: Mutex<HashMap<String, Session>>,
    links: Mutex<HashMap<String, TenantLink>>,
    invitations: Mutex<HashMap<String, Invitation>>,
}

impl InMemoryPortalStore {
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn sessions(&self) -> Vec<Session> {
        lock(&self.sessions).values().cloned().collect()
    }
}

#[async_trait::async_trait]
impl SessionStore for InMemoryPortalStore {
    async fn put_pending(&self, pending: &PendingSignIn) -> Result<(), StoreUnavailable> {
        lock(&self.pending).insert(pending.key_hash.clone(), pending.clone());
        Ok(())
    }

    async fn take_pending(&self, key_hash: &str) -> Result<Option<PendingSignIn>, StoreUnavailable> {
        Ok(lock(&self.pending).remove(key_hash))
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreUnavailable> {
        lock(&self.sessions).insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreUnavailable> {
        Ok(lock(&self.sessions).get(id_hash).cloned())
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        idle_expires_at: i64,
    ) -> Result<(), StoreUnavailable> {
        if let Some(session) = lock(&self.sessions).get_mut(id_hash) {
            session.last_seen_at = last_seen_at;
            session.idle_expires_at = idle_expires_at;
        }
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreUnavailable> {
        lock(&self.sessions).remove(id_hash);
        Ok(())
    }
}

#[async_trait::async_trait]
impl TenantLinkStore for InMemoryPortalStore {
    async fn get_link(&self, entra_tenant_id: &str) -> Result<Option<TenantLink>, StoreUnavailable> {
        Ok(lock(&self.links).get(entra_tenant_id).cloned())
    }

    async fn insert_link(&self, link: &TenantLink) -> Result<(), LinkWriteError> {
        let mut links = lock(&self.links);
        if links.contains_key(&link.entra_tenant_id) {
            return Err(LinkWriteError::AlreadyLinked);
        }
        links.insert(link.entra_tenant_id.clone(), link.clone());
        Ok(())
    }

    async fn delete_link(&self, entra_tenant_id: &str) -> Result<bool, StoreUnavailable> {
        Ok(lock(&self.links).remove(entra_tenant_id).is_some())
    }

    async fn list_links(&self) -> Result<Vec<TenantLink>, StoreUnavailable> {
        Ok(lock(&self.links).values().cloned().collect())
    }

    async fn put_invitation(&self, invitation: &Invitation) -> Result<(), StoreUnavailable> {
        lock(&self.invitations).insert(invitation.code_hash.clone(), invitation.clone());
        Ok(())
    }

    async fn get_invitation(&self, code_hash: &str) -> Result<Option<Invitation>, StoreUnavailable> {
        Ok(lock(&self.invitations).get(code_hash).cloned())
    }

    async fn redeem_invitation(&self, code_hash: &str, link: &TenantLink, now: i64) -> Result<(), LinkWriteError> {
        let mut invitations = lock(&self.invitations);
        let valid = invitations.get(code_hash).is_some_and(|inv| inv.expires_at > now);
        if !valid {
            return Err(LinkWriteError::InvitationInvalid);
        }
        let mut links = lock(&self.links);
        if links.contains_key(&link.entra_tenant_id) {
            return Err(LinkWriteError::AlreadyLinked);
        }
        invitations.remove(code_hash);
        links.insert(link.entra_tenant_id.clone(), link.clone());
        Ok(())
    }
}

/// Answers every token request with a preset answer; records the forms it was sent.
#[derive(Default)]
pub struct StubTokenEndpoint {
    answer: Mutex<Option<TokenEndpointAnswer>>,
    forms: Mutex<Vec<Vec<(String, String)>>>,
}

impl StubTokenEndpoint {
    pub fn answer(&self, status: u16, body: &str) {
        *lock(&self.answer) = Some(TokenEndpointAnswer {
            status,
            body: body.as_bytes().to_vec(),
        });
    }

    pub fn forms(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.forms).clone()
    }
}

#[async_trait::async_trait]
impl TokenEndpoint for StubTokenEndpoint {
    async fn post_form(
        &self,
        _url: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenEndpointAnswer, TokenEndpointUnreachable> {
        lock(&self.forms).push(form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        lock(&self.answer)
            .clone()
            .ok_or_else(|| TokenEndpointUnreachable("no answer configured".into()))
    }
}

/// A fixed client assertion.
pub struct StubSigner;

#[async_trait::async_trait]
impl AssertionSigner for StubSigner {
    async fn client_assertion(&self, token_url: &str, now: i64) -> Result<String, SigningFailed> {
        Ok(format!("stub-assertion-for-{token_url}-at-{now}"))
    }
}

/// A whole portal over in-memory stores, a stub Entra token endpoint and a test signing key, driven like a browser.
pub mod harness {
    use std::sync::Arc;

    use http::{Method, Response};
    use serde_json::{Value, json};

    use wif_auth::jwks_cache::{JwksCache, JwksCacheSettings};
    use wif_auth::registration::RegistrationPolicy;
    use wif_auth::testing::{
        InMemoryKeyStore, InMemoryTokenStore, StaticJwksFetcher, TestKey, jwks_document, sign_jwt,
    };
    use wif_auth::user_token::{ENTRA_V2_ISSUER_TEMPLATE, UserTokenPolicy};
    use wif_common::FixedClock;
    use wif_registry::memory::{InMemoryAudit, InMemoryRegistrations};
    use wif_registry::{ConnectionTester, PublicUrls, RegistryPorts, RegistryService};

    use super::{InMemoryPortalStore, StubSigner, StubTokenEndpoint};
    use crate::activity::ActivityReader;
    use crate::links::TenantLinks;
    use crate::model::{NonAdminAccess, TenantLink};
    use crate::oidc::OidcSettings;
    use crate::ports::TenantLinkStore;
    use crate::registrations::{PortalRegistrations, TrustTemplates};
    use crate::sessions::{SessionSettings, Sessions};
    use crate::signin::{SignIn, SignInPorts};
    use crate::verifier::EntraVerifier;
    use crate::web::{Portal, PortalRequest, PortalSite, pages::Pages};

    pub const NOW: i64 = 1_800_000_000;
    pub const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
    pub const API: &str = "api://wif-portal";
    pub const JWKS: &str = "https://login.example/organizations/discovery/v2.0/keys";
    pub const BASE: &str = "/lambda-url/portal";
    pub const TENANT_A: &str = "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
    pub const TENANT_B: &str = "2f0c6c1e-8d1b-4c1e-9f4e-5b1a2c3d4e5f";
    pub const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";

    pub struct Harness {
        pub portal: Portal,
        pub store: Arc<InMemoryPortalStore>,
        pub endpoint: Arc<StubTokenEndpoint>,
        pub clock: Arc<FixedClock>,
        pub key: TestKey,
        pub audit: Arc<InMemoryAudit>,
    }

    pub fn harness() -> Harness {
        let clock = Arc::new(FixedClock::at(NOW));
        let store = Arc::new(InMemoryPortalStore::default());
        let endpoint = Arc::new(StubTokenEndpoint::default());
        let audit = Arc::new(InMemoryAudit::default());
        let key = TestKey::rsa("entra-k1");
        let fetcher = Arc::new(StaticJwksFetcher::default());
        fetcher.serve(JWKS, &jwks_document(&[&key]));
        let policy = RegistrationPolicy {
            local_development: true,
            ..RegistrationPolicy::default()
        };
        let registry = Arc::new(RegistryService::new(
            RegistryPorts {
                store: Arc::new(InMemoryRegistrations::default()),
                tokens: Arc::new(InMemoryTokenStore::default()),
                audit: audit.clone(),
                clock: clock.clone(),
                fetcher: fetcher.clone(),
            },
            policy.clone(),
            PublicUrls {
                token_url: "https://wif.example/oauth2/token".into(),
                scim_url: "https://wif.example/scim/v2".into(),
                events_url: Some("https://events.wif.example/events".into()),
                events_jwks_url: Some("https://events.wif.example/events/jwks.json".into()),
            },
        ));
        let keys = Arc::new(InMemoryKeyStore::default());
        let tester = Arc::new(ConnectionTester {
            keys: keys.clone(),
            fetcher: fetcher.clone(),
            clock: clock.clone(),
            policy,
        });
        let cache = Arc::new(JwksCache::new(
            keys,
            fetcher,
            clock.clone(),
            JwksCacheSettings::default(),
        ));
        let verifier = Arc::new(EntraVerifier::new(
            cache,
            JWKS.into(),
            UserTokenPolicy::new(ENTRA_V2_ISSUER_TEMPLATE, vec![CLIENT.into()]),
            UserTokenPolicy::new(ENTRA_V2_ISSUER_TEMPLATE, vec![API.into()]),
        ));
        let oidc = OidcSettings {
            authorize_url: "https://login.example/organizations/oauth2/v2.0/authorize".into(),
            token_url: "https://login.example/organizations/oauth2/v2.0/token".into(),
            jwks_uri: JWKS.into(),
            client_id: CLIENT.into(),
            scope: "openid profile".into(),
        };
        let ports = SignInPorts {
            pending: store.clone(),
            links: store.clone(),
            endpoint: endpoint.clone(),
            signer: Arc::new(StubSigner),
            audit: audit.clone(),
            clock: clock.clone(),
        };
        let portal = Portal {
            site: PortalSite::new(Some(&format!("http://127.0.0.1:9000{BASE}/")), "Contoso Provisioning"),
            signin: SignIn::new(oidc, ports, verifier.clone()),
            sessions: Sessions::new(store.clone(), store.clone(), clock.clone(), SessionSettings::default()),
            links: TenantLinks::new(
                store.clone(),
                audit.clone(),
                clock.clone(),
                Some("https://portal.example".into()),
            ),
            registrations: PortalRegistrations::new(registry, tester, TrustTemplates::default()),
            activity: ActivityReader::new(audit.clone(), 10_000),
            verifier,
            clock: clock.clone(),
            pages: Pages::new(),
        };
        Harness {
            portal,
            store,
            endpoint,
            clock,
            key,
            audit,
        }
    }

    /// A person of a tenant, as Entra's ID token would describe them.
    pub fn person(tid: &str, oid_suffix: u8, admin: bool) -> Value {
        json!({
            "tid": tid, "oid": format!("0d7c2d0e-1111-4222-8333-4444555566{oid_suffix:02}"),
            "preferred_username": format!("user{oid_suffix}@{}.example", &tid[..4]), "name": format!("User {oid_suffix}"),
            "wids": if admin { json!([APP_ADMIN]) } else { json!([]) },
        })
    }

    pub struct Browser {
        pub cookie: Option<String>,
        pub csrf: Option<String>,
    }

    pub fn cookies_of(response: &Response<String>) -> Vec<String> {
        response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn location(response: &Response<String>) -> String {
        response.headers()[http::header::LOCATION].to_str().unwrap().to_owned()
    }

    pub fn csrf_of(html: &str) -> Option<String> {
        let at = html.find("name=\"csrf\" value=\"")? + 19;
        Some(html[at..at + 43].to_owned())
    }

    impl Harness {
        pub async fn send(
            &self,
            method: Method,
            path: &str,
            cookie: Option<&str>,
            body: &str,
            kind: &str,
        ) -> Response<String> {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let mut request = PortalRequest {
                method,
                path: path.into(),
                query: query.into(),
                body: body.as_bytes().to_vec(),
                ..PortalRequest::default()
            };
            if let Some(cookie) = cookie {
                request.headers.insert(http::header::COOKIE, cookie.parse().unwrap());
            }
            if !kind.is_empty() {
                request
                    .headers
                    .insert(http::header::CONTENT_TYPE, kind.parse().unwrap());
            }
            self.portal.handle(request).await
        }

        pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response<String> {
            self.send(Method::GET, path, cookie, "", "").await
        }

        pub async fn post_form(&self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Response<String> {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            self.send(Method::POST, path, cookie, &body, "application/x-www-form-urlencoded")
                .await
        }

        /// Starts a sign-in; returns the sign-in cookie header and the authorize URL's parameters.
        pub async fn start(&self, return_to: &str) -> (String, std::collections::HashMap<String, String>) {
            let start = self.get(&format!("/signin/start?returnTo={return_to}"), None).await;
            assert_eq!(start.status(), 303);
            let cookie = cookies_of(&start)[0].split(';').next().unwrap().to_owned();
            let params = url::Url::parse(&location(&start))
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect();
            (cookie, params)
        }

        pub fn id_token(&self, who: &Value, nonce: &str) -> String {
            let mut claims = json!({
                "iss": format!("https://login.microsoftonline.com/{}/v2.0", who["tid"].as_str().unwrap()),
                "aud": CLIENT, "ver": "2.0", "nonce": nonce, "iat": NOW - 5, "nbf": NOW - 5, "exp": NOW + 3600,
            });
            claims.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
            sign_jwt(&self.key, "RS256", &claims)
        }

        pub async fn sign_in(&self, who: &Value) -> Browser {
            let (cookie, params) = self.start("/").await;
            self.endpoint.answer(
                200,
                &json!({ "id_token": self.id_token(who, &params["nonce"]) }).to_string(),
            );
            let callback = self
                .get(
                    &format!("/signin/callback?code=c1&state={}", params["state"]),
                    Some(&cookie),
                )
                .await;
            assert_eq!(callback.status(), 303, "{}", callback.body());
            let session = cookies_of(&callback)
                .into_iter()
                .find(|c| c.starts_with("__Host-wif-portal-session="))
                .unwrap();
            assert!(session.contains("HttpOnly") && session.contains("Secure") && session.contains("SameSite=Lax"));
            let cookie = session.split(';').next().unwrap().to_owned();
            let page = self.get("/", Some(&cookie)).await;
            Browser {
                csrf: csrf_of(page.body()),
                cookie: Some(cookie),
            }
        }

        pub async fn link(&self, tid: &str, tenant_id: &str, access: NonAdminAccess) {
            let link = TenantLink {
                entra_tenant_id: tid.into(),
                tenant_id: tenant_id.into(),
                display_name: Some(format!("Customer {tenant_id}")),
                non_admin_access: access,
                created_at: NOW,
                created_by: "ops".into(),
            };
            TenantLinkStore::insert_link(self.store.as_ref(), &link).await.unwrap();
        }

        pub async fn create(&self, browser: &Browser, name: &str) -> Response<String> {
            let csrf = browser.csrf.clone().unwrap();
            let fields = [
                ("csrf", csrf.as_str()),
                ("display_name", name),
                ("subject", "fbd13a0e-0a74-477d-953a-9f4b520a0e8e"),
                ("audience", "api://provisioning"),
                ("token_version", "v2"),
            ];
            self.post_form("/registrations", browser.cookie.as_deref(), &fields)
                .await
        }
    }
}
