//! ECDSA-P256 key pairs in cosign's format.
//!
//! `cosign generate-key-pair` writes `cosign.pub` (PEM `PUBLIC KEY`, PKIX)
//! and `cosign.key`: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign and
//! containers/image ≤ 5.23: `ENCRYPTED COSIGN PRIVATE KEY`) around the
//! go-tuf envelope
//! `{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":…},
//! "cipher":{"name":"nacl/secretbox","nonce":…},"ciphertext":…}`, whose
//! plaintext is the PKCS#8 DER private key, sealed with
//! XSalsa20-Poly1305 under `scrypt(passphrase, salt, N, r, p, 32)`.
//! Loading also takes a plain PKCS#8 `PRIVATE KEY` and a SEC1
//! `EC PRIVATE KEY` PEM.

use std::path::{Path, PathBuf};

use base64::Engine;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};

use crate::error::{Error, Result};

pub const LABEL_SIGSTORE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
pub const LABEL_COSIGN: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// cosign's scrypt cost: N = 2^15, r = 8, p = 1.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;

/// A new key pair as the two PEM texts cosign writes.
pub struct KeyPair {
    /// `cosign.key`: encrypted with the passphrase.
    pub private_pem: String,
    /// `cosign.pub`.
    pub public_pem: String,
}

fn key_error(path: &str, reason: impl Into<String>) -> Error {
    Error::Key {
        path: path.into(),
        reason: reason.into(),
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    path: &str,
) -> Result<[u8; 32]> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|_| key_error(path, "the key's scrypt parameters are invalid"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase, salt, &params, &mut key)
        .map_err(|_| key_error(path, "scrypt failed"))?;
    Ok(key)
}

/// Generates a P-256 key pair; the private key is encrypted with
/// `passphrase` (may be empty, as cosign allows).
pub fn generate(passphrase: &[u8]) -> Result<KeyPair> {
    let key = SigningKey::random(&mut OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|_| key_error("cosign.key", "cannot encode the new key"))?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let secret = derive(passphrase, &salt, LOG_N, R, P, "cosign.key")?;
    let sealed = XSalsa20Poly1305::new(Key::from_slice(&secret))
        .encrypt(Nonce::from_slice(&nonce), der.as_bytes())
        .map_err(|_| key_error("cosign.key", "cannot encrypt the new key"))?;
    let envelope = json!({
        "kdf": { "name": "scrypt", "params": { "N": 1u32 << LOG_N, "r": R, "p": P }, "salt": b64().encode(salt) },
        "cipher": { "name": "nacl/secretbox", "nonce": b64().encode(nonce) },
        "ciphertext": b64().encode(sealed),
    });
    let private_pem = pem_rfc7468::encode_string(
        LABEL_SIGSTORE,
        LineEnding::LF,
        &serde_json::to_vec(&envelope).expect("JSON"),
    )
    .map_err(|_| key_error("cosign.key", "cannot encode the new key"))?;
    Ok(KeyPair {
        private_pem,
        public_pem: public_key_pem(key.verifying_key())?,
    })
}

/// The PKIX `PUBLIC KEY` PEM of a key (what `cosign.pub` holds).
pub fn public_key_pem(key: &VerifyingKey) -> Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|_| key_error("cosign.pub", "cannot encode the public key"))
}

/// Opens the go-tuf envelope of an encrypted cosign key.
fn decrypt_envelope(envelope: &[u8], passphrase: &[u8], path: &str) -> Result<Vec<u8>> {
    let bad = || {
        key_error(path, "the encrypted key is not a cosign key envelope (scrypt + nacl/secretbox); is it a cosign.key?")
    };
    let v: Value = serde_json::from_slice(envelope).map_err(|_| bad())?;
    if v["kdf"]["name"] != "scrypt" || v["cipher"]["name"] != "nacl/secretbox" {
        return Err(bad());
    }
    let params = &v["kdf"]["params"];
    let n = params["N"].as_u64().ok_or_else(bad)?;
    let r = params["r"]
        .as_u64()
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(bad)?;
    let p = params["p"]
        .as_u64()
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(bad)?;
    // Only the parameter sets cosign's decryption accepts, so that a hostile
    // key file cannot ask for gigabytes of memory and seconds of work before
    // the passphrase is found wrong: go-securesystemslib's
    // encrypted.scryptKDF.CheckParams (encrypted/encrypted.go) takes N =
    // 2^15 (legacy), 2^16 (standard) or 2^17 (OWASP), each with r = 8, p = 1
    // (128 MiB at most), and refuses any other.
    if ![1 << 15, 1 << 16, 1 << 17].contains(&n) || r != 8 || p != 1 {
        return Err(key_error(
            path,
            "the key's scrypt parameters are not a set cosign accepts (N = 32768, 65536 or 131072 with r = 8 and p = 1); is it a cosign.key?",
        ));
    }
    let field = |x: &Value| {
        x.as_str()
            .and_then(|s| b64().decode(s).ok())
            .ok_or_else(bad)
    };
    let salt = field(&v["kdf"]["salt"])?;
    let nonce = field(&v["cipher"]["nonce"])?;
    let sealed = field(&v["ciphertext"])?;
    if nonce.len() != 24 {
        return Err(bad());
    }
    let secret = derive(passphrase, &salt, n.trailing_zeros() as u8, r, p, path)?;
    XSalsa20Poly1305::new(Key::from_slice(&secret))
        .decrypt(Nonce::from_slice(&nonce), sealed.as_slice())
        .map_err(|_| key_error(path, "wrong passphrase (set COSIGN_PASSWORD to the key's passphrase), or the key file is damaged"))
}

