//! Opening a session: `GET /v2/` without credentials learns whether the
//! registry answers at all, over HTTPS or (for an insecure registry, after
//! HTTPS failed, as skopeo does) plain HTTP, and which challenge it sets.
//! That challenge is the one the session's credentials answer.

use std::sync::Mutex;

use super::exchange::AuthState;
use super::retry::{retryable, sleep_backoff, MAX_RETRIES};
use super::tls::{tls_cause, tls_config, tls_failure};
use super::{agent, Session, TransportOptions};
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
                    if retryable(r.status()) && attempt < MAX_RETRIES {
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
}
