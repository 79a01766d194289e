//! A blob uploaded while its bytes are still being produced. `dynpack
//! package --push` feeds the image layer to a [`StreamedUpload`] as it is
//! compressed, so the registry receives it during the build and the push
//! that follows finds it there (`HEAD`) instead of sending it afterwards.
//!
//! Best effort, never the last word: any failure, a tag that already
//! exists (most likely this very image again, which the push completes
//! without sending a byte; unless it holds another source digest, the
//! image of a changed plugin, whose layer is new), or a registry not
//! ready by the end of the build leaves the blob to the push. The upload
//! is committed (`PUT ?digest=`) only once every byte was sent, under the
//! digest the finished layer got, which the registry checks against what
//! it received.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::gzip::Sink;
use crate::oci::{self, LayerTap, OciOptions, OciReport};
use crate::pipeline::check_cancel;
use crate::registry::auth::AuthOptions;
use crate::registry::push::{accept_all, location, open_upload, with_digest};
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::remote::read_manifest_body;
use crate::registry::transport::{Body, Session, TransportOptions};
use crate::source_digest::{source_digest_of, ANNOTATION};

/// Bytes held while the registry does not take them yet (the connection
/// and the token come first); past this the upload is given up rather
/// than the build slowed. Once bytes flow, a full buffer makes the build
/// wait for the network instead, since the push would wait for it anyway.
pub const BUFFER_LIMIT: usize = 64 << 20;

/// Bytes the body waits for before it sends: a registry woken for every
/// compressed block spends several times the CPU of one taking bursts.
pub const BURST: usize = 4 << 20;

/// How long a finished build waits for a registry still connecting (the
/// push would have to connect too); past this the layer is left to the push.
pub const READY_WAIT: Duration = Duration::from_secs(3);

/// What became of a [`StreamedUpload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOutcome {
    /// The blob is in the registry, committed under the layer's digest.
    pub uploaded: bool,
    /// Bytes fed to the upload.
    pub bytes: u64,
    /// Why the blob was left to the push (`None` when uploaded).
    pub note: Option<String>,
}

/// The bytes between the build (producer) and the `PATCH` body (consumer).
#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    fed: u64,
    /// The registry takes bytes: a full queue makes the producer wait.
    flowing: bool,
    /// The producer is done: `Some(true)` with every byte, `Some(false)`
    /// when the build failed (the body then fails too).
    end: Option<bool>,
    /// The digest of every byte fed, once the layer is complete.
    digest: Option<String>,
    /// Why the upload was given up; bytes are then dropped.
    given_up: Option<String>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn give_up(&self, why: String) {
        let mut q = self.lock();
        if q.given_up.is_none() {
            q.given_up = Some(why);
        }
        q.chunks.clear();
        q.bytes = 0;
        self.changed.notify_all();
    }
}

/// The `PATCH` body: the queued bytes until the producer is done, taken in
/// bursts of at least [`BURST`] bytes.
struct QueueReader {
    shared: Arc<Shared>,
    current: Vec<u8>,
    pos: usize,
    /// Within a burst: take what is queued until the queue is empty.
    draining: bool,
}