/// Loads a private key from PEM text: cosign's encrypted key (both labels,
/// with `passphrase`), PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
/// `path` names the key in errors.
pub fn load_private_key(pem: &[u8], path: &str, passphrase: Option<&[u8]>) -> Result<SigningKey> {
    let (label, body) = pem_rfc7468::decode_vec(trim(pem))
        .map_err(|_| key_error(path, "not a PEM file; pass cosign.key (from `dynpack keygen` or `cosign generate-key-pair`) or a PKCS#8 PEM private key"))?;
    let not_p256 = || {
        key_error(
            path,
            "not an ECDSA P-256 private key; cosign keys and PKCS#8 P-256 keys are supported",
        )
    };
    match label {
        LABEL_SIGSTORE | LABEL_COSIGN => {
            let Some(passphrase) = passphrase else {
                return Err(key_error(path, "the key is encrypted; set COSIGN_PASSWORD to its passphrase"));
            };
            let der = decrypt_envelope(&body, passphrase, path)?;
            SigningKey::from_pkcs8_der(&der).map_err(|_| not_p256())
        }
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body).map_err(|_| not_p256()),
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&body)
            .map(SigningKey::from)
            .map_err(|_| not_p256()),
        "ENCRYPTED PRIVATE KEY" => Err(key_error(path, "encrypted PKCS#8 keys are not supported; use a cosign key or decrypt it (openssl pkcs8)")),
        other => Err(key_error(path, format!("a PEM {other:?} is not a private key dynpack can use"))),
    }
}

/// Reads a key file (small, regular) with errors that name it.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>> {
    crate::input::read_regular(path, 1 << 20).map_err(|e| match e {
        crate::input::Unreadable::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Error::NoSuchFile {
                path: path.to_path_buf(),
            }
        }
        crate::input::Unreadable::Io(e) => Error::io(path, e),
        _ => Error::Key {
            path: path.to_path_buf(),
            reason: "not a small regular file; pass the key file (cosign.key, cosign.pub)".into(),
        },
    })
}

/// Reads and loads the private key file at `path` ([`load_private_key`]).
pub fn load_private_key_file(path: &Path, passphrase: Option<&[u8]>) -> Result<SigningKey> {
    load_private_key(&read_key_file(path)?, &path.to_string_lossy(), passphrase)
}

/// Loads a PKIX `PUBLIC KEY` PEM (cosign.pub).
pub fn load_public_key(pem: &[u8], path: &str) -> Result<VerifyingKey> {
    let text = std::str::from_utf8(trim(pem)).map_err(|_| key_error(path, "not a PEM file"))?;
    VerifyingKey::from_public_key_pem(text)
        .map_err(|_| key_error(path, "not a PEM ECDSA P-256 public key (cosign.pub)"))
}

/// Writes `cosign.key` (mode 0600) and `cosign.pub` into `dir`, as
/// `cosign generate-key-pair` does; an existing file is never overwritten.
/// Returns the two paths.
pub fn write_key_pair(dir: &Path, passphrase: &[u8]) -> Result<(PathBuf, PathBuf)> {
    let private = dir.join("cosign.key");
    let public = dir.join("cosign.pub");
    for p in [&private, &public] {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(Error::Key {
                path: p.clone(),
                reason:
                    "exists; dynpack never overwrites a key: move it away or run in another folder"
                        .into(),
            });
        }
    }
    let pair = generate(passphrase)?;
    write_new(&private, pair.private_pem.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&public, pair.public_pem.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&private);
        return Err(e);
    }
    Ok((private, public))
}

