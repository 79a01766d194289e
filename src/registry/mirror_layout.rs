//! The folder of a two-hop mirror (`dynpack mirror CONFIG --to-dir DIR`):
//! an OCI image layout holding the images of several repositories, each
//! manifest listed in `index.json` under `org.opencontainers.image.ref.name`
//! = `<repository path>@<digest>` or `<repository path>:<tag>` (the cosign
//! `.sig` tag, the referrers fallback tag), so the second hop reads back
//! exactly what the first one read from the registries.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::oci::image::{sha256_digest, ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX};
use crate::oci::layout::{oci_layout_json, INDEX_FILE, OCI_LAYOUT_FILE};

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Oci {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e)
}

fn blob_path(root: &Path, digest: &str) -> Result<PathBuf> {
    match digest.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(root.join("blobs").join("sha256").join(h))
        }
        _ => Err(bad(root, format!("{digest:?} is not a sha256 digest"))),
    }
}

/// The `index.json` entries of a layout folder (none when it is new).
pub fn read_entries(root: &Path) -> Result<Vec<Value>> {
    let file = root.join(INDEX_FILE);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&file, e)),
    };
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(&file, format!("not JSON ({e}); write the folder again")))?;
    Ok(v.get("manifests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// A mirror folder being written: blobs go in at once (temp name, checked,
/// renamed); `index.json` is written by [`LayoutWriter::finish`].
#[derive(Clone)]
pub struct LayoutWriter {
    pub root: PathBuf,
    entries: Arc<Mutex<Vec<Value>>>,
}

impl LayoutWriter {
    pub fn open(root: &Path) -> Result<LayoutWriter> {
        std::fs::create_dir_all(root.join("blobs").join("sha256")).map_err(|e| io(root, e))?;
        let entries = read_entries(root)?;
        Ok(LayoutWriter {
            root: root.to_path_buf(),
            entries: Arc::new(Mutex::new(entries)),
        })
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        Ok(blob_path(&self.root, digest)?.is_file())
    }

    /// Streams `reader` into the blob `digest`, checking the bytes.
    pub fn put_blob(&self, digest: &str, mut reader: impl Read) -> Result<u64> {
        let dest = blob_path(&self.root, digest)?;
        // Unique per call: two images of one run may carry the same blob.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dest.with_extension(format!("tmp-{}-{n}", std::process::id()));
        let mut file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| io(&tmp, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(|e| io(&tmp, e))?;
            total += n as u64;
        }
        file.sync_all().map_err(|e| io(&tmp, e))?;
        let got = format!("sha256:{}", crate::hex::hex(&hasher.finalize()));
        if got != digest {
            let _ = std::fs::remove_file(&tmp);
            return Err(bad(
                &self.root,
                format!("the bytes read for {digest} hash to {got}"),
            ));
        }
        std::fs::rename(&tmp, &dest).map_err(|e| io(&dest, e))?;
        Ok(total)
    }

    /// The manifest at `<path>` + `reference` (`@digest` or `:tag`).
    pub fn get_manifest(&self, path: &str, reference: &str) -> Result<Option<Vec<u8>>> {
        let name = ref_name(path, reference);
        let digest = {
            let entries = self.entries.lock().expect("entries lock");
            entries
                .iter()
                .find(|e| e["annotations"][ANNOTATION_REF_NAME] == name.as_str())
                .and_then(|e| e.get("digest").and_then(Value::as_str).map(str::to_string))
        };
        match digest {
            Some(d) => Ok(Some(
                std::fs::read(blob_path(&self.root, &d)?).map_err(|e| io(&self.root, e))?,
            )),
            None => Ok(None),
        }
    }

    /// Writes a manifest and lists it at `<path>` + `reference`.
    pub fn put_manifest(
        &self,
        path: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let digest = sha256_digest(bytes);
        if !self.has_blob(&digest)? {
            self.put_blob(&digest, bytes)?;
        }
        let name = ref_name(path, reference);
        let mut entries = self.entries.lock().expect("entries lock");
        entries.retain(|e| e["annotations"][ANNOTATION_REF_NAME] != name.as_str());
        entries.push(json!({
            "mediaType": media_type,
            "digest": digest,
            "size": bytes.len(),
            "annotations": { ANNOTATION_REF_NAME: name },
        }));
        Ok(())
    }

    /// Writes `oci-layout` and `index.json` (temp name, renamed).
    pub fn finish(&self) -> Result<()> {
        let mut entries = self.entries.lock().expect("entries lock").clone();
        entries.sort_by(|a, b| {
            a["annotations"][ANNOTATION_REF_NAME]
                .as_str()
                .cmp(&b["annotations"][ANNOTATION_REF_NAME].as_str())
        });
        let index = json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_INDEX,
            "manifests": entries,
        });
        for (name, bytes) in [
            (OCI_LAYOUT_FILE, oci_layout_json()),
            (INDEX_FILE, serde_json::to_vec_pretty(&index).expect("JSON")),
        ] {
            let file = self.root.join(name);
            let tmp = self
                .root
                .join(format!(".{name}.tmp-{}", std::process::id()));
            std::fs::write(&tmp, &bytes).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &file).map_err(|e| io(&file, e))?;
        }
        Ok(())
    }
}

