//! OCI image layouts on disk: `oci-layout`, `index.json`, `blobs/sha256/`.
//!
//! [`Layout::open`] accepts a missing or empty folder (a new layout) or an
//! existing layout, whose `index.json` is kept and updated: the new image
//! replaces the descriptor with the same tag and every other image stays.
//! Anything else is refused before a byte is written. Blobs are written
//! under temporary names and renamed to their digest; `index.json` is
//! replaced last, so readers see the old layout or the new one. On failure
//! everything this run added is removed again.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::input::{file_kind, open_regular, read_regular, Unreadable};
use crate::oci::blob::{hex_of, TempBlob};
use crate::oci::image::{ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX};
use crate::oci::referrer;
use crate::output::{AtomicFile, FolderLock};
use crate::pipeline::Cancel;

pub const OCI_LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
pub const LAYOUT_VERSION: &str = "1.0.0";

/// The bytes of the `oci-layout` file dynpack writes.
pub fn oci_layout_json() -> Vec<u8> {
    serde_json::to_vec(&json!({ "imageLayoutVersion": LAYOUT_VERSION })).expect("JSON")
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Oci {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Validates an existing layout's `oci-layout` and `index.json` and
/// returns the parsed index. `at` names the layout in errors.
pub fn parse_existing(at: &Path, oci_layout: &[u8], index: &[u8]) -> Result<Map<String, Value>> {
    let fix = "repair or remove it, or choose another output";
    let header: Value = serde_json::from_slice(oci_layout).map_err(|e| {
        corrupt(
            at,
            format!("its oci-layout file is not valid JSON ({e}); {fix}"),
        )
    })?;
    match header.get("imageLayoutVersion").and_then(Value::as_str) {
        Some(LAYOUT_VERSION) => {}
        other => {
            return Err(corrupt(
                at,
                format!(
                    "its oci-layout declares imageLayoutVersion {}, dynpack writes only {LAYOUT_VERSION:?}; {fix}",
                    other.map_or("(none)".to_string(), |v| format!("{v:?}"))
                ),
            ))
        }
    }
    let index: Value = serde_json::from_slice(index)
        .map_err(|e| corrupt(at, format!("its index.json is not valid JSON ({e}); {fix}")))?;
    let Value::Object(index) = index else {
        return Err(corrupt(
            at,
            format!("its index.json is not a JSON object; {fix}"),
        ));
    };
    if index.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(corrupt(
            at,
            format!("its index.json does not have schemaVersion 2; {fix}"),
        ));
    }
    match index.get("manifests") {
        Some(Value::Array(list)) if list.iter().all(Value::is_object) => Ok(index),
        _ => Err(corrupt(
            at,
            format!("its index.json has no `manifests` array of descriptors; {fix}"),
        )),
    }
}

/// The index with `descriptor` recorded under `ref_name`: an existing
/// descriptor with that tag is replaced in place, otherwise it is
/// appended; everything else in the index is kept as it was.
pub fn merge_index(
    existing: Option<Map<String, Value>>,
    descriptor: Value,
    ref_name: &str,
) -> Value {
    let mut index = existing.unwrap_or_else(|| {
        let mut m = Map::new();
        m.insert("schemaVersion".into(), json!(2));
        m.insert("mediaType".into(), json!(MEDIA_TYPE_INDEX));
        m.insert("manifests".into(), json!([]));
        m
    });
    let tagged = |d: &Value| {
        d.get("annotations")
            .and_then(|a| a.get(ANNOTATION_REF_NAME))
            .and_then(Value::as_str)
            == Some(ref_name)
    };
    let old = match index.remove("manifests") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let mut manifests = Vec::with_capacity(old.len() + 1);
    let mut pending = Some(descriptor);
    for d in old {
        if tagged(&d) {
            if let Some(new) = pending.take() {
                manifests.push(new);
            }
        } else {
            manifests.push(d);
        }
    }
    manifests.extend(pending);
    index.insert("manifests".into(), Value::Array(manifests));
    Value::Object(index)
}

/// Bytes accepted in an existing `index.json` (thousands of tags take
/// well under a megabyte) and `oci-layout`.
pub const MAX_INDEX_BYTES: u64 = 64 << 20;

/// Reads `name` in the layout `root`; `None` when it does not exist.
fn read_layout_file(root: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let path = root.join(name);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(linked(&path, &format!("its {name}")));
    }
    match read_regular(&path, MAX_INDEX_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(Unreadable::Io(e)) => Err(Error::io(&path, e)),
        Err(Unreadable::NotRegular(kind)) => Err(corrupt(
            root,
            format!("its {name} is {kind}, not a file; repair or remove it, or choose another output"),
        )),
        Err(Unreadable::TooLarge(len)) => Err(corrupt(
            root,
            format!("its {name} is {len} bytes, more than the {MAX_INDEX_BYTES} bytes dynpack reads; repair or remove it, or choose another output"),
        )),
    }
}

