//! HTTP to one registry: TLS as containers/image sets it up, the auth
//! challenge (Basic, or Bearer tokens from the realm with a scope: a GET
//! with Basic credentials, or the OAuth2 refresh-token POST for an identity
//! token), bounded timeouts and a bounded number of retries for 429, 5xx and lost
//! connections. Every error maps to a stable `E_REGISTRY_*` code.
//!
//! TLS: system roots plus the `*.crt` CAs (and a `*.cert`/`*.key` client
//! certificate) of the first existing `certs.d/<host[:port]>/` among
//! `~/.config/containers/`, `/etc/containers/`, `/etc/docker/`, or of
//! `--cert-dir`. Plain HTTP only for a registry marked `insecure` in
//! registries.conf (with its drop-ins, see `registries_conf`) or with
//! `--tls-verify=false`, and then only after HTTPS (unverified) failed, as
//! skopeo does. Credentials never travel over plain
//! HTTP to a host other than loopback.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::pipeline::{check_cancel, Cancel};
use crate::registry::auth::{self, AuthOptions, Credential};
use crate::registry::reference::{api_host, is_loopback};
use crate::registry::registries_conf;

/// Retries after the first try for 429, 5xx and lost connections.
pub const MAX_RETRIES: u32 = 3;
/// Time to connect; a registry that does not answer fails after
/// `(MAX_RETRIES + 1)` of these.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a read or write may stall before the request is given up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// `false` (`--tls-verify=false`): accept any certificate and fall back
    /// to plain HTTP.
    pub tls_verify: bool,
    /// `--cert-dir`: CAs and client certificates, instead of certs.d.
    pub cert_dir: Option<PathBuf>,
    /// Bytes of request bodies sent so far (for progress).
    pub progress: Option<Arc<AtomicU64>>,
    pub cancel: Cancel,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            tls_verify: true,
            cert_dir: None,
            progress: None,
            cancel: None,
        }
    }
}

/// A request body that can be sent again (after a retry or a new token).
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Opens a fresh reader of `len` bytes for each attempt.
    Stream(
        &'a (dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Sync),
        u64,
    ),
    /// A reader of bytes still being produced, sent chunked; it can be
    /// taken once, so a retry or a new token fails instead of resending.
    Once(&'a Mutex<Option<Box<dyn Read + Send>>>),
}

