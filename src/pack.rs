//! `npm pack` as a pipeline of plain functions:
//! [`PackList::collect`] → [`TarEntry::plan`] → tar stream (one thread) →
//! gzip + hashes + temporary file (another thread) → rename.
//!
//! The report has the fields and the order of `npm pack --json`.

use std::path::{Path, PathBuf};

use sha1::Sha1;
use sha2::{Digest, Sha512};

use crate::error::{Error, Result};
use crate::gzip::{FastGzip, Gzip, NpmGzip, Sink};
use crate::hex::hex;
use crate::output::AtomicFile;
use crate::packlist::{order, PackList};
use crate::pipeline::{check_cancel, gzip_stream, Cancel};
use crate::tarball::{write_entries_counted, TarEntry, TarStyle, END_OF_ARCHIVE};

/// How the tar is gzipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Byte-identical to `npm pack` run by the same Node (level 9, Node's zlib).
    #[default]
    Npm,
    /// Parallel, deterministic, not npm's bytes.
    Fast,
}

impl Compression {
    pub fn parse(s: &str) -> Result<Compression> {
        match s {
            "npm" => Ok(Compression::Npm),
            "fast" => Ok(Compression::Fast),
            other => Err(Error::InvalidOption {
                message: format!("compression must be 'npm' or 'fast', not {other:?}"),
            }),
        }
    }

    fn compressor(self) -> Result<Box<dyn Gzip>> {
        Ok(match self {
            Compression::Npm => Box::new(NpmGzip::new()?),
            Compression::Fast => Box::new(FastGzip::new()),
        })
    }
}

/// Options of [`pack_dynamic`].
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// Folder the tgz is written to (default: the current directory).
    pub destination: Option<PathBuf>,
    /// Compute everything, write nothing.
    pub dry_run: bool,
    pub compression: Compression,
    /// Set to stop the work; the call then fails with `E_ABORTED`.
    pub cancel: Cancel,
    /// Advanced per file read, for live progress.
    pub progress: crate::progress::SharedProgress,
    /// Also write the CycloneDX SBOM of the packed files beside the tgz,
    /// as `<tgz>.cdx.json` ([`crate::sbom`]); not for dry runs.
    pub sbom: bool,
    /// The SBOM's `metadata.timestamp` (seconds since 1970; none if unset).
    pub sbom_timestamp: Option<u64>,
}

/// One file as `npm pack --json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedFile {
    pub path: String,
    pub size: u64,
    pub mode: u32,
}

/// What `npm pack --json` prints for a package, plus the file written.
#[derive(Debug, Clone)]
pub struct PackReport {
    pub id: String,
    pub name: String,
    pub version: String,
    pub size: u64,
    pub unpacked_size: u64,
    pub shasum: String,
    pub integrity: String,
    pub filename: String,
    pub files: Vec<PackedFile>,
    pub entry_count: u64,
    pub bundled: Vec<String>,
    /// The tgz written (None for dry runs).
    pub path: Option<PathBuf>,
    /// The SBOM written beside it (with [`PackOptions::sbom`]).
    pub sbom: Option<PathBuf>,
}

/// The name npm writes the tarball under: leading `@` dropped, every `/`
/// and `\` turned into `-` (so it can never leave the destination).
pub fn tarball_file_name(name: &str, version: &str) -> String {
    let raw = format!("{name}-{version}.tgz");
    raw.strip_prefix('@')
        .unwrap_or(&raw)
        .replace(['/', '\\'], "-")
}

/// The `filename` field of `npm pack --json` (first `@` and `/` only).
pub fn report_file_name(name: &str, version: &str) -> String {
    format!(
        "{}-{version}.tgz",
        name.replacen('@', "", 1).replacen('/', "-", 1)
    )
}

/// npm's `files` listing order: capitals first, each group by
/// `Intl.Collator('en', {sensitivity: 'case', numeric: true})`.
pub fn listing(entries: &[TarEntry]) -> Vec<PackedFile> {
    let files: Vec<PackedFile> = entries
        .iter()
        .map(|e| PackedFile {
            path: e.path.clone(),
            size: e.size,
            mode: e.mode,
        })
        .collect();
    let (mut uppers, mut others): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| order::starts_upper(&f.path));
    uppers.sort_by(|a, b| order::compare_listing(&a.path, &b.path));
    others.sort_by(|a, b| order::compare_listing(&a.path, &b.path));
    uppers.extend(others);
    uppers
}

/// Bundled package names in order of first appearance in the tar.
pub fn bundled_names(entries: &[TarEntry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        let Some(rest) = e.path.strip_prefix("node_modules/") else {
            continue;
        };
        let mut parts = rest.splitn(3, '/');
        let first = parts.next().unwrap_or("");
        let name = if first.starts_with('@') {
            match parts.next() {
                Some(second) => format!("{first}/{second}"),
                None => first.to_string(),
            }
        } else {
            first.to_string()
        };
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Counts, hashes and forwards the compressed bytes.
struct TgzSink<'a> {
    file: Option<&'a mut AtomicFile>,
    sha512: Sha512,
    sha1: Sha1,
    len: u64,
}

impl Sink for TgzSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sha512.update(bytes);
        self.sha1.update(bytes);
        self.len += bytes.len() as u64;
        if let Some(f) = self.file.as_deref_mut() {
            f.write(bytes)?;
        }
        Ok(())
    }
}

