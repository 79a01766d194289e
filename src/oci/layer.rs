//! The image's single layer: every plugin under `<dir>/`, plus the
//! packagers' `index.json` at the root.
//!
//! RHDH's installer takes `layers[0]`, keeps the members whose name starts
//! with `<dir>` and skips every link, so the layer holds only directories
//! and regular files (hard links become full copies), names without `./`,
//! uid/gid 0, one fixed mtime, and entries sorted by path components, each
//! directory before its contents. The tar is hashed (diff_id) while it is
//! produced and gzipped on all cores ([`FastGzip`]) into the blob sink.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::gzip::{FastGzip, Sink};
use crate::packlist::PackList;
use crate::pipeline::{gzip_stream, Cancel};
use crate::tarball::{append_file, EntryType, Header, TarEntry, CHUNK, END_OF_ARCHIVE};

/// One plugin's files, paths relative to its dist-dynamic folder.
#[derive(Debug, Clone)]
pub struct PluginFiles {
    pub directory: String,
    pub files: Vec<TarEntry>,
}

impl PluginFiles {
    /// npm's selection for `list`, with every hard link turned into a
    /// regular file of its own (the installer skips links) and modes
    /// reduced to 0755 or 0644 (the exec bit as npm plans it; no setuid).
    pub fn from_pack_list(directory: &str, list: &PackList) -> PluginFiles {
        let mut files = TarEntry::plan(list);
        for (e, f) in files.iter_mut().zip(&list.files) {
            e.link_to = None;
            e.size = f.size;
            e.mode = if e.mode & 0o111 != 0 { 0o755 } else { 0o644 };
        }
        PluginFiles {
            directory: directory.to_string(),
            files,
        }
    }
}

/// One member of the layer.
#[derive(Debug, Clone)]
pub enum Member<'a> {
    Dir(String),
    File(String, &'a TarEntry),
    Bytes(String, &'a [u8]),
}

impl Member<'_> {
    pub fn path(&self) -> &str {
        match self {
            Member::Dir(p) | Member::File(p, _) | Member::Bytes(p, _) => p,
        }
    }
}

/// Path order by components (`a/b` < `a-b`), so that a directory's
/// contents follow it directly; bytewise within a component.
pub fn compare_paths(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// The sorted members of the layer.
pub fn members<'a>(plugins: &'a [PluginFiles], root_index: (&str, &'a [u8])) -> Vec<Member<'a>> {
    let mut dirs = BTreeSet::new();
    let mut out = Vec::new();
    for p in plugins {
        dirs.insert(p.directory.clone());
        for f in &p.files {
            let full = format!("{}/{}", p.directory, f.path);
            let mut cut = full.len();
            while let Some(i) = full[..cut].rfind('/') {
                if !dirs.insert(full[..i].to_string()) {
                    break;
                }
                cut = i;
            }
            out.push(Member::File(full, f));
        }
    }
    out.extend(dirs.into_iter().map(Member::Dir));
    out.push(Member::Bytes(root_index.0.to_string(), root_index.1));
    out.sort_by(|a, b| compare_paths(a.path(), b.path()));
    out
}

/// Writes the tar stream of `members` (end blocks included) to `sink` in
/// chunks of about [`CHUNK`] bytes.
pub fn write_tar(
    members: &[Member],
    mtime: u64,
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
) -> Result<()> {
    write_tar_counted(members, mtime, sink, &None)
}

/// [`write_tar`], advancing `progress` per plugin file read.
pub fn write_tar_counted(
    members: &[Member],
    mtime: u64,
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
    progress: &crate::progress::SharedProgress,
) -> Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    for m in members {
        let (path, mode, size, entry_type) = match m {
            Member::Dir(p) => (format!("{p}/"), 0o755, 0, EntryType::Directory),
            Member::File(p, e) => (p.clone(), e.mode, e.size, EntryType::File),
            Member::Bytes(p, b) => (p.clone(), 0o644, b.len() as u64, EntryType::File),
        };
        Header {
            path: &path,
            mode,
            size,
            mtime,
            entry_type,
            linkpath: None,
            owner: Some(0),
        }
        .encode(&mut buf);
        match m {
            Member::File(_, e) if e.size > 0 => append_file(e, &mut buf, sink)?,
            Member::Bytes(_, b) => {
                buf.extend_from_slice(b);
                crate::tarball::pad_to_block(&mut buf, b.len() as u64);
            }
            _ => {}
        }
        if let Member::File(_, e) = m {
            crate::progress::file_done(progress, e.size);
        }
        if buf.len() >= CHUNK {
            sink(std::mem::replace(&mut buf, Vec::with_capacity(CHUNK * 2)))?;
        }
    }
    buf.extend_from_slice(&END_OF_ARCHIVE);
    sink(buf)
}

/// The digests of a written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// sha256 of the uncompressed tar (`rootfs.diff_ids`).
    pub diff_id: String,
}

