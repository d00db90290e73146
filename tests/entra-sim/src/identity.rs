//! The tenant side of the simulation: a tenant id, the workload identity Entra signs assertions for, and the
//! tenant's signing keys with rotation. Optionally persisted to a state directory so a restarted simulator
//! publishes the same keys (our server caches JWKS documents; new keys on every restart would hide bugs).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::assertion::AssertionBuilder;
use crate::error::{Result, SimError};
use crate::keys::SigningKey;

/// Entra's two access-token formats. They differ in issuer, claim names and JWKS URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    /// `https://sts.windows.net/<tid>/` (trailing slash) or `https://login.microsoftonline.com/<tid>/v2.0` (none).
    pub fn issuer(self, tenant_id: &str) -> String {
        match self {
            TokenVersion::V1 => format!("https://sts.windows.net/{tenant_id}/"),
            TokenVersion::V2 => format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        }
    }

    /// Path of the tenant's JWKS below the login host, as Entra publishes it.
    pub fn jwks_path(self, tenant_id: &str) -> String {
        match self {
            TokenVersion::V1 => format!("/{tenant_id}/discovery/keys"),
            TokenVersion::V2 => format!("/{tenant_id}/discovery/v2.0/keys"),
        }
    }

    /// The `ver` claim.
    pub fn ver_claim(self) -> &'static str {
        match self {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }
    }
}

/// The workload identity (managed identity or app registration) that Entra's provisioning service runs as.
/// Its assertions carry `sub`/`oid` = `object_id`, `appid`/`azp` = `app_id`, `aud` = `audience`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub app_id: String,
    pub object_id: String,
    pub audience: String,
}