/// The index of the layout in the folder `root`: `None` for an empty
/// folder (a new layout), an error for anything but a valid layout.
fn read_existing(root: &Path) -> Result<Option<Map<String, Value>>> {
    let Some(header) = read_layout_file(root, OCI_LAYOUT_FILE)? else {
        if std::fs::read_dir(root).at(root)?.next().is_some() {
            return Err(corrupt(
                root,
                "the folder is not empty and is not an OCI image layout (it has no oci-layout file); nothing was written. Pass a new or empty folder, or an existing layout",
            ));
        }
        return Ok(None);
    };
    let Some(index) = read_layout_file(root, INDEX_FILE)? else {
        return Err(corrupt(
            root,
            "it has an oci-layout file but no index.json; repair or remove it, or choose another output",
        ));
    };
    parse_existing(root, &header, &index).map(Some)
}

/// The error for a symbolic link where the layout writes: following it
/// would write blobs or the index wherever the link points.
fn linked(path: &Path, what: &str) -> Error {
    corrupt(
        path,
        format!("{what} is a symbolic link, and dynpack does not write through links; nothing was written. Pass the real folder, or replace the link with a folder"),
    )
}

/// Whether a valid blob named `digest` is already at `path`: a blob is
/// reused only when it is a regular file (not a link, FIFO or folder) of
/// `size` bytes whose SHA-256 is `digest`. Anything else there is refused,
/// since other images of the layout may point at it; nothing is rewritten.
/// Hashing costs one read of a blob this run has just produced itself.
fn verify_existing_blob(path: &Path, digest: &str, size: u64) -> Result<bool> {
    let fix = "the layout is corrupt; remove that file (and the images that use it) or choose another output";
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(corrupt(path, format!("the blob is a symbolic link; {fix}")));
    }
    if !meta.is_file() {
        return Err(corrupt(
            path,
            format!("the blob is {}; {fix}", file_kind(&meta)),
        ));
    }
    if meta.len() != size {
        return Err(corrupt(
            path,
            format!(
                "the blob is {} bytes, its digest says {size}; {fix}",
                meta.len()
            ),
        ));
    }
    let (mut file, _) = open_regular(path).map_err(|why| match why {
        Unreadable::Io(e) => Error::io(path, e),
        Unreadable::NotRegular(kind) => corrupt(path, format!("the blob is {kind}; {fix}")),
        Unreadable::TooLarge(_) => unreachable!("open_regular sets no limit"),
    })?;
    let mut sha = Sha256::new();
    std::io::copy(&mut file, &mut sha).at(path)?;
    if format!("sha256:{}", crate::hex::hex(&sha.finalize())) != digest {
        return Err(corrupt(
            path,
            format!("the blob's content does not match its name; {fix}"),
        ));
    }
    Ok(true)
}

/// Refuses an output whose parent folder is missing: dynpack creates the
/// layout folder, not the path to it.
fn check_parent(root: &Path) -> Result<()> {
    match root.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            Err(Error::Destination {
                path: parent.to_path_buf(),
                reason: "the parent folder of the output does not exist".into(),
            })
        }
        _ => Ok(()),
    }
}

