//! oci-archive files: an image layout as one uncompressed tar
//! (`oci-layout`, `index.json`, `blobs/sha256/<hex>` at the tar root), the
//! form `skopeo copy oci-archive:<file>:<tag>` and `podman load` read.
//!
//! Building into an existing archive keeps its images: its members are
//! copied over from their offsets and its `index.json` is merged, then the
//! new file replaces the old one in a single rename.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, IoContext, Result};
use crate::input::{open_regular, Unreadable};
use crate::oci::blob::TempBlob;
use crate::oci::layer::compare_paths;
use crate::oci::layout::{
    oci_layout_json, parse_existing, INDEX_FILE, MAX_INDEX_BYTES, OCI_LAYOUT_FILE,
};
use crate::output::AtomicFile;
use crate::tarball::{pad_to_block, EntryType, Header, END_OF_ARCHIVE};

/// An oci-archive that is already at the output path.
pub struct ExistingArchive {
    file: File,
    pub index: Map<String, Value>,
    /// Regular members other than `oci-layout`/`index.json`: name, data
    /// offset, size.
    members: Vec<(String, u64, u64)>,
}

fn not_archive(path: &Path, why: &str) -> Error {
    Error::Oci {
        path: path.to_path_buf(),
        reason: format!(
            "the output exists and {why}; nothing was written. Pass a new file name, or an oci-archive made by dynpack or skopeo"
        ),
    }
}

/// The folder that holds the archive file `path` (`.` for a bare name):
/// where its temporary file is written and the lock is taken.
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads the archive at `path`, `None` when there is no file yet.
///
/// The output is opened without blocking and must be a regular file: a
/// FIFO (or a link to one) would otherwise block the open forever while the
/// folder lock is held. A symbolic link is refused too, since the new
/// archive replaces the link itself, not the file it points to.
pub fn open_existing(path: &Path) -> Result<Option<ExistingArchive>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
        Ok(m) if m.file_type().is_symlink() => return Err(not_archive(
            path,
            "is a symbolic link (dynpack replaces the file at the output path and would replace the link, not its target)",
        )),
        Ok(m) if m.is_dir() => return Err(not_archive(
            path,
            "is a folder (archive: true writes one file; leave it unset to write a layout folder)",
        )),
        Ok(_) => {}
    }
    let mut file = match open_regular(path) {
        Ok((file, _)) => file,
        Err(Unreadable::NotRegular(kind)) => {
            return Err(not_archive(path, &format!("is {kind}, not a file")))
        }
        Err(Unreadable::Io(e)) => return Err(Error::io(path, e)),
        Err(Unreadable::TooLarge(_)) => unreachable!("open_regular sets no limit"),
    };
    let read = read_archive(&mut file, path).map_err(|problem| match problem {
        ArchiveProblem::Gzip => not_archive(
            path,
            "is gzip-compressed (dynpack adds images to uncompressed oci-archive files only)",
        ),
        ArchiveProblem::NotTar => not_archive(path, "is not a readable tar file"),
        ArchiveProblem::Oversized(name, size) => not_archive(
            path,
            &format!("its {name} member is {size} bytes, more than the {MAX_INDEX_BYTES} bytes dynpack reads"),
        ),
        ArchiveProblem::NoIndex => not_archive(
            path,
            "is not an oci-archive (no oci-layout and index.json at its root)",
        ),
        ArchiveProblem::Error(e) => e,
    })?;
    let (layout, index, members) = (read.oci_layout, read.index, read.members);
    let index = parse_existing(path, &layout, &index)?;
    Ok(Some(ExistingArchive {
        file,
        index,
        members,
    }))
}

