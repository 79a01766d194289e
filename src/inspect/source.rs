//! Where the bytes of an image come from: the [`ImageSource`] trait and its
//! two local implementations, an OCI image layout folder ([`LayoutSource`])
//! and an oci-archive file ([`ArchiveSource`]).
//!
//! A source only hands out bytes; it does not check them. [`super::inspect`]
//! verifies every manifest and blob against its digest as it reads, so a
//! remote reader (the registry client) implements the same two methods and
//! gets the same checks.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{Error, IoContext, Result};
use crate::input::{open_regular, Unreadable};
use crate::oci::archive::{read_archive, ArchiveProblem};
use crate::oci::image::ANNOTATION_REF_NAME;
use crate::oci::layout::{parse_existing, INDEX_FILE, OCI_LAYOUT_FILE};

/// Largest manifest or index read (registries refuse manifests over 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest `index.json` of a layout read.
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// A manifest or index as a source returns it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The exact bytes (their digest is the image's digest).
    pub bytes: Vec<u8>,
    /// The media type the source declares (layout descriptor, HTTP
    /// `Content-Type`), `None` when it declares none.
    pub media_type: Option<String>,
    /// The digest the source says these bytes have (descriptor digest,
    /// `Docker-Content-Digest`), checked by the caller; `None` if unknown.
    pub digest: Option<String>,
}

/// Read access to one image store (a layout, an archive, a registry
/// repository). Implementations need not verify anything: callers hash
/// what they read and compare it with the digests they asked for.
pub trait ImageSource {
    /// The store in messages: a path, or `host/repository`.
    fn location(&self) -> String;

    /// The manifest or image index named by `reference`: a tag (a layout's
    /// `org.opencontainers.image.ref.name`, a registry tag) or a digest
    /// (`sha256:…`). An unknown reference is `E_IMAGE_NOT_FOUND`.
    fn manifest(&self, reference: &str) -> Result<Fetched>;

    /// A reader over the blob `digest`, streamed (layers can be large).
    fn blob(&self, digest: &str) -> Result<Box<dyn Read + '_>>;
}

/// `algorithm:encoded` as image-spec's descriptor.md defines a digest.
pub fn is_digest(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$").unwrap())
        .is_match(s)
}

fn bad(location: &str, reason: impl Into<String>) -> Error {
    Error::BadImage {
        location: location.to_string(),
        reason: reason.into(),
    }
}

fn not_found(location: &str, reason: impl Into<String>) -> Error {
    Error::ImageNotFound {
        what: location.to_string(),
        reason: reason.into(),
    }
}

/// The parsed `index.json` of a layout or archive, and how to pick an
/// image in it.
struct LayoutIndex {
    manifests: Vec<Map<String, Value>>,
}

impl LayoutIndex {
    fn parse(location: &Path, oci_layout: &[u8], index: &[u8]) -> Result<LayoutIndex> {
        let index = parse_existing(location, oci_layout, index)?;
        let manifests = match index.get("manifests") {
            Some(Value::Array(list)) => {
                list.iter().filter_map(|d| d.as_object().cloned()).collect()
            }
            _ => Vec::new(),
        };
        Ok(LayoutIndex { manifests })
    }

    fn ref_name(d: &Map<String, Value>) -> Option<&str> {
        d.get("annotations")
            .and_then(|a| a.get(ANNOTATION_REF_NAME))
            .and_then(Value::as_str)
    }

    fn descriptor_digest(d: &Map<String, Value>) -> Option<&str> {
        d.get("digest").and_then(Value::as_str)
    }

