//! An image on disk to push: an OCI image layout folder or an oci-archive
//! file, its `index.json`, and its blobs read in place (from the archive at
//! their tar offsets, never extracted).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, IoContext, Result};
use crate::oci::archive::{read_archive, ArchiveProblem};
use crate::oci::image::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use crate::oci::layout::{parse_existing, INDEX_FILE, OCI_LAYOUT_FILE};

/// Manifests and indexes larger than this are refused (registries take 4 MB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

enum Kind {
    Layout,
    /// Blob name → (offset, size) in the archive.
    Archive(HashMap<String, (u64, u64)>),
}

/// An opened layout or archive.
pub struct ImageSource {
    pub path: PathBuf,
    pub index: Map<String, Value>,
    kind: Kind,
}

/// The image chosen in `index.json`.
#[derive(Debug, Clone)]
pub struct Selected {
    pub descriptor: Value,
    pub ref_name: Option<String>,
    /// The full reference it was built for (`io.containerd.image.name`).
    pub image_name: Option<String>,
    pub digest: String,
    pub media_type: String,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Oci {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn hex(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(h),
        _ => Err(Error::InvalidOption {
            message: format!("{digest:?} is not a sha256 digest"),
        }),
    }
}

impl ImageSource {
    /// Opens `path`: a folder is a layout, a file an oci-archive.
    pub fn open(path: &Path) -> Result<ImageSource> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoSuchFile {
                path: path.to_path_buf(),
            },
            _ => Error::io(path, e),
        })?;
        if meta.is_dir() {
            let read = |name: &str| -> Result<Vec<u8>> {
                let p = path.join(name);
                crate::input::read_regular(&p, 64 << 20).map_err(|_| {
                    bad(
                        path,
                        format!("no readable {name}: not an OCI image layout (build one with `dynpack package --tag …` or buildOciLayout)"),
                    )
                })
            };
            let index = parse_existing(path, &read(OCI_LAYOUT_FILE)?, &read(INDEX_FILE)?)?;
            return Ok(ImageSource {
                path: path.to_path_buf(),
                index,
                kind: Kind::Layout,
            });
        }
        let mut file = File::open(path).at(path)?;
        let read = read_archive(&mut file, path).map_err(|problem| match problem {
            ArchiveProblem::Oversized(name, size) => {
                bad(path, format!("its {name} is {size} bytes, larger than 64 MiB"))
            }
            ArchiveProblem::Error(e) => e,
            ArchiveProblem::Gzip | ArchiveProblem::NotTar | ArchiveProblem::NoIndex => bad(
                path,
                "not an oci-archive (an uncompressed tar with oci-layout and index.json at its root)",
            ),
        })?;
        let members = read.by_name();
        let (layout, index) = (read.oci_layout, read.index);
        Ok(ImageSource {
            path: path.to_path_buf(),
            index: parse_existing(path, &layout, &index)?,
            kind: Kind::Archive(members),
        })
    }

    fn descriptors(&self) -> &[Value] {
        self.index
            .get("manifests")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The images of the index: its entries except referrers (artifacts
    /// such as an SBOM, listed with their `artifactType` and pushed with the
    /// image they refer to).
    fn images(&self) -> Vec<Value> {
        self.descriptors()
            .iter()
            .filter(|d| d.get("artifactType").is_none())
            .cloned()
            .collect()
    }

    /// The referrers the index lists for the manifest `subject`: each
    /// index descriptor (with `artifactType` and annotations) whose
    /// manifest names `subject` as its `subject`.
    pub fn referrers_of(&self, subject: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for d in self.descriptors() {
            if d.get("artifactType").is_none() {
                continue;
            }
            let Some(digest) = d.get("digest").and_then(Value::as_str) else {
                continue;
            };
            hex(digest)?;
            let bytes = self.read_manifest(digest)?;
            if crate::oci::referrer::subject_digest(&bytes).as_deref() == Some(subject) {
                out.push(d.clone());
            }
        }
        Ok(out)
    }

    /// The image named `ref_name`, or the only one.
    pub fn select(&self, ref_name: Option<&str>) -> Result<Selected> {
        let images = self.images();
        let list = images.as_slice();
        let name_of = |d: &Value, key: &str| {
            d.get("annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let names: Vec<String> = list
            .iter()
            .filter_map(|d| name_of(d, ANNOTATION_REF_NAME))
            .collect();
        let chosen = match ref_name {
            Some(r) => list
                .iter()
                .find(|d| name_of(d, ANNOTATION_REF_NAME).as_deref() == Some(r))
                .ok_or_else(|| Error::ImageNotFound {
                    what: self.path.display().to_string(),
                    reason: format!(
                        "no image named {r:?} in its index.json (it has {}); pass one of those as refName / --ref",
                        if names.is_empty() { "no named images".to_string() } else { names.join(", ") }
                    ),
                })?,
            None => match list {
                [one] => one,
                [] => {
                    return Err(Error::ImageNotFound {
                        what: self.path.display().to_string(),
                        reason: "its index.json lists no image; build one first".into(),
                    })
                }
                _ => {
                    return Err(Error::InvalidOption {
                        message: format!(
                            "{} holds {} images ({}); pick one with refName / --ref",
                            self.path.display(),
                            list.len(),
                            names.join(", ")
                        ),
                    })
                }
            },
        };
        let digest = chosen
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&self.path, "an index.json descriptor has no digest"))?
            .to_string();
        hex(&digest)?;
        Ok(Selected {
            ref_name: name_of(chosen, ANNOTATION_REF_NAME),
            image_name: name_of(chosen, ANNOTATION_IMAGE_NAME),
            media_type: chosen
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            descriptor: chosen.clone(),
            digest,
        })
    }

    /// Other images of the same index (name → their `io.containerd.image.name`),
    /// candidates for cross-repository mounts.
    pub fn image_names(&self) -> Vec<String> {
        self.descriptors()
            .iter()
            .filter_map(|d| {
                d.get("annotations")
                    .and_then(|a| a.get(ANNOTATION_IMAGE_NAME))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    }

    /// Size of the blob on disk.
    pub fn blob_size(&self, digest: &str) -> Result<u64> {
        let h = hex(digest)?;
        match &self.kind {
            Kind::Layout => {
                let p = self.path.join("blobs/sha256").join(h);
                let m = std::fs::metadata(&p).map_err(|_| {
                    bad(&self.path, format!("the blob {digest} is missing from blobs/sha256/; the layout is incomplete"))
                })?;
                if !m.is_file() {
                    return Err(bad(
                        &self.path,
                        format!("the blob {digest} is not a regular file"),
                    ));
                }
                Ok(m.len())
            }
            Kind::Archive(members) => members
                .get(&format!("blobs/sha256/{h}"))
                .map(|m| m.1)
                .ok_or_else(|| {
                    bad(
                        &self.path,
                        format!("the blob {digest} is missing from the archive"),
                    )
                }),
        }
    }

    /// A reader of the blob from `offset` to its end.
    pub fn open_blob(&self, digest: &str, offset: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let h = hex(digest).map_err(|e| std::io::Error::other(e.to_string()))?;
        match &self.kind {
            Kind::Layout => {
                let mut f = File::open(self.path.join("blobs/sha256").join(h))?;
                f.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
            }
            Kind::Archive(members) => {
                let (start, size) = *members
                    .get(&format!("blobs/sha256/{h}"))
                    .ok_or_else(|| std::io::Error::other(format!("{digest} missing")))?;
                let mut f = File::open(&self.path)?;
                f.seek(SeekFrom::Start(start + offset))?;
                Ok(Box::new(std::io::BufReader::with_capacity(
                    1 << 20,
                    f.take(size.saturating_sub(offset)),
                )))
            }
        }
    }

    /// A manifest or index blob, checked against its digest.
    pub fn read_manifest(&self, digest: &str) -> Result<Vec<u8>> {
        let size = self.blob_size(digest)?;
        if size > MAX_MANIFEST_BYTES {
            return Err(bad(
                &self.path,
                format!("the manifest {digest} is {size} bytes, more than registries accept"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.open_blob(digest, 0)
            .and_then(|r| r.take(size).read_to_end(&mut bytes))
            .at(&self.path)?;
        if crate::oci::image::sha256_digest(&bytes) != digest {
            return Err(bad(
                &self.path,
                format!(
                    "the manifest blob {digest} does not match its digest; the layout is corrupt"
                ),
            ));
        }
        Ok(bytes)
    }
}
