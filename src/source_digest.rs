//! The digest of what an image is made *from*: each plugin's packed file
//! list (paths, modes, sizes, content hashes), the options that shape the
//! image bytes, and [`FORMAT_VERSION`]. `package --push` writes it into the
//! manifest as [`ANNOTATION`] and compares it with the remote tag's, so an
//! unchanged plugin is neither compressed nor uploaded.
//!
//! Hashing reads each file once, in parallel, without building a tarball:
//! far cheaper than the deflate pass it saves.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::input::{open_regular, Unreadable};
use crate::oci::Platform;
use crate::packlist::PackList;
use crate::pipeline::{check_cancel, Cancel};
use crate::plugin;
use crate::registry::auth::AuthOptions;
use crate::registry::reference::ImageReference;
use crate::registry::transport::TransportOptions;

/// The manifest annotation that holds the source digest.
pub const ANNOTATION: &str = "io.dynpack.source.digest";

/// Bumped whenever the same source and options would give other image
/// bytes (a layer, config or manifest format change), so that images built
/// by an older dynpack are rebuilt once.
pub const FORMAT_VERSION: u32 = 1;

/// The options that enter the image bytes (the tag does not: the manifest
/// is the same under every tag).
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    pub platform: Platform,
    pub compression_level: u32,
    pub source_date_epoch: u64,
    /// Manifest annotations given by the user ([`ANNOTATION`] itself is left out).
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// SBOM referrers are attached.
    pub sbom: bool,
    pub cancel: Cancel,
}

/// One plugin as the image will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlugin {
    pub directory: String,
    pub name: String,
    pub version: String,
    pub files: u64,
    pub bytes: u64,
}

/// `sha256:…` of the source, and the plugins it covers in image order.
#[derive(Debug, Clone)]
pub struct SourceDigest {
    pub digest: String,
    pub plugins: Vec<SourcePlugin>,
}

/// The digest of the plugins `inputs` (plugin or dist-dynamic folders, in
/// image order) built with `opts`.
pub fn source_digest(inputs: &[PathBuf], opts: &SourceOptions) -> Result<SourceDigest> {
    let mut all = source_digests(&[inputs.to_vec()], opts)?;
    Ok(all.remove(0))
}

/// [`source_digest`] of several images at once (`groups`: each image's
/// plugins, in image order), all built with `opts`. Every folder of every
/// image is walked, then every file hashed, in one parallel pass each: a
/// monorepo's small plugins keep all cores busy together where one pass per
/// image would leave them idle between images.
pub fn source_digests(groups: &[Vec<PathBuf>], opts: &SourceOptions) -> Result<Vec<SourceDigest>> {
    source_digests_each(groups, opts, |_, _| {})
}

/// [`source_digests`], calling `done(i, digest)` as soon as image `i` is
/// hashed: the files are hashed image by image (largest first within
/// each), so that a caller can go on with the first images while the
/// others are still read.
pub fn source_digests_each(
    groups: &[Vec<PathBuf>],
    opts: &SourceOptions,
    done: impl Fn(usize, &SourceDigest) + Sync,
) -> Result<Vec<SourceDigest>> {
    check_cancel(&opts.cancel)?;
    let inputs: Vec<&PathBuf> = groups.iter().flatten().collect();
    let lists: Vec<Listed> = inputs
        .par_iter()
        .map(|p| {
            check_cancel(&opts.cancel)?;
            let list = PackList::collect(&plugin::locate(p)?)?;
            let name = list.manifest.require_name()?.to_string();
            let version = list.manifest.require_version()?.to_string();
            let directory = plugin::directory_name(&name);
            Ok((list, name, version, directory))
        })
        .collect::<Result<_>>()?;
    // Each image's plugins in `lists`, and its files in `files`.
    let mut plugin_ranges = Vec::with_capacity(groups.len());
    let mut file_ranges = Vec::with_capacity(groups.len());
    let (mut next_list, mut next_file) = (0, 0);
    for group in groups {
        let count: usize = lists[next_list..next_list + group.len()]
            .iter()
            .map(|l| l.0.files.len())
            .sum();
        plugin_ranges.push(next_list..next_list + group.len());
        file_ranges.push(next_file..next_file + count);
        next_list += group.len();
        next_file += count;
    }
    let files: Vec<&crate::packlist::PackFile> = lists.iter().flat_map(|l| &l.0.files).collect();
    let image_of: Vec<usize> = file_ranges
        .iter()
        .enumerate()
        .flat_map(|(i, r)| std::iter::repeat_n(i, r.len()))
        .collect();
    // Image by image; within one, large files first, so that no core is
    // left hashing one big file alone at its end.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| (image_of[i], std::cmp::Reverse(files[i].size)));
    let options = options_line(opts);
    let hashes: Vec<OnceLock<String>> = files.iter().map(|_| OnceLock::new()).collect();
    let left: Vec<AtomicUsize> = file_ranges
        .iter()
        .map(|r| AtomicUsize::new(r.len()))
        .collect();
    let digests: Vec<OnceLock<SourceDigest>> = groups.iter().map(|_| OnceLock::new()).collect();
    let finish = |image: usize| {
        let hashes: Vec<&str> = hashes[file_ranges[image].clone()]
            .iter()
            .map(|h| h.get().expect("hashed").as_str())
            .collect();
        let d = image_digest(&options, &lists[plugin_ranges[image].clone()], &hashes);
        done(image, &d);
        let _ = digests[image].set(d);
    };
    order.par_iter().try_for_each(|&i| -> Result<()> {
        check_cancel(&opts.cancel)?;
        let _ = hashes[i].set(hash_file(&files[i].abs, files[i].size)?);
        if left[image_of[i]].fetch_sub(1, Ordering::AcqRel) == 1 {
            finish(image_of[i]);
        }
        Ok(())
    })?;
    // An image without a file (none: every plugin has its package.json)
    // would not have been finished above.
    for (image, d) in digests.iter().enumerate() {
        if d.get().is_none() {
            finish(image);
        }
    }
    Ok(digests
        .into_iter()
        .map(|d| d.into_inner().expect("every image digested"))
        .collect())
}

