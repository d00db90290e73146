//! Which JWKS URLs we are willing to fetch. The same policy checks a URL when a registration is stored and again
//! right before every fetch, so a registration stored under a laxer deployment setting can never make us fetch
//! from somewhere the current setting forbids.

use url::{Host, Url};
use wif_common::config::is_loopback;

/// Entra's login hosts, from Microsoft's instance-discovery metadata and national-cloud documentation:
/// the global cloud and its aliases, Azure Government (and its alias), and Microsoft Azure operated by 21Vianet
/// (both names). Azure Germany (`login.microsoftonline.de`) closed in 2021 and is deliberately absent.
pub const ENTRA_JWKS_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
    "login.microsoftonline.us",
    "login.usgovcloudapi.net",
    "login-us.microsoftonline.com",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
];

/// Longest JWKS URL we accept; Entra's are under 100 characters.
pub const MAX_JWKS_URI_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlPolicyError {
    #[error("is not an absolute URL ({0})")]
    Unparsable(String),
    #[error("must use https")]
    NotHttps,
    #[error("may use http only for a loopback host in local development")]
    HttpNotLoopback,
    #[error("host {0} is not on the JWKS host allow-list")]
    HostNotAllowed(String),
    #[error("must not contain user information")]
    UserInfo,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("is longer than {MAX_JWKS_URI_LEN} characters")]
    TooLong,
    #[error("must not contain whitespace or control characters")]
    BadCharacters,
    #[error("host {0} is not a public address")]
    NotPublic(String),
}

/// HTTPS on an allow-listed host; plain HTTP only to loopback, and only in local development.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUrlPolicy {
    local_development: bool,
    /// Lower-cased host names (Entra's plus the deployment's extras).
    allowed_hosts: Vec<String>,
}

impl JwksUrlPolicy {
    pub fn new(local_development: bool, extra_allowed_hosts: &[String]) -> Self {
        let mut allowed_hosts: Vec<String> = ENTRA_JWKS_HOSTS.iter().map(|host| (*host).to_owned()).collect();
        for host in extra_allowed_hosts {
            let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
            if !host.is_empty() && !allowed_hosts.contains(&host) {
                allowed_hosts.push(host);
            }
        }
        Self {
            local_development,
            allowed_hosts,
        }
    }

    /// Production defaults: Entra hosts only, no loopback.
    pub fn entra_only() -> Self {
        Self::new(false, &[])
    }

    pub fn local_development(&self) -> bool {
        self.local_development
    }

    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }

    /// Parses and checks a JWKS URL. The returned URL is what a fetcher must request (no redirects).
    pub fn check(&self, text: &str) -> Result<Url, UrlPolicyError> {
        let url = parse_checked(text, self.local_development)?;
        if is_loopback(&url) && self.local_development {
            return Ok(url);
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => return Err(UrlPolicyError::HostNotAllowed(ip.to_string())),
            Some(Host::Ipv6(ip)) => return Err(UrlPolicyError::HostNotAllowed(format!("[{ip}]"))),
            None => return Err(UrlPolicyError::Unparsable("no host".to_owned())),
        };
        if self.allowed_hosts.contains(&host) {
            Ok(url)
        } else {
            Err(UrlPolicyError::HostNotAllowed(host))
        }
    }
}

/// The checks every outbound URL passes: bounded, printable, absolute, no user information or fragment, https
/// (plain http only to loopback in local development; the caller decides what else loopback may skip).
fn parse_checked(text: &str, local_development: bool) -> Result<Url, UrlPolicyError> {
    if text.len() > MAX_JWKS_URI_LEN {
        return Err(UrlPolicyError::TooLong);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlPolicyError::BadCharacters);
    }
    let url = Url::parse(text).map_err(|err| UrlPolicyError::Unparsable(err.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlPolicyError::UserInfo);
    }
    if url.fragment().is_some() {
        return Err(UrlPolicyError::Fragment);
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback && local_development => Ok(url),
        "http" if loopback => Err(UrlPolicyError::HttpNotLoopback),
        _ => Err(UrlPolicyError::NotHttps),
    }
}

/// Where events may be pushed (RFC 8935): any public https host, never a private, link-local, loopback or other
/// special-purpose address (the ISV's own network, the instance metadata service). Names are checked again at
/// delivery against every address they resolve to ([`is_public_ip`]), so DNS cannot point a checked name inward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushUrlPolicy {
    local_development: bool,
}

impl PushUrlPolicy {
    pub fn new(local_development: bool) -> Self {
        Self { local_development }
    }

    pub fn local_development(&self) -> bool {
        self.local_development
    }