/// The destination folder of an image layout, and what this run added.
///
/// A `Layout` holds the folder's [`FolderLock`] from [`Layout::open`] until
/// it is dropped, so concurrent builds into one layout take turns: each
/// reads the index the previous one wrote and no tag is lost, and a failed
/// run removes its blobs before another run can come to rely on them.
pub struct Layout {
    root: PathBuf,
    existing: Option<Map<String, Value>>,
    created: Vec<PathBuf>,
    done: bool,
    // Dropped after `Drop::drop` has cleaned up, so cleanup runs locked.
    _lock: FolderLock,
}

impl Layout {
    /// Creates `root` when it is missing, waits for its lock, and reads its
    /// index when it is already a layout. Anything but a new, empty or
    /// valid layout folder is refused before a byte is written.
    pub fn open(root: &Path, cancel: &Cancel) -> Result<Layout> {
        loop {
            let created_root = match std::fs::symlink_metadata(root) {
                Ok(m) if m.file_type().is_symlink() => return Err(linked(root, "the output folder")),
                Ok(m) if m.is_dir() => false,
                Ok(_) => {
                    return Err(corrupt(
                        root,
                        "the output exists and is a file, not an OCI image layout folder; pass a new or empty folder or an existing layout (or set archive: true to write an oci-archive file)",
                    ))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    check_parent(root)?;
                    match std::fs::create_dir(root) {
                        Ok(()) => true,
                        // Another run created it in between: start again.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(Error::io(root, e)),
                    }
                }
                Err(e) => return Err(Error::io(root, e)),
            };
            let lock = match FolderLock::acquire(root, cancel) {
                Ok(lock) => lock,
                Err(e) => {
                    if created_root {
                        let _ = std::fs::remove_dir(root);
                    }
                    return Err(e);
                }
            };
            if !lock.holds(root) {
                continue; // the run that made the folder removed it while this one waited
            }
            let mut layout = Layout {
                root: root.to_path_buf(),
                existing: None,
                created: created_root
                    .then(|| root.to_path_buf())
                    .into_iter()
                    .collect(),
                done: false,
                _lock: lock,
            };
            // On an error here, dropping `layout` removes the folder this run made.
            layout.existing = read_existing(root)?;
            return Ok(layout);
        }
    }

    fn mkdir(&mut self, dir: &Path) -> Result<()> {
        match std::fs::create_dir(dir) {
            Ok(()) => {
                self.created.push(dir.to_path_buf());
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match std::fs::symlink_metadata(dir) {
                    Ok(m) if m.file_type().is_symlink() => Err(linked(dir, "a blob folder")),
                    Ok(m) if m.is_dir() => Ok(()),
                    Ok(m) => Err(corrupt(
                        dir,
                        format!(
                            "it is {}, where the layout keeps its blobs; repair or remove it, or choose another output",
                            file_kind(&m)
                        ),
                    )),
                    Err(e) => Err(Error::io(dir, e)),
                }
            }
            Err(e) => Err(Error::io(dir, e)),
        }
    }

    /// Creates the blob folders and returns `blobs/sha256`.
    pub fn prepare(&mut self) -> Result<PathBuf> {
        let blobs = self.root.join("blobs");
        self.mkdir(&blobs)?;
        let sha = blobs.join("sha256");
        self.mkdir(&sha)?;
        Ok(sha)
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(hex_of(digest))
    }

    /// Stores a blob held in memory under its digest.
    pub fn put_bytes(&mut self, digest: &str, bytes: &[u8]) -> Result<()> {
        let target = self.blob_path(digest);
        if verify_existing_blob(&target, digest, bytes.len() as u64)? {
            return Ok(());
        }
        let mut f = AtomicFile::create(target.parent().expect("blob dir"), hex_of(digest))?;
        f.write(bytes)?;
        f.commit()?;
        self.created.push(target);
        Ok(())
    }