enum AuthState {
    Anonymous,
    Basic,
    Bearer(String),
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses `Bearer realm="…",service="…",scope="a:b:pull,push"`.
    pub fn parse(header: &str) -> Challenge {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek() {
                    if *c == ',' {
                        break;
                    }
                    value.push(*c);
                    chars.next();
                }
            }
            params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A connection to one registry, authenticated for a set of scopes.
pub struct Session {
    /// The registry as written (`quay.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// `https://host[:port]` or `http://…`.
    pub base: url::Url,
    agent: ureq::Agent,
    credential: Option<Credential>,
    scopes: Vec<String>,
    state: Mutex<AuthState>,
    options: TransportOptions,
}

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

fn tls_error(registry: &str, reason: String) -> Error {
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
fn tls_config(
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
fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
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
fn tls_failure(registry: &str, reason: &str) -> Error {
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

/// A short description of a transport error, without URLs' query strings.
fn describe(t: &ureq::Transport) -> String {
    let mut s = t.kind().to_string();
    if let Some(m) = t.message() {
        s.push_str(": ");
        s.push_str(m);
    }
    let mut cur = std::error::Error::source(t);
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}

fn agent(tls: Arc<rustls::ClientConfig>) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(IO_TIMEOUT)
        .timeout_write(IO_TIMEOUT)
        .user_agent(concat!("dynpack/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn sleep_backoff(attempt: u32, retry_after: Option<&str>, cancel: &Cancel) -> Result<()> {
    let base = Duration::from_millis(250 << attempt);
    let wait = retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(10)))
        .unwrap_or(base);
    let end = std::time::Instant::now() + wait;
    while std::time::Instant::now() < end {
        check_cancel(cancel)?;
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}

/// Counts the bytes a body reader hands out, and stops on cancel.
struct Counting {
    inner: Box<dyn Read + Send>,
    progress: Option<Arc<AtomicU64>>,
    sent: Arc<AtomicU64>,
    cancel: Cancel,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(std::io::Error::other("aborted"));
        }
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Refuses (`E_REGISTRY_AUTH`) to send credentials to `url` over plain HTTP
/// unless its host is loopback.
pub fn credentials_allowed(registry: &str, url: &str) -> Result<()> {
    let u = url::Url::parse(url).map_err(|e| Error::RegistryProtocol {
        host: registry.to_string(),
        reason: format!("bad URL ({e})"),
    })?;
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    if u.scheme() == "http" && !is_loopback(&host) {
        return Err(Error::RegistryAuth {
            host: registry.to_string(),
            reason: format!(
                "refusing to send credentials over plain HTTP to {host}; serve the registry over TLS (dynpack sends credentials over plain HTTP only to loopback)"
            ),
        });
    }
    Ok(())
}

/// Reads at most 64 KiB of an error answer.
pub fn read_error_body(resp: ureq::Response) -> String {
    let mut s = String::new();
    let _ = resp.into_reader().take(64 << 10).read_to_string(&mut s);
    s
}

/// `errors[0]` of a distribution error body: `(code, message)`.
pub fn error_code(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let e = v.get("errors")?.get(0)?;
    Some((
        e.get("code")?.as_str()?.to_string(),
        e.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    ))
}

impl Session {
    /// Connects to `registry` for the repositories in `scopes`
    /// (`repository:<path>:pull,push`), reading the credential for `path`.
    pub fn connect(
        registry: &str,
        path: &str,
        scopes: Vec<String>,
        auth_opts: &AuthOptions,
        opts: &TransportOptions,
    ) -> Result<Session> {
        let credential = auth::lookup(registry, path, auth_opts)?;
        Session::connect_with(registry, credential, scopes, opts)
    }

    /// As [`Session::connect`] with a given credential (or anonymous).
    pub fn connect_with(
        registry: &str,
        credential: Option<Credential>,
        scopes: Vec<String>,
        opts: &TransportOptions,
    ) -> Result<Session> {
        check_cancel(&opts.cancel)?;
        let host = api_host(registry);
        let insecure = !opts.tls_verify || registries_conf::insecure(registry);
        let https =
            url::Url::parse(&format!("https://{host}/")).map_err(|e| Error::InvalidOption {
                message: format!("{registry:?} is not a registry host ({e})"),
            })?;
        let mut session = Session {
            registry: registry.to_string(),
            base: https.clone(),
            agent: agent(tls_config(registry, opts, !insecure)?),
            credential,
            scopes,
            state: Mutex::new(AuthState::Anonymous),
            options: opts.clone(),
        };
        let ping = match session.ping() {
            Err(e) if insecure && !matches!(e, Error::Aborted) => {
                // skopeo's fallback for insecure registries: plain HTTP.
                session.base = url::Url::parse(&format!("http://{host}/")).expect("valid");
                session.ping().map_err(|_| e)?
            }
            other => other?,
        };
        match ping.status() {
            200 => {}
            401 => {
                let header = ping.header("www-authenticate").unwrap_or("").to_string();
                session.answer_challenge(&header)?;
            }
            s => {
                return Err(Error::RegistryProtocol {
                    host: registry.to_string(),
                    reason: format!(
                        "GET /v2/ answered {s}; is this an OCI registry (distribution API v2)?"
                    ),
                })
            }
        }
        Ok(session)
    }

    /// `GET /v2/` with retries, without auth: the registry's challenge.
    fn ping(&self) -> Result<ureq::Response> {
        let url = self.url("/v2/");
        let mut attempt = 0;
        loop {
            check_cancel(&self.options.cancel)?;
            match self.agent.get(&url).call() {
                Ok(r) | Err(ureq::Error::Status(_, r)) => {
                    if (r.status() == 429 || r.status() >= 500) && attempt < MAX_RETRIES {
                        sleep_backoff(attempt, r.header("retry-after"), &self.options.cancel)?;
                        attempt += 1;
                        continue;
                    }
                    return Ok(r);
                }
                Err(ureq::Error::Transport(t)) => {
                    if let Some(reason) = tls_cause(&t) {
                        return Err(tls_failure(&self.registry, &reason));
                    }
                    if attempt < MAX_RETRIES && t.kind() != ureq::ErrorKind::Dns {
                        sleep_backoff(attempt, None, &self.options.cancel)?;
                        attempt += 1;
                        continue;
                    }
                    return Err(self.unreachable(&t));
                }
            }
        }
    }

    fn unreachable(&self, t: &ureq::Transport) -> Error {
        Error::RegistryUnreachable {
            host: self.registry.clone(),
            reason: format!(
                "no answer from {} after {} tries ({}); check the host name, the port and the network",
                self.base.as_str().trim_end_matches('/'),
                MAX_RETRIES + 1,
                describe(t)
            ),
        }
    }

    /// Whether the session's base uses plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.base.scheme() == "http"
    }

    /// `base` + `path` (`/v2/…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// Resolves a `Location` header (absolute, or relative to the registry).
    pub fn resolve(&self, location: &str) -> Result<String> {
        self.base
            .join(location)
            .map(|u| u.to_string())
            .map_err(|e| self.protocol(format!("unusable Location {location:?} ({e})")))
    }

    pub fn protocol(&self, reason: String) -> Error {
        Error::RegistryProtocol {
            host: self.registry.clone(),
            reason,
        }
    }

    fn same_origin(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| {
            u.scheme() == self.base.scheme()
                && u.host_str() == self.base.host_str()
                && u.port_or_known_default() == self.base.port_or_known_default()
        })
    }

    fn refuse_plain_http_credentials(&self, url: &str) -> Result<()> {
        credentials_allowed(&self.registry, url)
    }

    fn basic_header(c: &Credential) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password))
        )
    }

    fn no_credentials(&self, what: &str) -> Error {
        Error::RegistryAuth {
            host: self.registry.clone(),
            reason: format!(
                "the registry wants credentials for {what} and dynpack found none; run `dynpack login {} -u USER --password-stdin` (or podman/skopeo login), or pass --authfile or --creds",
                self.registry
            ),
        }
    }

    fn refused(&self, c: &Credential) -> Error {
        Error::RegistryAuth {
            host: self.registry.clone(),
            reason: format!(
                "the registry refused the credentials of user {:?} from {}; log in again or pass other credentials",
                c.username, c.source
            ),
        }
    }

    /// Sets up auth from a `WWW-Authenticate` header (fetching a token).
    fn answer_challenge(&self, header: &str) -> Result<()> {
        let ch = Challenge::parse(header);
        match ch.scheme.as_str() {
            "basic" => {
                match &self.credential {
                    None => return Err(self.no_credentials("every request (Basic auth)")),
                    Some(c) if c.identity_token => {
                        return Err(Error::RegistryAuth {
                            host: self.registry.clone(),
                            reason: format!(
                                "the credential from {} is an identity token, which only a token server (Bearer auth) accepts, and this registry asks for Basic auth; log in with a user name and password",
                                c.source
                            ),
                        })
                    }
                    Some(_) => {}
                }
                *self.state.lock().expect("lock") = AuthState::Basic;
                Ok(())
            }
            "bearer" => {
                let realm = ch.get("realm").unwrap_or("").to_string();
                if realm.is_empty() {
                    return Err(self.protocol("a Bearer challenge without a realm".into()));
                }
                let mut scopes: Vec<String> = self.scopes.clone();
                if let Some(s) = ch.get("scope") {
                    for one in s.split(' ') {
                        if !one.is_empty() && !scopes.iter().any(|x| x == one) {
                            scopes.push(one.to_string());
                        }
                    }
                }
                let service = ch.get("service").map(str::to_string);
                let token = self.fetch_token(&realm, service.as_deref(), &scopes)?;
                *self.state.lock().expect("lock") = AuthState::Bearer(token);
                Ok(())
            }
            _ => Err(self.protocol(format!(
                "the registry asked for {:?} authentication, which dynpack does not speak (Basic and Bearer only)",
                ch.scheme
            ))),
        }
    }

    /// A token from the realm: `GET realm?service=…&scope=…`, with Basic
    /// credentials when there are some, or for an identity token the OAuth2
    /// refresh-token grant (`POST realm`, distribution's `oauth.md`).
    fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[String]) -> Result<String> {
        let identity = self.credential.as_ref().filter(|c| c.identity_token);
        let mut url = url::Url::parse(realm)
            .map_err(|e| self.protocol(format!("unusable token realm {realm:?} ({e})")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        let url = url.to_string();
        let mut attempt = 0;
        loop {
            check_cancel(&self.options.cancel)?;
            let result = match identity {
                Some(c) => {
                    self.refuse_plain_http_credentials(realm)?;
                    let scope = scopes.join(" ");
                    let mut form = vec![
                        ("grant_type", "refresh_token"),
                        ("refresh_token", c.password.as_str()),
                        ("client_id", "dynpack"),
                        ("scope", scope.as_str()),
                    ];
                    form.extend(service.map(|s| ("service", s)));
                    self.agent.post(realm).send_form(&form)
                }
                None => {
                    let mut req = self.agent.get(&url);
                    if let Some(c) = &self.credential {
                        self.refuse_plain_http_credentials(&url)?;
                        req = req.set("Authorization", &Self::basic_header(c));
                    }
                    req.call()
                }
            };
            let resp = match result {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => {
                    if let Some(reason) = tls_cause(&t) {
                        return Err(tls_error(
                            &self.registry,
                            format!("TLS to the token server {realm} failed ({reason})"),
                        ));
                    }
                    if attempt < MAX_RETRIES {
                        sleep_backoff(attempt, None, &self.options.cancel)?;
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::RegistryUnreachable {
                        host: self.registry.clone(),
                        reason: format!(
                            "the token server {realm} does not answer ({})",
                            describe(&t)
                        ),
                    });
                }
            };
            match resp.status() {
                200 => {
                    let mut body = String::new();
                    resp.into_reader()
                        .take(1 << 20)
                        .read_to_string(&mut body)
                        .map_err(|e| self.protocol(format!("token answer unreadable ({e})")))?;
                    let v: Value = serde_json::from_str(&body).map_err(|_| {
                        self.protocol(format!(
                            "the token server {realm} answered something that is not JSON"
                        ))
                    })?;
                    // The OAuth2 answer carries `access_token`; the GET one `token`.
                    let (first, second) = match identity {
                        Some(_) => ("access_token", "token"),
                        None => ("token", "access_token"),
                    };
                    let token = v
                        .get(first)
                        .or_else(|| v.get(second))
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| {
                            self.protocol(format!(
                                "the token server {realm} answered without a token"
                            ))
                        })?;
                    return Ok(token.to_string());
                }
                404 | 405 if identity.is_some() => {
                    return Err(Error::RegistryAuth {
                        host: self.registry.clone(),
                        reason: format!(
                            "the token server {realm} does not take identity tokens (it answered {} to the OAuth2 refresh-token POST); the credential from {} is one: log in with a user name and password instead",
                            resp.status(),
                            identity.map(|c| c.source.as_str()).unwrap_or("")
                        ),
                    })
                }
                400 | 401 | 403 if identity.is_some() => {
                    return Err(Error::RegistryAuth {
                        host: self.registry.clone(),
                        reason: format!(
                            "the token server {realm} refused the identity token from {} (answer {}); log in again",
                            identity.map(|c| c.source.as_str()).unwrap_or(""),
                            resp.status()
                        ),
                    })
                }
                401 | 403 => {
                    return Err(match &self.credential {
                        Some(c) => self.refused(c),
                        None => self.no_credentials(&scopes.join(" ")),
                    })
                }
                s if (s == 429 || s >= 500) && attempt < MAX_RETRIES => {
                    sleep_backoff(attempt, resp.header("retry-after"), &self.options.cancel)?;
                    attempt += 1;
                }
                s => {
                    return Err(self.protocol(format!(
                        "the token server {realm} answered {s}: {}",
                        read_error_body(resp).chars().take(200).collect::<String>()
                    )))
                }
            }
        }
    }

    fn authorization(&self, url: &str) -> Result<Option<String>> {
        if !self.same_origin(url) {
            return Ok(None); // never to another host (storage redirects, CDN Locations)
        }
        match &*self.state.lock().expect("lock") {
            AuthState::Anonymous => Ok(None),
            AuthState::Basic => {
                let c = self.credential.as_ref().expect("Basic needs a credential");
                self.refuse_plain_http_credentials(url)?;
                Ok(Some(Self::basic_header(c)))
            }
            AuthState::Bearer(token) => Ok(Some(format!("Bearer {token}"))),
        }
    }

    /// The error for a request still refused after a fresh challenge.
    fn unauthorized(&self, header: &str, body: &str, what: &str) -> Error {
        let ch = Challenge::parse(header);
        let code = error_code(body).map(|c| c.0);
        let insufficient =
            ch.get("error") == Some("insufficient_scope") || code.as_deref() == Some("DENIED");
        match &self.credential {
            None => self.no_credentials(what),
            Some(c) if insufficient || matches!(*self.state.lock().expect("lock"), AuthState::Bearer(_)) => {
                Error::RegistryDenied {
                    host: self.registry.clone(),
                    reason: format!(
                        "user {:?} (credentials from {}) may not {what}; ask for push access to the repository or use another account",
                        c.username, c.source
                    ),
                }
            }
            Some(c) => self.refused(c),
        }
    }

    /// Sends one request with auth, retries and challenge handling. Any
    /// status comes back as a response except a 401 that persists after a
    /// fresh challenge (`E_REGISTRY_AUTH`/`E_REGISTRY_DENIED`); transport
    /// failures become `E_REGISTRY_TLS`/`E_REGISTRY_UNREACHABLE`. `what`
    /// describes the operation for messages (`push to acme/x`).
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        what: &str,
    ) -> Result<ureq::Response> {
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            check_cancel(&self.options.cancel)?;
            let mut req = self.agent.request(method, url);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if let Some(a) = self.authorization(url)? {
                req = req.set("Authorization", &a);
            }
            let sent = Arc::new(AtomicU64::new(0));
            let counting = |inner| Counting {
                inner,
                progress: self.options.progress.clone(),
                sent: sent.clone(),
                cancel: self.options.cancel.clone(),
            };
            let result = match body {
                Body::Empty if method == "PUT" || method == "PATCH" || method == "POST" => {
                    req.send_bytes(&[])
                }
                Body::Empty => req.call(),
                Body::Bytes(b) => req.send_bytes(b),
                Body::Stream(open, len) => {
                    let inner = open().map_err(|e| Error::Io {
                        path: PathBuf::from(what),
                        source: e,
                    })?;
                    req.set("Content-Length", &len.to_string())
                        .send(counting(inner))
                }
                Body::Once(slot) => {
                    let inner = slot.lock().expect("body lock").take().ok_or_else(|| {
                        self.protocol(format!("{what}: a streamed body cannot be sent twice"))
                    })?;
                    req.send(counting(inner))
                }
            };
            let undo_progress = || {
                if let Some(p) = &self.options.progress {
                    p.fetch_sub(sent.load(Ordering::Relaxed), Ordering::Relaxed);
                }
            };
            let resp = match result {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => {
                    undo_progress();
                    check_cancel(&self.options.cancel)?;
                    if let Some(reason) = tls_cause(&t) {
                        return Err(tls_failure(&self.registry, &reason));
                    }
                    if attempt < MAX_RETRIES {
                        sleep_backoff(attempt, None, &self.options.cancel)?;
                        attempt += 1;
                        continue;
                    }
                    return Err(self.unreachable(&t));
                }
            };
            let status = resp.status();
            if status == 401 {
                undo_progress();
                let header = resp.header("www-authenticate").unwrap_or("").to_string();
                let body = read_error_body(resp);
                if !challenged {
                    challenged = true;
                    self.answer_challenge(&header)?;
                    continue;
                }
                return Err(self.unauthorized(&header, &body, what));
            }
            if (status == 429 || status >= 500) && attempt < MAX_RETRIES {
                undo_progress();
                sleep_backoff(attempt, resp.header("retry-after"), &self.options.cancel)?;
                attempt += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// The error for an answer the caller did not expect: 403/`DENIED` →
    /// `E_REGISTRY_DENIED`, anything else `E_REGISTRY_PROTOCOL`.
    pub fn unexpected(&self, method: &str, url: &str, resp: ureq::Response, what: &str) -> Error {
        let status = resp.status();
        let body = read_error_body(resp);
        let code = error_code(&body);
        let path = url::Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        if status == 403 || code.as_ref().is_some_and(|c| c.0 == "DENIED") {
            return Error::RegistryDenied {
                host: self.registry.clone(),
                reason: match &self.credential {
                    Some(c) => format!(
                        "user {:?} (credentials from {}) may not {what}; ask for push access or use another account",
                        c.username, c.source
                    ),
                    None => format!("anonymous users may not {what}; log in first"),
                },
            };
        }
        let detail = match code {
            Some((c, m)) => format!("{c}: {m}"),
            None => body
                .chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string(),
        };
        self.protocol(format!(
            "{method} {path} answered {status} ({detail}) while trying to {what}"
        ))
    }

    /// The credential in use (for messages).
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// Whether this session authenticated with a token, Basic or not at all.
    pub fn auth_kind(&self) -> &'static str {
        match &*self.state.lock().expect("lock") {
            AuthState::Anonymous => "anonymous",
            AuthState::Basic => "basic",
            AuthState::Bearer(_) => "bearer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="http://127.0.0.1:5106/token",service="test-registry",scope="repository:t/app:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.get("realm"), Some("http://127.0.0.1:5106/token"));
        assert_eq!(c.get("scope"), Some("repository:t/app:pull,push"));
        assert_eq!(c.get("error"), Some("insufficient_scope"));
        let b = Challenge::parse(r#"Basic realm="test-realm""#);
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.get("realm"), Some("test-realm"));
        assert_eq!(Challenge::parse("").scheme, "");
    }

    #[test]
    fn no_credentials_over_plain_http_except_loopback() {
        assert!(credentials_allowed("r", "https://reg.example/v2/").is_ok());
        assert!(credentials_allowed("r", "http://127.0.0.1:5000/v2/").is_ok());
        assert!(credentials_allowed("r", "http://localhost/token").is_ok());
        let e = credentials_allowed("r", "http://reg.example:5000/v2/").unwrap_err();
        assert_eq!(e.code(), "E_REGISTRY_AUTH");
        assert!(credentials_allowed("r", "http://10.1.2.3/token").is_err());
    }

    #[test]
    fn error_bodies() {
        let body = r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
        assert_eq!(error_code(body).unwrap().0, "DENIED");
        assert!(error_code("404 page not found").is_none());
    }
}