impl Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.current.len() {
            let mut q = self.shared.lock();
            loop {
                if q.given_up.is_some() || q.end == Some(false) {
                    return Err(std::io::Error::other("the layer was not finished"));
                }
                if self.draining || q.bytes >= BURST || q.end == Some(true) {
                    if let Some(chunk) = q.chunks.pop_front() {
                        q.bytes -= chunk.len();
                        self.shared.changed.notify_all();
                        self.current = chunk;
                        self.pos = 0;
                        self.draining = true;
                        break;
                    }
                    self.draining = false;
                }
                if q.end == Some(true) {
                    return Ok(0);
                }
                q = self
                    .shared
                    .changed
                    .wait(q)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// An upload session whose `PATCH` has received every byte.
struct Sent {
    session: Session,
    location: String,
    what: String,
}

/// A blob upload fed with [`Sink::write`] while its bytes are produced,
/// then committed by [`StreamedUpload::finish`]. Dropped unfinished (the
/// build failed), it fails its `PATCH`, so nothing is committed.
pub struct StreamedUpload {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<std::result::Result<(), String>>>,
    cancel: crate::pipeline::Cancel,
}

impl StreamedUpload {
    /// Starts connecting to the registry of `tag` on a thread of its own.
    /// `source`: the source digest the image will carry
    /// ([`crate::source_digest::ANNOTATION`]), if any.
    pub fn start(
        tag: &str,
        source: Option<String>,
        auth: AuthOptions,
        transport: TransportOptions,
    ) -> StreamedUpload {
        let shared = Arc::new(Shared::default());
        let cancel = transport.cancel.clone();
        let worker = {
            let shared = shared.clone();
            let tag = tag.to_string();
            std::thread::Builder::new()
                .name("dynpack-layer-upload".into())
                .spawn(move || {
                    let done = send(&tag, source.as_deref(), &auth, &transport, &shared)
                        .and_then(|sent| commit(&sent, &shared))
                        .map_err(|e| e.to_string());
                    if let Err(why) = &done {
                        shared.give_up(why.clone());
                    }
                    done
                })
        };
        let worker = match worker {
            Ok(w) => Some(w),
            Err(e) => {
                shared.give_up(format!("no upload thread ({e})"));
                None
            }
        };
        StreamedUpload {
            shared,
            worker,
            cancel,
        }
    }

    /// Waits for the blob to be committed (after [`LayerTap::complete`]),
    /// and up to [`READY_WAIT`] for a registry still connecting.
    pub fn finish(mut self) -> StreamOutcome {
        let fed = {
            let deadline = Instant::now() + READY_WAIT;
            let mut q = self.shared.lock();
            if q.end.is_none() {
                q.given_up = Some("the layer was not completed".into());
            }
            while !q.flowing && q.given_up.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || check_cancel(&self.cancel).is_err() {
                    q.given_up = Some(format!(
                        "the registry was not ready {} s after the layer",
                        READY_WAIT.as_secs()
                    ));
                    self.shared.changed.notify_all();
                    break;
                }
                let slice = left.min(Duration::from_millis(50));
                q = self
                    .shared
                    .changed
                    .wait_timeout(q, slice)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            q.fed
        };
        let outcome = |note: Option<String>| StreamOutcome {
            uploaded: note.is_none(),
            bytes: fed,
            note,
        };
        if let Some(why) = self.shared.lock().given_up.clone() {
            return outcome(Some(why)); // the worker ends by itself
        }
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(Ok(()))) => outcome(None),
            Some(Ok(Err(why))) => outcome(Some(why)),
            _ => outcome(Some("the upload thread failed".into())),
        }
    }
}

impl LayerTap for StreamedUpload {
    /// Ends the body; the worker commits the blob as `digest` while the
    /// build writes the rest of the image.
    fn complete(&mut self, digest: &str) {
        let mut q = self.shared.lock();
        q.digest = Some(digest.to_string());
        q.end = Some(true);
        self.shared.changed.notify_all();
    }
}

impl Sink for StreamedUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut q = self.shared.lock();
        loop {
            if q.given_up.is_some() {
                return Ok(());
            }
            if q.bytes == 0 || q.bytes + bytes.len() <= BUFFER_LIMIT {
                break;
            }
            if !q.flowing {
                drop(q);
                self.shared.give_up(format!(
                    "the registry took no bytes before {} MiB of the layer were ready",
                    BUFFER_LIMIT >> 20
                ));
                return Ok(());
            }
            check_cancel(&self.cancel)?;
            q = self
                .shared
                .changed
                .wait_timeout(q, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        q.chunks.push_back(bytes.to_vec());
        q.bytes += bytes.len();
        q.fed += bytes.len() as u64;
        self.shared.changed.notify_all();
        Ok(())
    }
}

