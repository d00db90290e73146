//! The two DER structures KMS hands us: `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) from `GetPublicKey`, and ECDSA
//! signatures (`Ecdsa-Sig-Value`, RFC 3279 §2.2.3) from `Sign`.

use yasna::models::ObjectIdentifier;

use crate::JoseError;

const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10_045, 2, 1];
const PRIME256V1: &[u64] = &[1, 2, 840, 10_045, 3, 1, 7];
/// A P-256 coordinate (and each half of an ES256 signature) is 32 bytes.
pub(crate) const P256_FIELD_BYTES: usize = 32;

/// A public key taken apart into what a JWK needs (big-endian integers without leading zeros; EC coordinates at
/// their full field width).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
}

fn asn1(context: &str) -> impl Fn(yasna::ASN1Error) -> JoseError + '_ {
    move |err| JoseError::new(format!("{context}: {err}"))
}

/// Reads a DER `SubjectPublicKeyInfo` holding an RSA or a P-256 key.
pub(crate) fn parse_spki(spki_der: &[u8]) -> Result<PublicKeyParts, JoseError> {
    let (algorithm, parameters, key) = yasna::parse_der(spki_der, |reader| {
        reader.read_sequence(|seq| {
            let (algorithm, parameters) = seq.next().read_sequence(|alg| {
                let oid = alg.next().read_oid()?;
                let parameters = alg.read_optional(|param| param.read_der())?;
                Ok((oid, parameters))
            })?;
            let (key, _bits) = seq.next().read_bitvec_bytes()?;
            Ok((algorithm, parameters, key))
        })
    })
    .map_err(asn1("SubjectPublicKeyInfo"))?;
    if algorithm == ObjectIdentifier::from_slice(RSA_ENCRYPTION) {
        return parse_rsa_public_key(&key);
    }
    if algorithm == ObjectIdentifier::from_slice(EC_PUBLIC_KEY) {
        let curve = parameters
            .map(|der| yasna::parse_der(&der, |reader| reader.read_oid()))
            .transpose()
            .map_err(asn1("EC parameters"))?;
        if curve != Some(ObjectIdentifier::from_slice(PRIME256V1)) {
            return Err(JoseError::new("only the P-256 curve is supported"));
        }
        return parse_p256_point(&key);
    }
    Err(JoseError::new(format!("unsupported public key algorithm {algorithm}")))
}

fn parse_rsa_public_key(der: &[u8]) -> Result<PublicKeyParts, JoseError> {
    let (n, e) = yasna::parse_der(der, |reader| {
        reader.read_sequence(|seq| {
            let n = seq.next().read_bigint_bytes()?;
            let e = seq.next().read_bigint_bytes()?;
            Ok((n, e))
        })
    })
    .map_err(asn1("RSAPublicKey"))?;
    if !n.1 || !e.1 {
        return Err(JoseError::new("RSA modulus and exponent must be positive"));
    }
    Ok(PublicKeyParts::Rsa {
        n: strip_leading_zeros(&n.0).to_vec(),
        e: strip_leading_zeros(&e.0).to_vec(),
    })
}

fn parse_p256_point(point: &[u8]) -> Result<PublicKeyParts, JoseError> {
    // Uncompressed SEC 1 point: 0x04 || X || Y.
    if point.len() != 1 + 2 * P256_FIELD_BYTES || point[0] != 0x04 {
        return Err(JoseError::new("the EC public key is not an uncompressed P-256 point"));
    }
    let (x, y) = point[1..].split_at(P256_FIELD_BYTES);
    Ok(PublicKeyParts::P256 {
        x: x.to_vec(),
        y: y.to_vec(),
    })
}

/// Converts a DER `Ecdsa-Sig-Value` (what KMS `Sign` returns for ECDSA keys) into the fixed-width `r || s` a JWS
/// carries (RFC 7518 §3.4); `field_len` is 32 for ES256.
pub fn ecdsa_der_to_raw(der: &[u8], field_len: usize) -> Result<Vec<u8>, JoseError> {
    let (r, s) = yasna::parse_der(der, |reader| {
        reader.read_sequence(|seq| {
            let r = seq.next().read_bigint_bytes()?;
            let s = seq.next().read_bigint_bytes()?;
            Ok((r, s))
        })
    })
    .map_err(asn1("ECDSA signature"))?;
    let mut raw = Vec::with_capacity(2 * field_len);
    for (value, non_negative) in [r, s] {
        let value = strip_leading_zeros(&value);
        if !non_negative || value.len() > field_len {
            return Err(JoseError::new("ECDSA signature integer out of range"));
        }
        raw.resize(raw.len() + field_len - value.len(), 0);
        raw.extend_from_slice(value);
    }
    Ok(raw)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der_sequence_of_integers(values: &[&[u8]]) -> Vec<u8> {
        yasna::construct_der(|writer| {
            writer.write_sequence(|seq| {
                for value in values {
                    seq.next().write_bigint_bytes(value, true);
                }
            })
        })
    }

    #[test]
    fn ecdsa_signature_halves_are_left_padded_to_the_field_width() {
        let r = [0x7fu8; 31]; // a short r (its leading zero byte was dropped by DER)
        let s = [0xffu8; 32]; // a high-bit s (DER adds a 0x00 to keep it positive)
        let raw = ecdsa_der_to_raw(&der_sequence_of_integers(&[&r, &s]), 32).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(raw[0], 0);
        assert_eq!(&raw[1..32], &r);
        assert_eq!(&raw[32..], &s);
    }

    #[test]
    fn oversized_or_malformed_ecdsa_signatures_are_refused() {
        assert!(ecdsa_der_to_raw(&der_sequence_of_integers(&[&[1u8; 33], &[1u8; 32]]), 32).is_err());
        assert!(ecdsa_der_to_raw(b"\x30\x03\x02\x01", 32).is_err());
        assert!(ecdsa_der_to_raw(&[], 32).is_err());
    }

    #[test]
    fn garbage_is_not_a_public_key() {
        assert!(parse_spki(b"not der").is_err());
        assert!(parse_p256_point(&[4u8; 10]).is_err());
    }
}
