//! Who is calling, behind the optional CloudFront custom domain. Without it the function URL is the public endpoint
//! and `requestContext.http.sourceIp` is the caller. With it, `sourceIp` is a CloudFront edge address shared by
//! every viewer of that point of presence (Entra included), so CloudFront adds two headers:
//! - [`ORIGIN_VERIFY_HEADER`], a value generated per deployment and kept in Secrets Manager: a request without it
//!   did not come through the distribution (the function URL stays reachable beside it) and is refused;
//! - `CloudFront-Viewer-Address` (`<ip>:<port>`), the viewer's own address, trusted only together with the first.

use lambda_http::Request;

use crate::RequestMeta;

/// The header CloudFront adds to every origin request (never logged, never echoed).
pub const ORIGIN_VERIFY_HEADER: &str = "x-wif-origin-verify";
/// CloudFront's viewer address header: `203.0.113.9:46532` or `2001:db8::1:46532`.
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// The per-deployment value CloudFront sends. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct OriginSecret(String);

impl OriginSecret {
    /// `None` for an empty value (a secret that failed to generate must not admit requests without the header).
    pub fn new(value: String) -> Option<Self> {
        (!value.trim().is_empty()).then(|| Self(value.trim().to_owned()))
    }
}

impl std::fmt::Debug for OriginSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginSecret(<redacted>)")
    }
}

/// How requests reach the function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Front {
    /// The function URL is the public endpoint: the source address is the caller.
    #[default]
    FunctionUrl,
    /// Only through CloudFront, which proves itself with the secret and names the viewer.
    CloudFront(OriginSecret),
}

/// A request that did not come through the deployment's CloudFront distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("requests must come through the deployment's custom domain")]
pub struct NotThroughCloudFront;

impl Front {
    /// Admits `request` and sets `meta.source_ip` to the real caller (the viewer address behind CloudFront).
    pub fn admit(&self, request: &Request, meta: &mut RequestMeta) -> Result<(), NotThroughCloudFront> {
        let Front::CloudFront(secret) = self else {
            return Ok(());
        };
        let header = |name| request.headers().get(name).and_then(|value| value.to_str().ok());
        let presented = header(ORIGIN_VERIFY_HEADER).unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), secret.0.as_bytes()) {
            return Err(NotThroughCloudFront);
        }
        meta.source_ip = header(VIEWER_ADDRESS_HEADER).and_then(viewer_ip);
        Ok(())
    }
}

/// The address part of `CloudFront-Viewer-Address` (`ip:port`, IPv6 without brackets).
fn viewer_ip(value: &str) -> Option<String> {
    let (ip, port) = value.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip: std::net::IpAddr = ip.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
    Some(ip.to_string())
}

/// Why the origin secret could not be read at start (the function then does not start).
#[derive(Debug, thiserror::Error)]
pub enum OriginSecretError {
    #[error("reading the origin secret {arn} failed: {reason}")]
    Read { arn: String, reason: String },
    #[error("the origin secret {arn} is empty or not a string")]
    Empty { arn: String },
}

/// The front of this deployment: CloudFront when `secret_arn` (`WIF_ORIGIN_SECRET_ARN`) is set, its value read once
/// from Secrets Manager; the function URL otherwise.
pub async fn load_front(config: &aws_config::SdkConfig, secret_arn: Option<&str>) -> Result<Front, OriginSecretError> {
    let Some(arn) = secret_arn else {
        return Ok(Front::FunctionUrl);
    };
    let answer = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|err| OriginSecretError::Read {
            arn: arn.to_owned(),
            reason: aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string(),
        })?;
    answer
        .secret_string()
        .and_then(|value| OriginSecret::new(value.to_owned()))
        .map(Front::CloudFront)
        .ok_or_else(|| OriginSecretError::Empty { arn: arn.to_owned() })
}

/// [`load_front`] with the default AWS configuration, loaded only when there is a secret to read.
pub async fn load_front_default(secret_arn: Option<&str>) -> Result<Front, OriginSecretError> {
    match secret_arn {
        None => Ok(Front::FunctionUrl),
        Some(arn) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            load_front(&config, Some(arn)).await
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> (Request, RequestMeta) {
        let mut event = wif_testkit::lambda_runtime::function_url_event("POST", "/oauth2/token", "", headers, "");
        event["requestContext"]["http"]["sourceIp"] = "130.176.1.1".into();
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let meta = RequestMeta::of(&request);
        (request, meta)
    }

    fn cloudfront() -> Front {
        Front::CloudFront(OriginSecret::new("s3cr3t-of-this-deployment".into()).unwrap())
    }

    #[test]
    fn behind_cloudfront_the_viewer_address_is_the_source() {
        for (header, expected) in [
            ("198.51.100.7:46532", "198.51.100.7"),
            ("2001:db8:1:2::7:46532", "2001:db8:1:2::7"),
            ("[2001:db8::9]:443", "2001:db8::9"),
        ] {
            let (request, mut meta) = request(&[
                (ORIGIN_VERIFY_HEADER, "s3cr3t-of-this-deployment"),
                (VIEWER_ADDRESS_HEADER, header),
            ]);
            assert_eq!(cloudfront().admit(&request, &mut meta), Ok(()));
            assert_eq!(meta.source_ip.as_deref(), Some(expected), "{header}");
        }
    }

    #[test]
    fn without_the_origin_header_a_request_is_refused_and_the_viewer_header_ignored() {
        for headers in [
            vec![(VIEWER_ADDRESS_HEADER, "198.51.100.7:1")],
            vec![
                (ORIGIN_VERIFY_HEADER, "guess"),
                (VIEWER_ADDRESS_HEADER, "198.51.100.7:1"),
            ],
            vec![(ORIGIN_VERIFY_HEADER, "s3cr3t-of-this-deploymenT")],
        ] {
            let (request, mut meta) = request(&headers);
            assert_eq!(cloudfront().admit(&request, &mut meta), Err(NotThroughCloudFront));
        }
        // Without a custom domain the caller's own header is not believed.
        let (request, mut meta) = request(&[(VIEWER_ADDRESS_HEADER, "198.51.100.7:1")]);
        assert_eq!(Front::FunctionUrl.admit(&request, &mut meta), Ok(()));
        assert_eq!(meta.source_ip.as_deref(), Some("130.176.1.1"));
        assert!(!format!("{:?}", cloudfront()).contains("s3cr3t"));
        assert_eq!(OriginSecret::new("  ".into()), None);
    }
}