impl Drop for StreamedUpload {
    /// After [`StreamedUpload::finish`], nothing is left to do; before it,
    /// the build failed: the body fails and nothing is committed.
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        if q.end.is_none() {
            q.end = Some(false);
        }
        if q.given_up.is_none() {
            q.given_up = Some("the build did not finish".into());
        }
        self.shared.changed.notify_all();
    }
}

/// The worker: connect, check the tag, open an upload session and `PATCH`
/// the queue into it until the producer is done.
fn send(
    tag: &str,
    source: Option<&str>,
    auth: &AuthOptions,
    transport: &TransportOptions,
    shared: &Arc<Shared>,
) -> Result<Sent> {
    let reference = ImageReference::parse(tag)?;
    let repo = Repository::of(&reference);
    let scopes = vec![format!("repository:{}:pull,push", repo.path)];
    let session = Session::connect(&repo.registry, &repo.path, scopes, auth, transport)?;
    let what = format!("upload the layer to {}", repo.path);
    let part = reference
        .tag
        .clone()
        .or_else(|| reference.digest.clone())
        .expect("a tag or a digest");
    let url = session.url(&format!("/v2/{}/manifests/{part}", repo.path));
    let resp = session.send(
        "GET",
        &url,
        &[("Accept", &accept_all())],
        &Body::Empty,
        &what,
    )?;
    match resp.status() {
        404 => {}
        // The tag holds an image of another source (`package --push` of a
        // changed plugin): its layer is new, send it now.
        200 if source.is_some() && other_source(&session, resp, source, &what) => {}
        status => {
            return Err(session.protocol(format!(
                "{}:{part} answered {status} (the push compares the digests)",
                repo.path
            )))
        }
    }
    let upload = open_upload(&session, &repo.path, &what)?;
    {
        let mut q = shared.lock();
        if let Some(why) = &q.given_up {
            let why = why.clone();
            drop(q);
            let _ = session.send("DELETE", &upload, &[], &Body::Empty, &what);
            return Err(session.protocol(why));
        }
        q.flowing = true;
    }
    let reader: Box<dyn Read + Send> = Box::new(QueueReader {
        shared: shared.clone(),
        current: Vec::new(),
        pos: 0,
        draining: false,
    });
    let body = Mutex::new(Some(reader));
    let octet = ("Content-Type", "application/octet-stream");
    let patched = session.send("PATCH", &upload, &[octet], &Body::Once(&body), &what);
    let resp = match patched {
        Ok(r) if r.status() == 202 => r,
        other => {
            let _ = session.send("DELETE", &upload, &[], &Body::Empty, &what);
            return Err(match other {
                Ok(r) => session.unexpected("PATCH", &upload, r, &what),
                Err(e) => e,
            });
        }
    };
    let location = location(&session, &resp, "PATCH")?;
    Ok(Sent {
        session,
        location,
        what,
    })
}

/// Whether the manifest of `resp` carries a source digest other than
/// `source`; false when it carries none (another tool's image: its layer
/// may well be this one).
fn other_source(session: &Session, resp: ureq::Response, source: Option<&str>, what: &str) -> bool {
    let Ok((bytes, _)) = read_manifest_body(session, resp, what) else {
        return false;
    };
    let remote = source_digest_of(&bytes);
    remote.is_some_and(|r| Some(r.as_str()) != source)
}