    pub fn check(&self, text: &str) -> Result<Url, UrlPolicyError> {
        let url = parse_checked(text, self.local_development)?;
        if is_loopback(&url) && self.local_development {
            return Ok(url);
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(Host::Domain(domain)) if domain.eq_ignore_ascii_case("localhost") => {
                return Err(UrlPolicyError::NotPublic(domain.to_owned()));
            }
            Some(Host::Domain(_)) => None,
            None => return Err(UrlPolicyError::Unparsable("no host".to_owned())),
        };
        match literal {
            Some(ip) if !is_public_ip(ip) => Err(UrlPolicyError::NotPublic(ip.to_string())),
            _ => Ok(url),
        }
    }
}

/// Whether an address is globally routable: not loopback, private (RFC 1918, ULA), link-local, shared (CGNAT),
/// unspecified, broadcast, multicast, documentation or benchmarking space, nor an IPv4-mapped form of those.
pub fn is_public_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(mapped) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(mapped));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_hosts_over_https_pass() {
        let policy = JwksUrlPolicy::entra_only();
        for url in [
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys",
            "https://login.microsoftonline.us/x/discovery/keys",
            "https://login.partner.microsoftonline.cn/x/discovery/keys",
            "https://login.chinacloudapi.cn/x/discovery/keys",
            "https://LOGIN.windows.net/common/discovery/keys",
        ] {
            assert!(policy.check(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn rejections_name_the_problem() {
        let policy = JwksUrlPolicy::entra_only();
        assert_eq!(
            policy.check("http://login.microsoftonline.com/k"),
            Err(UrlPolicyError::NotHttps)
        );
        assert_eq!(
            policy.check("ftp://login.microsoftonline.com/k"),
            Err(UrlPolicyError::NotHttps)
        );
        assert_eq!(
            policy.check("https://evil.example/k"),
            Err(UrlPolicyError::HostNotAllowed("evil.example".to_owned()))
        );
        assert_eq!(
            policy.check("https://login.microsoftonline.com.evil.example/k"),
            Err(UrlPolicyError::HostNotAllowed(
                "login.microsoftonline.com.evil.example".to_owned()
            ))
        );
        assert_eq!(
            policy.check("https://u:p@login.microsoftonline.com/k"),
            Err(UrlPolicyError::UserInfo)
        );
        assert_eq!(
            policy.check("https://login.microsoftonline.com/k#x"),
            Err(UrlPolicyError::Fragment)
        );
        assert_eq!(
            policy.check("https://login.microsoftonline.com/k x"),
            Err(UrlPolicyError::BadCharacters)
        );
        assert_eq!(
            policy.check("http://127.0.0.1:8080/k"),
            Err(UrlPolicyError::HttpNotLoopback)
        );
        assert!(matches!(
            policy.check("https://127.0.0.1/k"),
            Err(UrlPolicyError::HostNotAllowed(_))
        ));
        assert!(matches!(policy.check("not a url"), Err(UrlPolicyError::BadCharacters)));
        assert!(matches!(
            policy.check("relative/path"),
            Err(UrlPolicyError::Unparsable(_))
        ));
        let long = format!("https://login.microsoftonline.com/{}", "a".repeat(MAX_JWKS_URI_LEN));
        assert_eq!(policy.check(&long), Err(UrlPolicyError::TooLong));
    }

    #[test]
    fn loopback_http_only_in_local_development() {
        let policy = JwksUrlPolicy::new(true, &[]);
        assert!(policy.check("http://127.0.0.1:8080/keys").is_ok());
        assert!(policy.check("http://localhost:8080/keys").is_ok());
        assert!(policy.check("http://[::1]:8080/keys").is_ok());
        assert_eq!(policy.check("http://10.0.0.1/keys"), Err(UrlPolicyError::NotHttps));
        assert_eq!(policy.check("http://example.com/keys"), Err(UrlPolicyError::NotHttps));
    }

    #[test]
    fn push_urls_must_be_public_https() {
        let policy = PushUrlPolicy::new(false);
        assert!(policy.check("https://events.isv.example/scim-events").is_ok());
        assert!(policy.check("https://203.0.113.0.nip.example/x").is_ok());
        assert_eq!(
            policy.check("http://events.isv.example/"),
            Err(UrlPolicyError::NotHttps)
        );
        for inward in [
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://localhost/x",
        ] {
            assert!(
                matches!(policy.check(inward), Err(UrlPolicyError::NotPublic(_))),
                "{inward}"
            );
        }
        assert_eq!(
            policy.check("https://u:p@events.isv.example/"),
            Err(UrlPolicyError::UserInfo)
        );
        assert!(is_public_ip("8.8.8.8".parse().unwrap()));
        assert!(is_public_ip("2606:4700::1111".parse().unwrap()));
        let local = PushUrlPolicy::new(true);
        assert!(local.check("http://127.0.0.1:25050/events").is_ok());
        assert!(local.check("http://10.0.0.1/events").is_err());
    }

    #[test]
    fn extra_hosts_extend_the_list() {
        let policy = JwksUrlPolicy::new(false, &[" Keys.Example.COM ".to_owned()]);
        assert!(policy.check("https://keys.example.com/jwks").is_ok());
        assert!(policy.check("https://other.example.com/jwks").is_err());
    }
}