/// Streams the tar of `members` through a [`FastGzip`] of `level` into
/// `out`; the tar is produced (files read, diff_id hashed) on a second
/// thread while this one compresses on the rayon pool.
pub fn write_layer(
    members: &[Member],
    mtime: u64,
    level: u32,
    out: &mut dyn Sink,
    cancel: &Cancel,
) -> Result<LayerDigests> {
    write_layer_counted(members, mtime, level, out, cancel, &None)
}

/// [`write_layer`], advancing `progress` per plugin file read; its totals
/// are set here from `members`.
pub fn write_layer_counted(
    members: &[Member],
    mtime: u64,
    level: u32,
    out: &mut dyn Sink,
    cancel: &Cancel,
    progress: &crate::progress::SharedProgress,
) -> Result<LayerDigests> {
    if let Some(p) = progress {
        let files = members.iter().filter_map(|m| match m {
            Member::File(_, e) => Some(e.size),
            _ => None,
        });
        let (count, bytes) = files.fold((0u64, 0u64), |(n, b), s| (n + 1, b + s));
        p.set_totals(count, bytes);
    }
    let diff_id = gzip_stream(
        |send| {
            let mut sha = Sha256::new();
            write_tar_counted(
                members,
                mtime,
                &mut |chunk: Vec<u8>| {
                    sha.update(&chunk);
                    send(chunk)
                },
                progress,
            )?;
            Ok(format!("sha256:{}", crate::hex::hex(&sha.finalize())))
        },
        Box::new(FastGzip::with_level(level)),
        out,
        cancel,
    )?;
    Ok(LayerDigests { diff_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entry(path: &str, size: u64) -> TarEntry {
        TarEntry {
            path: path.into(),
            abs: PathBuf::from("/nonexistent"),
            mode: 0o644,
            size,
            link_to: None,
        }
    }

    #[test]
    fn members_are_sorted_with_directories_first() {
        let plugins = vec![
            PluginFiles {
                directory: "plugin-b".into(),
                files: vec![entry("package.json", 0)],
            },
            PluginFiles {
                directory: "plugin-a".into(),
                files: vec![
                    entry("package.json", 0),
                    entry("dist/x-y.js", 0),
                    entry("dist/x/z.js", 0),
                    entry("node_modules/@s/p/index.js", 0),
                ],
            },
        ];
        let m = members(&plugins, ("index.json", b"[]"));
        let paths: Vec<String> = m
            .iter()
            .map(|m| match m {
                Member::Dir(p) => format!("{p}/"),
                other => other.path().to_string(),
            })
            .collect();
        assert_eq!(
            paths,
            [
                "index.json",
                "plugin-a/",
                "plugin-a/dist/",
                "plugin-a/dist/x/",
                "plugin-a/dist/x/z.js",
                "plugin-a/dist/x-y.js",
                "plugin-a/node_modules/",
                "plugin-a/node_modules/@s/",
                "plugin-a/node_modules/@s/p/",
                "plugin-a/node_modules/@s/p/index.js",
                "plugin-a/package.json",
                "plugin-b/",
                "plugin-b/package.json",
            ]
        );
    }

    #[test]
    fn tar_is_readable_and_has_root_owned_entries() {
        let plugins = vec![PluginFiles {
            directory: "p".into(),
            files: vec![entry("empty.txt", 0)],
        }];
        let m = members(&plugins, ("index.json", b"[1]"));
        let mut tar = Vec::new();
        write_tar(&m, 1_700_000_000, &mut |c| {
            tar.extend_from_slice(&c);
            Ok(())
        })
        .unwrap();
        let mut a = tar::Archive::new(&tar[..]);
        let got: Vec<(String, u8, u64, u64, u32)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.entry_type().as_byte(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("index.json".into(), b'0', 0, 1_700_000_000, 0o644),
                ("p/".into(), b'5', 0, 1_700_000_000, 0o755),
                ("p/empty.txt".into(), b'0', 0, 1_700_000_000, 0o644),
            ]
        );
    }

    #[test]
    fn long_directory_paths_survive_the_ustar_prefix_split() {
        let long = "d".repeat(60);
        let plugins = vec![PluginFiles {
            directory: "p".into(),
            files: vec![entry(&format!("{long}/{long}/{long}/f"), 0)],
        }];
        let m = members(&plugins, ("index.json", b""));
        let mut tar = Vec::new();
        write_tar(&m, 0, &mut |c| {
            tar.extend_from_slice(&c);
            Ok(())
        })
        .unwrap();
        let mut a = tar::Archive::new(&tar[..]);
        let got: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        let d1 = format!("p/{long}");
        let d2 = format!("{d1}/{long}");
        let d3 = format!("{d2}/{long}");
        let want = [
            "index.json".to_string(),
            "p".into(),
            d1,
            d2,
            d3.clone(),
            format!("{d3}/f"),
        ];
        let got: Vec<&str> = got.iter().map(|p| p.trim_end_matches('/')).collect();
        assert_eq!(got, want);
    }
}
