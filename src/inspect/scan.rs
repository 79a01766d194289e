//! One streaming pass over an image layer: the blob is hashed as it is
//! read (its digest and size checked at the end), decompressed by what its
//! first bytes say, hashed again (the diff_id) and walked as a tar, one
//! entry at a time. Nothing is held in memory but the entry being read and
//! the few small files inspect looks into.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use sha2::{Digest, Sha256, Sha512};

use crate::error::{Error, Result};
use crate::pipeline::{check_cancel, Cancel};

/// A hash that grows as bytes pass (sha256 or sha512, the digests
/// registries use).
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// The hasher for `digest`'s algorithm; `None` for algorithms dynpack
    /// cannot compute.
    pub fn for_digest(digest: &str) -> Option<Hasher> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Hasher::Sha256(Sha256::new())),
            "sha512" => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// `alg:hex` of what was hashed.
    pub fn digest(&self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", crate::hex::hex(&h.clone().finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", crate::hex::hex(&h.clone().finalize())),
        }
    }
}

/// `alg:hex` of `bytes` in the algorithm of `like` (sha256 by default).
pub fn digest_like(like: &str, bytes: &[u8]) -> String {
    let mut h = Hasher::for_digest(like).unwrap_or(Hasher::Sha256(Sha256::new()));
    h.update(bytes);
    h.digest()
}

/// Hashes and counts the bytes read through it; at the end of the stream
/// it fails when they are not `expected` (digest, and size if known).
pub struct Verified<R> {
    inner: R,
    hasher: Hasher,
    expected: String,
    size: Option<u64>,
    read: u64,
    checked: bool,
}

impl<R: Read> Verified<R> {
    pub fn new(inner: R, expected: &str, size: Option<u64>) -> Option<Verified<R>> {
        Some(Verified {
            inner,
            hasher: Hasher::for_digest(expected)?,
            expected: expected.to_string(),
            size,
            read: 0,
            checked: false,
        })
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if let Some(size) = self.size {
            if self.read > size {
                return Err(invalid(format!(
                    "the blob {} is longer than the {size} bytes its descriptor says",
                    self.expected
                )));
            }
        }
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            if let Some(size) = self.size {
                if self.read != size {
                    return Err(invalid(format!(
                        "the blob {} is {} bytes, its descriptor says {size}",
                        self.expected, self.read
                    )));
                }
            }
            let got = self.hasher.digest();
            if got != self.expected {
                return Err(invalid(format!(
                    "the blob {} does not match its digest (its bytes hash to {got})",
                    self.expected
                )));
            }
        }
        Ok(n)
    }
}

/// Hashes what passes through (the uncompressed layer, for the diff_id).
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// What the first bytes of a layer say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    /// A plain tar (or something else: the tar reader will say).
    None,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
            Compression::None => "none",
        }
    }

    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else {
            Compression::None
        }
    }
}

/// The kind of a tar entry, as the rules care about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    HardLink,
    /// Character or block device, FIFO, or a type tar readers do not know.
    Special(&'static str),
}

/// One layer entry, without its content.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as stored (long names and PAX paths resolved).
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub link: Option<String>,
}

/// A small file inspect reads from the layer (root `index.json`,
/// `<dir>/package.json`), by normalized name.
pub type SmallFiles = BTreeMap<String, Vec<u8>>;

/// Largest small file kept.
const SMALL_FILE_MAX: u64 = 1 << 20;

/// What one pass over a layer found.
pub struct Scan {
    pub compression: Compression,
    pub diff_id: Option<String>,
    pub small_files: SmallFiles,
}

/// Strips the prefixes RHDH does not expect (`./`, `/`) for grouping.
pub fn normalized(name: &str) -> &str {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix("./") {
            n = rest;
        } else if let Some(rest) = n.strip_prefix('/') {
            n = rest;
        } else {
            return n;
        }
    }
}

/// Whether inspect keeps the content of the layer file `name`.
fn wanted(name: &str) -> bool {
    let n = normalized(name);
    n == crate::plugin::ROOT_INDEX
        || n.split_once('/')
            .is_some_and(|(_, rest)| rest == "package.json")
}

