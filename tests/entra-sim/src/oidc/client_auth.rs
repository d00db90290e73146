//! The app's `private_key_jwt` credential, checked as Entra checks a certificate credential: the assertion's
//! header names the uploaded certificate by `x5t#S256`, its RS256 signature verifies with that certificate's public
//! key, `aud` is the token endpoint, `iss` and `sub` are the client id, it has not expired, and its `jti` was not
//! seen before.

use std::collections::HashSet;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use serde_json::Value;

use super::App;
use crate::error::{Result, SimError};

fn crypto(message: impl Into<String>) -> SimError {
    SimError::Crypto(message.into())
}

/// The RSA public key inside an X.509 certificate (DER): tbsCertificate's subjectPublicKeyInfo.
fn rsa_key_of_certificate(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let spki = yasna::parse_der(der, |reader| {
        reader.read_sequence(|cert| {
            let spki = cert.next().read_sequence(|tbs| {
                tbs.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_der()))?;
                for _ in ["serialNumber", "signature", "issuer", "validity", "subject"] {
                    tbs.next().read_der()?;
                }
                let spki = tbs.next().read_der()?;
                while tbs.read_optional(|r| r.read_der())?.is_some() {}
                Ok(spki)
            })?;
            cert.next().read_der()?;
            cert.next().read_der()?;
            Ok(spki)
        })
    })
    .map_err(|err| crypto(format!("certificate: {err}")))?;
    let key = yasna::parse_der(&spki, |reader| {
        reader.read_sequence(|seq| {
            seq.next().read_der()?;
            Ok(seq.next().read_bitvec_bytes()?.0)
        })
    })
    .map_err(|err| crypto(format!("subjectPublicKeyInfo: {err}")))?;
    let (n, e) = yasna::parse_der(&key, |reader| {
        reader.read_sequence(|seq| Ok((seq.next().read_bigint_bytes()?.0, seq.next().read_bigint_bytes()?.0)))
    })
    .map_err(|err| crypto(format!("RSA public key: {err}")))?;
    let strip = |bytes: Vec<u8>| bytes.into_iter().skip_while(|b| *b == 0).collect::<Vec<u8>>();
    Ok((strip(n), strip(e)))
}

pub fn app_from_certificate(redirect_uris: Vec<String>, certificate_der: &[u8]) -> Result<App> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate_der);
    Ok(App {
        redirect_uris,
        certificate_thumbprint: crate::b64::url(digest.as_ref()),
        public_key: rsa_key_of_certificate(certificate_der)?,
    })
}

fn segment(part: &str) -> std::result::Result<Value, String> {
    let bytes = crate::b64::decode_url(part).ok_or("client_assertion segment is not base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "client_assertion segment is not JSON".to_owned())
}

/// Checks the assertion of `client_id` for `token_endpoint`; the AADSTS-style reason on failure.
pub fn verify(
    app: &App,
    client_id: &str,
    assertion: &str,
    token_endpoint: &str,
    now: i64,
    seen_jtis: &mut HashSet<String>,
) -> std::result::Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err("AADSTS50027: client_assertion is not a JWT".into());
    };
    let header_json = segment(header)?;
    if header_json["alg"] != "RS256" {
        return Err("AADSTS5002738: client_assertion alg must be RS256".into());
    }
    if header_json["x5t#S256"].as_str() != Some(app.certificate_thumbprint.as_str()) {
        return Err("AADSTS700027: the certificate with identifier used to sign the client assertion is not registered on application".into());
    }
    let signature = crate::b64::decode_url(signature).ok_or("client_assertion signature is not base64url")?;
    let (n, e) = &app.public_key;
    RsaPublicKeyComponents { n, e }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{header}.{payload}").as_bytes(),
            &signature,
        )
        .map_err(|_| "AADSTS700027: client assertion contains an invalid signature".to_owned())?;
    let claims = segment(payload)?;
    if claims["aud"].as_str() != Some(token_endpoint) {
        return Err(format!(
            "AADSTS700212: client assertion audience must be {token_endpoint}"
        ));
    }
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err("AADSTS700021: client assertion iss and sub must be the client id".into());
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now || claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + 300) {
        return Err("AADSTS700024: client assertion is not within its valid time range".into());
    }
    let jti = claims["jti"]
        .as_str()
        .ok_or("AADSTS700023: client assertion has no jti")?;
    if !seen_jtis.insert(jti.to_owned()) {
        return Err("AADSTS700025: client assertion jti was already used".into());
    }
    Ok(())
}
