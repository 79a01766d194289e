//! cosign-compatible signing as a plain library: key pairs in cosign's
//! format ([`keys`]), the simple-signing payload of an image ([`payload`])
//! and its ECDSA-P256 signature, and the `sha256-<hex>.sig` signature
//! image ([`manifest`]). Pushing it is the registry code's job.
//!
//! Nothing here prints or logs key material or passphrases; errors say
//! which file and what to do, never what the secret was.

pub mod keys;
pub mod manifest;
pub mod payload;

use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};

use crate::error::{Error, Result};

/// A cosign signature of one image, ready to be pushed.
pub struct Signed {
    /// The simple-signing payload: the signed bytes.
    pub payload: Vec<u8>,
    /// [`sign`] of the payload.
    pub signature: String,
    /// `cosign.pub` of the key that signed.
    pub public_key: String,
}

/// Signs the image `reference` whose manifest is `digest` with the key
/// file at `key` (cosign.key with `passphrase`, or a PKCS#8 / SEC1 PEM).
pub fn sign_with_key_file(
    key: &std::path::Path,
    passphrase: Option<&[u8]>,
    reference: &str,
    digest: &str,
) -> Result<Signed> {
    let key = keys::load_private_key_file(key, passphrase)?;
    let payload = payload::simple_signing(reference, digest)?;
    Ok(Signed {
        signature: sign(&key, &payload),
        public_key: keys::public_key_pem(key.verifying_key())?,
        payload,
    })
}

/// The cosign signature of `payload`: ECDSA-P256 over SHA-256, ASN.1 DER,
/// base64 (the `dev.cosignproject.cosign/signature` annotation's value).
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let sig: DerSignature = key.sign(payload);
    base64::engine::general_purpose::STANDARD.encode(sig.as_bytes())
}

/// Checks a base64 DER signature of `payload` with `key`.
pub fn verify(key: &VerifyingKey, payload: &[u8], signature_b64: &str) -> Result<()> {
    let bad = |reason: &str| Error::Key {
        path: "signature".into(),
        reason: reason.to_string(),
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| bad("the signature is not base64"))?;
    let sig = Signature::from_der(&der)
        .map_err(|_| bad("the signature is not an ASN.1 DER ECDSA signature"))?;
    key.verify(payload, &sig)
        .map_err(|_| bad("the signature does not match the payload and public key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_changes() {
        let pair = keys::generate(b"pw").unwrap();
        let key =
            keys::load_private_key(pair.private_pem.as_bytes(), "cosign.key", Some(b"pw")).unwrap();
        let public = keys::load_public_key(pair.public_pem.as_bytes(), "cosign.pub").unwrap();
        let p = payload::simple_signing("quay.io/a/b:1", "sha256:00").unwrap();
        let s = sign(&key, &p);
        verify(&public, &p, &s).unwrap();
        let other = payload::simple_signing("quay.io/a/b:1", "sha256:01").unwrap();
        assert_eq!(verify(&public, &other, &s).unwrap_err().code(), "E_KEY");
        let stranger = keys::generate(b"").unwrap();
        let stranger = keys::load_public_key(stranger.public_pem.as_bytes(), "x.pub").unwrap();
        assert!(verify(&stranger, &p, &s).is_err());
    }
}
