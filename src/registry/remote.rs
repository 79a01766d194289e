//! Reading images back from a registry: a manifest (or index) with its
//! media type and verified digest, and a streaming reader of a blob. This
//! is what `inspect` uses for remote references.

use std::io::Read;

use crate::error::{Error, Result};
use crate::inspect::source::{is_digest, Fetched, ImageSource};
use crate::registry::auth::AuthOptions;
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::transport::{Body, Session, TransportOptions};

/// A manifest as the registry stores it.
#[derive(Debug, Clone)]
pub struct RemoteManifest {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// `Content-Type` of the answer (which kind of manifest it is).
    pub media_type: String,
    /// `sha256:` of `bytes` (checked against a pinned digest).
    pub digest: String,
}

fn session(repo: &Repository, auth: &AuthOptions, transport: &TransportOptions) -> Result<Session> {
    Session::connect(
        &repo.registry,
        &repo.path,
        vec![format!("repository:{}:pull", repo.path)],
        auth,
        transport,
    )
}

fn not_found(reference: &str, reason: &str) -> Error {
    Error::ImageNotFound {
        what: reference.to_string(),
        reason: reason.to_string(),
    }
}

/// `GET /v2/<repo>/manifests/<tag|digest>` with `accept` (media types; all
/// four OCI/Docker manifest and index types when empty).
pub fn pull_manifest(
    reference: &ImageReference,
    accept: &[&str],
    auth: &AuthOptions,
    transport: &TransportOptions,
) -> Result<RemoteManifest> {
    let repo = Repository::of(reference);
    let s = session(&repo, auth, transport)?;
    let part = reference
        .digest
        .clone()
        .or_else(|| reference.tag.clone())
        .expect("a tag or a digest");
    let url = s.url(&format!("/v2/{}/manifests/{part}", repo.path));
    let accept = if accept.is_empty() {
        crate::registry::push::accept_all()
    } else {
        accept.join(", ")
    };
    let what = format!("read {}", reference.raw);
    let resp = s.send("GET", &url, &[("Accept", &accept)], &Body::Empty, &what)?;
    match resp.status() {
        200 => {}
        404 => {
            return Err(not_found(
                &reference.raw,
                "the registry has no such manifest (check the repository and the tag or digest)",
            ))
        }
        _ => return Err(s.unexpected("GET", &url, resp, &what)),
    }
    let (bytes, media_type) = read_manifest_body(&s, resp, &what)?;
    let digest = crate::oci::image::sha256_digest(&bytes);
    if let Some(pinned) = &reference.digest {
        if *pinned != digest {
            return Err(s.protocol(format!(
                "asked for {pinned} but the bytes received hash to {digest}"
            )));
        }
    }
    Ok(RemoteManifest {
        bytes,
        media_type,
        digest,
    })
}

/// The body of a `200` manifest answer and its media type (`Content-Type`
/// without parameters), read up to [`MAX_MANIFEST_BYTES`]: a registry
/// cannot make dynpack buffer an unbounded answer.
///
/// [`MAX_MANIFEST_BYTES`]: crate::registry::source::MAX_MANIFEST_BYTES
pub(crate) fn read_manifest_body(
    session: &Session,
    resp: ureq::Response,
    what: &str,
) -> Result<(Vec<u8>, String)> {
    let max = crate::registry::source::MAX_MANIFEST_BYTES;
    let media_type = resp
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| session.protocol(format!("{what}: reading the manifest failed ({e})")))?;
    if bytes.len() as u64 > max {
        return Err(session.protocol(format!("{what}: the manifest is larger than 4 MiB")));
    }
    Ok((bytes, media_type))
}

/// A streaming reader of the blob `digest` of `repository` (`host/path`).
/// The caller checks the digest of what it reads if it needs to.
pub fn blob_reader(
    repository: &str,
    digest: &str,
    auth: &AuthOptions,
    transport: &TransportOptions,
) -> Result<Box<dyn Read + Send>> {
    let reference = ImageReference::parse(&format!("{repository}@{digest}"))?;
    let repo = Repository::of(&reference);
    let s = session(&repo, auth, transport)?;
    let url = s.url(&format!("/v2/{}/blobs/{digest}", repo.path));
    let what = format!("read {repository}@{digest}");
    let resp = s.send("GET", &url, &[], &Body::Empty, &what)?;
    match resp.status() {
        200 => Ok(Box::new(resp.into_reader())),
        404 => Err(not_found(&what, "the registry has no such blob")),
        _ => Err(s.unexpected("GET", &url, resp, &what)),
    }
}

/// Checks credentials against `registry` (what `login` does before it
/// stores them): `GET /v2/` and, for a token registry, a token request.
pub fn check_login(
    registry: &str,
    credential: crate::registry::auth::Credential,
    transport: &TransportOptions,
) -> Result<()> {
    let username = credential.username.clone();
    let check = || {
        let s = Session::connect_with(registry, Some(credential), Vec::new(), transport)?;
        if s.auth_kind() == "basic" {
            // Basic registries answer the challenge only: ask once with credentials.
            let url = s.url("/v2/");
            let resp = s.send("GET", &url, &[], &Body::Empty, "log in")?;
            if resp.status() != 200 {
                return Err(s.unexpected("GET", &url, resp, "log in"));
            }
        }
        Ok(())
    };
    // The generic message speaks of stored credentials ("log in again"); here the login itself failed.
    check().map_err(|e| match e {
        Error::RegistryAuth { host, .. } => Error::RegistryAuth {
            host,
            reason: format!(
                "the registry refused to log in user {username:?} with the password given on standard input; check the user name and the password (or token) and run the login again"
            ),
        },
        other => other,
    })
}

/// A registry repository read as an [`ImageSource`], so that `inspect`
/// checks a pushed image exactly as it checks a layout: inspect verifies
/// every manifest and blob against its digest, this only fetches.
pub struct RemoteSource {
    /// `host[:port]/path`.
    repository: String,
    auth: AuthOptions,
    transport: TransportOptions,
}

impl RemoteSource {
    pub fn new(repository: &str, auth: AuthOptions, transport: TransportOptions) -> RemoteSource {
        RemoteSource {
            repository: repository.to_string(),
            auth,
            transport,
        }
    }
}

impl ImageSource for RemoteSource {
    fn location(&self) -> String {
        self.repository.clone()
    }

    fn manifest(&self, reference: &str) -> Result<Fetched> {
        let separator = if is_digest(reference) { '@' } else { ':' };
        let named = ImageReference::parse(&format!("{}{separator}{reference}", self.repository))?;
        let m = pull_manifest(&named, &[], &self.auth, &self.transport)?;
        Ok(Fetched {
            bytes: m.bytes,
            media_type: Some(m.media_type),
            digest: Some(m.digest),
        })
    }

    fn blob(&self, digest: &str) -> Result<Box<dyn Read + '_>> {
        Ok(blob_reader(
            &self.repository,
            digest,
            &self.auth,
            &self.transport,
        )?)
    }
}
