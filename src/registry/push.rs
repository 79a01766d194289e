//! Pushing an image from a layout or oci-archive (distribution-spec v1.1):
//! `HEAD` each blob, mount it from a sibling repository or upload it
//! (monolithic `POST`+`PUT` when small, `PATCH` chunks when large), then
//! `PUT` the manifest last with its exact bytes and check the digest the
//! registry reports. A failed or aborted push leaves the remote tag as it
//! was, and running it again sends only what did not arrive.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::oci::image::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::pipeline::check_cancel;
use crate::registry::auth::AuthOptions;
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::source::ImageSource;
use crate::registry::transport::{Body, Session, TransportOptions};

/// Blobs up to this size go in one `PUT`; larger ones in `PATCH` chunks.
pub const MONOLITHIC_LIMIT: u64 = 32 << 20;
/// Size of each `PATCH` of a chunked upload.
pub const CHUNK_SIZE: u64 = 32 << 20;
/// Blobs uploaded at the same time.
pub const PARALLEL_BLOBS: usize = 4;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Options of [`push_image`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The layout folder or oci-archive file.
    pub source: std::path::PathBuf,
    /// The image in it (`org.opencontainers.image.ref.name`); default: the only one.
    pub ref_name: Option<String>,
    /// Where to push (`host/repo:tag`); default: the reference the image
    /// was built for (`io.containerd.image.name`).
    pub tag: Option<String>,
    /// Repositories (`host/path`) of the same registry to mount blobs from.
    pub mount_from: Vec<String>,
    /// Blobs this process uploaded during the build
    /// ([`crate::registry::stream`]): found there, they count as uploaded.
    pub streamed: Vec<String>,
    pub auth: AuthOptions,
    pub transport: TransportOptions,
}

/// What [`push_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The reference pushed, e.g. `quay.io/acme/x:1.0.0`.
    pub tag: String,
    /// `quay.io/acme/x`.
    pub repository: String,
    /// The manifest digest, as the registry reported it.
    pub digest: String,
    /// `<repository>@<digest>`.
    pub reference: String,
    /// The tag already pointed at this digest: nothing was sent.
    pub up_to_date: bool,
    pub uploaded: u32,
    pub mounted: u32,
    pub existing: u32,
    pub bytes_uploaded: u64,
    /// Referrers of the image (SBOMs) in the layout, now in the registry.
    pub referrers: u32,
}

/// Distinct manifests one push walks at most (an index may list the same
/// one many times; each is walked once, and the walk stays bounded).
pub const MAX_MANIFESTS: usize = 10_000;

/// One manifest (or index) to put. Its bytes are read again from the
/// source when it is put (`None`), so that a large tree is not held whole.
struct Node {
    digest: String,
    media_type: String,
    bytes: Option<Vec<u8>>,
}

/// What a walk of a manifest tree found: blobs (digest, size) and
/// manifests, children before parents, each once.
#[derive(Default)]
struct Tree {
    blobs: Vec<(String, u64)>,
    nodes: Vec<Node>,
    seen_blobs: HashSet<String>,
    seen_nodes: HashSet<String>,
}

