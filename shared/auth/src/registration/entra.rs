//! What Entra puts in a token's `iss`, where it publishes keys, and the copy mistakes that can be caught from the
//! two strings alone.
//!
//! Entra issues exactly two issuer shapes, per tenant: v1 `https://sts.windows.net/<tid>/` (with the trailing
//! slash) and v2 `https://login.microsoftonline.com/<tid>/v2.0` (without one), each on its national cloud's host.
//! Any other string on those hosts can never equal a token's `iss`, so registering one is refused with the value
//! Entra really sends. This includes `https://login.microsoftonline.com/<tid>`, which Microsoft's own validation
//! harness guide tells ISVs to register although its tokens are v2 tokens.
//!
//! Keys are published at `https://<login host>/<tid>/discovery/keys` and `.../discovery/v2.0/keys`. Entra serves the
//! tenant's same signing keys at both, so a version mix-up only earns a warning; a JWKS URL naming another
//! tenant than the issuer is refused.

use crate::url_policy::ENTRA_JWKS_HOSTS;

/// Entra's token format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    fn name(self) -> &'static str {
        match self {
            TokenVersion::V1 => "v1",
            TokenVersion::V2 => "v2",
        }
    }
}

/// An issuer exactly as Entra writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraIssuer {
    pub tenant_id: String,
    pub version: TokenVersion,
    /// The login host of its cloud, which serves the tenant's OpenID configuration.
    pub login_host: &'static str,
}

impl EntraIssuer {
    /// `<login host>/<tid>[/v2.0]/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        let version = if self.version == TokenVersion::V2 { "/v2.0" } else { "" };
        format!(
            "https://{}/{}{version}/.well-known/openid-configuration",
            self.login_host, self.tenant_id
        )
    }
}

/// v1 issuer hosts, each with its cloud's login host.
const V1_HOSTS: &[(&str, &str)] = &[
    ("sts.windows.net", "login.microsoftonline.com"),
    ("sts.chinacloudapi.cn", "login.chinacloudapi.cn"),
];
/// Hosts Entra writes into v2 issuers.
const V2_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
];
/// Aliases that serve Entra's endpoints but never appear in a token, each with the host tokens carry instead.
const ALIAS_HOSTS: &[(&str, &str)] = &[
    ("login.windows.net", "login.microsoftonline.com"),
    ("login.microsoft.com", "login.microsoftonline.com"),
    ("login.usgovcloudapi.net", "login.microsoftonline.us"),
    ("login-us.microsoftonline.com", "login.microsoftonline.us"),
];

/// A tenant id as Entra writes it: a GUID in its 36-character lower-case hyphenated form.
fn is_tenant_id(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok() && !text.chars().any(|c| c.is_ascii_uppercase())
}

/// The two issuers Entra could have meant, for messages.
fn expected_issuers(tid: &str, v2_host: &str) -> String {
    format!("v2 tokens carry https://{v2_host}/{tid}/v2.0 and v1 tokens https://sts.windows.net/{tid}/")
}