impl ExistingArchive {
    /// The bytes of the member `name` when it exists and has at most `max`
    /// bytes (used to read small manifests back).
    pub fn read_member(&mut self, name: &str, max: u64) -> Option<Vec<u8>> {
        let (_, offset, size) = self.members.iter().find(|m| m.0 == name)?.clone();
        if size > max {
            return None;
        }
        self.file.seek(SeekFrom::Start(offset)).ok()?;
        let mut buf = vec![0u8; size as usize];
        self.file.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// What the tar of an oci-archive holds: its `oci-layout` and `index.json`,
/// and where every other regular member's data lies (name without `./`,
/// data offset, size), so blobs are read in place, never extracted.
pub struct ArchiveMembers {
    pub oci_layout: Vec<u8>,
    pub index: Vec<u8>,
    pub members: Vec<(String, u64, u64)>,
}

impl ArchiveMembers {
    /// The members other than the two JSON files, by name: (data offset,
    /// size), for readers that look blobs up by `blobs/sha256/<hex>`.
    pub fn by_name<M: FromIterator<(String, (u64, u64))>>(&self) -> M {
        self.members
            .iter()
            .map(|(name, offset, size)| (name.clone(), (*offset, *size)))
            .collect()
    }
}

/// Why a file is not a readable oci-archive; each caller words it for its
/// own situation (an output to extend, an image to inspect or push).
pub enum ArchiveProblem {
    /// A gzip file: skopeo and podman write archives uncompressed.
    Gzip,
    NotTar,
    /// `oci-layout` or `index.json` larger than [`MAX_INDEX_BYTES`].
    Oversized(String, u64),
    /// No `oci-layout` and `index.json` at the root.
    NoIndex,
    /// An I/O error, or tar metadata past [`crate::tar_reader::MAX_METADATA`].
    Error(Error),
}

/// Reads the members of the oci-archive `file` (at `path`, for errors),
/// from its start.
pub fn read_archive(
    file: &mut File,
    path: &Path,
) -> std::result::Result<ArchiveMembers, ArchiveProblem> {
    let io = |e: std::io::Error| ArchiveProblem::Error(Error::io(path, e));
    let mut magic = [0u8; 2];
    if file.read(&mut magic).map_err(io)? == 2 && magic == [0x1f, 0x8b] {
        return Err(ArchiveProblem::Gzip);
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let (mut oci_layout, mut index, mut members) = (None, None, Vec::new());
    let mut archive = crate::tar_reader::Archive::new(&*file);
    for entry in archive.entries().map_err(|_| ArchiveProblem::NotTar)? {
        let mut entry = entry.map_err(|e| {
            if crate::tar_reader::is_too_large(&e) {
                ArchiveProblem::Error(Error::TarHeaderTooLarge {
                    location: path.display().to_string(),
                })
            } else {
                ArchiveProblem::NotTar
            }
        })?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = name.trim_start_matches("./").to_string();
        if name != OCI_LAYOUT_FILE && name != INDEX_FILE {
            members.push((name, entry.raw_file_position(), entry.size()));
            continue;
        }
        if entry.size() > MAX_INDEX_BYTES {
            return Err(ArchiveProblem::Oversized(name, entry.size()));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        (&mut entry)
            .take(MAX_INDEX_BYTES)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if name == OCI_LAYOUT_FILE {
            oci_layout = Some(bytes);
        } else {
            index = Some(bytes);
        }
    }
    match (oci_layout, index) {
        (Some(oci_layout), Some(index)) => Ok(ArchiveMembers {
            oci_layout,
            index,
            members,
        }),
        _ => Err(ArchiveProblem::NoIndex),
    }
}

/// Where a member's bytes come from.
pub enum Content<'a> {
    Bytes(Vec<u8>),
    Temp(&'a mut TempBlob, u64),
    Old(u64, u64),
}

fn copy_exact(
    src: &mut dyn Read,
    len: u64,
    out: &mut AtomicFile,
    from: &Path,
    cancel: &Option<Arc<AtomicBool>>,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Aborted);
        }
        let want = left.min(buf.len() as u64) as usize;
        src.read_exact(&mut buf[..want]).at(from)?;
        out.write(&buf[..want])?;
        left -= want as u64;
    }
    Ok(())
}

/// Writes the archive: the existing members, `blobs` (name → content),
/// the merged `index`, a fresh `oci-layout`; sorted, with parent folders.
pub fn write_archive(
    path: &Path,
    existing: Option<ExistingArchive>,
    blobs: Vec<(String, Content)>,
    index: &Value,
    mtime: u64,
    cancel: &Option<Arc<AtomicBool>>,
) -> Result<PathBuf> {
    let mut files: BTreeMap<String, Content> = BTreeMap::new();
    let mut old_file = None;
    if let Some(old) = existing {
        for (name, offset, size) in old.members {
            files.insert(name, Content::Old(offset, size));
        }
        old_file = Some(old.file);
    }
    for (name, content) in blobs {
        files.insert(name, content);
    }
    files.insert(
        INDEX_FILE.into(),
        Content::Bytes(serde_json::to_vec(index).expect("JSON")),
    );
    files.insert(OCI_LAYOUT_FILE.into(), Content::Bytes(oci_layout_json()));

    let mut dirs: Vec<String> = Vec::new();
    for name in files.keys() {
        let mut cut = 0;
        while let Some(i) = name[cut..].find('/') {
            let d = &name[..cut + i];
            if !dirs.iter().any(|x| x == d) {
                dirs.push(d.to_string());
            }
            cut += i + 1;
        }
    }
    let mut order: Vec<(String, bool)> = dirs
        .into_iter()
        .map(|d| (d, true))
        .chain(files.keys().map(|f| (f.clone(), false)))
        .collect();
    order.sort_by(|a, b| compare_paths(&a.0, &b.0));

    let dir = folder_of(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Destination {
            path: path.to_path_buf(),
            reason: "the output names no file".into(),
        })?
        .to_string_lossy()
        .into_owned();
    let mut out = AtomicFile::create(&dir, &file_name)?;
    let mut head = Vec::with_capacity(1536);
    for (name, is_dir) in order {
        head.clear();
        let size = if is_dir {
            0
        } else {
            match &files[&name] {
                Content::Bytes(b) => b.len() as u64,
                Content::Temp(_, n) | Content::Old(_, n) => *n,
            }
        };
        let member = if is_dir {
            format!("{name}/")
        } else {
            name.clone()
        };
        Header {
            path: &member,
            mode: if is_dir { 0o755 } else { 0o644 },
            size,
            mtime,
            entry_type: if is_dir {
                EntryType::Directory
            } else {
                EntryType::File
            },
            linkpath: None,
            owner: Some(0),
        }
        .encode(&mut head);
        out.write(&head)?;
        if is_dir {
            continue;
        }
        match files.get_mut(&name).expect("listed") {
            Content::Bytes(b) => out.write(b)?,
            Content::Temp(t, n) => {
                let n = *n;
                copy_exact(t.reader()?, n, &mut out, path, cancel)?
            }
            Content::Old(offset, n) => {
                let f = old_file.as_mut().expect("old members come with their file");
                f.seek(SeekFrom::Start(*offset)).at(path)?;
                copy_exact(f, *n, &mut out, path, cancel)?
            }
        }
        let mut pad = Vec::new();
        pad_to_block(&mut pad, size);
        out.write(&pad)?;
    }
    out.write(&END_OF_ARCHIVE)?;
    drop(old_file);
    out.commit()
}