/// Walks the manifest tree from `digest` into `tree`.
fn collect(
    source: &ImageSource,
    digest: &str,
    media_type: &str,
    tree: &mut Tree,
    depth: u32,
) -> Result<()> {
    if tree.seen_nodes.contains(digest) {
        return Ok(());
    }
    if tree.seen_nodes.len() >= MAX_MANIFESTS {
        return Err(Error::Oci {
            path: source.path.clone(),
            reason: format!("the image lists more than {MAX_MANIFESTS} distinct manifests"),
        });
    }
    let bytes = source.read_manifest(digest)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Oci {
        path: source.path.clone(),
        reason: format!("the manifest {digest} is not JSON ({e})"),
    })?;
    let media_type = doc
        .get("mediaType")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(media_type)
        .to_string();
    let mut add_blob = |d: &Value| -> Result<()> {
        let digest = d
            .get("digest")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let size = source.blob_size(&digest)?;
        if d.get("size").and_then(Value::as_u64) != Some(size) {
            return Err(Error::Oci {
                path: source.path.clone(),
                reason: format!(
                    "the blob {digest} has {size} bytes, not the size its descriptor says"
                ),
            });
        }
        if tree.seen_blobs.insert(digest.clone()) {
            tree.blobs.push((digest, size));
        }
        Ok(())
    };
    if let Some(children) = doc.get("manifests").and_then(Value::as_array) {
        if depth > 2 {
            return Err(Error::Oci {
                path: source.path.clone(),
                reason: "indexes nested more than 2 deep".into(),
            });
        }
        for child in children {
            let d = child.get("digest").and_then(Value::as_str).unwrap_or("");
            let m = child
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or(MEDIA_TYPE_MANIFEST);
            collect(source, d, m, tree, depth + 1)?;
        }
    } else {
        let config = doc.get("config").ok_or_else(|| Error::Oci {
            path: source.path.clone(),
            reason: format!("the manifest {digest} has no config"),
        })?;
        add_blob(config)?;
        for layer in doc
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add_blob(layer)?;
        }
    }
    if media_type.is_empty() {
        return Err(Error::Oci {
            path: source.path.clone(),
            reason: format!("the manifest {digest} names no mediaType"),
        });
    }
    drop(doc);
    drop(bytes);
    tree.seen_nodes.insert(digest.to_string());
    tree.nodes.push(Node {
        digest: digest.to_string(),
        media_type,
        bytes: None,
    });
    Ok(())
}

/// The `Accept` header that lets a registry answer with any manifest kind.
pub fn accept_all() -> String {
    [
        MEDIA_TYPE_MANIFEST,
        MEDIA_TYPE_INDEX,
        DOCKER_MANIFEST,
        DOCKER_LIST,
    ]
    .join(", ")
}

pub(crate) fn location(session: &Session, resp: &ureq::Response, what: &str) -> Result<String> {
    let loc = resp.header("location").ok_or_else(|| {
        session.protocol(format!(
            "{what}: answer {} without a Location",
            resp.status()
        ))
    })?;
    session.resolve(loc)
}

pub(crate) fn with_digest(url: &str, digest: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}digest={}", digest.replace(':', "%3A"))
}

/// How a blob got there.
enum Outcome {
    Existing,
    Mounted,
    Uploaded(u64),
}

struct Pusher<'a> {
    session: Session,
    source: &'a ImageSource,
    repo: Repository,
    mount_from: Vec<String>,
    streamed: Vec<String>,
    cancel: crate::pipeline::Cancel,
}