/// Splits `https://host/rest` without normalising anything (the issuer is compared byte for byte).
fn host_and_path(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("https://")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// `Ok(Some(..))` for an issuer exactly as Entra writes it, `Ok(None)` for an issuer on another host (not
/// checked here), `Err(problem)` for a string on an Entra host that no Entra token carries.
pub fn parse_entra_issuer(issuer: &str) -> Result<Option<EntraIssuer>, String> {
    let Some((host, path)) = host_and_path(issuer) else {
        return Ok(None);
    };
    let lower = host.to_ascii_lowercase();
    let v1 = V1_HOSTS.iter().find(|(name, _)| *name == lower);
    let v2 = V2_HOSTS.iter().find(|name| **name == lower);
    let alias = ALIAS_HOSTS.iter().find(|(name, _)| *name == lower);
    if v1.is_none() && v2.is_none() && alias.is_none() {
        return Ok(None);
    }
    if host != lower {
        return Err(format!("Entra writes the host in lower case: https://{lower}/{path}"));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let tid = segments[0];
    if !is_tenant_id(tid) {
        return Err(format!(
            "an Entra issuer names the customer's tenant by its id (a lower-case GUID), not {tid:?}"
        ));
    }
    if let Some((_, canonical)) = alias {
        return Err(format!(
            "Entra never writes {host} into a token's iss: {}",
            expected_issuers(tid, canonical)
        ));
    }
    match (v1, segments.as_slice()) {
        (Some((_, login_host)), [_, ""]) => Ok(Some(EntraIssuer {
            tenant_id: tid.to_owned(),
            version: TokenVersion::V1,
            login_host,
        })),
        (Some(_), [_]) => Err(format!(
            "a v1 issuer ends with a slash: https://{host}/{tid}/ (v1 tokens carry it; the comparison is exact)"
        )),
        (Some(_), _) => Err(format!(
            "v1 issuers are exactly https://{host}/{tid}/ ({})",
            expected_issuers(tid, "login.microsoftonline.com")
        )),
        (None, [_, "v2.0"]) => Ok(Some(EntraIssuer {
            tenant_id: tid.to_owned(),
            version: TokenVersion::V2,
            login_host: v2.copied().unwrap_or("login.microsoftonline.com"),
        })),
        (None, [_, "v2.0", ""]) => Err(format!("a v2 issuer has no trailing slash: https://{host}/{tid}/v2.0")),
        (None, _) => Err(format!(
            "no Entra token carries this issuer: {} (Microsoft's validation-harness guide shows \
             https://{host}/<tenant id>, but its tokens are v2 tokens)",
            expected_issuers(tid, host)
        )),
    }
}

/// The tenant GUID inside an Entra issuer (v1 or v2, any cloud); `None` for anything else.
pub fn entra_tenant_of_issuer(issuer: &str) -> Option<String> {
    parse_entra_issuer(issuer).ok().flatten().map(|entra| entra.tenant_id)
}

/// An Entra JWKS URL: `https://<login host>/<tenant>/discovery[/v2.0]/keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraJwksUrl {
    /// The tenant GUID, or `None` for the tenant-independent `common`/`organizations` sets.
    pub tenant_id: Option<String>,
    pub version: TokenVersion,
}

pub fn parse_entra_jwks_url(jwks_uri: &str) -> Option<EntraJwksUrl> {
    let (host, path) = host_and_path(jwks_uri)?;
    if !ENTRA_JWKS_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
        return None;
    }
    let (tenant, keys_path) = path.split_once('/')?;
    let version = match keys_path {
        "discovery/keys" => TokenVersion::V1,
        "discovery/v2.0/keys" => TokenVersion::V2,
        _ => return None,
    };
    Some(EntraJwksUrl {
        tenant_id: is_tenant_id(tenant).then(|| tenant.to_owned()),
        version,
    })
}

/// Whether an Entra issuer and an Entra JWKS URL belong together: `Err` when they name different tenants (no key
/// of the one signs tokens of the other), `Ok(Some(warning))` for a v1/v2 mix-up (the same keys are served at both
/// URLs, so it works, but it usually means one of the two values was copied from the wrong place).
pub fn check_pair(issuer: &EntraIssuer, jwks: &EntraJwksUrl) -> Result<Option<String>, String> {
    if let Some(jwks_tid) = &jwks.tenant_id
        && *jwks_tid != issuer.tenant_id
    {
        return Err(format!(
            "names tenant {jwks_tid}, but the issuer names tenant {}; both must be the customer's tenant",
            issuer.tenant_id
        ));
    }
    if jwks.version != issuer.version {
        return Ok(Some(format!(
            "is the {} key URL for a {} issuer; Entra serves the same keys at both, but check that both values \
             came from the same place",
            jwks.version.name(),
            issuer.version.name()
        )));
    }
    Ok(None)
}
