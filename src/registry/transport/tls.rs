//! TLS as containers/image sets it up: system roots plus the `*.crt` CAs
//! (and a `*.cert`/`*.key` client certificate) of the first existing
//! `certs.d/<host[:port]>/` among `~/.config/containers/`,
//! `/etc/containers/`, `/etc/docker/`, or of `--cert-dir`; with
//! `--tls-verify=false` any certificate. Kept apart so that a TLS failure
//! is told apart from any other transport failure and gets the fix that
//! fits (a CA, a client certificate, or a registry that speaks plain HTTP).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::TransportOptions;
use crate::error::{Error, Result};

/// A certificate verifier that accepts everything (`--tls-verify=false`).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn system_roots() -> &'static Vec<rustls::pki_types::CertificateDer<'static>> {
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The certs.d folder for `registry`: `--cert-dir`, else the first that
/// exists of `~/.config/containers/certs.d/`, `/etc/containers/certs.d/`,
/// `/etc/docker/certs.d/` + `<host[:port]>`.
pub fn cert_dir_for(registry: &str, cert_dir: &Option<PathBuf>) -> Option<PathBuf> {
    if let Some(d) = cert_dir {
        return Some(d.clone());
    }
    let mut bases = Vec::new();
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        bases.push(PathBuf::from(h).join(".config/containers/certs.d"));
    }
    bases.push(PathBuf::from("/etc/containers/certs.d"));
    bases.push(PathBuf::from("/etc/docker/certs.d"));
    bases
        .into_iter()
        .map(|b| b.join(registry))
        .find(|d| d.is_dir())
}

pub(super) fn tls_error(registry: &str, reason: String) -> Error {
    Error::RegistryTls {
        host: registry.to_string(),
        reason,
    }
}

fn read_pem_certs(
    path: &Path,
    registry: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            tls_error(
                registry,
                format!("{}: not a PEM certificate ({e})", path.display()),
            )
        })
}

/// The rustls configuration for `registry`.
pub(super) fn tls_config(
    registry: &str,
    opts: &TransportOptions,
    verify: bool,
) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(registry, e.to_string()))?;
    let dir = cert_dir_for(registry, &opts.cert_dir);
    let mut files: Vec<PathBuf> = match &dir {
        Some(d) => match std::fs::read_dir(d) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) if opts.cert_dir.is_some() => return Err(Error::io(d, e)),
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    files.sort();
    let ext = |p: &Path, x: &str| p.extension().is_some_and(|e| e == x);
    let builder = if verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        for f in files.iter().filter(|f| ext(f, "crt")) {
            for cert in read_pem_certs(f, registry)? {
                roots.add(cert).map_err(|e| {
                    tls_error(
                        registry,
                        format!("{}: unusable CA certificate ({e})", f.display()),
                    )
                })?;
            }
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    };
    // A client certificate: x.cert with x.key.
    if let Some(cert) = files.iter().find(|f| ext(f, "cert")) {
        let key_path = cert.with_extension("key");
        if !key_path.is_file() {
            return Err(tls_error(
                registry,
                format!(
                    "{}: a client certificate without its key {}; put the certificate's PEM private key there, or remove the .cert file to connect without a client certificate",
                    cert.display(),
                    key_path.display()
                ),
            ));
        }
        let chain = read_pem_certs(cert, registry)?;
        let key_bytes = std::fs::read(&key_path).map_err(|e| Error::io(&key_path, e))?;
        let key = rustls_pemfile::private_key(&mut key_bytes.as_slice())
            .ok()
            .flatten()
            .ok_or_else(|| {
                tls_error(
                    registry,
                    format!("{}: no PEM private key", key_path.display()),
                )
            })?;
        return builder
            .with_client_auth_cert(chain, key)
            .map(Arc::new)
            .map_err(|e| tls_error(registry, format!("{}: {e}", cert.display())));
    }
    Ok(Arc::new(builder.with_no_client_auth()))
}

/// Whether a transport error is a TLS failure (rustls underneath).
pub(super) fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r.to_string());
                }
            }
        }
        cur = err.source();
    }
    None
}

/// `E_REGISTRY_TLS` with the fix that fits: a registry that answers in
/// plain HTTP needs to be marked insecure; any other failure, its CA.
pub(super) fn tls_failure(registry: &str, reason: &str) -> Error {
    let hint = if reason.contains("InvalidContentType") {
        format!(
            "the registry answers in plain HTTP, not TLS: if it is meant to run without TLS, mark it insecure in registries.conf (~/.config/containers/registries.conf, a drop-in ~/.config/containers/registries.conf.d/*.conf, or /etc/containers/registries.conf: [[registry]] location = \"{registry}\" insecure = true) or pass --tls-verify=false"
        )
    } else if client_certificate_wanted(reason) {
        format!(
            "the registry wants a client certificate it trusts (mutual TLS): put yours in ~/.config/containers/certs.d/{registry}/client.cert with its key in client.key (or in /etc/containers/certs.d/{registry}/), or pass --cert-dir DIR holding client.cert and client.key"
        )
    } else {
        certs_hint(registry)
    };
    tls_error(registry, format!("TLS failed ({reason}); {hint}"))
}

/// Whether the server's TLS alert says it wanted a (valid) client certificate.
fn client_certificate_wanted(reason: &str) -> bool {
    [
        "CertificateRequired",
        "BadCertificate",
        "UnknownCA",
        "CertificateUnknown",
    ]
    .iter()
    .any(|alert| reason.contains(&format!("alert: {alert}")))
}

fn certs_hint(registry: &str) -> String {
    format!(
        "put the registry's CA certificate in ~/.config/containers/certs.d/{registry}/ca.crt (or /etc/containers/certs.d/{registry}/ca.crt), or pass --cert-dir DIR; only for a registry you trust without TLS: --tls-verify=false"
    )
}