/// Streams the tar of `entries` through `gzip` into `sink`, with the tar
/// built on a second thread so that reading files overlaps compressing.
pub fn compress_tar(
    entries: &[TarEntry],
    style: &TarStyle,
    gzip: Box<dyn Gzip>,
    sink: &mut dyn Sink,
    cancel: &Cancel,
) -> Result<()> {
    compress_tar_counted(entries, style, gzip, sink, cancel, &None)
}

/// [`compress_tar`], advancing `progress` per file.
pub fn compress_tar_counted(
    entries: &[TarEntry],
    style: &TarStyle,
    gzip: Box<dyn Gzip>,
    sink: &mut dyn Sink,
    cancel: &Cancel,
    progress: &crate::progress::SharedProgress,
) -> Result<()> {
    gzip_stream(
        |send| {
            write_entries_counted(entries, style, send, progress)?;
            send(END_OF_ARCHIVE.to_vec())
        },
        gzip,
        sink,
        cancel,
    )
}

/// Packs `dir` as `npm pack --ignore-scripts` does. Lifecycle scripts
/// (`prepack`, `prepare`, `postpack`) are never run.
pub fn pack_dynamic(dir: &Path, opts: &PackOptions) -> Result<PackReport> {
    check_cancel(&opts.cancel)?;
    let list = PackList::collect(dir)?;
    let name = list.manifest.require_name()?.to_string();
    let version = list.manifest.require_version()?.to_string();
    crate::packlist::check_entry_points(&list)?;
    let entries = TarEntry::plan(&list);
    if let Some(p) = &opts.progress {
        p.set_totals(entries.len() as u64, entries.iter().map(|e| e.size).sum());
    }
    check_cancel(&opts.cancel)?;

    let file_name = tarball_file_name(&name, &version);
    let mut out = if opts.dry_run {
        None
    } else {
        let dest = match &opts.destination {
            Some(d) => d.clone(),
            None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
        };
        check_file_name(&file_name, &list.manifest.path)?;
        Some(AtomicFile::create(&dest, &file_name)?)
    };

    let mut sink = TgzSink {
        file: out.as_mut(),
        sha512: Sha512::new(),
        sha1: Sha1::new(),
        len: 0,
    };
    compress_tar_counted(
        &entries,
        &TarStyle::npm(),
        opts.compression.compressor()?,
        &mut sink,
        &opts.cancel,
        &opts.progress,
    )?;
    let integrity = {
        use base64::Engine;
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(sink.sha512.finalize_reset())
        )
    };
    let shasum = hex(&sink.sha1.finalize_reset());
    let size = sink.len;
    check_cancel(&opts.cancel)?;
    // The SBOM is written before either file is renamed into place, so a
    // failure leaves neither.
    let sbom_file = match &out {
        Some(tgz) if opts.sbom => {
            let bytes = crate::sbom::sbom_of(
                &list,
                &crate::sbom::SbomOptions {
                    timestamp: opts.sbom_timestamp,
                    cancel: opts.cancel.clone(),
                },
            )?;
            let dest = tgz.target().parent().expect("the tgz has a folder");
            let mut f =
                AtomicFile::create(dest, &format!("{file_name}{}", crate::sbom::FILE_SUFFIX))?;
            f.write(&bytes)?;
            Some(f)
        }
        _ => None,
    };
    check_cancel(&opts.cancel)?;
    let path = match out {
        Some(f) => Some(f.commit()?),
        None => None,
    };
    let sbom = match sbom_file {
        Some(f) => Some(f.commit()?),
        None => None,
    };

    Ok(PackReport {
        id: format!("{name}@{version}"),
        filename: report_file_name(&name, &version),
        unpacked_size: entries.iter().map(|e| e.size).sum(),
        entry_count: entries.len() as u64,
        bundled: bundled_names(&entries),
        files: listing(&entries),
        name,
        version,
        size,
        shasum,
        integrity,
        path,
        sbom,
    })
}

/// The tarball name must be one plain file name: `/` and `\` are already
/// replaced, but a NUL or more than 255 bytes can only fail later, less
/// clearly (npm fails on both as well).
fn check_file_name(file_name: &str, manifest: &Path) -> Result<()> {
    let reason = if file_name.contains('\0') {
        "`name` or `version` contains a NUL character, which no file name can hold".to_string()
    } else if file_name.len() > 255 {
        format!(
            "`name` and `version` make the tarball name {} bytes long, more than the 255 a file name may have; shorten them",
            file_name.len()
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidManifest {
        path: manifest.to_path_buf(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            tarball_file_name("@scope/sample-plugin-dynamic", "1.2.3"),
            "scope-sample-plugin-dynamic-1.2.3.tgz"
        );
        assert_eq!(tarball_file_name("../../x", "1.0.0"), "..-..-x-1.0.0.tgz");
        assert_eq!(
            report_file_name("pkg-d", "v2.0.0-rc.1+build.5"),
            "pkg-d-v2.0.0-rc.1+build.5.tgz"
        );
    }
}
