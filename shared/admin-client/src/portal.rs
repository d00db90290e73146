//! `wif-admin tenant-links|invitations|portal-certificate`: the customer portal's side of the admin API, and the
//! certificate of the portal's Entra credential, signed by its KMS key (the private key never leaves KMS).

use std::sync::Mutex;

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use wif_admin_client::{AdminClient, ClientError};
use wif_jose::{JwsAlgorithm, JwsSigner};

use crate::commands::Outcome;
use crate::output::View;

#[derive(Subcommand)]
pub enum LinksCommand {
    /// Link a customer's Entra tenant to a customer account (their users may then sign in to the portal).
    Create {
        /// The customer's Entra tenant id (GUID).
        #[arg(long)]
        entra_tenant_id: String,
        /// Our customer account: the tenant_id of its registrations.
        #[arg(long)]
        tenant_id: String,
        #[arg(long)]
        display_name: Option<String>,
        /// What users without an administrator role may do: none or read.
        #[arg(long, default_value = "none")]
        non_admin_access: String,
    },
    List,
    Delete {
        entra_tenant_id: String,
    },
}

#[derive(Subcommand)]
pub enum InvitationsCommand {
    /// A one-time, expiring link that binds the Entra tenant of the administrator who opens it.
    Create {
        #[arg(long)]
        tenant_id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "none")]
        non_admin_access: String,
        #[arg(long, default_value_t = 72)]
        expires_in_hours: i64,
    },
}

fn text_outcome(json: serde_json::Value, text: String) -> Outcome {
    Outcome::new(json, View::Text(text))
}