impl Pusher<'_> {
    fn blob_url(&self, digest: &str) -> String {
        self.session
            .url(&format!("/v2/{}/blobs/{digest}", self.repo.path))
    }

    fn exists(&self, digest: &str) -> Result<bool> {
        let url = self.blob_url(digest);
        let what = format!("check {digest} in {}", self.repo.path);
        let resp = self.session.send("HEAD", &url, &[], &Body::Empty, &what)?;
        match resp.status() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.session.unexpected("HEAD", &url, resp, &what)),
        }
    }

    /// Asks for a mount of `digest` from the repository `from`: `Ok(None)`
    /// when it was mounted, else the Location of the ordinary upload
    /// session the registry opened instead (202).
    fn mount(&self, digest: &str, from: &str) -> Result<Option<String>> {
        let url = self.session.url(&format!(
            "/v2/{}/blobs/uploads/?mount={}&from={from}",
            self.repo.path,
            digest.replace(':', "%3A")
        ));
        let what = self.push_what();
        let resp = self.session.send(
            "POST",
            &url,
            &[("Content-Length", "0")],
            &Body::Empty,
            &what,
        )?;
        match resp.status() {
            201 => Ok(None),
            202 => location(&self.session, &resp, "POST blobs/uploads/").map(Some),
            _ => Err(self.session.unexpected("POST", &url, resp, &what)),
        }
    }

    /// An upload session for a blob ([`open_upload`]).
    fn start(&self) -> Result<String> {
        open_upload(&self.session, &self.repo.path, &self.push_what())
    }

    fn push_what(&self) -> String {
        format!("push to {}", self.repo.path)
    }

    fn finish_put(&self, url: &str, resp: ureq::Response, digest: &str, what: &str) -> Result<()> {
        if resp.status() != 201 {
            return Err(self.session.unexpected("PUT", url, resp, what));
        }
        if let Some(d) = resp.header("docker-content-digest") {
            if d != digest {
                return Err(self
                    .session
                    .protocol(format!("the registry stored the blob {digest} as {d}")));
            }
        }
        Ok(())
    }

    fn upload(&self, location: String, digest: &str, size: u64) -> Result<u64> {
        let what = format!("upload {digest} to {}", self.repo.path);
        let octet = ("Content-Type", "application/octet-stream");
        if size <= MONOLITHIC_LIMIT {
            let open = || {
                self.source.open_blob(digest, 0).map(|r| {
                    Box::new(std::io::Read::take(r, size)) as Box<dyn std::io::Read + Send>
                })
            };
            let url = with_digest(&location, digest);
            let resp =
                self.session
                    .send("PUT", &url, &[octet], &Body::Stream(&open, size), &what)?;
            self.finish_put(&url, resp, digest, &what)?;
            return Ok(size);
        }
        let mut location = location;
        let mut offset = 0;
        while offset < size {
            check_cancel(&self.cancel)?;
            let len = CHUNK_SIZE.min(size - offset);
            let start = offset;
            let open = || {
                self.source
                    .open_blob(digest, start)
                    .map(|r| Box::new(std::io::Read::take(r, len)) as Box<dyn std::io::Read + Send>)
            };
            let range = format!("{}-{}", offset, offset + len - 1);
            let resp = self.session.send(
                "PATCH",
                &location,
                &[octet, ("Content-Range", &range)],
                &Body::Stream(&open, len),
                &what,
            )?;
            if resp.status() != 202 {
                return Err(self.session.unexpected("PATCH", &location, resp, &what));
            }
            location = location_of(&self.session, &resp)?;
            offset += len;
        }
        let url = with_digest(&location, digest);
        let resp = self.session.send(
            "PUT",
            &url,
            &[octet, ("Content-Length", "0")],
            &Body::Empty,
            &what,
        )?;
        self.finish_put(&url, resp, digest, &what)?;
        Ok(size)
    }

    fn blob(&self, digest: &str, size: u64) -> Result<Outcome> {
        if self.exists(digest)? {
            return Ok(Outcome::Existing);
        }
        let mut pending = None;
        if let Some(from) = self.mount_source(digest)? {
            match self.mount(digest, &from)? {
                None => return Ok(Outcome::Mounted),
                Some(loc) => pending = Some(loc), // 202: an ordinary upload session
            }
        }
        let loc = match pending {
            Some(l) => l,
            None => self.start()?,
        };
        match self.upload(loc, digest, size) {
            Ok(n) => Ok(Outcome::Uploaded(n)),
            // A session the registry forgot (restart, expiry): start over once.
            Err(Error::RegistryProtocol { .. }) if !self.exists(digest)? => {
                let loc = self.start()?;
                self.upload(loc, digest, size).map(Outcome::Uploaded)
            }
            Err(e) => Err(e),
        }
    }

    /// The first mount source that has the blob (a `HEAD` there; a source
    /// the credentials cannot read counts as not having it).
    fn mount_source(&self, digest: &str) -> Result<Option<String>> {
        for from in &self.mount_from {
            let url = self.session.url(&format!("/v2/{from}/blobs/{digest}"));
            match self
                .session
                .send("HEAD", &url, &[], &Body::Empty, &format!("read {from}"))
            {
                Ok(resp) if resp.status() == 200 => return Ok(Some(from.clone())),
                Err(Error::Aborted) => return Err(Error::Aborted),
                _ => {}
            }
        }
        Ok(None)
    }

    fn put_manifest(&self, reference: &str, node: &Node) -> Result<String> {
        self.put_manifest_subject(reference, node).map(|(d, _)| d)
    }

    /// Puts a manifest; also says whether the registry answered with
    /// `OCI-Subject` (it indexes referrers itself).
    fn put_manifest_subject(&self, reference: &str, node: &Node) -> Result<(String, bool)> {
        let read;
        let bytes = match &node.bytes {
            Some(b) => b,
            None => {
                read = self.source.read_manifest(&node.digest)?;
                &read
            }
        };
        put_manifest(
            &self.session,
            &self.repo.path,
            reference,
            &node.media_type,
            bytes,
        )
    }

    fn get_manifest(&self, reference: &str, accept: &str) -> Result<Option<Vec<u8>>> {
        get_manifest(&self.session, &self.repo.path, reference, accept)
    }

    /// Sends the blobs of `blobs` that the registry lacks, counting them in
    /// `report`: up to [`PARALLEL_BLOBS`] at a time (a config goes beside its
    /// layer). After a failure no new blob starts; the first failure in
    /// `blobs` order is returned.
    fn send_blobs(&self, blobs: &[(String, u64)], report: &mut PushReport) -> Result<()> {
        let outcomes = each_in_parallel(blobs, PARALLEL_BLOBS, |(digest, size)| {
            self.blob(digest, *size)
        });
        for ((digest, size), outcome) in blobs.iter().zip(outcomes) {
            let Some(outcome) = outcome else {
                continue; // not started after a failure, which is returned below
            };
            match outcome? {
                Outcome::Existing if self.streamed.contains(digest) => {
                    report.uploaded += 1;
                    report.bytes_uploaded += size;
                }
                Outcome::Existing => report.existing += 1,
                Outcome::Mounted => report.mounted += 1,
                Outcome::Uploaded(n) => {
                    report.uploaded += 1;
                    report.bytes_uploaded += n;
                }
            }
        }
        Ok(())
    }

    /// Pushes the referrers the layout lists for `subject` (their blobs, then
    /// their manifests by digest, exact bytes); where the registry does not
    /// index them itself (no `OCI-Subject`), adds them to the referrers tag
    /// `sha256-<hex>`. Returns how many there are.
    fn push_referrers(&self, subject: &str, report: &mut PushReport) -> Result<u32> {
        let referrers = self.source.referrers_of(subject)?;
        if referrers.is_empty() {
            return Ok(0);
        }
        let mut indexed_by_registry = true;
        for d in &referrers {
            check_cancel(&self.cancel)?;
            let digest = d.get("digest").and_then(Value::as_str).unwrap_or("");
            let media_type = d
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or(MEDIA_TYPE_MANIFEST);
            let mut tree = Tree::default();
            collect(self.source, digest, media_type, &mut tree, 0)?;
            let node = tree.nodes.pop().expect("the referrer manifest");
            let blobs = tree.blobs;
            if self
                .remote_digest(&node.digest, &node.media_type)?
                .is_some()
            {
                // Already pushed; whether the registry indexed it is unknown,
                // so keep the tag up to date (a no-op when it is).
                indexed_by_registry = false;
                continue;
            }
            self.send_blobs(&blobs, report)?;
            let (_, indexed) = self.put_manifest_subject(&node.digest, &node)?;
            indexed_by_registry &= indexed;
        }
        if !indexed_by_registry {
            self.update_referrers_tag(subject, &referrers)?;
        }
        Ok(referrers.len() as u32)
    }

    /// The referrers tag schema: read the index at `sha256-<hex>` (none =
    /// empty), add `referrers` not listed yet (with `artifactType` and
    /// annotations), write it back when it changed.
    fn update_referrers_tag(&self, subject: &str, referrers: &[Value]) -> Result<()> {
        let tag = referrers_tag(subject);
        let existing = self.get_manifest(&tag, MEDIA_TYPE_INDEX)?;
        let index = match &existing {
            None => serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_TYPE_INDEX,
                "manifests": [],
            }),
            Some(bytes) => {
                let v: Value = serde_json::from_slice(bytes).map_err(|_| {
                    self.session
                        .protocol(format!("the referrers tag {tag} is not JSON"))
                })?;
                if v.get("manifests").and_then(Value::as_array).is_none()
                    || v.get("mediaType").and_then(Value::as_str) != Some(MEDIA_TYPE_INDEX)
                {
                    return Err(self.session.protocol(format!(
                        "the tag {tag} of {} is not an OCI image index, so it cannot list referrers; delete or rename it",
                        self.repo.path
                    )));
                }
                v
            }
        };
        let index = with_referrers(index, referrers);
        let bytes = serde_json::to_vec(&index).expect("JSON");
        if existing.as_deref() == Some(bytes.as_slice()) {
            return Ok(());
        }
        let node = Node {
            digest: crate::oci::image::sha256_digest(&bytes),
            media_type: MEDIA_TYPE_INDEX.to_string(),
            bytes: Some(bytes),
        };
        self.put_manifest(&tag, &node)?;
        Ok(())
    }

    /// The digest the tag points at now, if any.
    fn remote_digest(&self, reference: &str, media_type: &str) -> Result<Option<String>> {
        let url = self
            .session
            .url(&format!("/v2/{}/manifests/{reference}", self.repo.path));
        let what = format!("read {}:{reference}", self.repo.path);
        let accept = format!("{media_type}, {}", accept_all());
        let resp = self
            .session
            .send("HEAD", &url, &[("Accept", &accept)], &Body::Empty, &what)?;
        match resp.status() {
            200 => Ok(resp.header("docker-content-digest").map(str::to_string)),
            404 => Ok(None),
            _ => Err(self.session.unexpected("HEAD", &url, resp, &what)),
        }
    }
}

