//! The check `package --push` runs before it builds anything: may these
//! credentials push to these repositories? A wrong password or a registry
//! that does not answer then costs one request per registry instead of a
//! full build followed by one failed push per image.

use crate::error::{Error, Result};
use crate::registry::auth::AuthOptions;
use crate::registry::push::open_upload;
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::transport::{Body, Session, TransportOptions};

/// Repositories checked at once per registry after the first one passed.
const PARALLEL: usize = 8;

/// A registry or repository the push would fail on.
#[derive(Debug)]
pub struct AccessFailure {
    /// `host[:port]`.
    pub registry: String,
    /// `host[:port]/path` of the repository that was tried.
    pub repository: String,
    pub error: Error,
}

/// Opens an upload session in the repository (what every push does first)
/// and cancels it: the registry answers for the credentials and the push
/// permission, and keeps nothing.
fn check_repository(
    repo: &Repository,
    auth: &AuthOptions,
    transport: &TransportOptions,
) -> Result<()> {
    let scopes = vec![format!("repository:{}:pull,push", repo.path)];
    let session = Session::connect(&repo.registry, &repo.path, scopes, auth, transport)?;
    let what = format!("push to {}", repo.path);
    let upload = open_upload(&session, &repo.path, &what)?;
    // Best effort: an upload session left open expires on the registry.
    let _ = session.send("DELETE", &upload, &[], &Body::Empty, &what);
    Ok(())
}

/// Whether an error concerns the whole registry (no answer, TLS, wrong or
/// missing credentials) rather than one repository.
fn registry_wide(e: &Error) -> bool {
    !matches!(e, Error::RegistryDenied { .. })
}

/// Checks that every tag's repository takes a push, per registry: the
/// first repository of a registry first, and the others (in parallel) only
/// when that one passed or was merely denied, so that a registry-wide
/// problem is reported once. Tags that do not parse are refused with
/// `E_INVALID_TAG`; an abort ends the check with `E_ABORTED`.
pub fn check_push_access(
    tags: &[String],
    auth: &AuthOptions,
    transport: &TransportOptions,
) -> Result<Vec<AccessFailure>> {
    let mut registries: Vec<(String, Vec<Repository>)> = Vec::new();
    for tag in tags {
        let repo = Repository::of(&ImageReference::parse(tag)?);
        match registries.iter_mut().find(|(r, _)| *r == repo.registry) {
            Some((_, repos)) if repos.contains(&repo) => {}
            Some((_, repos)) => repos.push(repo),
            None => registries.push((repo.registry.clone(), vec![repo])),
        }
    }
    let mut failures = Vec::new();
    for (registry, repos) in registries {
        let start = failures.len();
        let failure = |repo: &Repository, error| AccessFailure {
            registry: registry.clone(),
            repository: repo.full_name(),
            error,
        };
        let (first, rest) = repos
            .split_first()
            .expect("one repository per registry at least");
        if let Err(e) = check_repository(first, auth, transport) {
            if matches!(e, Error::Aborted) {
                return Err(e);
            }
            let wide = registry_wide(&e);
            failures.push(failure(first, e));
            if wide {
                continue;
            }
        }
        for chunk in rest.chunks(PARALLEL) {
            let results: Vec<Result<()>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|repo| s.spawn(move || check_repository(repo, auth, transport)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::RegistryProtocol {
                                host: registry.clone(),
                                reason: "the access check failed unexpectedly".into(),
                            })
                        })
                    })
                    .collect()
            });
            for (repo, r) in chunk.iter().zip(results) {
                match r {
                    Err(Error::Aborted) => return Err(Error::Aborted),
                    Err(e) => failures.push(failure(repo, e)),
                    Ok(()) => {}
                }
            }
        }
        let mut denied = failures.split_off(start);
        let merged = merge_denied(&mut denied);
        failures.extend(denied);
        failures.extend(merged);
    }
    Ok(failures)
}

/// The repositories of one registry the user may not push to, as one
/// failure naming them all (an account without push rights is refused
/// everywhere alike); other failures stay in `list`.
fn merge_denied(list: &mut Vec<AccessFailure>) -> Option<AccessFailure> {
    let (denied, others): (Vec<_>, Vec<_>) = std::mem::take(list)
        .into_iter()
        .partition(|f| matches!(f.error, Error::RegistryDenied { .. }));
    *list = others;
    let mut denied = denied.into_iter();
    let mut first = denied.next()?;
    let rest: Vec<String> = denied.map(|f| f.repository).collect();
    if let Error::RegistryDenied { reason, .. } = &mut first.error {
        if !rest.is_empty() {
            const LISTED: usize = 5;
            let more = rest.len().saturating_sub(LISTED);
            reason.push_str(&format!(
                " (the same for {}{})",
                rest[..rest.len().min(LISTED)].join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    Some(first)
}