pub async fn links(client: &AdminClient, command: LinksCommand) -> Result<Outcome, ClientError> {
    let none = Option::<&()>::None;
    match command {
        LinksCommand::Create {
            entra_tenant_id,
            tenant_id,
            display_name,
            non_admin_access,
        } => {
            let body = json!({"entra_tenant_id": entra_tenant_id, "tenant_id": tenant_id,
                              "display_name": display_name, "non_admin_access": non_admin_access});
            let link = client.call(Method::POST, &["tenant-links"], &[], Some(&body)).await?;
            let text = format!("linked Entra tenant {entra_tenant_id} to {tenant_id}");
            Ok(text_outcome(link, text))
        }
        LinksCommand::List => {
            let list = client.call(Method::GET, &["tenant-links"], &[], none).await?;
            let lines: Vec<String> = list["tenant_links"]
                .as_array()
                .map(|links| {
                    links
                        .iter()
                        .map(|l| {
                            format!(
                                "{}  {}  non-admin: {}",
                                l["entra_tenant_id"], l["tenant_id"], l["non_admin_access"]
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(text_outcome(list, lines.join("\n")))
        }
        LinksCommand::Delete { entra_tenant_id } => {
            let deleted = client
                .call(Method::DELETE, &["tenant-links", &entra_tenant_id], &[], none)
                .await?;
            Ok(text_outcome(
                deleted,
                format!("unlinked Entra tenant {entra_tenant_id}"),
            ))
        }
    }
}

pub async fn invitations(client: &AdminClient, command: InvitationsCommand) -> Result<Outcome, ClientError> {
    let InvitationsCommand::Create {
        tenant_id,
        display_name,
        non_admin_access,
        expires_in_hours,
    } = command;
    let body = json!({"tenant_id": tenant_id, "display_name": display_name,
                      "non_admin_access": non_admin_access, "expires_in_hours": expires_in_hours});
    let created = client.call(Method::POST, &["invitations"], &[], Some(&body)).await?;
    let link = created["invitation_url"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "<portal URL>/invite?code={}",
                created["code"].as_str().unwrap_or_default()
            )
        });
    let text = format!("send this one-time link to the customer's administrator (shown once):\n{link}");
    Ok(text_outcome(created, text))
}

/// The RSA public key of a KMS key, for rcgen, with the signature of the certificate filled in from outside:
/// rcgen signs synchronously, KMS answers asynchronously. The first pass records the to-be-signed bytes, KMS signs
/// them, the second pass (identical input, so identical bytes) puts that signature in.
struct KmsCertificateKey {
    rsa_public_key: Vec<u8>,
    to_sign: Mutex<Option<Vec<u8>>>,
    signature: Option<Vec<u8>>,
}

impl rcgen::PublicKeyData for KmsCertificateKey {
    fn der_bytes(&self) -> &[u8] {
        &self.rsa_public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for KmsCertificateKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        *self.to_sign.lock().map_err(|_| rcgen::Error::RemoteKeyError)? = Some(msg.to_vec());
        Ok(self
            .signature
            .clone()
            .unwrap_or_else(|| vec![0; self.rsa_public_key.len().min(512)]))
    }
}

/// The RSAPublicKey inside a DER SubjectPublicKeyInfo.
fn rsa_public_key(spki: &[u8]) -> Result<Vec<u8>, ClientError> {
    yasna::parse_der(spki, |reader| {
        reader.read_sequence(|seq| {
            seq.next().read_der()?;
            Ok(seq.next().read_bitvec_bytes()?.0)
        })
    })
    .map_err(|err| {
        ClientError::Usage(format!(
            "the KMS key's public key is not an RSA SubjectPublicKeyInfo: {err}"
        ))
    })
}

fn params(common_name: &str, days: u32) -> Result<rcgen::CertificateParams, ClientError> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|err| ClientError::Usage(format!("certificate: {err}")))?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = name;
    // Whole seconds, fixed before both passes: the two encodings must be byte-identical.
    let now = time::OffsetDateTime::from_unix_timestamp(time::OffsetDateTime::now_utc().unix_timestamp())
        .map_err(|err| ClientError::Usage(err.to_string()))?;
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| ClientError::Usage("no random serial number".into()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    Ok(params)
}

/// Makes the portal's certificate with its KMS key; returns the DER.
pub async fn certificate(kms_key_id: &str, common_name: &str, days: u32) -> Result<Vec<u8>, ClientError> {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let kms = aws_sdk_kms::Client::new(&shared);
    let signer = wif_kms::KmsSigner::new(kms, kms_key_id, JwsAlgorithm::RS256)
        .map_err(|err| ClientError::Usage(format!("--kms-key-id: {err}")))?;
    let kms_error = |err: wif_jose::SignError| ClientError::Usage(format!("KMS: {err}"));
    let spki = signer.public_key_der().await.map_err(kms_error)?.to_vec();
    let params = params(common_name, days)?;
    let mut key = KmsCertificateKey {
        rsa_public_key: rsa_public_key(&spki)?,
        to_sign: Mutex::new(None),
        signature: None,
    };
    let certificate_error = |err: rcgen::Error| ClientError::Usage(format!("certificate: {err}"));
    params.self_signed(&key).map_err(certificate_error)?;
    let to_sign = key
        .to_sign
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .unwrap_or_default();
    key.signature = Some(signer.sign(&to_sign).await.map_err(kms_error)?);
    let certificate = params.self_signed(&key).map_err(certificate_error)?;
    let signed_again = key
        .to_sign
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .unwrap_or_default();
    if signed_again != to_sign {
        return Err(ClientError::Usage(
            "the certificate encoding was not reproducible".into(),
        ));
    }
    Ok(certificate.der().to_vec())
}

/// `x5t#S256` (what the portal sends) and the SHA-1 thumbprint Entra's certificate list shows.
pub fn thumbprints(der: &[u8]) -> (String, String) {
    use base64::Engine;
    let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    let hex: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    (
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256.as_ref()),
        hex,
    )
}

pub async fn portal_certificate(
    kms_key_id: &str,
    common_name: &str,
    days: u32,
    out: &str,
) -> Result<Outcome, ClientError> {
    let der = certificate(kms_key_id, common_name, days).await?;
    std::fs::write(out, &der).map_err(|err| ClientError::Usage(format!("--out {out}: {err}")))?;
    let (x5t_s256, sha1) = thumbprints(&der);
    let json = json!({ "certificate_file": out, "x5t_s256": x5t_s256, "sha1_thumbprint": sha1 });
    let text = format!(
        "wrote {out} (DER). Upload it to the portal's Entra app (Certificates & secrets → Certificates).\n\
         PortalCertificateThumbprint (x5t#S256): {x5t_s256}\nThumbprint Entra shows (SHA-1): {sha1}"
    );
    Ok(text_outcome(json, text))
}