/// `PUT` manifest `bytes` of `media_type` at `reference` (tag or digest)
/// of the repository `path`: returns its digest (checked against what the
/// registry reports) and whether the registry answered with `OCI-Subject`
/// (it indexes referrers itself).
pub(crate) fn put_manifest(
    session: &Session,
    path: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<(String, bool)> {
    let digest = crate::oci::image::sha256_digest(bytes);
    let url = session.url(&format!("/v2/{}/manifests/{reference}", path));
    let what = format!("push the manifest to {}:{reference}", path);
    let resp = session.send(
        "PUT",
        &url,
        &[("Content-Type", media_type)],
        &Body::Bytes(bytes),
        &what,
    )?;
    if resp.status() != 201 {
        return Err(session.unexpected("PUT", &url, resp, &what));
    }
    let indexed = resp.header("oci-subject").is_some();
    match resp.header("docker-content-digest") {
        Some(d) if d != digest => Err(session.protocol(format!(
            "the registry reports the manifest as {d}, but its bytes are {}; it changed the manifest, so the digest dynpack printed would not be pullable",
            digest
        ))),
        _ => Ok((digest, indexed)),
    }
}

/// `GET` a manifest of the repository `path` by tag or digest: `None` on
/// 404, else its bytes.
pub(crate) fn get_manifest(
    session: &Session,
    path: &str,
    reference: &str,
    accept: &str,
) -> Result<Option<Vec<u8>>> {
    let url = session.url(&format!("/v2/{}/manifests/{reference}", path));
    let what = format!("read {}:{reference}", path);
    let resp = session.send("GET", &url, &[("Accept", accept)], &Body::Empty, &what)?;
    match resp.status() {
        200 => {}
        404 => return Ok(None),
        _ => return Err(session.unexpected("GET", &url, resp, &what)),
    }
    let (bytes, _) = crate::registry::remote::read_manifest_body(session, resp, &what)?;
    Ok(Some(bytes))
}

/// Opens an upload session in the repository `path` (`POST blobs/uploads/`):
/// its `Location`.
pub(crate) fn open_upload(session: &Session, path: &str, what: &str) -> Result<String> {
    let url = session.url(&format!("/v2/{path}/blobs/uploads/"));
    let resp = session.send("POST", &url, &[("Content-Length", "0")], &Body::Empty, what)?;
    if resp.status() != 202 {
        return Err(session.unexpected("POST", &url, resp, what));
    }
    location(session, &resp, "POST blobs/uploads/")
}

/// Uploads `bytes` as a blob of the repository `path` unless it is there
/// (`HEAD`, then `POST` + `PUT`). Returns whether it was sent.
pub(crate) fn put_blob_bytes(session: &Session, path: &str, bytes: &[u8]) -> Result<bool> {
    let digest = crate::oci::image::sha256_digest(bytes);
    let url = session.url(&format!("/v2/{path}/blobs/{digest}"));
    let what = format!("upload {digest} to {path}");
    let resp = session.send("HEAD", &url, &[], &Body::Empty, &what)?;
    match resp.status() {
        200 => return Ok(false),
        404 => {}
        _ => return Err(session.unexpected("HEAD", &url, resp, &what)),
    }
    let put = with_digest(&open_upload(session, path, &what)?, &digest);
    let resp = session.send(
        "PUT",
        &put,
        &[("Content-Type", "application/octet-stream")],
        &Body::Bytes(bytes),
        &what,
    )?;
    if resp.status() != 201 {
        return Err(session.unexpected("PUT", &put, resp, &what));
    }
    Ok(true)
}

/// The referrers fallback tag of a manifest: `sha256:<hex>` → `sha256-<hex>`.
pub fn referrers_tag(subject: &str) -> String {
    subject.replacen(':', "-", 1)
}

/// `index` with each of `referrers` listed once (matched by digest; an
/// existing entry is kept as it is), as a referrers list entry:
/// `mediaType`, `digest`, `size`, `artifactType`, `annotations`.
pub fn with_referrers(mut index: Value, referrers: &[Value]) -> Value {
    let list = index
        .get_mut("manifests")
        .and_then(Value::as_array_mut)
        .expect("an index");
    for r in referrers {
        if list.iter().any(|d| d.get("digest") == r.get("digest")) {
            continue;
        }
        let mut entry = serde_json::Map::new();
        for key in ["mediaType", "digest", "size", "artifactType", "annotations"] {
            if let Some(v) = r.get(key) {
                entry.insert(key.into(), v.clone());
            }
        }
        list.push(Value::Object(entry));
    }
    index
}

fn location_of(session: &Session, resp: &ureq::Response) -> Result<String> {
    location(session, resp, "PATCH")
}

/// Pushes one image of a layout or oci-archive to a registry.
pub fn push_image(opts: &PushOptions) -> Result<PushReport> {
    check_cancel(&opts.transport.cancel)?;
    let source = ImageSource::open(&opts.source)?;
    let selected = source.select(opts.ref_name.as_deref())?;
    let tag = match (&opts.tag, &selected.image_name) {
        (Some(t), _) => t.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) => {
            return Err(Error::InvalidOption {
                message: format!(
                    "{}: the image does not record the reference it was built for; pass the tag (e.g. quay.io/<org>/<image>:<version>)",
                    opts.source.display()
                ),
            })
        }
    };
    let target = ImageReference::parse(&tag)?;
    let repo = Repository::of(&target);

    let mut tree = Tree::default();
    collect(
        &source,
        &selected.digest,
        &selected.media_type,
        &mut tree,
        0,
    )?;
    let Tree {
        blobs, mut nodes, ..
    } = tree;
    let top = nodes.pop().expect("the top manifest");
    if let Some(pinned) = &target.digest {
        if *pinned != top.digest {
            return Err(Error::InvalidTag {
                tag: tag.clone(),
                reason: format!("it pins {pinned}, but the image is {}", top.digest),
            });
        }
    }

    // Mount sources: the options, then the other images of the same file on
    // the same registry.
    let mut mount_from: Vec<String> = Vec::new();
    let candidates = opts.mount_from.iter().cloned().chain(source.image_names());
    for name in candidates {
        let Ok(r) = ImageReference::parse(&name)
            .or_else(|_| ImageReference::parse(&format!("{name}:latest")))
        else {
            continue;
        };
        let other = Repository::of(&r);
        if other.registry == repo.registry
            && other.path != repo.path
            && !mount_from.contains(&other.path)
        {
            mount_from.push(other.path);
        }
    }
    let mut scopes = vec![format!("repository:{}:pull,push", repo.path)];
    scopes.extend(mount_from.iter().map(|p| format!("repository:{p}:pull")));

    let session = Session::connect(
        &repo.registry,
        &repo.path,
        scopes,
        &opts.auth,
        &opts.transport,
    )?;
    let reference_part = target
        .tag
        .clone()
        .or_else(|| target.digest.clone())
        .expect("a tag or a digest");
    let pusher = Pusher {
        session,
        source: &source,
        repo: repo.clone(),
        mount_from,
        streamed: opts.streamed.clone(),
        cancel: opts.transport.cancel.clone(),
    };
    let mut report = PushReport {
        tag: tag.clone(),
        repository: repo.full_name(),
        digest: top.digest.clone(),
        reference: format!("{}@{}", repo.full_name(), top.digest),
        up_to_date: false,
        uploaded: 0,
        mounted: 0,
        existing: 0,
        bytes_uploaded: 0,
        referrers: 0,
    };
    if pusher
        .remote_digest(&reference_part, &top.media_type)?
        .as_deref()
        == Some(top.digest.as_str())
    {
        report.up_to_date = true;
        report.existing = blobs.len() as u32;
        report.referrers = pusher.push_referrers(&top.digest, &mut report)?;
        return Ok(report);
    }
    pusher.send_blobs(&blobs, &mut report)?;
    for child in &nodes {
        if pusher
            .remote_digest(&child.digest, &child.media_type)?
            .is_none()
        {
            pusher.put_manifest(&child.digest, child)?;
        }
    }
    check_cancel(&opts.transport.cancel)?;
    report.digest = pusher.put_manifest(&reference_part, &top)?;
    report.referrers = pusher.push_referrers(&top.digest, &mut report)?;
    Ok(report)
}