    /// Stores a streamed blob under its digest.
    pub fn put_temp(&mut self, digest: &str, blob: TempBlob) -> Result<()> {
        let target = self.blob_path(digest);
        if verify_existing_blob(&target, digest, blob.digest().1)? {
            return Ok(());
        }
        blob.persist(&target)?;
        self.created.push(target);
        Ok(())
    }

    /// Writes `oci-layout` if missing, then the merged `index.json`.
    pub fn finish(self, descriptor: Value, ref_name: &str) -> Result<()> {
        self.finish_with_referrers(descriptor, ref_name, &[])
    }

    /// [`Layout::finish`], also listing the untagged referrer manifests
    /// `referrers` (index descriptors) and dropping SBOM referrers whose
    /// image is no longer in the index ([`referrer::add_to_index`]).
    pub fn finish_with_referrers(
        mut self,
        descriptor: Value,
        ref_name: &str,
        referrers: &[Value],
    ) -> Result<()> {
        let header = self.root.join(OCI_LAYOUT_FILE);
        if !header.exists() {
            let mut f = AtomicFile::create(&self.root, OCI_LAYOUT_FILE)?;
            f.write(&oci_layout_json())?;
            f.commit()?;
            self.created.push(header);
        }
        let index = merge_index(self.existing.take(), descriptor, ref_name);
        let index = referrer::add_to_index(index, referrers, |digest| {
            if !crate::oci::blob::is_sha256_digest(digest) {
                return None;
            }
            let bytes = read_regular(&self.blob_path(digest), MAX_INDEX_BYTES).ok()?;
            referrer::subject_digest(&bytes)
        });
        let mut f = AtomicFile::create(&self.root, INDEX_FILE)?;
        f.write(&serde_json::to_vec(&index).expect("JSON"))?;
        f.commit()?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Layout {
    /// Removes what this run added when it did not finish.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for p in self.created.iter().rev() {
            if p.is_dir() {
                let _ = std::fs::remove_dir(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(d: &str, tag: &str) -> Value {
        json!({"digest": d, "annotations": {ANNOTATION_REF_NAME: tag}})
    }

    #[test]
    fn merge_adds_and_replaces_by_tag() {
        let idx = merge_index(None, desc("a", "v1"), "v1");
        assert_eq!(
            serde_json::to_string(&idx).unwrap(),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"a","annotations":{"org.opencontainers.image.ref.name":"v1"}}]}"#
        );
        let Value::Object(m) = idx else { panic!() };
        let idx = merge_index(Some(m), desc("b", "v2"), "v2");
        let Value::Object(m) = idx else { panic!() };
        let idx = merge_index(Some(m), desc("c", "v1"), "v1");
        let digests: Vec<&str> = idx["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["digest"].as_str().unwrap())
            .collect();
        assert_eq!(digests, ["c", "b"]);
    }

    #[test]
    fn corrupt_layouts_are_refused() {
        let at = Path::new("x");
        let good = br#"{"imageLayoutVersion":"1.0.0"}"#;
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(parse_existing(at, good, index).is_ok());
        for (layout, index) in [
            (&br#"{"imageLayoutVersion":"2.0.0"}"#[..], &index[..]),
            (&b"{"[..], &index[..]),
            (&good[..], &b"not json"[..]),
            (&good[..], &br#"{"manifests":[]}"#[..]),
            (&good[..], &br#"{"schemaVersion":2}"#[..]),
            (&good[..], &br#"[]"#[..]),
        ] {
            let e = parse_existing(at, layout, index).unwrap_err();
            assert_eq!(e.code(), "E_OCI_LAYOUT");
        }
    }

    #[test]
    fn refuses_a_non_layout_folder_untouched() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("keep.txt"), "x").unwrap();
        let e = Layout::open(t.path(), &None).err().unwrap();
        assert_eq!(e.code(), "E_OCI_LAYOUT");
        let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn unfinished_runs_leave_nothing() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("new");
        {
            let mut l = Layout::open(&root, &None).unwrap();
            l.prepare().unwrap();
            l.put_bytes("sha256:00", b"x").unwrap();
            assert!(root.join("blobs/sha256/00").exists());
        }
        assert!(!root.exists());
    }
}
