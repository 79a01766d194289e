//! Opening a session: `GET /v2/` without credentials learns whether the
//! registry answers at all, over HTTPS or (for an insecure registry, after
//! HTTPS failed, as skopeo does) plain HTTP, and which challenge it sets.
//! That challenge is the one the session's credentials answer.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use super::exchange::AuthState;
use super::origin::same_origin;
use super::proxy::{Agents, ProxyConfig};
use super::retry::{retryable, sleep_backoff, MAX_RETRIES};
use super::tls::{tls_cause, tls_config, tls_failure};
use super::{agent, describe, Body, Session, TransportOptions};
use crate::error::{Error, Result};
use crate::pipeline::check_cancel;
use crate::registry::auth::{self, AuthOptions, Credential};
use crate::registry::reference::api_host;
use crate::registry::registries_conf;

/// What one registry's `GET /v2/` (without credentials) answered: where it
/// answers (HTTPS, or plain HTTP after HTTPS failed), with which status and
/// challenge, and the agents (connection pools) that reached it. It is the
/// same for every repository and credential, so the sessions of one
/// operation share it (see [`Pings`]).
pub struct Ping {
    base: url::Url,
    agents: Arc<Agents>,
    status: u16,
    /// `WWW-Authenticate` of a 401.
    challenge: String,
    /// The URL that answered, after redirects.
    answered: String,
}

/// The [`Ping`] of each registry an operation reached: the first session to
/// a registry pings it, the others (also those opened meanwhile, which
/// wait) reuse its answer and its connections.
#[derive(Default)]
pub struct Pings {
    registries: Mutex<HashMap<String, Arc<SharedPing>>>,
}

/// A registry's ping once its first session made it: `None` when it failed.
type SharedPing = OnceLock<Option<Arc<Ping>>>;

impl std::fmt::Debug for Pings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pings")
    }
}

impl Pings {
    /// The ping of `registry`: the shared one, else `ping()` (shared when it
    /// succeeds). A failed ping is not shared: each session then pings for
    /// itself and reports its own failure.
    fn get(&self, registry: &str, ping: impl FnOnce() -> Result<Ping>) -> Result<Arc<Ping>> {
        let cell = self
            .registries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(registry.to_string())
            .or_default()
            .clone();
        let mut ping = Some(ping);
        let mut failure = None;
        let shared = cell.get_or_init(|| match (ping.take().expect("one ping"))() {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                failure = Some(e);
                None
            }
        });
        match (failure, shared, ping) {
            (Some(e), _, _) => Err(e),
            (None, Some(p), _) => Ok(p.clone()),
            (None, None, Some(ping)) => ping().map(Arc::new),
            (None, None, None) => unreachable!("a failed ping reports its failure"),
        }
    }
}