/// Progress counter shared with a caller that reports bytes sent.
pub fn progress_counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

/// Runs `work` on each of `items`, `width` at a time on scoped threads,
/// and returns the outcomes in `items` order. After a failure no new item
/// starts: those are `None` (the caller returns the first failure).
pub fn each_in_parallel<T: Sync, O: Send>(
    items: &[T],
    width: usize,
    work: impl Fn(&T) -> Result<O> + Sync,
) -> Vec<Option<Result<O>>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let outcomes: Vec<Mutex<Option<Result<O>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..width.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let outcome = work(&items[i]);
                if outcome.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                *outcomes[i].lock().expect("outcome lock") = Some(outcome);
            });
        }
    });
    outcomes
        .into_iter()
        .map(|o| o.into_inner().expect("outcome lock"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn referrers_tag_index_keeps_entries_and_adds_ours_once() {
        assert_eq!(referrers_tag("sha256:ab12"), "sha256-ab12");
        let theirs = json!({"mediaType": MEDIA_TYPE_MANIFEST, "digest": "sha256:01", "size": 3});
        let ours = json!({"mediaType": MEDIA_TYPE_MANIFEST, "digest": "sha256:02", "size": 5,
            "artifactType": "application/vnd.cyclonedx+json",
            "annotations": {"org.opencontainers.image.created": "1970-01-01T00:00:00Z"},
            "platform": {"os": "linux"}});
        let index =
            json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_INDEX, "manifests": [theirs]});
        let once = with_referrers(index, std::slice::from_ref(&ours));
        let twice = with_referrers(once.clone(), &[ours]);
        assert_eq!(once, twice);
        let list = once["manifests"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["digest"], "sha256:01");
        assert_eq!(list[1]["artifactType"], "application/vnd.cyclonedx+json");
        assert!(list[1].get("platform").is_none());
    }
}
