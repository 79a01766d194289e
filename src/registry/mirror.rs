//! `dynpack mirror`: copies images by digest from one registry repository
//! to another, with what is attached to them (the cosign `.sig` tag and the
//! referrers), so a disconnected cluster gets the same bytes, the same
//! digests and signatures that verify with the same key.
//!
//! Per image: the tag is resolved to a digest (a pinned digest wins), the
//! manifest tree is walked (every manifest checked against its digest),
//! blobs are streamed source → destination (never held in memory) unless
//! the destination has them (`HEAD`) or can mount them (same registry),
//! and manifests are written last, children before the index, so an
//! interrupted run leaves no manifest naming a missing blob and a rerun
//! sends only what is missing.

use std::collections::HashSet;
use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::oci::image::{sha256_digest, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::pipeline::check_cancel;
use crate::registry::auth::AuthOptions;
use crate::registry::mirror_layout::{LayoutReader, LayoutWriter};
use crate::registry::push::{
    accept_all, each_in_parallel, get_manifest, location, open_upload, put_manifest, referrers_tag,
    with_digest, with_referrers,
};
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::remote::read_manifest_body;
use crate::registry::transport::{Body, Session, TransportOptions};

/// Images copied at the same time.
pub const PARALLEL_IMAGES: usize = 4;

/// Blobs of one image (with its signature and referrers) copied at the
/// same time: a signed plugin image with an SBOM has six, each a few round
/// trips, so they go in one wave.
pub const MIRROR_PARALLEL_BLOBS: usize = 6;

/// How to reach one side (source or destination).
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub auth: AuthOptions,
    pub transport: TransportOptions,
}

/// One image to copy.
#[derive(Debug, Clone)]
pub struct MirrorImage {
    /// `host/repo:tag`, `host/repo@sha256:…` or `host/repo:tag@sha256:…`.
    pub source: String,
    /// Where it goes: `host[:port]/path` (no tag).
    pub destination: String,
    /// The tag the config names beside a pinned digest (in a comment, as
    /// `dynpack package` writes it): checked, and reported when it moved.
    pub tag: Option<String>,
}

/// Options of [`mirror_images`].
#[derive(Debug, Clone, Default)]
pub struct MirrorOptions {
    pub images: Vec<MirrorImage>,
    pub src: Side,
    pub dest: Side,
    /// Resolve and list, copy nothing.
    pub dry_run: bool,
    /// Read the images from this mirror folder (the second hop) instead
    /// of their registries.
    pub from_dir: Option<std::path::PathBuf>,
    /// Write them into this mirror folder (the first hop) instead of a
    /// registry; `destination` then names the repository path kept there.
    pub to_dir: Option<std::path::PathBuf>,
}

/// What was done for one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageReport {
    pub source: String,
    /// The manifest digest copied.
    pub digest: String,
    /// `<destination>@<digest>`.
    pub reference: String,
    /// The source tag points at another digest than the pinned one.
    pub moved_tag: Option<String>,
    pub manifests: u32,
    pub blobs: u32,
    pub uploaded: u32,
    pub mounted: u32,
    pub existing: u32,
    pub bytes_uploaded: u64,
    /// Bytes of every blob of the image and its attachments.
    pub bytes_total: u64,
    /// The cosign signature tag was there and was copied.
    pub signature: bool,
    pub referrers: u32,
}

/// A manifest to write at the destination.
struct Node {
    reference: String,
    media_type: String,
    bytes: Vec<u8>,
}

/// One manifest tree to copy: the image, its signature or one referrer.
struct Tree {
    /// Manifests, children before parents.
    nodes: Vec<Node>,
    /// (digest, size) of every blob the manifests name.
    blobs: Vec<(String, u64)>,
    /// A tag the top manifest is also written at (the cosign `.sig` tag).
    tag: Option<String>,
}

/// The referrers of an image: their descriptors, the source's fallback
/// tag (its exact bytes) and their trees.
type Referrers = (Vec<Value>, Option<Vec<u8>>, Vec<Tree>);

/// What is attached to an image at the source.
struct Attachments {
    /// The cosign signature was there (it is `trees[0]`).
    signature: bool,
    /// The signature's tree, if any, then the referrers' trees.
    trees: Vec<Tree>,
    /// Where the referrers' trees start in `trees`.
    first_referrer: usize,
    /// The referrers' descriptors.
    list: Vec<Value>,
    /// The source's referrers fallback tag, its exact bytes.
    fallback: Option<Vec<u8>>,
}