impl Workload {
    /// Random GUIDs, audience `api://<app_id>` as in the design's registration example.
    pub fn random() -> Self {
        let app_id = uuid::Uuid::new_v4().to_string();
        Workload {
            audience: format!("api://{app_id}"),
            app_id,
            object_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// A simulated Entra tenant. Cloning is cheap (keys are shared) and gives an independent key list, so a test
/// can snapshot the identity, rotate the server's copy and still sign with the old key.
#[derive(Clone, Debug)]
pub struct Identity {
    tenant_id: String,
    workload: Workload,
    /// Publication order: the JWKS lists keys in this order.
    keys: Vec<Arc<SigningKey>>,
    /// Always one of `keys` (every mutation keeps that invariant).
    signing: Arc<SigningKey>,
}

const IDENTITY_FILE: &str = "identity.json";
const KEYS_DIR: &str = "keys";

#[derive(Serialize, Deserialize)]
struct PersistedIdentity {
    tenant_id: String,
    workload: Workload,
    signing_kid: String,
    /// Key ids in publication order; each has `keys/<kid>.p8` (PKCS#8 DER) and `keys/<kid>.cer` (X.509 DER).
    keys: Vec<String>,
}

impl Identity {
    /// A tenant with one fresh signing key and a random workload identity.
    pub fn generate(tenant_id: impl Into<String>) -> Result<Self> {
        let key = Arc::new(SigningKey::generate()?);
        Ok(Identity {
            tenant_id: tenant_id.into(),
            workload: Workload::random(),
            signing: key.clone(),
            keys: vec![key],
        })
    }

    /// A tenant with a random tenant id (what most tests want).
    pub fn random() -> Result<Self> {
        Self::generate(uuid::Uuid::new_v4().to_string())
    }

    pub fn with_workload(mut self, workload: Workload) -> Self {
        self.workload = workload;
        self
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    pub fn issuer(&self, version: TokenVersion) -> String {
        version.issuer(&self.tenant_id)
    }

    /// The key new assertions are signed with.
    pub fn signing_key(&self) -> Arc<SigningKey> {
        self.signing.clone()
    }

    pub fn key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.keys.iter().find(|k| k.kid() == kid).cloned()
    }

    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    pub fn signing_kid(&self) -> &str {
        self.signing.kid()
    }

    /// Publishes a new key without signing with it yet (Entra announces keys before it rolls over to them).
    pub fn add_key(&mut self) -> Result<String> {
        let key = Arc::new(SigningKey::generate()?);
        let kid = key.kid().to_string();
        self.keys.push(key);
        Ok(kid)
    }

    /// Starts signing with an already published key.
    pub fn use_key(&mut self, kid: &str) -> Result<()> {
        let key = self
            .key(kid)
            .ok_or_else(|| SimError::InvalidArgument(format!("no published key with kid {kid}")))?;
        self.signing = key;
        Ok(())
    }

    /// Withdraws a key from the JWKS. The signing key cannot be removed (use another key first).
    pub fn remove_key(&mut self, kid: &str) -> Result<()> {
        if kid == self.signing.kid() {
            return Err(SimError::InvalidArgument(format!(
                "{kid} is the signing key; rotate first"
            )));
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.kid() != kid);
        if self.keys.len() == before {
            return Err(SimError::InvalidArgument(format!("no published key with kid {kid}")));
        }
        Ok(())
    }

    /// Adds a key, signs with it from now on, and optionally withdraws every older key. Returns the new kid.
    pub fn rotate(&mut self, drop_old: bool) -> Result<String> {
        let kid = self.add_key()?;
        self.use_key(&kid)?;
        if drop_old {
            self.keys.retain(|k| k.kid() == kid);
        }
        Ok(kid)
    }

    /// The tenant's JWKS as Entra serves it. v2 documents add an `issuer` member to every key.
    pub fn jwks(&self, version: TokenVersion) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                let mut jwk = k.public_jwk();
                if version == TokenVersion::V2
                    && let Some(obj) = jwk.as_object_mut()
                {
                    obj.insert("issuer".into(), Value::String(self.issuer(TokenVersion::V2)));
                }
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }

    /// An assertion builder prefilled with this tenant's workload identity and signing key.
    pub fn assertion(&self, version: TokenVersion) -> AssertionBuilder {
        AssertionBuilder::new(version, &self.tenant_id, &self.workload)
    }

    /// Mints a default-shaped assertion signed with the current signing key.
    pub fn mint(&self, version: TokenVersion) -> Result<String> {
        self.assertion(version).sign(self)
    }

    /// Loads the identity saved in `dir`, or creates one (with `tenant_id`, or a random one) and saves it.
    pub fn load_or_create(dir: &Path, tenant_id: Option<&str>) -> Result<Self> {
        if dir.join(IDENTITY_FILE).exists() {
            let identity = Self::load(dir)?;
            if let Some(wanted) = tenant_id
                && wanted != identity.tenant_id
            {
                return Err(SimError::State {
                    path: dir.to_path_buf(),
                    detail: format!(
                        "holds tenant {} but tenant {wanted} was requested; use another state directory",
                        identity.tenant_id
                    ),
                });
            }
            return Ok(identity);
        }
        let identity = match tenant_id {
            Some(t) => Self::generate(t)?,
            None => Self::random()?,
        };
        identity.save(dir)?;
        Ok(identity)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(IDENTITY_FILE);
        let text = fs::read_to_string(&path).map_err(|e| SimError::io(&path, e))?;
        let persisted: PersistedIdentity = serde_json::from_str(&text).map_err(|e| SimError::Json {
            what: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let mut keys = Vec::with_capacity(persisted.keys.len());
        for kid in &persisted.keys {
            let (key_path, cert_path) = key_paths(dir, kid);
            let pkcs8 = fs::read(&key_path).map_err(|e| SimError::io(&key_path, e))?;
            let cert = fs::read(&cert_path).map_err(|e| SimError::io(&cert_path, e))?;
            let key = SigningKey::from_parts(pkcs8, cert)?;
            if key.kid() != kid {
                return Err(SimError::State {
                    path: cert_path,
                    detail: format!("certificate thumbprint {} does not match kid {kid}", key.kid()),
                });
            }
            keys.push(Arc::new(key));
        }
        let signing = keys
            .iter()
            .find(|k| k.kid() == persisted.signing_kid)
            .cloned()
            .ok_or_else(|| SimError::State {
                path,
                detail: format!("signing kid {} is not among the saved keys", persisted.signing_kid),
            })?;
        Ok(Identity {
            tenant_id: persisted.tenant_id,
            workload: persisted.workload,
            keys,
            signing,
        })
    }

    /// Writes keys first and the index last (atomically), so a crash never leaves an index naming missing keys.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let keys_dir = dir.join(KEYS_DIR);
        fs::create_dir_all(&keys_dir).map_err(|e| SimError::io(&keys_dir, e))?;
        for key in &self.keys {
            let (key_path, cert_path) = key_paths(dir, key.kid());
            if !key_path.exists() {
                write_private(&key_path, key.pkcs8_der())?;
            }
            if !cert_path.exists() {
                write_atomic(&cert_path, key.certificate_der())?;
            }
        }
        let persisted = PersistedIdentity {
            tenant_id: self.tenant_id.clone(),
            workload: self.workload.clone(),
            signing_kid: self.signing.kid().to_string(),
            keys: self.keys.iter().map(|k| k.kid().to_string()).collect(),
        };
        let text = serde_json::to_vec_pretty(&persisted).map_err(|e| SimError::Json {
            what: "identity".into(),
            detail: e.to_string(),
        })?;
        write_atomic(&dir.join(IDENTITY_FILE), &text)
    }
}

fn key_paths(dir: &Path, kid: &str) -> (PathBuf, PathBuf) {
    let keys = dir.join(KEYS_DIR);
    (keys.join(format!("{kid}.p8")), keys.join(format!("{kid}.cer")))
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(|e| SimError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| SimError::io(path, e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| SimError::io(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_and_jwks_paths_match_entra() {
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(TokenVersion::V1.issuer(tid), format!("https://sts.windows.net/{tid}/"));
        assert_eq!(
            TokenVersion::V2.issuer(tid),
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        assert_eq!(TokenVersion::V1.jwks_path(tid), format!("/{tid}/discovery/keys"));
        assert_eq!(TokenVersion::V2.jwks_path(tid), format!("/{tid}/discovery/v2.0/keys"));
    }

    #[test]
    fn rotation_publishes_new_key_and_optionally_drops_old() {
        let mut id = Identity::random().expect("identity");
        let first = id.signing_kid().to_string();
        let second = id.rotate(false).expect("rotate");
        assert_eq!(id.signing_kid(), second);
        assert_eq!(id.keys().len(), 2);
        assert!(id.remove_key(&second).is_err(), "signing key cannot be withdrawn");
        let third = id.rotate(true).expect("rotate");
        assert_eq!(id.keys().len(), 1);
        assert!(id.key(&first).is_none());
        assert_eq!(id.signing_kid(), third);
        let jwks = id.jwks(TokenVersion::V1);
        assert_eq!(jwks["keys"][0]["kid"], third.as_str());
        assert!(jwks["keys"][0].get("issuer").is_none());
        let v2 = id.jwks(TokenVersion::V2);
        assert_eq!(v2["keys"][0]["issuer"], id.issuer(TokenVersion::V2).as_str());
    }

    #[test]
    fn staged_key_is_published_before_it_signs() {
        let mut id = Identity::random().expect("identity");
        let old = id.signing_kid().to_string();
        let staged = id.add_key().expect("add");
        assert_eq!(id.signing_kid(), old);
        id.use_key(&staged).expect("use");
        id.remove_key(&old).expect("remove");
        assert_eq!(id.keys().len(), 1);
        assert!(id.use_key("nope").is_err());
    }

    #[test]
    fn state_directory_round_trip_keeps_keys_and_tenant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut id = Identity::load_or_create(dir.path(), Some("tenant-a")).expect("create");
        id.rotate(false).expect("rotate");
        id.save(dir.path()).expect("save");
        let again = Identity::load_or_create(dir.path(), None).expect("load");
        assert_eq!(again.tenant_id(), "tenant-a");
        assert_eq!(again.signing_kid(), id.signing_kid());
        assert_eq!(again.workload(), id.workload());
        assert_eq!(again.jwks(TokenVersion::V1), id.jwks(TokenVersion::V1));
        assert!(Identity::load_or_create(dir.path(), Some("tenant-b")).is_err());
    }
}
