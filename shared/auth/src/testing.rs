//! In-memory implementations of every port, a programmable JWKS fetcher, and a JWT signer with freshly generated
//! keys — for unit tests here and in other crates (feature `test-support`). Nothing here is used in production.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use wif_common::audit::{AuditError, AuditEvent, AuditSink};

use crate::ports::{
    ClientLookup, JwksFetchError, JwksFetchOutcome, JwksFetcher, KeyStore, RateCounter, StoreUnavailable, StoredJwks,
    TokenRecord, TokenStore,
};
use crate::registration::{FederatedCredential, Registration, Trust, credential_id};
use crate::scope::Scope;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn outage(failing: &AtomicBool) -> Result<(), StoreUnavailable> {
    if failing.load(Ordering::SeqCst) {
        Err(StoreUnavailable("simulated outage".to_owned()))
    } else {
        Ok(())
    }
}

/// The Entra tenant of [`sample_registration`].
pub const SAMPLE_TID: &str = "966ac572-f5b7-4bbe-aa88-c76419c0f851";

/// A v2 credential of [`SAMPLE_TID`] with this subject, JWKS URL and audience.
pub fn sample_credential(subject: &str, jwks_uri: &str, audience: &str) -> FederatedCredential {
    let issuer = format!("https://login.microsoftonline.com/{SAMPLE_TID}/v2.0");
    FederatedCredential {
        credential_id: credential_id(&issuer, subject),
        issuer,
        jwks_uri: jwks_uri.to_owned(),
        subject: subject.to_owned(),
        audiences: vec![audience.to_owned()],
        expected_tid: Some(SAMPLE_TID.to_owned()),
        created_at: 0,
        updated_at: 0,
    }
}

/// A registration with one Entra-shaped credential, for tests that need one.
pub fn sample_registration(client_id: &str) -> Registration {
    Registration {
        client_id: client_id.to_owned(),
        tenant_id: format!("tenant-{client_id}"),
        display_name: None,
        federated_credentials: vec![sample_credential(
            "fbd13a0e-0a74-477d-953a-9f4b520a0e8e",
            &format!("https://login.microsoftonline.com/{client_id}/discovery/v2.0/keys"),
            "api://wif-scim",
        )],
        allowed_scopes: Scope::DEFAULT.to_vec(),
        token_lifetime_seconds: 3600,
        allowed_algorithms: vec!["RS256".to_owned()],
        enabled: true,
        wif_enabled: true,
        secrets_enabled: false,
        secrets: Vec::new(),
        events: None,
        version: 1,
        created_at: 0,
        updated_at: 0,
        markers_pending: false,
    }
}

#[derive(Default)]
pub struct InMemoryClients {
    clients: Mutex<HashMap<String, Registration>>,
    failing: AtomicBool,
}