/// `first`, then every blob of `trees` not listed before, in order.
fn union_of(trees: &[Tree], first: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut blobs = first.to_vec();
    for b in trees.iter().flat_map(|t| &t.blobs) {
        if !blobs.iter().any(|(d, _)| *d == b.0) {
            blobs.push(b.clone());
        }
    }
    blobs
}

fn media_type_of(doc: &Value, fallback: &str) -> String {
    doc.get("mediaType")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// Bytes read ahead per chunk, and chunks queued, by [`Prefetch`]: with
/// the burst being sent, at most 8.25 MiB per blob in flight.
const PREFETCH_CHUNK: usize = 256 << 10;
const PREFETCH_CHUNKS: usize = 16;

/// Reads a source blob on its own thread, in large chunks, ahead of the
/// upload, which takes them in bursts of [`BURST`] bytes (or the whole
/// blob, when smaller): a registry woken for every small read spends
/// several times the CPU of one taking bursts (see `stream.rs`), and
/// reading the source in lock-step with the upload halves the throughput
/// on a busy machine.
///
/// [`BURST`]: crate::registry::stream::BURST
struct Prefetch {
    chunks: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    burst: std::collections::VecDeque<Vec<u8>>,
    pos: usize,
    ended: bool,
    error: Option<std::io::Error>,
}

impl Prefetch {
    fn spawn(mut reader: Box<dyn Read + Send>) -> Prefetch {
        let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH_CHUNKS);
        // Ends when the blob is read, or at the next chunk once the upload
        // dropped its end (a failure, a cancel).
        std::thread::spawn(move || loop {
            let mut chunk = vec![0u8; PREFETCH_CHUNK];
            let mut n = 0;
            let result = loop {
                match reader.read(&mut chunk[n..]) {
                    Ok(0) => break Ok(()),
                    Ok(k) => {
                        n += k;
                        if n == chunk.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            chunk.truncate(n);
            let last = n < PREFETCH_CHUNK || result.is_err();
            let message = match result {
                Err(e) => Err(e),
                Ok(()) if n == 0 => break,
                Ok(()) => Ok(chunk),
            };
            if tx.send(message).is_err() || last {
                break;
            }
        });
        Prefetch {
            chunks: rx,
            burst: std::collections::VecDeque::new(),
            pos: 0,
            ended: false,
            error: None,
        }
    }

    /// Waits for the next burst: [`BURST`] bytes, or what is left.
    ///
    /// [`BURST`]: crate::registry::stream::BURST
    fn fill(&mut self) {
        let mut bytes = 0;
        while bytes < crate::registry::stream::BURST && !self.ended {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    bytes += chunk.len();
                    self.burst.push_back(chunk);
                }
                Ok(Err(e)) => {
                    self.error = Some(e);
                    self.ended = true;
                }
                Err(_) => self.ended = true, // the reader thread ended: end of the blob
            }
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.burst.is_empty() {
            self.fill();
        }
        let Some(front) = self.burst.front() else {
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(0),
            };
        };
        let n = buf.len().min(front.len() - self.pos);
        buf[..n].copy_from_slice(&front[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == front.len() {
            self.burst.pop_front();
            self.pos = 0;
        }
        Ok(n)
    }
}

/// Where images are read from.
enum Src {
    Registry(Box<Session>),
    Dir(Arc<LayoutReader>),
}

/// Where they go.
enum Dst {
    Registry(Box<Session>),
    Dir(LayoutWriter),
    /// A dry run touches no destination.
    Nothing,
}

struct Copier {
    src: Src,
    dst: Dst,
    src_repo: Repository,
    dst_repo: Repository,
    same_registry: bool,
    cancel: crate::pipeline::Cancel,
}

enum Outcome {
    Existing,
    Mounted,
    Uploaded(u64),
}

impl Copier {
    fn src_protocol(&self, reason: String) -> Error {
        match &self.src {
            Src::Registry(s) => s.protocol(reason),
            Src::Dir(d) => Error::Oci {
                path: d.root.clone(),
                reason,
            },
        }
    }

    fn dst_session(&self) -> &Session {
        match &self.dst {
            Dst::Registry(s) => s.as_ref(),
            _ => unreachable!("a registry destination"),
        }
    }

    /// A source manifest: `None` when absent; checked against `reference`
    /// when it is a digest.
    fn fetch(&self, reference: &str, accept: &str) -> Result<Option<(Vec<u8>, String)>> {
        let src = match &self.src {
            Src::Registry(s) => s,
            Src::Dir(d) => return d.manifest(&self.src_repo.path, reference),
        };
        let url = src.url(&format!("/v2/{}/manifests/{reference}", self.src_repo.path));
        let what = format!("read {}:{reference}", self.src_repo.full_name());
        let resp = src.send("GET", &url, &[("Accept", accept)], &Body::Empty, &what)?;
        match resp.status() {
            200 => {}
            404 => return Ok(None),
            _ => return Err(src.unexpected("GET", &url, resp, &what)),
        }
        let (bytes, content_type) = read_manifest_body(src, resp, &what)?;
        if reference.starts_with("sha256:") && sha256_digest(&bytes) != reference {
            return Err(src.protocol(format!(
                "{what}: the bytes received hash to {}, not the digest asked for",
                sha256_digest(&bytes)
            )));
        }
        Ok(Some((bytes, content_type)))
    }

    /// Walks the tree of the manifest `digest`: blobs (digest, size) and
    /// manifests, children before parents.
    /// `known`: the manifest's bytes and type when already read (by tag),
    /// so they are not read twice.
    fn collect(
        &self,
        digest: &str,
        fallback_type: &str,
        known: Option<(Vec<u8>, String)>,
        blobs: &mut Vec<(String, u64)>,
        nodes: &mut Vec<Node>,
        depth: u32,
    ) -> Result<()> {
        check_cancel(&self.cancel)?;
        let known = known.filter(|(b, _)| sha256_digest(b) == digest);
        let (bytes, content_type) = match known {
            Some(k) => k,
            None => self
                .fetch(digest, &accept_all())?
                .ok_or_else(|| Error::ImageNotFound {
                    what: format!("{}@{digest}", self.src_repo.full_name()),
                    reason: "the source has no such manifest".into(),
                })?,
        };
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.src_protocol(format!("the manifest {digest} is not JSON ({e})")))?;
        let fallback = if content_type.is_empty() {
            fallback_type
        } else {
            &content_type
        };
        let media_type = media_type_of(&doc, fallback);
        if let Some(children) = doc.get("manifests").and_then(Value::as_array) {
            if depth > 2 {
                return Err(self.src_protocol(format!("{digest}: indexes nested more than 2 deep")));
            }
            for child in children {
                let d = child.get("digest").and_then(Value::as_str).unwrap_or("");
                let m = media_type_of(child, MEDIA_TYPE_MANIFEST);
                self.collect(d, &m, None, blobs, nodes, depth + 1)?;
            }
        } else {
            let config = doc.get("config").into_iter();
            let layers = doc
                .get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for d in config.chain(layers) {
                let digest = d.get("digest").and_then(Value::as_str).unwrap_or("");
                let size = d.get("size").and_then(Value::as_u64).unwrap_or(0);
                if !digest.starts_with("sha256:") {
                    return Err(self.src_protocol(format!(
                        "a descriptor of {} names {digest:?}, not a sha256 digest",
                        self.src_repo.full_name()
                    )));
                }
                if !blobs.iter().any(|(b, _)| b == digest) {
                    blobs.push((digest.to_string(), size));
                }
            }
        }
        if !nodes.iter().any(|n| n.reference == digest) {
            nodes.push(Node {
                reference: digest.to_string(),
                media_type,
                bytes,
            });
        }
        Ok(())
    }

    fn dst_has_blob(&self, digest: &str) -> Result<bool> {
        if let Dst::Dir(w) = &self.dst {
            return w.has_blob(digest);
        }
        let dst = self.dst_session();
        let url = dst.url(&format!("/v2/{}/blobs/{digest}", self.dst_repo.path));
        let what = format!("check {digest} in {}", self.dst_repo.full_name());
        let resp = dst.send("HEAD", &url, &[], &Body::Empty, &what)?;
        match resp.status() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(dst.unexpected("HEAD", &url, resp, &what)),
        }
    }

    /// The digest of the destination's manifest at `reference`, if any.
    fn dst_manifest_digest(&self, reference: &str, media_type: &str) -> Result<Option<String>> {
        if let Dst::Dir(w) = &self.dst {
            return Ok(w
                .get_manifest(&self.dst_repo.path, reference)?
                .map(|b| sha256_digest(&b)));
        }
        let dst = self.dst_session();
        let url = dst.url(&format!("/v2/{}/manifests/{reference}", self.dst_repo.path));
        let what = format!("read {}:{reference}", self.dst_repo.full_name());
        let accept = format!("{media_type}, {}", accept_all());
        let resp = dst.send("HEAD", &url, &[("Accept", &accept)], &Body::Empty, &what)?;
        match resp.status() {
            200 => Ok(resp.header("docker-content-digest").map(str::to_string)),
            404 => Ok(None),
            _ => Err(dst.unexpected("HEAD", &url, resp, &what)),
        }
    }

    fn dst_get_manifest(&self, reference: &str, accept: &str) -> Result<Option<Vec<u8>>> {
        match &self.dst {
            Dst::Dir(w) => w.get_manifest(&self.dst_repo.path, reference),
            _ => get_manifest(self.dst_session(), &self.dst_repo.path, reference, accept),
        }
    }

    /// Writes a manifest; says whether the registry indexes its subject.
    fn dst_put_manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Result<bool> {
        match &self.dst {
            Dst::Dir(w) => {
                w.put_manifest(&self.dst_repo.path, reference, media_type, bytes)?;
                Ok(false)
            }
            _ => put_manifest(
                self.dst_session(),
                &self.dst_repo.path,
                reference,
                media_type,
                bytes,
            )
            .map(|(_, indexed)| indexed),
        }
    }

    /// A streaming reader of a source blob.
    fn src_blob(&self, digest: &str, size: u64) -> Result<Box<dyn Read + Send>> {
        let read_what = format!("read {}@{digest}", self.src_repo.full_name());
        let (reader, length): (Box<dyn Read + Send>, u64) = match &self.src {
            Src::Dir(d) => d.blob(digest)?,
            Src::Registry(src) => {
                let src_url = src.url(&format!("/v2/{}/blobs/{digest}", self.src_repo.path));
                let resp = src.send("GET", &src_url, &[], &Body::Empty, &read_what)?;
                if resp.status() != 200 {
                    return Err(src.unexpected("GET", &src_url, resp, &read_what));
                }
                let length = resp
                    .header("content-length")
                    .and_then(|l| l.parse::<u64>().ok())
                    .unwrap_or(size);
                (Box::new(resp.into_reader()), length)
            }
        };
        if length != size {
            return Err(self.src_protocol(format!(
                "{read_what}: {length} bytes, the descriptor says {size}"
            )));
        }
        Ok(Box::new(Prefetch::spawn(Box::new(reader.take(size)))))
    }

    /// Copies one blob: skipped when present, mounted within one registry,
    /// else streamed from the source into one `PUT`.
    /// A stream cannot be replayed, so a copy cut by the network (the
    /// transport's own retry refuses to resend it) starts over once, from
    /// a new `GET` and a new upload session.
    fn blob(&self, digest: &str, size: u64) -> Result<Outcome> {
        match self.blob_once(digest, size) {
            Err(Error::RegistryProtocol { .. } | Error::RegistryUnreachable { .. })
                if check_cancel(&self.cancel).is_ok() =>
            {
                self.blob_once(digest, size)
            }
            other => other,
        }
    }

    fn blob_once(&self, digest: &str, size: u64) -> Result<Outcome> {
        check_cancel(&self.cancel)?;
        if self.dst_has_blob(digest)? {
            return Ok(Outcome::Existing);
        }
        if let Dst::Dir(w) = &self.dst {
            let n = w.put_blob(digest, self.src_blob(digest, size)?)?;
            return Ok(Outcome::Uploaded(n));
        }
        let dst = self.dst_session();
        let what = format!("copy {digest} to {}", self.dst_repo.full_name());
        let mut pending = None;
        if self.same_registry {
            let url = dst.url(&format!(
                "/v2/{}/blobs/uploads/?mount={}&from={}",
                self.dst_repo.path,
                digest.replace(':', "%3A"),
                self.src_repo.path
            ));
            let resp = dst.send(
                "POST",
                &url,
                &[("Content-Length", "0")],
                &Body::Empty,
                &what,
            )?;
            match resp.status() {
                201 => return Ok(Outcome::Mounted),
                202 => pending = Some(location(dst, &resp, "POST blobs/uploads/")?),
                _ => return Err(dst.unexpected("POST", &url, resp, &what)),
            }
        }
        // The source's GET goes beside the POST: one round trip less.
        let (upload, reader) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| self.src_blob(digest, size));
            let upload = match pending {
                Some(l) => Ok(l),
                None => open_upload(dst, &self.dst_repo.path, &what),
            };
            (upload, reader.join().expect("source reader thread"))
        });
        let upload = upload?;
        let slot = Mutex::new(Some(reader?));
        let put = with_digest(&upload, digest);
        let len = size.to_string();
        let resp = dst.send(
            "PUT",
            &put,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", &len),
            ],
            &Body::Once(&slot),
            &what,
        )?;
        if resp.status() != 201 {
            return Err(dst.unexpected("PUT", &put, resp, &what));
        }
        if let Some(d) = resp.header("docker-content-digest") {
            if d != digest {
                return Err(dst.protocol(format!("the registry stored the blob {digest} as {d}")));
            }
        }
        Ok(Outcome::Uploaded(size))
    }

    /// The manifests and blobs of the tree of `digest` at the source.
    fn tree(
        &self,
        digest: &str,
        fallback_type: &str,
        known: Option<(Vec<u8>, String)>,
        tag: Option<String>,
    ) -> Result<Tree> {
        let mut tree = Tree {
            nodes: Vec::new(),
            blobs: Vec::new(),
            tag,
        };
        self.collect(
            digest,
            fallback_type,
            known,
            &mut tree.blobs,
            &mut tree.nodes,
            0,
        )?;
        Ok(tree)
    }

    /// Copies `blobs`, [`MIRROR_PARALLEL_BLOBS`] at a time (the small ones go
    /// beside the large layer instead of after it), counting them in
    /// `report`. Returns the digests sent. After a failure no new blob
    /// starts; the first failure in `blobs` order is returned.
    fn copy_blobs(
        &self,
        blobs: &[(String, u64)],
        report: &mut ImageReport,
    ) -> Result<HashSet<String>> {
        let outcomes = each_in_parallel(blobs, MIRROR_PARALLEL_BLOBS, |(digest, size)| {
            self.blob(digest, *size)
        });
        let mut sent = HashSet::new();
        for ((digest, _), outcome) in blobs.iter().zip(outcomes) {
            let Some(outcome) = outcome else {
                continue; // not started after a failure, which is returned below
            };
            match outcome? {
                Outcome::Existing => report.existing += 1,
                Outcome::Mounted => report.mounted += 1,
                Outcome::Uploaded(n) => {
                    report.uploaded += 1;
                    report.bytes_uploaded += n;
                    sent.insert(digest.clone());
                }
            }
        }
        Ok(sent)
    }

    /// Writes the manifests of `tree` (children first; the top one also at
    /// its tag). Returns whether the destination indexed every subject
    /// itself. A manifest already there is not written again; when a blob
    /// of the tree had to be sent, none of its manifests can be there, so
    /// the check is skipped.
    fn write_tree(&self, tree: &Tree, sent: &HashSet<String>) -> Result<bool> {
        let fresh = tree.blobs.iter().any(|(d, _)| sent.contains(d));
        // Says whether the registry indexed the manifest's subject itself.
        let write = |node: &Node, reference: &str| -> Result<bool> {
            let digest = sha256_digest(&node.bytes);
            if !fresh
                && self
                    .dst_manifest_digest(reference, &node.media_type)?
                    .as_deref()
                    == Some(digest.as_str())
            {
                // Already there: whether the registry indexed it is unknown.
                return Ok(false);
            }
            self.dst_put_manifest(reference, &node.media_type, &node.bytes)
        };
        let mut indexed = true;
        for (i, node) in tree.nodes.iter().enumerate() {
            check_cancel(&self.cancel)?;
            match tree.tag.as_deref().filter(|_| i + 1 == tree.nodes.len()) {
                // The tag (the cosign `.sig` tag) beside the digest.
                Some(tag) => {
                    let (by_digest, by_tag) = std::thread::scope(|scope| {
                        let by_tag = scope.spawn(|| write(node, tag));
                        let by_digest = write(node, &node.reference);
                        (by_digest, by_tag.join().expect("manifest tag thread"))
                    });
                    indexed &= by_digest?;
                    indexed &= by_tag?;
                }
                None => indexed &= write(node, &node.reference)?,
            }
        }
        Ok(indexed)
    }

    /// The referrers of `digest` at the source: the referrers API, else the
    /// fallback tag. Returns the list and the fallback tag's exact bytes.
    fn referrers(&self, digest: &str) -> Result<(Vec<Value>, Option<Vec<u8>>)> {
        let tag = referrers_tag(digest);
        // The API and the fallback tag are asked at the same time.
        let (api_list, fallback) = std::thread::scope(|scope| {
            let fallback = scope.spawn(|| self.fetch(&tag, MEDIA_TYPE_INDEX));
            let api_list = self.referrers_api(digest);
            (api_list, fallback.join().expect("referrers tag thread"))
        });
        let (api_list, fallback) = (api_list?, fallback?.map(|(b, _)| b));
        if let Some(list) = api_list {
            return Ok((list, fallback));
        }
        let list = match &fallback {
            Some(bytes) => serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v.get("manifests").and_then(Value::as_array).cloned())
                .ok_or_else(|| self.src_protocol(format!("the tag {tag} is not an image index")))?,
            None => Vec::new(),
        };
        Ok((list, fallback))
    }

    /// The referrers of `digest` by the source's referrers API, when it has one.
    fn referrers_api(&self, digest: &str) -> Result<Option<Vec<Value>>> {
        let mut api_list = None;
        if let Src::Registry(src) = &self.src {
            let url = src.url(&format!("/v2/{}/referrers/{digest}", self.src_repo.path));
            let what = format!("list the referrers of {}", self.src_repo.full_name());
            let resp = src.send(
                "GET",
                &url,
                &[("Accept", MEDIA_TYPE_INDEX)],
                &Body::Empty,
                &what,
            )?;
            if resp.status() == 200
                && resp
                    .header("content-type")
                    .is_some_and(|t| t.starts_with(MEDIA_TYPE_INDEX))
            {
                let (bytes, _) = read_manifest_body(src, resp, &what)?;
                let v: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| src.protocol(format!("{what}: not JSON ({e})")))?;
                api_list = v.get("manifests").and_then(Value::as_array).cloned();
            }
        }
        Ok(api_list)
    }

    /// Copies the image `digest` and what is attached to it. The image's
    /// tree goes at once (its blobs, then its manifests), while its
    /// signature's and referrers' trees are read and copied beside it: they
    /// are small and are done while the layers still upload. `known`: the
    /// image manifest's bytes and type, when read by tag already.
    fn copy(
        &self,
        digest: &str,
        known: Option<(Vec<u8>, String)>,
        report: &mut ImageReport,
        dry_run: bool,
    ) -> Result<()> {
        let (image_done, attached_done) = std::thread::scope(|scope| {
            let attached_job = scope.spawn(|| -> Result<(Attachments, ImageReport)> {
                let attached = self.attachments(digest)?;
                let mut copies = ImageReport::default();
                if !dry_run {
                    let sent = self.copy_blobs(&union_of(&attached.trees, &[]), &mut copies)?;
                    self.write_attachments(digest, &attached, &sent)?;
                }
                Ok((attached, copies))
            });
            let image_done = self
                .tree(digest, MEDIA_TYPE_MANIFEST, known, None)
                .and_then(|tree| {
                    let mut copies = ImageReport::default();
                    if !dry_run {
                        let sent = self.copy_blobs(&tree.blobs, &mut copies)?;
                        self.write_tree(&tree, &sent)?;
                    }
                    Ok((tree, copies))
                });
            (image_done, attached_job.join().expect("attachments thread"))
        });
        let (image, image_copies) = image_done?;
        let (attached, attached_copies) = attached_done?;
        let blobs = union_of(&attached.trees, &image.blobs);
        report.blobs += blobs.len() as u32;
        report.bytes_total += blobs.iter().map(|b| b.1).sum::<u64>();
        report.manifests += image.nodes.len() as u32
            + attached
                .trees
                .iter()
                .map(|t| t.nodes.len() as u32)
                .sum::<u32>();
        report.signature = attached.signature;
        report.referrers = attached.list.len() as u32;
        for copies in [image_copies, attached_copies] {
            report.uploaded += copies.uploaded;
            report.mounted += copies.mounted;
            report.existing += copies.existing;
            report.bytes_uploaded += copies.bytes_uploaded;
        }
        Ok(())
    }

    /// What is attached to the image `digest` at the source: its cosign
    /// signature (the `.sig` tag, copied as it is; absent is noted, not an
    /// error) and its referrers (SBOMs, attestations; each copied by
    /// digest, then the fallback tag for registries that do not index
    /// them), read at the same time.
    fn attachments(&self, digest: &str) -> Result<Attachments> {
        let sig_tag = format!("{}.sig", referrers_tag(digest));
        let (signature, referrers) = std::thread::scope(|scope| {
            let signature = scope.spawn(|| -> Result<Option<Tree>> {
                let accept = format!(
                    "{MEDIA_TYPE_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json"
                );
                match self.fetch(&sig_tag, &accept)? {
                    Some((bytes, content_type)) => {
                        let d = sha256_digest(&bytes);
                        let t = content_type.clone();
                        Ok(Some(self.tree(
                            &d,
                            &t,
                            Some((bytes, content_type)),
                            Some(sig_tag.clone()),
                        )?))
                    }
                    None => Ok(None),
                }
            });
            let referrers = (|| -> Result<Referrers> {
                let (list, fallback) = self.referrers(digest)?;
                let trees = list
                    .iter()
                    .map(|r| {
                        let d = r.get("digest").and_then(Value::as_str).unwrap_or("");
                        self.tree(d, &media_type_of(r, MEDIA_TYPE_MANIFEST), None, None)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((list, fallback, trees))
            })();
            (signature.join().expect("signature thread"), referrers)
        });
        let signature = signature?;
        let (list, fallback, referrer_trees) = referrers?;
        let mut trees: Vec<Tree> = signature.into_iter().collect();
        let first_referrer = trees.len();
        trees.extend(referrer_trees);
        Ok(Attachments {
            signature: first_referrer == 1,
            trees,
            first_referrer,
            list,
            fallback,
        })
    }

    /// Writes the manifests of the signature's and referrers' trees, their
    /// blobs being at the destination (`sent`: those just sent), then the
    /// referrers tag of `digest` when the destination does not index them
    /// itself.
    fn write_attachments(
        &self,
        digest: &str,
        attached: &Attachments,
        sent: &HashSet<String>,
    ) -> Result<()> {
        let Attachments {
            trees,
            first_referrer,
            list,
            fallback,
            ..
        } = attached;
        // The trees' manifests at the same time (each tree children first),
        // and the destination's referrers tag read meanwhile.
        let tag = referrers_tag(digest);
        let (written, existing) = std::thread::scope(|scope| {
            let writers: Vec<_> = trees
                .iter()
                .map(|tree| scope.spawn(|| self.write_tree(tree, sent)))
                .collect();
            let existing = if list.is_empty() {
                Ok(None)
            } else {
                self.dst_get_manifest(&tag, MEDIA_TYPE_INDEX)
            };
            let written: Vec<Result<bool>> = writers
                .into_iter()
                .map(|w| w.join().expect("manifest thread"))
                .collect();
            (written, existing)
        });
        let mut indexed = true;
        for (i, w) in written.into_iter().enumerate() {
            let tree_indexed = w?;
            if i >= *first_referrer {
                indexed &= tree_indexed;
            }
        }
        if list.is_empty() {
            return Ok(());
        }
        let existing = existing?;
        let bytes = match (&existing, fallback) {
            // The source's own tag, byte for byte, when the mirror has none.
            (None, Some(b)) => b.clone(),
            // The destination indexes referrers itself (OCI-Subject).
            (None, None) if indexed => return Ok(()),
            (existing, _) => {
                let base: Value = match existing {
                    Some(b) => serde_json::from_slice(b).map_err(|_| Error::RegistryProtocol {
                        host: self.dst_repo.registry.clone(),
                        reason: format!("the referrers tag {tag} is not JSON"),
                    })?,
                    None => serde_json::json!({
                        "schemaVersion": 2,
                        "mediaType": MEDIA_TYPE_INDEX,
                        "manifests": [],
                    }),
                };
                if base.get("manifests").and_then(Value::as_array).is_none() {
                    return Err(Error::RegistryProtocol {
                        host: self.dst_repo.registry.clone(),
                        reason: format!(
                            "the tag {tag} of {} is not an image index; delete or rename it",
                            self.dst_repo.full_name()
                        ),
                    });
                }
                serde_json::to_vec(&with_referrers(base, list)).expect("JSON")
            }
        };
        if existing.as_deref() != Some(bytes.as_slice()) {
            self.dst_put_manifest(&tag, MEDIA_TYPE_INDEX, &bytes)?;
        }
        Ok(())
    }
}

/// Copies one image (and its signature and referrers) as [`mirror_images`]
/// does; `from`/`to` are the mirror folders of a two-hop run.
fn mirror_image(
    image: &MirrorImage,
    opts: &MirrorOptions,
    from: Option<&Arc<LayoutReader>>,
    to: Option<&LayoutWriter>,
) -> Result<ImageReport> {
    check_cancel(&opts.dest.transport.cancel)?;
    let source = ImageReference::parse(&image.source)?;
    let src_repo = Repository::of(&source);
    let dst_ref = ImageReference::parse(&format!("{}:mirror", image.destination))?;
    let dst_repo = Repository::of(&dst_ref);
    let same_registry = from.is_none() && to.is_none() && src_repo.registry == dst_repo.registry;
    let mut scopes = vec![format!("repository:{}:pull,push", dst_repo.path)];
    if same_registry {
        scopes.push(format!("repository:{}:pull", src_repo.path));
    }
    // Both sides are reached (ping, token) at the same time.
    let (src, dst) = std::thread::scope(|scope| {
        let src = scope.spawn(|| -> Result<Src> {
            Ok(match from {
                Some(reader) => Src::Dir(reader.clone()),
                None => Src::Registry(Box::new(Session::connect(
                    &src_repo.registry,
                    &src_repo.path,
                    vec![format!("repository:{}:pull", src_repo.path)],
                    &opts.src.auth,
                    &opts.src.transport,
                )?)),
            })
        });
        let dst = match to {
            _ if opts.dry_run => Ok(Dst::Nothing),
            Some(writer) => Ok(Dst::Dir(writer.clone())),
            None => Session::connect(
                &dst_repo.registry,
                &dst_repo.path,
                scopes,
                &opts.dest.auth,
                &opts.dest.transport,
            )
            .map(|s| Dst::Registry(Box::new(s))),
        };
        (src.join().expect("source session thread"), dst)
    });
    let (src, dst) = (src?, dst?);
    let copier = Copier {
        src,
        dst,
        src_repo,
        dst_repo: dst_repo.clone(),
        same_registry,
        cancel: opts.dest.transport.cancel.clone(),
    };
    let mut report = ImageReport {
        source: image.source.clone(),
        ..Default::default()
    };
    let tag = source.tag.clone().or_else(|| image.tag.clone());
    let tagged = match &tag {
        Some(t) => copier
            .fetch(t, &accept_all())?
            .map(|(b, m)| (sha256_digest(&b), (b, m))),
        None => None,
    };
    let (tagged, known) = match tagged {
        Some((d, k)) => (Some(d), Some(k)),
        None => (None, None),
    };
    let digest = match (&source.digest, tagged) {
        (Some(pinned), Some(now)) => {
            if *pinned != now {
                report.moved_tag = Some(format!(
                    "{}:{} now points at {now}; the digest the config pins ({pinned}) was copied",
                    copier.src_repo.full_name(),
                    tag.as_deref().unwrap_or("")
                ));
            }
            pinned.clone()
        }
        (Some(pinned), None) => pinned.clone(),
        (None, Some(now)) => now,
        (None, None) => {
            return Err(Error::ImageNotFound {
                what: image.source.clone(),
                reason: "the source registry has no such tag".into(),
            })
        }
    };
    report.digest = digest.clone();
    report.reference = format!("{}@{digest}", dst_repo.full_name());
    copier.copy(&digest, known, &mut report, opts.dry_run)?;
    Ok(report)
}

/// Copies every image of `opts.images`, [`PARALLEL_IMAGES`] at a time.
/// Returns one result per image, in order: a failed image does not stop
/// the others (a rerun copies only what is missing).
pub fn mirror_images(opts: &MirrorOptions) -> Result<Vec<Result<ImageReport>>> {
    let from = match &opts.from_dir {
        Some(d) => Some(Arc::new(LayoutReader::open(d)?)),
        None => None,
    };
    let to = match &opts.to_dir {
        Some(d) if !opts.dry_run => Some(LayoutWriter::open(d)?),
        _ => None,
    };
    // A failed image does not stop the others: each outcome is an `Ok`.
    let results = each_in_parallel(&opts.images, PARALLEL_IMAGES, |image| {
        Ok(mirror_image(image, opts, from.as_ref(), to.as_ref()))
    });
    // The index lists what was written, also after a failure (a rerun
    // skips those blobs anyway).
    if let Some(w) = &to {
        w.finish()?;
    }
    Ok(results
        .into_iter()
        .map(|o| o.expect("never stopped").expect("never fails"))
        .collect())
}