    /// The reference of the only image (its tag, else its digest), as
    /// `skopeo copy oci:DIR` picks it without a tag.
    fn default_reference(&self, location: &str) -> Result<String> {
        match self.manifests.as_slice() {
            [] => Err(not_found(
                location,
                "the layout holds no image (index.json lists no manifests)",
            )),
            [one] => Self::ref_name(one)
                .or_else(|| Self::descriptor_digest(one))
                .map(str::to_string)
                .ok_or_else(|| bad(location, "index.json lists a descriptor without a digest")),
            many => {
                let names: Vec<&str> = many.iter().filter_map(|d| Self::ref_name(d)).collect();
                Err(not_found(
                    location,
                    format!(
                        "it holds {} images; name one with --ref / refName (tags: {})",
                        many.len(),
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                ))
            }
        }
    }

    /// The descriptor `reference` names: by tag, else by digest.
    fn find(&self, location: &str, reference: &str) -> Result<Option<&Map<String, Value>>> {
        let tagged: Vec<_> = self
            .manifests
            .iter()
            .filter(|d| Self::ref_name(d) == Some(reference))
            .collect();
        match tagged.as_slice() {
            [one] => return Ok(Some(one)),
            [] => {}
            _ => {
                return Err(bad(
                    location,
                    format!(
                    "index.json lists {} images under the tag {reference:?}; a tag must name one",
                    tagged.len()
                ),
                ))
            }
        }
        if is_digest(reference) {
            return Ok(self
                .manifests
                .iter()
                .find(|d| Self::descriptor_digest(d) == Some(reference)));
        }
        let names: Vec<&str> = self
            .manifests
            .iter()
            .filter_map(|d| Self::ref_name(d))
            .collect();
        Err(not_found(
            location,
            format!(
                "no image tagged {reference:?} (tags: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ),
        ))
    }

    /// The manifest `reference` names, read with `read_blob`.
    fn manifest(
        &self,
        location: &str,
        reference: &str,
        read_blob: impl FnOnce(&str) -> Result<Vec<u8>>,
    ) -> Result<Fetched> {
        let descriptor = self.find(location, reference)?;
        let digest = match descriptor {
            Some(d) => Self::descriptor_digest(d)
                .ok_or_else(|| {
                    bad(
                        location,
                        format!("the descriptor of {reference:?} has no digest"),
                    )
                })?
                .to_string(),
            None => reference.to_string(),
        };
        if !is_digest(&digest) {
            return Err(bad(location, format!("{digest:?} is not a digest")));
        }
        let media_type = descriptor
            .and_then(|d| d.get("mediaType"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Fetched {
            bytes: read_blob(&digest)?,
            media_type,
            digest: Some(digest),
        })
    }

    /// The full image name the layout records for `reference`
    /// (`io.containerd.image.name`, as dynpack and containerd write it).
    fn image_name(&self, reference: &str) -> Option<String> {
        self.manifests
            .iter()
            .find(|d| {
                Self::ref_name(d) == Some(reference)
                    || Self::descriptor_digest(d) == Some(reference)
            })
            .and_then(|d| d.get("annotations"))
            .and_then(|a| a.get(crate::oci::image::ANNOTATION_IMAGE_NAME))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// The blob file name of `digest` (`<alg>/<encoded>`), refused when the
/// digest could name a path outside `blobs/`.
fn blob_relative(location: &str, digest: &str) -> Result<String> {
    if !is_digest(digest) {
        return Err(bad(location, format!("{digest:?} is not a digest")));
    }
    let (alg, hex) = digest.split_once(':').expect("a digest has a colon");
    Ok(format!("{alg}/{hex}"))
}

/// An OCI image layout folder (`oci-layout`, `index.json`, `blobs/`).
pub struct LayoutSource {
    root: PathBuf,
    index: LayoutIndex,
}

fn read_small(path: &Path, max: u64, location: &str) -> Result<Vec<u8>> {
    let (file, meta) = match open_regular(path) {
        Ok(x) => x,
        Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(location, format!("{} is missing", path.display())))
        }
        Err(Unreadable::Io(e)) => return Err(Error::io(path, e)),
        Err(Unreadable::NotRegular(kind)) => {
            return Err(bad(
                location,
                format!("{} is {kind}, not a file", path.display()),
            ))
        }
        Err(Unreadable::TooLarge(n)) => {
            return Err(bad(location, format!("{} is {n} bytes", path.display())))
        }
    };
    if meta.len() > max {
        return Err(bad(
            location,
            format!(
                "{} is {} bytes, more than the {max} bytes dynpack reads for it",
                path.display(),
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).at(path)?;
    Ok(bytes)
}

impl LayoutSource {
    /// Opens the layout at `root`; anything but a valid layout is refused.
    pub fn open(root: &Path) -> Result<LayoutSource> {
        let location = root.display().to_string();
        if !root.join(OCI_LAYOUT_FILE).exists() {
            return Err(bad(
                &location,
                "not an OCI image layout (no oci-layout file); pass a layout folder, an oci-archive file or an image reference",
            ));
        }
        let header = read_small(&root.join(OCI_LAYOUT_FILE), 1 << 20, &location)?;
        let index = read_small(&root.join(INDEX_FILE), MAX_INDEX_BYTES, &location)?;
        Ok(LayoutSource {
            root: root.to_path_buf(),
            index: LayoutIndex::parse(root, &header, &index)?,
        })
    }

    /// The reference of the only image in the layout (its tag, or digest).
    pub fn default_reference(&self) -> Result<String> {
        self.index.default_reference(&self.location())
    }

    /// The full image name recorded for `reference`, if any.
    pub fn image_name(&self, reference: &str) -> Option<String> {
        self.index.image_name(reference)
    }
}

impl ImageSource for LayoutSource {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn manifest(&self, reference: &str) -> Result<Fetched> {
        let location = self.location();
        self.index.manifest(&location, reference, |digest| {
            let rel = blob_relative(&location, digest)?;
            read_small(
                &self.root.join("blobs").join(rel),
                MAX_MANIFEST_BYTES,
                &location,
            )
        })
    }

    fn blob(&self, digest: &str) -> Result<Box<dyn Read + '_>> {
        let location = self.location();
        let path = self
            .root
            .join("blobs")
            .join(blob_relative(&location, digest)?);
        match open_regular(&path) {
            Ok((file, _)) => Ok(Box::new(file)),
            Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(bad(
                &location,
                format!("the blob {digest} is missing ({})", path.display()),
            )),
            Err(Unreadable::Io(e)) => Err(Error::io(&path, e)),
            Err(Unreadable::NotRegular(kind)) => Err(bad(
                &location,
                format!("the blob {digest} is {kind}, not a file"),
            )),
            Err(Unreadable::TooLarge(_)) => unreachable!("open_regular sets no size limit"),
        }
    }
}

/// An oci-archive file: a (non-compressed) tar of an image layout, as
/// `skopeo copy … oci-archive:FILE` and `podman save --format oci-archive`
/// write it. Members may be `./`-prefixed.
pub struct ArchiveSource {
    path: PathBuf,
    /// Member name (without `./`) → (data offset, size).
    members: BTreeMap<String, (u64, u64)>,
    index: LayoutIndex,
}

impl ArchiveSource {
    /// Lists the archive's members and reads its `index.json`; the blobs
    /// are read later, from their offsets.
    pub fn open(path: &Path) -> Result<ArchiveSource> {
        let location = path.display().to_string();
        let (mut file, _) = match open_regular(path) {
            Ok(x) => x,
            Err(Unreadable::Io(e)) => return Err(Error::io(path, e)),
            Err(Unreadable::NotRegular(kind)) => {
                return Err(bad(
                    &location,
                    format!("it is {kind}; pass an oci-archive file or a layout folder"),
                ))
            }
            Err(Unreadable::TooLarge(_)) => unreachable!("open_regular sets no size limit"),
        };
        let read = read_archive(&mut file, path).map_err(|problem| match problem {
            ArchiveProblem::Gzip => bad(
                &location,
                "the archive is gzip-compressed; gunzip it first (dynpack reads uncompressed oci-archive files, as podman and skopeo write them)",
            ),
            ArchiveProblem::NotTar => bad(&location, "not a readable tar file"),
            ArchiveProblem::Oversized(name, size) => {
                bad(&location, format!("its {name} is {size} bytes"))
            }
            ArchiveProblem::NoIndex => bad(
                &location,
                "not an oci-archive (no oci-layout and index.json at the root of the tar)",
            ),
            ArchiveProblem::Error(e) => e,
        })?;
        let members = read.by_name();
        let (layout, index) = (read.oci_layout, read.index);
        Ok(ArchiveSource {
            path: path.to_path_buf(),
            members,
            index: LayoutIndex::parse(path, &layout, &index)?,
        })
    }

    /// The reference of the only image in the archive (its tag, or digest).
    pub fn default_reference(&self) -> Result<String> {
        self.index.default_reference(&self.location())
    }

    /// The full image name recorded for `reference`, if any.
    pub fn image_name(&self, reference: &str) -> Option<String> {
        self.index.image_name(reference)
    }

    fn member(&self, digest: &str) -> Result<(File, u64)> {
        let location = self.location();
        let name = format!("blobs/{}", blob_relative(&location, digest)?);
        let Some(&(offset, size)) = self.members.get(&name) else {
            return Err(bad(
                &location,
                format!("the blob {digest} is missing (no member {name})"),
            ));
        };
        let mut file = File::open(&self.path).at(&self.path)?;
        file.seek(SeekFrom::Start(offset)).at(&self.path)?;
        Ok((file, size))
    }
}

impl ImageSource for ArchiveSource {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn manifest(&self, reference: &str) -> Result<Fetched> {
        let location = self.location();
        self.index.manifest(&location, reference, |digest| {
            let (file, size) = self.member(digest)?;
            if size > MAX_MANIFEST_BYTES {
                return Err(bad(
                    &location,
                    format!("the manifest {digest} is {size} bytes"),
                ));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            file.take(size).read_to_end(&mut bytes).at(&self.path)?;
            Ok(bytes)
        })
    }

    fn blob(&self, digest: &str) -> Result<Box<dyn Read + '_>> {
        let (file, size) = self.member(digest)?;
        Ok(Box::new(file.take(size)))
    }
}
