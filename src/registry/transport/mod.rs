//! HTTP to one registry, in small parts the way crane's transport is cut:
//! [`ping`] opens a session and learns the registry's challenge,
//! [`challenge`] parses it, [`exchange`] answers it (Basic, or a Bearer
//! token from the realm), [`origin`] says where credentials may go,
//! [`retry`] bounds the tries, [`tls`] sets up TLS, [`proxy`] picks the
//! proxy of each URL from the environment and [`body`] makes request
//! bodies resendable. This module sends requests with all of those,
//! following redirects itself. Every error maps to a stable
//! `E_REGISTRY_*` code.
//!
//! Plain HTTP only for a registry marked `insecure` in registries.conf
//! (with its drop-ins, see `registries_conf`) or with `--tls-verify=false`,
//! and then only after HTTPS (unverified) failed, as skopeo does.
//! Credentials never travel over plain HTTP to a host other than loopback.

mod body;
mod challenge;
mod exchange;
mod origin;
mod ping;
mod proxy;
mod retry;
mod tls;

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub use body::Body;
pub use challenge::Challenge;
pub use origin::{credentials_allowed, same_origin};
pub use proxy::{ProxyConfig, ProxyUrl};
pub use retry::MAX_RETRIES;
pub use tls::cert_dir_for;

use crate::error::{Error, Result};
use crate::pipeline::{check_cancel, Cancel};
use crate::registry::auth::Credential;
use body::Counting;
use exchange::AuthState;
use proxy::Agents;
use retry::{retryable, sleep_backoff};
use tls::{tls_cause, tls_failure};

/// Time to connect; a registry that does not answer fails after
/// `(MAX_RETRIES + 1)` of these.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a read or write may stall before the request is given up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Redirects followed for one `GET` or `HEAD`.
pub const MAX_REDIRECTS: u32 = 5;

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
    /// What each registry's `GET /v2/` answered, shared by every session
    /// opened with these options (clones share it): one operation pings a
    /// registry once, however many repositories it reaches there.
    pub pings: Arc<ping::Pings>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            tls_verify: true,
            cert_dir: None,
            progress: None,
            cancel: None,
            pings: Arc::default(),
        }
    }
}

/// A connection to one registry, authenticated for a set of scopes.
pub struct Session {
    /// The registry as written (`quay.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// `https://host[:port]` or `http://…`.
    pub base: url::Url,
    agents: Arc<Agents>,
    credential: Option<Credential>,
    /// The challenge of the registry's own answer (the `/v2/` check, or
    /// failing that its first 401): the realm credentials go to.
    bound: Mutex<Option<Challenge>>,
    scopes: Vec<String>,
    state: Mutex<AuthState>,
    options: TransportOptions,
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

/// An agent with the registry's TLS setup and `proxy` (or none). It does
/// not follow redirects: [`Session::send`] does, hop by hop.
fn agent(tls: Arc<rustls::ClientConfig>, proxy: Option<ureq::Proxy>) -> ureq::Agent {
    let builder = ureq::AgentBuilder::new()
        .tls_config(tls)
        .redirects(0)
        .try_proxy_from_env(false);
    let builder = match proxy {
        Some(p) => builder.proxy(p),
        None => builder,
    };
    builder
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(IO_TIMEOUT)
        .timeout_write(IO_TIMEOUT)
        .user_agent(concat!("dynpack/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Whether `status` sends the client to the answer's `Location`.
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
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
    fn unreachable(&self, url: &str, t: &ureq::Transport) -> Error {
        let origin = url::Url::parse(url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| self.base.as_str().trim_end_matches('/').to_string());
        let reason = match self.agents.proxy_for(url) {
            Some(p) => format!(
                "no answer from {origin} through the proxy {} (from {}) after {} tries ({}); check the host name, the port, the proxy and the network",
                p.shown,
                p.var,
                MAX_RETRIES + 1,
                describe(t)
            ),
            None => format!(
                "no answer from {origin} after {} tries ({}); check the host name, the port and the network",
                MAX_RETRIES + 1,
                describe(t)
            ),
        };
        Error::RegistryUnreachable {
            host: self.registry.clone(),
            reason,
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
            let sent = Arc::new(AtomicU64::new(0));
            let (result, answered) = self.request(method, url, headers, body, what, &sent)?;
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
                    return Err(self.unreachable(&answered, &t));
                }
            };
            let status = resp.status();
            if status == 401 {
                undo_progress();
                if !same_origin(&self.base, &answered) {
                    return Err(self.foreign_challenge(&answered, what));
                }
                let header = resp.header("www-authenticate").unwrap_or("").to_string();
                let body = read_error_body(resp);
                if !challenged {
                    challenged = true;
                    self.answer_challenge(&header)?;
                    continue;
                }
                return Err(self.unauthorized(&header, &body, what));
            }
            if retryable(status) && attempt < MAX_RETRIES {
                undo_progress();
                sleep_backoff(attempt, resp.header("retry-after"), &self.options.cancel)?;
                attempt += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// One try of a request: sent through the agent its URL's proxy
    /// decision picks, with the registry's Authorization only where
    /// [`same_origin`] allows it, following the redirects of a `GET` or
    /// `HEAD` (up to [`MAX_REDIRECTS`]) the same way hop by hop (ureq
    /// would follow them on one agent, so with the first hop's proxy).
    /// Returns the outcome and the URL that answered.
    fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        what: &str,
        sent: &Arc<AtomicU64>,
    ) -> Result<(std::result::Result<ureq::Response, ureq::Error>, String)> {
        let mut current = url.to_string();
        let mut hops = 0;
        loop {
            let (agent, _) = self.agents.for_url(&current)?;
            let mut req = agent.request(method, &current);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if let Some(a) = self.authorization(&current)? {
                req = req.set("Authorization", &a);
            }
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
            let next = match &result {
                Ok(r)
                    if is_redirect(r.status())
                        && (method == "GET" || method == "HEAD")
                        && hops < MAX_REDIRECTS =>
                {
                    r.header("location")
                        .and_then(|l| url::Url::parse(&current).ok()?.join(l).ok())
                }
                _ => None,
            };
            match next {
                Some(n) => {
                    current = n.to_string();
                    hops += 1;
                }
                None => return Ok((result, current)),
            }
        }
    }

    /// `E_REGISTRY_AUTH` for a 401 from a host the registry sent a request
    /// on to (a redirect, an upload `Location`): its challenge is not
    /// answered, since the credentials are meant for the registry only.
    fn foreign_challenge(&self, url: &str, what: &str) -> Error {
        let host = url::Url::parse(url)
            .map(|u| {
                let h = u.host_str().unwrap_or("").to_string();
                match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h,
                }
            })
            .unwrap_or_default();
        Error::RegistryAuth {
            host: self.registry.clone(),
            reason: format!(
                "to {what}, the registry sent the request on to {host}, which asks for credentials; dynpack does not send credentials there (they are only for {} and the token server its /v2/ challenge names). The registry's storage must accept the request without them, e.g. with a pre-signed URL",
                self.registry
            ),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let body = r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
        assert_eq!(error_code(body).unwrap().0, "DENIED");
        assert!(error_code("404 page not found").is_none());
    }
}