/// A member the layer's tar cannot give.
fn tar_error(e: std::io::Error, location: &str) -> Error {
    if crate::tar_reader::is_too_large(&e) {
        return Error::TarHeaderTooLarge {
            location: location.to_string(),
        };
    }
    Error::BadImage {
        location: location.to_string(),
        reason: format!("the layer is not a readable tar ({e})"),
    }
}

/// Streams the layer `reader` (the blob as stored), calling `visit` for
/// every entry, then reads to the end so that the blob digest and size
/// are checked (by the [`Verified`] reader the caller wraps it in).
/// `location` names the layer in errors.
pub fn scan_layer(
    reader: impl Read,
    location: &str,
    cancel: &Cancel,
    mut visit: impl FnMut(&Entry),
) -> Result<Scan> {
    let fail = |e: std::io::Error| Error::BadImage {
        location: location.to_string(),
        reason: e.to_string(),
    };
    let mut buffered = BufReader::with_capacity(1 << 20, reader);
    let compression = Compression::sniff(buffered.fill_buf().map_err(fail)?);
    let decoded: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::None => Box::new(buffered),
        other => {
            // Cannot be listed; still read to the end for the digest check.
            std::io::copy(&mut buffered, &mut std::io::sink()).map_err(fail)?;
            return Ok(Scan {
                compression: other,
                diff_id: None,
                small_files: SmallFiles::new(),
            });
        }
    };
    let mut hashing = Hashing {
        inner: decoded,
        sha: Sha256::new(),
    };
    let mut small_files = SmallFiles::new();
    {
        let mut archive = crate::tar_reader::Archive::new(&mut hashing);
        let entries = archive.entries().map_err(fail)?;
        for entry in entries {
            check_cancel(cancel)?;
            let mut entry = entry.map_err(|e| tar_error(e, location))?;
            let header = entry.header();
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Directory,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::HardLink,
                tar::EntryType::Char => EntryKind::Special("a character device"),
                tar::EntryType::Block => EntryKind::Special("a block device"),
                tar::EntryType::Fifo => EntryKind::Special("a FIFO"),
                _ => EntryKind::Special("an entry of an unknown type"),
            };
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            let e = Entry {
                name,
                kind,
                size: entry.size(),
                link,
            };
            visit(&e);
            if e.kind == EntryKind::File && e.size <= SMALL_FILE_MAX && wanted(&e.name) {
                let mut bytes = Vec::with_capacity(e.size as usize);
                entry.read_to_end(&mut bytes).map_err(fail)?;
                small_files.insert(normalized(&e.name).to_string(), bytes);
            }
        }
    }
    // The tar ends before the stream does (end-of-archive blocks, padding,
    // the gzip trailer): read the rest so that every check runs.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(fail)?;
    let diff_id = format!("sha256:{}", crate::hex::hex(&hashing.sha.finalize()));
    Ok(Scan {
        compression,
        diff_id: Some(diff_id),
        small_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_reader_checks_digest_and_size() {
        let data = b"hello";
        let good = digest_like("sha256:", data);
        let mut out = Vec::new();
        Verified::new(&data[..], &good, Some(5))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let other = digest_like("sha256:", b"x");
        let e = Verified::new(&data[..], &other, None)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("does not match its digest"), "{e}");
        let e = Verified::new(&data[..], &good, Some(4))
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("longer"), "{e}");
        let e = Verified::new(&data[..], &good, Some(6))
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("its descriptor says 6"), "{e}");
        assert!(Verified::new(&data[..], "md5:00", None).is_none());
        assert!(digest_like("sha512:", data).starts_with("sha512:"));
    }

    #[test]
    fn normalizes_prefixes() {
        assert_eq!(normalized("./a/b"), "a/b");
        assert_eq!(normalized("/a"), "a");
        assert_eq!(normalized(".//./a"), "a");
        assert_eq!(normalized("a/./b"), "a/./b");
    }
}