/// `acme/x@sha256:…` or `acme/x:tag`.
pub fn ref_name(path: &str, reference: &str) -> String {
    if reference.starts_with("sha256:") {
        format!("{path}@{reference}")
    } else {
        format!("{path}:{reference}")
    }
}

/// A mirror folder read by the second hop.
pub struct LayoutReader {
    pub root: PathBuf,
    entries: Vec<Value>,
}

impl LayoutReader {
    pub fn open(root: &Path) -> Result<LayoutReader> {
        if !root.join(OCI_LAYOUT_FILE).is_file() {
            return Err(bad(
                root,
                "not a mirror folder (no oci-layout); write it with dynpack mirror CONFIG --to-dir",
            ));
        }
        Ok(LayoutReader {
            root: root.to_path_buf(),
            entries: read_entries(root)?,
        })
    }

    /// A manifest by digest (any listed under the repository's names
    /// holds it) or by tag: `(bytes, media type)`.
    pub fn manifest(&self, path: &str, reference: &str) -> Result<Option<(Vec<u8>, String)>> {
        let digest = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            let name = ref_name(path, reference);
            match self
                .entries
                .iter()
                .find(|e| e["annotations"][ANNOTATION_REF_NAME] == name.as_str())
                .and_then(|e| e.get("digest").and_then(Value::as_str))
            {
                Some(d) => d.to_string(),
                None => return Ok(None),
            }
        };
        let file = blob_path(&self.root, &digest)?;
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&file, e)),
        };
        if sha256_digest(&bytes) != digest {
            return Err(bad(&file, format!("the file does not hash to {digest}")));
        }
        let media_type = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("mediaType")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|e| e["digest"] == digest.as_str())
                    .and_then(|e| e.get("mediaType").and_then(Value::as_str))
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Ok(Some((bytes, media_type)))
    }

    pub fn blob(&self, digest: &str) -> Result<(Box<dyn Read + Send>, u64)> {
        let file = blob_path(&self.root, digest)?;
        let f = File::open(&file).map_err(|e| io(&file, e))?;
        let len = f.metadata().map_err(|e| io(&file, e))?.len();
        Ok((Box::new(f), len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_folder_reads_back_what_was_written() {
        let dir =
            std::env::temp_dir().join(format!("dynpack-mirror-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = LayoutWriter::open(&dir).unwrap();
        let blob = b"layer bytes".to_vec();
        let digest = sha256_digest(&blob);
        assert!(!w.has_blob(&digest).unwrap());
        assert_eq!(
            w.put_blob(&digest, blob.as_slice()).unwrap(),
            blob.len() as u64
        );
        assert!(
            w.put_blob(&sha256_digest(b"x"), blob.as_slice()).is_err(),
            "bytes that do not match are refused"
        );
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        w.put_manifest("acme/x", "sha256-ab", MEDIA_TYPE_INDEX, manifest)
            .unwrap();
        w.finish().unwrap();
        let r = LayoutReader::open(&dir).unwrap();
        let (bytes, media_type) = r.manifest("acme/x", "sha256-ab").unwrap().unwrap();
        assert_eq!(bytes, manifest);
        assert_eq!(media_type, MEDIA_TYPE_INDEX);
        assert!(r.manifest("acme/y", "sha256-ab").unwrap().is_none());
        assert_eq!(r.blob(&digest).unwrap().1, blob.len() as u64);
        assert_eq!(ref_name("acme/x", &digest), format!("acme/x@{digest}"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