/// A walked plugin: its pack list, name, version and directory.
type Listed = (PackList, String, String, String);

/// The options that shape an image's bytes, as the digest covers them.
fn options_line(opts: &SourceOptions) -> String {
    let mut annotations = opts.annotations.clone();
    annotations.remove(ANNOTATION);
    json!({
        "platform": [&opts.platform.os, &opts.platform.architecture, &opts.platform.variant],
        "compressionLevel": opts.compression_level,
        "sourceDateEpoch": opts.source_date_epoch,
        "annotations": annotations,
        "labels": opts.labels,
        "sbom": opts.sbom,
    })
    .to_string()
}

/// The digest of one image: its `plugins` in order, `hashes` the SHA-256
/// of each of their files in order.
fn image_digest(options: &str, plugins: &[Listed], hashes: &[&str]) -> SourceDigest {
    let mut h = Sha256::new();
    h.update(format!("dynpack source v{FORMAT_VERSION}\n"));
    h.update(options);
    h.update(b"\n");
    let mut hashes = hashes.iter();
    let mut out = Vec::with_capacity(plugins.len());
    for (list, name, version, directory) in plugins {
        h.update(Value::from(directory.as_str()).to_string());
        h.update(b"\n");
        let mut bytes = 0;
        for f in &list.files {
            // JSON-quoted path: no name can forge a line break.
            let line = format!(
                "{:o} {} {} {}\n",
                f.mode,
                f.size,
                hashes.next().expect("one hash per file"),
                Value::from(f.path.as_str())
            );
            h.update(line);
            bytes += f.size;
        }
        out.push(SourcePlugin {
            directory: directory.clone(),
            name: name.clone(),
            version: version.clone(),
            files: list.files.len() as u64,
            bytes,
        });
    }
    SourceDigest {
        digest: format!("sha256:{}", crate::hex::hex(&h.finalize())),
        plugins: out,
    }
}

