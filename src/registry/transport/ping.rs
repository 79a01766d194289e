//! Opening a session: `GET /v2/` without credentials learns whether the
//! registry answers at all, over HTTPS or (for an insecure registry, after
//! HTTPS failed, as skopeo does) plain HTTP, and which challenge it sets.
//! That challenge is the one the session's credentials answer.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

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
        let tls = tls_config(registry, opts, !insecure)?;
        let mut session = Session {
            registry: registry.to_string(),
            base: https.clone(),
            agents: Agents::new(ProxyConfig::from_env(), move |proxy| {
                agent(tls.clone(), proxy)
            }),
            credential,
            bound: Mutex::new(None),
            scopes,
            state: Mutex::new(AuthState::Anonymous),
            options: opts.clone(),
        };
        let (ping, answered) = match session.ping() {
            Err(https_failure) if insecure && !matches!(https_failure.error, Error::Aborted) => {
                // skopeo's fallback for insecure registries: plain HTTP. Its
                // failure is the one reported (HTTPS failing is expected).
                session.base = url::Url::parse(&format!("http://{host}/")).expect("valid");
                session.ping().map_err(|plain| {
                    with_note(
                        plain.error,
                        &format!("HTTPS had failed first: {}", https_failure.cause),
                    )
                })?
            }
            other => other.map_err(|f| f.error)?,
        };
        match ping.status() {
            200 => {}
            401 if !same_origin(&session.base, &answered) => {
                return Err(session.foreign_challenge(&answered, "check the registry (GET /v2/)"))
            }
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
