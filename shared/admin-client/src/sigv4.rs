//! SigV4 for the admin function URL (`AuthType: AWS_IAM`, service `lambda`), with the AWS SDK's own signer.
//!
//! [`sign`] takes exactly the method, URL, headers and body the request will carry and returns the headers to add
//! (`x-amz-date`, `x-amz-content-sha256`, `authorization`, and `x-amz-security-token` for temporary credentials).
//! The payload hash is sent as a header too, so the server can check the body it received against the signature.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign as sigv4_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::error::ClientError;

/// The signing name of Lambda function URLs.
pub const SERVICE: &str = "lambda";

/// RFC 3986 unreserved characters stay as they are, everything else is percent-encoded: the encoding SigV4's
/// canonical form uses, so what we send needs no re-encoding on either side (`+` and space differ, for one).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Signs one request; returns the headers to add to it (lower-case names).
pub fn sign(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, ClientError> {
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|err| ClientError::Credentials(format!("SigV4 parameters: {err}")))?
        .into();
    let request = SignableRequest::new(method, url.as_str(), headers.iter().copied(), SignableBody::Bytes(body))
        .map_err(|err| ClientError::InvalidUrl(format!("{url}: cannot be signed: {err}")))?;
    let (instructions, _signature) = sigv4_sign(request, &params)
        .map_err(|err| ClientError::Credentials(format!("SigV4 signing failed: {err}")))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // Expected values computed independently with botocore 1.35 (`botocore.auth.SigV4Auth(creds, "lambda",
    // "eu-west-1")`, the clock fixed at 2026-01-02T03:04:05Z, X-Amz-Content-SHA256 set on the request so it is
    // signed as we sign it).
    const HOST: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws";

    fn time() -> SystemTime {
        // 2026-01-02T03:04:05Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045)
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    }

    #[test]
    fn post_with_body_matches_botocore() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let url = Url::parse(&format!("{HOST}/clients/c-1/secrets?version=3")).unwrap();
        let body = br#"{"description":"rotation 2027"}"#;
        let headers = sign(
            "POST",
            &url,
            &[("content-type", "application/json")],
            body,
            &credentials,
            "eu-west-1",
            time(),
        )
        .unwrap();
        assert_eq!(header(&headers, "x-amz-date"), "20260102T030405Z");
        assert_eq!(
            header(&headers, "x-amz-content-sha256"),
            "30aef5a1cae20359271c8697a323c93987323f52964e04a724acf2702de41c90"
        );
        assert_eq!(
            header(&headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/lambda/aws4_request, \
             SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, \
             Signature=4b7946e0ee8cab199d6e94094f36edd626b956f4494fe8809419a59281d22413"
        );
    }

    #[test]
    fn get_with_query_and_session_token_matches_botocore() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("FQoGZXIvYXdzEXAMPLETOKEN".into()),
            None,
            "test",
        );
        let url = Url::parse(&format!(
            "{HOST}/audit?tenant_id=acme&from={}&limit=20",
            encode_component("2026-01-01T00:00:00Z")
        ))
        .unwrap();
        let headers = sign("GET", &url, &[], b"", &credentials, "eu-west-1", time()).unwrap();
        assert_eq!(header(&headers, "x-amz-security-token"), "FQoGZXIvYXdzEXAMPLETOKEN");
        assert_eq!(
            header(&headers, "x-amz-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            header(&headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/lambda/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
             Signature=1328d741e87e4410b7de8e1b8eb5f30609f8b09de28e1a8021b312fce26d1717"
        );
    }

    #[test]
    fn components_use_rfc3986_encoding() {
        assert_eq!(encode_component("a b+c/d~e_f.g-h"), "a%20b%2Bc%2Fd~e_f.g-h");
        assert_eq!(encode_component("ü"), "%C3%BC");
    }
}