/// The read buffer of each hashing thread, allocated once per thread.
const BLOCK: usize = 256 * 1024;
thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// sha256 (hex) of a file read in [`BLOCK`]s; a size other than the listed
/// one means the file changed under us.
fn hash_file(path: &std::path::Path, expected: u64) -> Result<String> {
    let changed = |actual| Error::FileChanged {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    let (mut file, meta) = open_regular(path).map_err(|e| match e {
        Unreadable::Io(e) => Error::io(path, e),
        Unreadable::NotRegular(kind) => Error::NotAFile {
            path: path.to_path_buf(),
            kind,
            fix: "remove it or exclude it (.npmignore / `files`)",
        },
        Unreadable::TooLarge(n) => changed(n),
    })?;
    if meta.len() != expected {
        return Err(changed(meta.len()));
    }
    // Exactly the bytes the walk and the open file agree on: without the
    // read that would only find the end, one system call less per file.
    let mut h = Sha256::new();
    let mut left = expected;
    BUFFER.with(|buf| -> Result<()> {
        let mut buf = buf.borrow_mut();
        if buf.len() < BLOCK {
            buf.resize(BLOCK, 0);
        }
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = file
                .read(&mut buf[..want])
                .map_err(|e| Error::io(path, e))?;
            if n == 0 {
                return Err(changed(expected - left));
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    })?;
    Ok(crate::hex::hex(&h.finalize()))
}

/// The [`ANNOTATION`] of the manifest `bytes`, when it is an image
/// manifest that has one.
pub fn source_digest_of(bytes: &[u8]) -> Option<String> {
    let v = serde_json::from_slice::<Value>(bytes).ok()?;
    Some(v.get("annotations")?.get(ANNOTATION)?.as_str()?.to_string())
}

/// What a registry tag points at now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTag {
    pub tag: String,
    /// None when the tag does not exist.
    pub manifest_digest: Option<String>,
    /// The manifest's [`ANNOTATION`], when it is an image manifest that has one.
    pub source_digest: Option<String>,
}

/// Reads the manifest `tag` points at (one GET) and its source digest.
pub fn remote_tag(
    tag: &str,
    auth: &AuthOptions,
    transport: &TransportOptions,
) -> Result<RemoteTag> {
    let reference = ImageReference::parse(tag)?;
    let manifest = match crate::registry::pull_manifest(&reference, &[], auth, transport) {
        Ok(m) => m,
        Err(Error::ImageNotFound { .. }) => {
            return Ok(RemoteTag {
                tag: tag.to_string(),
                manifest_digest: None,
                source_digest: None,
            })
        }
        Err(e) => return Err(e),
    };
    let source_digest = source_digest_of(&manifest.bytes);
    Ok(RemoteTag {
        tag: tag.to_string(),
        manifest_digest: Some(manifest.digest),
        source_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(dir: &std::path::Path, body: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("package.json"),
            r#"{"name":"@acme/plugin-x-dynamic","version":"1.0.0","main":"index.js"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("index.js"), body).unwrap();
    }

    fn opts() -> SourceOptions {
        SourceOptions {
            compression_level: 3,
            ..Default::default()
        }
    }

    fn digest(dir: &std::path::Path, o: &SourceOptions) -> SourceDigest {
        source_digest(&[dir.to_path_buf()], o).unwrap()
    }

    #[test]
    fn digest_follows_content_and_options_only() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        plugin(&a, "x");
        plugin(&b, "x");
        let da = digest(&a, &opts());
        assert_eq!(
            digest(&b, &opts()).digest,
            da.digest,
            "the folder's location does not count"
        );
        assert_eq!(da.plugins[0].directory, "acme-plugin-x");
        assert_eq!(da.plugins[0].files, 2);

        std::fs::write(b.join("index.js"), "y").unwrap();
        assert_ne!(digest(&b, &opts()).digest, da.digest);

        let mut o = opts();
        o.compression_level = 9;
        assert_ne!(digest(&a, &o).digest, da.digest);
        let mut o = opts();
        o.annotations.insert("k".into(), "v".into());
        assert_ne!(digest(&a, &o).digest, da.digest);
        let mut o = opts();
        o.annotations.insert(ANNOTATION.into(), "sha256:x".into());
        assert_eq!(digest(&a, &o).digest, da.digest);
    }

    #[test]
    fn several_images_at_once_give_each_its_own_digest() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        plugin(&a, "x");
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(
            b.join("big.js"),
            vec![b'z'; super::BLOCK * 2 + 3], // several reads of the buffer
        )
        .unwrap();
        std::fs::write(
            b.join("package.json"),
            r#"{"name":"@acme/plugin-y-dynamic","version":"1.0.0","main":"big.js"}"#,
        )
        .unwrap();
        let groups = vec![vec![a.clone()], vec![b.clone(), a.clone()], vec![]];
        let all = source_digests(&groups, &opts()).unwrap();
        assert_eq!(all.len(), 3);
        for (g, d) in groups.iter().zip(&all) {
            let alone = source_digest(g, &opts()).unwrap();
            assert_eq!(d.digest, alone.digest);
            assert_eq!(d.plugins, alone.plugins);
        }
        assert_ne!(all[0].digest, all[1].digest);
        assert_eq!(all[1].plugins[0].bytes, super::BLOCK as u64 * 2 + 3 + 67);

        // Each image is told once, as it is done, with the digest returned.
        let told = std::sync::Mutex::new(Vec::new());
        let each = source_digests_each(&groups, &opts(), |i, d| {
            told.lock().unwrap().push((i, d.digest.clone()));
        })
        .unwrap();
        let mut told = told.into_inner().unwrap();
        told.sort();
        let expected: Vec<(usize, String)> = all
            .iter()
            .enumerate()
            .map(|(i, d)| (i, d.digest.clone()))
            .collect();
        assert_eq!(told, expected);
        assert_eq!(
            each.iter().map(|d| &d.digest).collect::<Vec<_>>(),
            all.iter().map(|d| &d.digest).collect::<Vec<_>>()
        );
    }

    #[test]
    fn mode_changes_count() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        plugin(&a, "x");
        let before = digest(&a, &opts()).digest;
        std::fs::set_permissions(a.join("index.js"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert_ne!(digest(&a, &opts()).digest, before);
    }
}
