//! Where the admin API is and whether requests to it must be SigV4-signed.
//!
//! In AWS the admin function URL has `AuthType: AWS_IAM`: its host is `<id>.lambda-url.<region>.on.aws`, the
//! signing service is `lambda` and the region is in the host. The local stack is plain HTTP on loopback without
//! auth. Anything else (a custom domain in front of the function URL) can force signing with `--sign always`.

use url::{Host, Url};

use crate::error::ClientError;

/// The local stack's admin base URL (the handler routes `/clients`, `/audit` below it).
pub const LOCAL_ADMIN_URL: &str = "http://127.0.0.1:9000/lambda-url/admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SignMode {
    /// Sign when the URL is an AWS Lambda function URL (https, `*.lambda-url.<region>.on.aws`).
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTarget {
    /// Base URL without a trailing slash; request paths (`/clients/..`) are appended to it.
    pub base: Url,
    /// The region to sign for, when requests are signed.
    pub signing_region: Option<String>,
}

/// The region inside a function-URL host (`abc.lambda-url.eu-west-1.on.aws` → `eu-west-1`).
pub fn function_url_region(host: &str) -> Option<String> {
    let rest = host.strip_suffix(".on.aws")?;
    let (_, region) = rest.split_once(".lambda-url.")?;
    let valid = !region.is_empty()
        && !region.contains('.')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_owned())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl AdminTarget {
    /// `region_fallback` is `--region`, else `AWS_REGION` / `AWS_DEFAULT_REGION` (the caller reads them).
    pub fn parse(text: &str, mode: SignMode, region_fallback: Option<String>) -> Result<Self, ClientError> {
        let mut base = Url::parse(text.trim()).map_err(|err| ClientError::InvalidUrl(format!("{text}: {err}")))?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ClientError::InvalidUrl(format!(
                "{text}: must not have a query or fragment"
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ClientError::InvalidUrl(format!("{text}: must not contain credentials")));
        }
        match base.scheme() {
            "https" => {}
            // Admin calls change who may provision a customer's directory: only the unauthenticated local stack
            // is spoken to in clear text.
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(ClientError::InvalidUrl(format!(
                    "{text}: plain http is only allowed to 127.0.0.1/localhost (the local stack); use https"
                )));
            }
            other => return Err(ClientError::InvalidUrl(format!("{text}: unsupported scheme {other}"))),
        }
        // People paste the URL the local stack prints (…/admin/clients); the base is one level up.
        let path = base.path().trim_end_matches('/');
        let path = path.strip_suffix("/clients").unwrap_or(path).to_owned();
        base.set_path(&path);
        let host_region = base.host_str().and_then(function_url_region);
        let is_function_url = base.scheme() == "https" && host_region.is_some();
        let signing_region = match mode {
            SignMode::Never => None,
            SignMode::Auto if !is_function_url => None,
            SignMode::Auto | SignMode::Always => Some(host_region.or(region_fallback).ok_or_else(|| {
                ClientError::Credentials(
                    "signing needs a region: the URL is not a *.lambda-url.<region>.on.aws host; pass --region or \
                     set AWS_REGION"
                        .into(),
                )
            })?),
        };
        Ok(Self { base, signing_region })
    }

    /// The base plus `segments` (each percent-encoded) and `query` (RFC 3986 encoding, so the string we sign
    /// is byte-for-byte the string we send and the server canonicalises).
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut path = self.base.path().trim_end_matches('/').to_owned();
        for segment in segments {
            path.push('/');
            path.push_str(&crate::sigv4::encode_component(segment));
        }
        let mut url = self.base.clone();
        url.set_path(&path);
        if query.is_empty() {
            url.set_query(None);
        } else {
            let encoded: Vec<String> = query
                .iter()
                .map(|(name, value)| {
                    format!(
                        "{}={}",
                        crate::sigv4::encode_component(name),
                        crate::sigv4::encode_component(value)
                    )
                })
                .collect();
            url.set_query(Some(&encoded.join("&")));
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_urls_are_signed_for_their_region() {
        let target = AdminTarget::parse(
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/",
            SignMode::Auto,
            Some("us-east-1".into()),
        )
        .unwrap();
        assert_eq!(target.signing_region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            target
                .url(&["clients", "c 1"], &[("tenant_id", "a+b c".into())])
                .as_str(),
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/clients/c%201?tenant_id=a%2Bb%20c"
        );
    }

    #[test]
    fn the_local_stack_is_plain_http_and_unsigned() {
        for text in [
            "http://127.0.0.1:9000/lambda-url/admin",
            "http://127.0.0.1:9000/lambda-url/admin/",
            "http://127.0.0.1:9000/lambda-url/admin/clients",
        ] {
            let target = AdminTarget::parse(text, SignMode::Auto, None).unwrap();
            assert_eq!(target.signing_region, None);
            assert_eq!(
                target.url(&["clients"], &[]).as_str(),
                "http://127.0.0.1:9000/lambda-url/admin/clients"
            );
        }
    }

    #[test]
    fn bad_urls_and_missing_regions_are_refused() {
        assert!(AdminTarget::parse("http://admin.example.com", SignMode::Auto, None).is_err());
        assert!(AdminTarget::parse("ftp://127.0.0.1", SignMode::Auto, None).is_err());
        assert!(AdminTarget::parse("https://u:p@x.lambda-url.eu-west-1.on.aws", SignMode::Auto, None).is_err());
        assert!(AdminTarget::parse("not a url", SignMode::Auto, None).is_err());
        // A custom domain is not signed unless asked, and then needs a region.
        let custom = AdminTarget::parse("https://admin.example.com", SignMode::Auto, None).unwrap();
        assert_eq!(custom.signing_region, None);
        let err = AdminTarget::parse("https://admin.example.com", SignMode::Always, None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::CREDENTIALS);
        let forced = AdminTarget::parse("https://admin.example.com", SignMode::Always, Some("eu-north-1".into()));
        assert_eq!(forced.unwrap().signing_region.as_deref(), Some("eu-north-1"));
        let never = AdminTarget::parse("https://x.lambda-url.eu-west-1.on.aws", SignMode::Never, None).unwrap();
        assert_eq!(never.signing_region, None);
    }

    #[test]
    fn regions_come_only_from_real_function_url_hosts() {
        assert_eq!(
            function_url_region("x.lambda-url.us-gov-west-1.on.aws").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(function_url_region("x.lambda-url.eu-west-1.on.aws.evil.com"), None);
        assert_eq!(function_url_region("lambda-url.eu-west-1.on.aws"), None);
        assert_eq!(function_url_region("x.lambda-url..on.aws"), None);
    }
}