/// Creates `path` (never replacing a file) with `mode` and writes `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options.open(path).map_err(|e| Error::io(path, e))?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(Error::io(path, e));
    }
    Ok(())
}

fn trim(pem: &[u8]) -> &[u8] {
    let start = pem
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(pem.len());
    let end = pem
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &pem[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_loads_back_and_a_wrong_passphrase_is_e_key() {
        let pair = generate(b"secret").unwrap();
        assert!(pair
            .private_pem
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let key = load_private_key(pair.private_pem.as_bytes(), "k", Some(b"secret")).unwrap();
        let public = load_public_key(pair.public_pem.as_bytes(), "p").unwrap();
        assert_eq!(key.verifying_key(), &public);

        let e =
            load_private_key(pair.private_pem.as_bytes(), "cosign.key", Some(b"nope")).unwrap_err();
        assert_eq!(e.code(), "E_KEY");
        assert!(!e.to_string().contains("nope") && !e.to_string().contains("secret"));
        assert_eq!(
            load_private_key(pair.private_pem.as_bytes(), "k", None)
                .unwrap_err()
                .code(),
            "E_KEY"
        );

        // the older label reads the same
        let old = pair.private_pem.replace(LABEL_SIGSTORE, LABEL_COSIGN);
        assert!(load_private_key(old.as_bytes(), "k", Some(b"secret")).is_ok());
    }

    #[test]
    fn keygen_writes_a_private_0600_pair_and_never_overwrites() {
        let t = tempfile::tempdir().unwrap();
        let (k, p) = write_key_pair(t.path(), b"").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let key = load_private_key(&std::fs::read(&k).unwrap(), "k", Some(b"")).unwrap();
        let public = load_public_key(&std::fs::read(&p).unwrap(), "p").unwrap();
        assert_eq!(key.verifying_key(), &public);
        let before = std::fs::read(&k).unwrap();
        assert_eq!(write_key_pair(t.path(), b"").unwrap_err().code(), "E_KEY");
        assert_eq!(std::fs::read(&k).unwrap(), before);
    }

    #[test]
    fn plain_pkcs8_and_sec1_keys_load() {
        let key = SigningKey::random(&mut OsRng);
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let loaded = load_private_key(pkcs8.as_bytes(), "k.pem", None).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
        let sec1 = p256::SecretKey::from(key.clone())
            .to_sec1_pem(LineEnding::LF)
            .unwrap();
        assert!(load_private_key(sec1.as_bytes(), "k.pem", None).is_ok());
        for bad in [
            &b"junk"[..],
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert_eq!(
                load_private_key(bad, "k", None).unwrap_err().code(),
                "E_KEY"
            );
        }
    }

    /// A key sealed by hand with the envelope format (as Python's
    /// hashlib.scrypt and PyNaCl did in the reference sheet) with another
    /// parameter set cosign accepts opens; a set cosign refuses is refused
    /// before any work.
    #[test]
    fn envelope_with_other_cost_parameters_opens() {
        let key = SigningKey::random(&mut OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let (salt, nonce) = ([7u8; 32], [9u8; 24]);
        let secret = derive(b"pw", &salt, 16, 8, 1, "t").unwrap();
        let sealed = XSalsa20Poly1305::new(Key::from_slice(&secret))
            .encrypt(Nonce::from_slice(&nonce), der.as_bytes())
            .unwrap();
        let env = json!({"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":b64().encode(salt)},
            "cipher":{"name":"nacl/secretbox","nonce":b64().encode(nonce)},"ciphertext":b64().encode(sealed)});
        let pem =
            pem_rfc7468::encode_string(LABEL_COSIGN, LineEnding::LF, env.to_string().as_bytes())
                .unwrap();
        let loaded = load_private_key(pem.as_bytes(), "k", Some(b"pw")).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
        for (from, to) in [
            ("65536", "1048576"),
            ("65536", "1073741824"),
            ("65536", "1024"),
            ("\"r\":8", "\"r\":16"),
            ("\"p\":1", "\"p\":2"),
        ] {
            let other = env.to_string().replace(from, to);
            assert_ne!(other, env.to_string());
            let pem =
                pem_rfc7468::encode_string(LABEL_COSIGN, LineEnding::LF, other.as_bytes()).unwrap();
            let started = std::time::Instant::now();
            let e = load_private_key(pem.as_bytes(), "k", Some(b"pw")).unwrap_err();
            assert_eq!(e.code(), "E_KEY");
            assert!(e.to_string().contains("not a set cosign accepts"), "{e}");
            assert!(started.elapsed() < std::time::Duration::from_millis(50));
        }
    }
}
