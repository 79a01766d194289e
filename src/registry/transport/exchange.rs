//! Answering a registry's challenge: Basic credentials on each request, or
//! a Bearer token from the realm the challenge names (a GET with Basic
//! credentials, or the OAuth2 refresh-token POST for an identity token,
//! distribution's `token.md` and `oauth.md`). Kept apart from the requests
//! themselves because this is where credentials leave the process.

use std::io::Read;

use base64::Engine;
use serde_json::Value;

use super::challenge::Challenge;
use super::origin::{credentials_allowed, same_origin};
use super::retry::{retryable, sleep_backoff, MAX_RETRIES};
use super::tls::{tls_cause, tls_error};
use super::{describe, error_code, is_redirect, read_error_body, Session, MAX_REDIRECTS};
use crate::error::{Error, Result};
use crate::pipeline::check_cancel;
use crate::registry::auth::Credential;

/// How requests to the registry are authenticated now.
pub(super) enum AuthState {
    Anonymous,
    Basic,
    Bearer(String),
}

impl Session {
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
    /// Sets up auth from a `WWW-Authenticate` header of the registry's
    /// own answer (fetching a token). The first challenge is bound to the
    /// session; a later one only adds scopes, so credentials never go to a
    /// realm other than the one the registry's `/v2/` named.
    pub(super) fn answer_challenge(&self, header: &str) -> Result<()> {
        let ch = {
            let fresh = Challenge::parse(header);
            let mut bound = self.bound.lock().expect("lock");
            match &*bound {
                None => {
                    *bound = Some(fresh.clone());
                    fresh
                }
                Some(first) => first.with_scope_of(&fresh),
            }
        };
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
                    self.agents.for_url(realm)?.0.post(realm).send_form(&form)
                }
                None => self.token_get(&url)?,
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
                s if retryable(s) && attempt < MAX_RETRIES => {
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

    /// `GET` of the token URL, with Basic credentials when there are some,
    /// following its redirects (as ureq would) on the agent each hop's
    /// proxy decision picks; credentials only to the realm's own origin.
    fn token_get(&self, url: &str) -> Result<std::result::Result<ureq::Response, ureq::Error>> {
        let realm =
            url::Url::parse(url).map_err(|e| self.protocol(format!("unusable token URL ({e})")))?;
        let mut current = realm.clone();
        let mut hops = 0;
        loop {
            let mut req = self
                .agents
                .for_url(current.as_str())?
                .0
                .get(current.as_str());
            if let Some(c) = &self.credential {
                if same_origin(&realm, current.as_str()) {
                    self.refuse_plain_http_credentials(current.as_str())?;
                    req = req.set("Authorization", &Self::basic_header(c));
                }
            }
            let result = req.call();
            let next = match &result {
                Ok(r) if is_redirect(r.status()) && hops < MAX_REDIRECTS => {
                    r.header("location").and_then(|l| current.join(l).ok())
                }
                _ => None,
            };
            match next {
                Some(n) => {
                    current = n;
                    hops += 1;
                }
                None => return Ok(result),
            }
        }
    }

    pub(super) fn authorization(&self, url: &str) -> Result<Option<String>> {
        if !same_origin(&self.base, url) {
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
    pub(super) fn unauthorized(&self, header: &str, body: &str, what: &str) -> Error {
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

    /// Whether this session authenticated with a token, Basic or not at all.
    pub fn auth_kind(&self) -> &'static str {
        match &*self.state.lock().expect("lock") {
            AuthState::Anonymous => "anonymous",
            AuthState::Basic => "basic",
            AuthState::Bearer(_) => "bearer",
        }
    }
}