impl Ping {
    /// `GET /v2/` of `registry`: over HTTPS, then (insecure registries only,
    /// as skopeo does) plain HTTP.
    fn new(registry: &str, opts: &TransportOptions) -> Result<Ping> {
        let host = api_host(registry);
        let insecure = !opts.tls_verify || registries_conf::insecure(registry);
        let https =
            url::Url::parse(&format!("https://{host}/")).map_err(|e| Error::InvalidOption {
                message: format!("{registry:?} is not a registry host ({e})"),
            })?;
        let tls = tls_config(registry, opts, !insecure)?;
        let mut anonymous = Session {
            registry: registry.to_string(),
            base: https,
            agents: Arc::new(Agents::new(ProxyConfig::from_env(), move |proxy| {
                agent(tls.clone(), proxy)
            })),
            credential: None,
            bound: Mutex::new(None),
            scopes: Vec::new(),
            state: Mutex::new(AuthState::Anonymous),
            options: opts.clone(),
        };
        let (response, answered) = match anonymous.ping() {
            Err(https_failure) if insecure && !matches!(https_failure.error, Error::Aborted) => {
                // skopeo's fallback for insecure registries: plain HTTP. Its
                // failure is the one reported (HTTPS failing is expected).
                anonymous.base = url::Url::parse(&format!("http://{host}/")).expect("valid");
                anonymous.ping().map_err(|plain| {
                    with_note(
                        plain.error,
                        &format!("HTTPS had failed first: {}", https_failure.cause),
                    )
                })?
            }
            other => other.map_err(|f| f.error)?,
        };
        Ok(Ping {
            base: anonymous.base,
            agents: anonymous.agents,
            status: response.status(),
            challenge: response
                .header("www-authenticate")
                .unwrap_or("")
                .to_string(),
            answered,
        })
    }
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
        let ping = opts.pings.get(registry, || Ping::new(registry, opts))?;
        let session = Session {
            registry: registry.to_string(),
            base: ping.base.clone(),
            agents: ping.agents.clone(),
            credential,
            bound: Mutex::new(None),
            scopes,
            state: Mutex::new(AuthState::Anonymous),
            options: opts.clone(),
        };
        match ping.status {
            200 => {}
            401 if !same_origin(&session.base, &ping.answered) => {
                return Err(
                    session.foreign_challenge(&ping.answered, "check the registry (GET /v2/)")
                )
            }
            401 => session.answer_challenge(&ping.challenge)?,
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

    /// `GET /v2/` with retries, without auth: the registry's challenge, and
    /// the URL that answered (after redirects).
    fn ping(&self) -> std::result::Result<(ureq::Response, String), PingFailure> {
        let url = self.url("/v2/");
        let mut attempt = 0;
        let fail = |error: Error, cause: String| PingFailure { error, cause };
        loop {
            check_cancel(&self.options.cancel).map_err(|e| fail(e, "aborted".into()))?;
            let sent = Arc::new(AtomicU64::new(0));
            let (result, answered) = self
                .request("GET", &url, &[], &Body::Empty, "GET /v2/", &sent)
                .map_err(|e| {
                    let cause = e.to_string();
                    fail(e, cause)
                })?;
            match result {
                Ok(r) | Err(ureq::Error::Status(_, r)) => {
                    if retryable(r.status()) && attempt < MAX_RETRIES {
                        sleep_backoff(attempt, r.header("retry-after"), &self.options.cancel)
                            .map_err(|e| fail(e, "aborted".into()))?;
                        attempt += 1;
                        continue;
                    }
                    return Ok((r, answered));
                }
                Err(ureq::Error::Transport(t)) => {
                    if let Some(reason) = tls_cause(&t) {
                        return Err(fail(
                            tls_failure(&self.registry, &reason),
                            format!("TLS failed ({reason})"),
                        ));
                    }
                    if attempt < MAX_RETRIES && t.kind() != ureq::ErrorKind::Dns {
                        sleep_backoff(attempt, None, &self.options.cancel)
                            .map_err(|e| fail(e, "aborted".into()))?;
                        attempt += 1;
                        continue;
                    }
                    return Err(fail(self.unreachable(&answered, &t), describe(&t)));
                }
            }
        }
    }
}

/// A failed `/v2/` check: the error to report, and its cause in a few
/// words (to mention beside a later attempt's error).
struct PingFailure {
    error: Error,
    cause: String,
}

/// `error` with `note` added to its reason.
fn with_note(error: Error, note: &str) -> Error {
    match error {
        Error::RegistryUnreachable { host, reason } => Error::RegistryUnreachable {
            host,
            reason: format!("{reason}; {note}"),
        },
        Error::RegistryTls { host, reason } => Error::RegistryTls {
            host,
            reason: format!("{reason}; {note}"),
        },
        Error::RegistryProtocol { host, reason } => Error::RegistryProtocol {
            host,
            reason: format!("{reason}; {note}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn answered() -> Result<Ping> {
        Ok(Ping {
            base: url::Url::parse("http://127.0.0.1:5000/").expect("valid"),
            agents: Arc::new(Agents::new(ProxyConfig::from_lookup(|_| None), |_| {
                ureq::AgentBuilder::new().build()
            })),
            status: 200,
            challenge: String::new(),
            answered: "http://127.0.0.1:5000/v2/".into(),
        })
    }

    #[test]
    fn a_registry_is_pinged_once_and_a_failed_ping_is_not_shared() {
        let pings = Pings::default();
        let calls = AtomicUsize::new(0);
        let ping = || {
            calls.fetch_add(1, Ordering::SeqCst);
            answered()
        };
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| pings.get("127.0.0.1:5000", ping).expect("shared"));
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let failing = || -> Result<Ping> {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::RegistryUnreachable {
                host: "127.0.0.1:6000".into(),
                reason: "connection refused".into(),
            })
        };
        assert!(pings.get("127.0.0.1:6000", failing).is_err());
        assert!(pings.get("127.0.0.1:6000", failing).is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "each session reports its own failure"
        );
        pings.get("127.0.0.1:6000", answered).expect("pinged again");
    }
}