impl InMemoryClients {
    pub fn insert(&self, registration: Registration) {
        lock(&self.clients).insert(registration.client_id.clone(), registration);
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ClientLookup for InMemoryClients {
    async fn get_client(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        outage(&self.failing)?;
        Ok(lock(&self.clients).get(client_id).cloned())
    }

    /// Like the marker lookup: the registration holding the trust. Two registrations holding one trust would be a
    /// broken store; this one answers with none, so tests of the token service cannot rely on that state.
    async fn find_by_trust(&self, trust: &Trust) -> Result<Option<Registration>, StoreUnavailable> {
        outage(&self.failing)?;
        let holders: Vec<Registration> = lock(&self.clients)
            .values()
            .filter(|registration| registration.trusts().contains(trust))
            .cloned()
            .collect();
        Ok(match holders.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        })
    }
}

#[derive(Default)]
pub struct InMemoryTokenStore {
    tokens: Mutex<HashMap<String, TokenRecord>>,
    failing: AtomicBool,
}

impl InMemoryTokenStore {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn records(&self) -> Vec<TokenRecord> {
        lock(&self.tokens).values().cloned().collect()
    }
}

#[async_trait::async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn put_token(&self, record: &TokenRecord) -> Result<(), StoreUnavailable> {
        outage(&self.failing)?;
        lock(&self.tokens).insert(record.token_hash.clone(), record.clone());
        Ok(())
    }

    /// Holds no registrations, so there is no state to condition on: the DynamoDB store's transaction is tested
    /// against moto (wif-store's `revocation_race` test).
    async fn put_token_if_current(
        &self,
        record: &TokenRecord,
        _registration_version: u64,
    ) -> Result<(), crate::revocation::IssueError> {
        Ok(self.put_token(record).await?)
    }

    async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreUnavailable> {
        outage(&self.failing)?;
        Ok(lock(&self.tokens).get(token_hash).cloned())
    }

    async fn revoke_client_tokens(&self, client_id: &str) -> Result<usize, StoreUnavailable> {
        outage(&self.failing)?;
        let mut revoked = 0;
        for record in lock(&self.tokens).values_mut() {
            if record.client_id == client_id && !record.revoked {
                record.revoked = true;
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}

#[derive(Default)]
pub struct InMemoryKeyStore {
    entries: Mutex<HashMap<String, StoredJwks>>,
    failing: AtomicBool,
    reads: AtomicU64,
}

impl InMemoryKeyStore {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn entry(&self, jwks_uri: &str) -> Option<StoredJwks> {
        lock(&self.entries).get(jwks_uri).cloned()
    }

    /// What `jwks-refresh` does: store a freshly fetched document.
    pub fn seed(&self, jwks_uri: &str, document: &str, fetched_at: i64) {
        lock(&self.entries).insert(
            jwks_uri.to_owned(),
            StoredJwks {
                jwks_uri: jwks_uri.to_owned(),
                document: Some(document.to_owned()),
                fetched_at: Some(fetched_at),
                etag: None,
                last_attempt_at: Some(fetched_at),
                last_failure: None,
                last_failure_at: None,
            },
        );
    }

    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn get_jwks(&self, jwks_uri: &str) -> Result<Option<StoredJwks>, StoreUnavailable> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        outage(&self.failing)?;
        Ok(lock(&self.entries).get(jwks_uri).cloned())
    }

    async fn put_jwks(&self, entry: &StoredJwks) -> Result<(), StoreUnavailable> {
        outage(&self.failing)?;
        lock(&self.entries).insert(entry.jwks_uri.clone(), entry.clone());
        Ok(())
    }

    async fn record_fetch_failure(&self, jwks_uri: &str, at: i64, reason: &str) -> Result<(), StoreUnavailable> {
        outage(&self.failing)?;
        let mut entries = lock(&self.entries);
        let entry = entries.entry(jwks_uri.to_owned()).or_insert_with(|| StoredJwks {
            jwks_uri: jwks_uri.to_owned(),
            document: None,
            fetched_at: None,
            etag: None,
            last_attempt_at: None,
            last_failure: None,
            last_failure_at: None,
        });
        entry.last_attempt_at = Some(at);
        entry.last_failure = Some(reason.to_owned());
        entry.last_failure_at = Some(at);
        Ok(())
    }
}

/// Serves programmable answers per URL and counts calls.
#[derive(Default)]
pub struct StaticJwksFetcher {
    answers: Mutex<HashMap<String, Result<JwksFetchOutcome, JwksFetchError>>>,
    fetched: Mutex<Vec<String>>,
    count: AtomicU64,
    delay_ms: AtomicU64,
}

impl StaticJwksFetcher {
    pub fn serve(&self, jwks_uri: &str, document: &str) {
        self.answer(
            jwks_uri,
            Ok(JwksFetchOutcome::Fresh {
                body: document.to_owned(),
                etag: None,
                max_age: None,
            }),
        );
    }

    pub fn answer(&self, jwks_uri: &str, answer: Result<JwksFetchOutcome, JwksFetchError>) {
        lock(&self.answers).insert(jwks_uri.to_owned(), answer);
    }

    /// Every fetch sleeps this long first (to test single-flight).
    pub fn delay(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    pub fn fetched_urls(&self) -> Vec<String> {
        lock(&self.fetched).clone()
    }
}

#[async_trait::async_trait]
impl JwksFetcher for StaticJwksFetcher {
    async fn fetch(&self, jwks_uri: &str, _etag: Option<&str>) -> Result<JwksFetchOutcome, JwksFetchError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        lock(&self.fetched).push(jwks_uri.to_owned());
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        lock(&self.answers)
            .get(jwks_uri)
            .cloned()
            .unwrap_or(Err(JwksFetchError::Status(404)))
    }

    /// Served from the same answers as JWKS documents ([`StaticJwksFetcher::serve`] the configuration's URL).
    async fn fetch_openid_configuration(&self, url: &str) -> Result<String, JwksFetchError> {
        match self.fetch(url, None).await? {
            JwksFetchOutcome::Fresh { body, .. } => Ok(body),
            JwksFetchOutcome::NotModified { .. } => Err(JwksFetchError::Status(304)),
        }
    }
}

#[derive(Default)]
pub struct InMemoryRateCounter {
    counts: Mutex<HashMap<(String, i64), u64>>,
    failing: AtomicBool,
}

impl InMemoryRateCounter {
    /// The shared count of `key` in the window starting at `window_start`.
    pub fn count(&self, key: &str, window_start: i64) -> u64 {
        lock(&self.counts)
            .get(&(key.to_owned(), window_start))
            .copied()
            .unwrap_or(0)
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl RateCounter for InMemoryRateCounter {
    async fn add(&self, key: &str, hits: u64, window_start: i64, _expires_at: i64) -> Result<u64, StoreUnavailable> {
        outage(&self.failing)?;
        let mut counts = lock(&self.counts);
        let count = counts.entry((key.to_owned(), window_start)).or_insert(0);
        *count += hits;
        Ok(*count)
    }
}

/// Keeps every audit event (and logs it like the real sinks do).
#[derive(Default)]
pub struct RecordingAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl RecordingAudit {
    pub fn events(&self) -> Vec<AuditEvent> {
        lock(&self.events).clone()
    }

    pub fn last(&self) -> Option<AuditEvent> {
        lock(&self.events).last().cloned()
    }
}

#[async_trait::async_trait]
impl AuditSink for RecordingAudit {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        event.log();
        lock(&self.events).push(event);
        Ok(())
    }
}

/// A signing key generated at test time, with its public JWK.
pub struct TestKey {
    pub kid: String,
    kind: TestKeyKind,
}

enum TestKeyKind {
    Rsa(RsaKeyPair),
    Ec256(EcdsaKeyPair),
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        Self::rsa_sized(kid, KeySize::Rsa2048)
    }

    pub fn rsa_sized(kid: &str, size: KeySize) -> Self {
        let pair = RsaKeyPair::generate(size).unwrap_or_else(|err| panic!("RSA key generation failed: {err}"));
        Self {
            kid: kid.to_owned(),
            kind: TestKeyKind::Rsa(pair),
        }
    }

    pub fn ec256(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap_or_else(|err| panic!("EC key generation failed: {err}"));
        Self {
            kid: kid.to_owned(),
            kind: TestKeyKind::Ec256(pair),
        }
    }

    /// The public JWK (RSA: `n`/`e`; EC: `crv`/`x`/`y`), `use: sig`.
    pub fn public_jwk(&self) -> serde_json::Value {
        match &self.kind {
            TestKeyKind::Rsa(pair) => {
                let public = pair.public_key();
                let components: signature::RsaPublicKeyComponents<Vec<u8>> = public.into();
                serde_json::json!({
                    "kty": "RSA", "use": "sig", "kid": self.kid,
                    "n": URL_SAFE_NO_PAD.encode(&components.n),
                    "e": URL_SAFE_NO_PAD.encode(&components.e),
                })
            }
            TestKeyKind::Ec256(pair) => {
                let point = pair.public_key().as_ref();
                serde_json::json!({
                    "kty": "EC", "use": "sig", "kid": self.kid, "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
        }
    }

    /// The RSA public key as DER (PKCS#1 `RSAPublicKey`), e.g. to forge an HS256 MAC keyed with it.
    pub fn public_key_der(&self) -> Vec<u8> {
        match &self.kind {
            TestKeyKind::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            TestKeyKind::Ec256(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// Signs `signing_input` with the algorithm named (RS*/PS* for RSA keys, ES256 for P-256).
    pub fn sign(&self, alg: &str, signing_input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.kind {
            TestKeyKind::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    other => panic!("an RSA test key cannot sign {other}"),
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, signing_input, &mut out)
                    .unwrap_or_else(|err| panic!("signing failed: {err}"));
                out
            }
            TestKeyKind::Ec256(pair) => pair
                .sign(&rng, signing_input)
                .unwrap_or_else(|err| panic!("signing failed: {err}"))
                .as_ref()
                .to_vec(),
        }
    }
}

/// A JWKS document of these keys.
pub fn jwks_document(keys: &[&TestKey]) -> String {
    serde_json::json!({ "keys": keys.iter().map(|key| key.public_jwk()).collect::<Vec<_>>() }).to_string()
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS from raw header and payload bytes (so tests can craft duplicate members byte by byte).
pub fn sign_raw(key: &TestKey, alg: &str, header: &str, payload: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = key.sign(alg, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

/// A compact JWS with header `{"alg","kid","typ":"JWT"}` over `claims`.
pub fn sign_jwt(key: &TestKey, alg: &str, claims: &serde_json::Value) -> String {
    let header = serde_json::json!({"alg": alg, "kid": key.kid, "typ": "JWT"}).to_string();
    sign_raw(key, alg, &header, &claims.to_string())
}

/// Claims an Entra v2 assertion for [`sample_registration`] carries, valid around `now`.
pub fn entra_like_claims(registration: &Registration, now: i64) -> serde_json::Value {
    credential_claims(&registration.federated_credentials[0], now)
}

/// Claims an Entra v2 assertion of this credential carries (its first audience), valid around `now`.
pub fn credential_claims(credential: &FederatedCredential, now: i64) -> serde_json::Value {
    serde_json::json!({
        "aud": credential.audiences[0],
        "iss": credential.issuer,
        "sub": credential.subject,
        "tid": credential.expected_tid,
        "oid": credential.subject,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "ver": "2.0",
        "uti": "n5TvKgKLQEa8bVc7p_4QAA",
    })
}