/// `PUT ?digest=` with the digest of the complete layer: the registry
/// checks the bytes it received against it.
fn commit(sent: &Sent, shared: &Shared) -> Result<()> {
    let (digest, given_up) = {
        let q = shared.lock();
        (q.digest.clone(), q.given_up.clone())
    };
    let Some(digest) = digest.filter(|_| given_up.is_none()) else {
        let _ = sent
            .session
            .send("DELETE", &sent.location, &[], &Body::Empty, &sent.what);
        let why = given_up.unwrap_or_else(|| "the layer was not complete".into());
        return Err(sent.session.protocol(why));
    };
    let digest = digest.as_str();
    let url = with_digest(&sent.location, digest);
    let headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", "0"),
    ];
    let resp = sent
        .session
        .send("PUT", &url, &headers, &Body::Empty, &sent.what)?;
    if resp.status() != 201 {
        return Err(sent.session.unexpected("PUT", &url, resp, &sent.what));
    }
    match resp.header("docker-content-digest") {
        Some(d) if d != digest => Err(sent
            .session
            .protocol(format!("the registry stored the layer {digest} as {d}"))),
        _ => Ok(()),
    }
}

/// [`oci::build_oci_layout`], uploading the layer to the registry of
/// `opts.tag` while it is compressed.
pub fn build_uploading_layer(
    inputs: &[PathBuf],
    opts: &OciOptions,
    auth: AuthOptions,
    transport: TransportOptions,
) -> Result<(OciReport, StreamOutcome)> {
    let source = opts.annotations.get(ANNOTATION).cloned();
    let mut upload = StreamedUpload::start(&opts.tag, source, auth, transport);
    let report = oci::build_oci_layout_tapped(inputs, opts, Some(&mut upload))?;
    Ok((report, upload.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upload without a worker, and the body its `PATCH` would send.
    fn detached() -> (StreamedUpload, QueueReader) {
        let shared = Arc::new(Shared::default());
        let reader = QueueReader {
            shared: shared.clone(),
            current: Vec::new(),
            pos: 0,
            draining: false,
        };
        let upload = StreamedUpload {
            shared,
            worker: None,
            cancel: None,
        };
        (upload, reader)
    }

    #[test]
    fn bytes_fed_before_the_registry_is_ready_are_sent_in_order_then_the_body_ends() {
        let (mut upload, mut reader) = detached();
        upload.write(b"hello ").unwrap();
        upload.write(b"").unwrap();
        upload.shared.lock().flowing = true;
        let body = std::thread::spawn(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).map(|_| all)
        });
        upload.write(b"world").unwrap();
        let shared = upload.shared.clone();
        upload.complete("sha256:unused");
        assert_eq!(body.join().unwrap().unwrap(), b"hello world");
        let outcome = upload.finish();
        assert_eq!(outcome.bytes, 11);
        // No worker to commit: reported, not claimed.
        assert!(!outcome.uploaded);
        assert_eq!(shared.lock().end, Some(true));
    }

    #[test]
    fn an_unfinished_build_fails_the_body_so_nothing_is_committed() {
        let (mut upload, mut reader) = detached();
        upload.shared.lock().flowing = true;
        upload.write(b"partial").unwrap();
        drop(upload);
        let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("not finished"), "{err}");
    }

    #[test]
    fn a_registry_that_takes_nothing_is_given_up_past_the_buffer_limit_without_blocking() {
        let (mut upload, mut reader) = detached();
        let piece = vec![7u8; 1 << 20];
        for _ in 0..(BUFFER_LIMIT >> 20) + 2 {
            upload.write(&piece).unwrap();
        }
        let q = upload.shared.lock();
        assert_eq!(q.bytes, 0, "the buffer is dropped");
        assert!(q.given_up.as_deref().unwrap().contains("took no bytes"));
        drop(q);
        assert!(reader.read(&mut [0u8; 8]).is_err());
        upload.complete("sha256:unused");
        let outcome = upload.finish();
        assert!(!outcome.uploaded);
        assert!(outcome.note.unwrap().contains("took no bytes"));
    }

    #[test]
    fn a_build_that_ends_before_the_registry_answers_waits_a_bounded_time() {
        let (mut upload, _reader) = detached();
        upload.write(b"x").unwrap();
        let started = Instant::now();
        upload.complete("sha256:unused");
        let outcome = upload.finish();
        assert!(started.elapsed() >= READY_WAIT);
        assert!(outcome.note.unwrap().contains("not ready"));
    }
}
