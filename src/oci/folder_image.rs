//! A one-layer OCI image of plain files (the RHDH catalog index image).
//!
//! RHDH's installer reads `CATALOG_INDEX_IMAGE` as an image whose single
//! layer holds `dynamic-plugins.default.yaml` and `catalog-entities/`. This
//! module writes such an image from a list of files with the parts the
//! plugin images use: the same tar headers and member order ([`layer`]),
//! the same pinned zlib-rs deflate ([`crate::gzip::FastGzip`]), the same
//! JSON documents ([`image`]) and the same layout writer ([`Layout`]:
//! blobs under temporary names renamed to their digest, `index.json`
//! last). Every timestamp is `source_date_epoch`, every owner root, every
//! mode 0644 (files) or 0755 (folders), so the digest depends on the file
//! names and bytes alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::input::{open_regular, Unreadable};
use crate::oci::image::{self, Descriptor, Platform};
use crate::oci::layer::{self, Member};
use crate::oci::layout::Layout;
use crate::oci::{blob, Checked, DEFAULT_LEVEL};
use crate::pipeline::{check_cancel, Cancel};
use crate::tarball::TarEntry;

/// What one file of the layer holds.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A regular file, read while the layer is written.
    File(PathBuf),
}

/// One file of the layer; its folders are added from `path`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative, `/`-separated, e.g. `catalog-entities/extensions/all.yaml`.
    pub path: String,
    pub content: Content,
}

/// Options of [`build_folder_image`].
#[derive(Debug, Clone)]
pub struct FolderImageOptions {
    /// The layout folder (created, or an existing layout updated).
    pub output: PathBuf,
    /// The image reference, e.g. `quay.io/acme/catalog-index:1.0`.
    pub tag: String,
    /// The layout tag; default: the tag (or digest) of `tag`.
    pub ref_name: Option<String>,
    pub platform: Platform,
    /// Config labels.
    pub labels: BTreeMap<String, String>,
    /// The config's history entry, e.g. `dynpack catalog-index`.
    pub created_by: String,
    /// Every timestamp of the image (`SOURCE_DATE_EPOCH`), in seconds.
    pub source_date_epoch: u64,
    /// Deflate level of the layer, 1–9.
    pub compression_level: u32,
    pub cancel: Cancel,
}

impl FolderImageOptions {
    /// linux/amd64, epoch 0, [`DEFAULT_LEVEL`], no labels.
    pub fn new(output: impl Into<PathBuf>, tag: impl Into<String>) -> FolderImageOptions {
        FolderImageOptions {
            output: output.into(),
            tag: tag.into(),
            ref_name: None,
            platform: Platform::default(),
            labels: BTreeMap::new(),
            created_by: "dynpack".into(),
            source_date_epoch: 0,
            compression_level: DEFAULT_LEVEL,
            cancel: None,
        }
    }
}

/// What [`build_folder_image`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderImageReport {
    pub output: PathBuf,
    pub ref_name: String,
    /// `host[:port]/path` of the tag.
    pub repository: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub diff_id: String,
    pub layer_size: u64,
    /// The files of the layer, in layer order.
    pub files: Vec<String>,
}

/// Refuses a path a layer member cannot have: absolute, empty parts,
/// `.` or `..`, a NUL or a backslash (a separator on Windows).
fn check_path(path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains(['\0', '\\'])
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(Error::InvalidOption {
            message: format!(
                "{path:?} is not a relative path of the image (`/`-separated, no empty, `.` or `..` parts)"
            ),
        });
    }
    Ok(())
}

/// A file entry's size and how the layer reads it.
fn plan_file(path: &str, file: &PathBuf) -> Result<TarEntry> {
    let (_, meta) = open_regular(file).map_err(|why| match why {
        Unreadable::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Error::NoSuchFile { path: file.clone() }
        }
        Unreadable::Io(e) => Error::io(file, e),
        Unreadable::NotRegular(kind) => Error::NotAFile {
            path: file.clone(),
            kind,
            fix: "only regular files go into the image; remove it from the folder",
        },
        Unreadable::TooLarge(_) => unreachable!("open_regular sets no limit"),
    })?;
    Ok(TarEntry {
        path: path.to_string(),
        abs: file.clone(),
        mode: 0o644,
        size: meta.len(),
        link_to: None,
    })
}

/// The sorted members of the layer: every entry and the folders above it.
/// `planned` holds the stat of each [`Content::File`], by entry index.
fn members<'a>(entries: &'a [Entry], planned: &'a [Option<TarEntry>]) -> Result<Vec<Member<'a>>> {
    let files: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    if files.len() != entries.len() {
        let mut seen = BTreeSet::new();
        let twice = entries
            .iter()
            .find(|e| !seen.insert(&e.path))
            .expect("a duplicate");
        return Err(Error::InvalidOption {
            message: format!(
                "{:?} is listed twice; each path of the image holds one file",
                twice.path
            ),
        });
    }
    let mut dirs = BTreeSet::new();
    for e in entries {
        let mut at = e.path.as_str();
        while let Some(i) = at.rfind('/') {
            at = &e.path[..i];
            if files.contains(at) {
                return Err(Error::InvalidOption {
                    message: format!("{at:?} is a file and also the folder of {:?}", e.path),
                });
            }
            if !dirs.insert(at.to_string()) {
                break;
            }
        }
    }
    let mut out: Vec<Member> = dirs.into_iter().map(Member::Dir).collect();
    for (e, plan) in entries.iter().zip(planned) {
        out.push(match (&e.content, plan) {
            (Content::Bytes(b), _) => Member::Bytes(e.path.clone(), b),
            (Content::File(_), Some(t)) => Member::File(e.path.clone(), t),
            (Content::File(_), None) => unreachable!("every file entry is planned"),
        });
    }
    out.sort_by(|a, b| layer::compare_paths(a.path(), b.path()));
    Ok(out)
}

/// [`image::config_json`] with the history entry saying what made the image.
fn config_json(spec: &image::ConfigSpec, created_by: &str) -> Vec<u8> {
    let mut config: Value = serde_json::from_slice(&image::config_json(spec)).expect("own JSON");
    config["history"][0]["created_by"] = json!(created_by);
    serde_json::to_vec(&config).expect("JSON")
}

/// Writes the one-layer image of `entries` into the layout `opts.output`
/// under `opts.tag`. The same entries and options give the same digests
/// on every machine; an existing layout keeps its other tags.
pub fn build_folder_image(
    entries: &[Entry],
    opts: &FolderImageOptions,
) -> Result<FolderImageReport> {
    check_cancel(&opts.cancel)?;
    let Checked {
        reference,
        ref_name,
        created,
    } = Checked::of(
        &opts.tag,
        opts.ref_name.as_deref(),
        opts.source_date_epoch,
        opts.compression_level,
    )?;
    if entries.is_empty() {
        return Err(Error::InvalidOption {
            message: "the image needs at least one file".into(),
        });
    }
    for e in entries {
        check_path(&e.path)?;
    }
    let planned = entries
        .iter()
        .map(|e| match &e.content {
            Content::File(f) => plan_file(&e.path, f).map(Some),
            Content::Bytes(_) => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let members = members(entries, &planned)?;

    let mut layout = Layout::open(&opts.output, &opts.cancel)?;
    let blobs = layout.prepare()?;
    let mut layer_blob = blob::TempBlob::create(&blobs, "layer")?;
    let digests = layer::write_layer(
        &members,
        opts.source_date_epoch,
        opts.compression_level,
        &mut layer_blob,
        &opts.cancel,
    )?;
    let (layer_digest, layer_size) = layer_blob.digest();
    check_cancel(&opts.cancel)?;

    let config = config_json(
        &image::ConfigSpec {
            platform: &opts.platform,
            created: &created,
            labels: &opts.labels,
            diff_id: &digests.diff_id,
            directories: &[],
        },
        &opts.created_by,
    );
    let config_desc = Descriptor::of(image::MEDIA_TYPE_CONFIG, &config);
    let layer_desc = Descriptor {
        media_type: image::MEDIA_TYPE_LAYER_GZIP,
        digest: layer_digest.clone(),
        size: layer_size,
    };
    let annotations = BTreeMap::from([(image::ANNOTATION_CREATED.to_string(), created)]);
    let manifest = image::manifest_json(&config_desc, &layer_desc, &annotations);
    let manifest_desc = Descriptor::of(image::MEDIA_TYPE_MANIFEST, &manifest);
    if let Some(pinned) = &reference.digest {
        if *pinned != manifest_desc.digest {
            return Err(Error::InvalidTag {
                tag: opts.tag.clone(),
                reason: format!(
                    "it pins {pinned}, but these files build the manifest {}; use a tag, or pin the digest dynpack reports",
                    manifest_desc.digest
                ),
            });
        }
    }
    let descriptor =
        image::index_descriptor(&manifest_desc, &ref_name, &reference.raw, &opts.platform);
    check_cancel(&opts.cancel)?;
    layout.put_temp(&layer_digest, layer_blob)?;
    layout.put_bytes(&config_desc.digest, &config)?;
    layout.put_bytes(&manifest_desc.digest, &manifest)?;
    layout.finish(descriptor, &ref_name)?;

    Ok(FolderImageReport {
        output: opts.output.clone(),
        ref_name,
        repository: reference.repository,
        manifest_digest: manifest_desc.digest,
        config_digest: config_desc.digest,
        layer_digest,
        diff_id: digests.diff_id,
        layer_size,
        files: members
            .iter()
            .filter(|m| !matches!(m, Member::Dir(_)))
            .map(|m| m.path().to_string())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn bytes(path: &str, data: &str) -> Entry {
        Entry {
            path: path.into(),
            content: Content::Bytes(data.as_bytes().to_vec()),
        }
    }

    fn layer_of(report: &FolderImageReport) -> Vec<(String, u8, u32, u64, u64, Vec<u8>)> {
        let path = report
            .output
            .join("blobs/sha256")
            .join(blob::hex_of(&report.layer_digest));
        let gz = std::fs::read(path).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        tar.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.entry_type().as_byte(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn files_and_their_folders_sorted_root_owned_fixed_modes_and_times() {
        let t = tempfile::tempdir().unwrap();
        let on_disk = t.path().join("x.yaml");
        std::fs::write(&on_disk, "kind: Plugin\n").unwrap();
        let entries = vec![
            Entry {
                path: "catalog-entities/extensions/plugins/x.yaml".into(),
                content: Content::File(on_disk),
            },
            bytes("dynamic-plugins.default.yaml", "plugins: []\n"),
            bytes("catalog-entities/extensions/all.yaml", "kind: Location\n"),
        ];
        let mut o = FolderImageOptions::new(t.path().join("out"), "quay.io/acme/index:1.0");
        o.source_date_epoch = 1_700_000_000;
        let r = build_folder_image(&entries, &o).unwrap();
        assert_eq!(r.ref_name, "1.0");
        assert_eq!(r.repository, "quay.io/acme/index");
        assert_eq!(
            r.files,
            [
                "catalog-entities/extensions/all.yaml",
                "catalog-entities/extensions/plugins/x.yaml",
                "dynamic-plugins.default.yaml"
            ]
        );
        let got: Vec<_> = layer_of(&r)
            .into_iter()
            .map(|(p, ty, mode, uid, mtime, data)| {
                assert_eq!((uid, mtime), (0, 1_700_000_000), "{p}");
                (p, ty, mode, String::from_utf8(data).unwrap())
            })
            .collect();
        let dir = |p: &str| (p.to_string(), b'5', 0o755, String::new());
        let file = |p: &str, d: &str| (p.to_string(), b'0', 0o644, d.to_string());
        assert_eq!(
            got,
            [
                dir("catalog-entities/"),
                dir("catalog-entities/extensions/"),
                file("catalog-entities/extensions/all.yaml", "kind: Location\n"),
                dir("catalog-entities/extensions/plugins/"),
                file(
                    "catalog-entities/extensions/plugins/x.yaml",
                    "kind: Plugin\n"
                ),
                file("dynamic-plugins.default.yaml", "plugins: []\n"),
            ]
        );
        let index: Value =
            serde_json::from_slice(&std::fs::read(t.path().join("out/index.json")).unwrap())
                .unwrap();
        assert_eq!(index["manifests"][0]["digest"], json!(r.manifest_digest));
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            json!("1.0")
        );
    }

    #[test]
    fn same_files_same_digests_in_any_order_and_pinned() {
        let t = tempfile::tempdir().unwrap();
        let a = vec![bytes("b/c.yaml", "c\n"), bytes("a.yaml", "a\n")];
        let b = vec![bytes("a.yaml", "a\n"), bytes("b/c.yaml", "c\n")];
        let mut o = FolderImageOptions::new(t.path().join("a"), "r.example/acme/index:1");
        o.labels
            .insert("io.backstage.catalog-index".into(), "extensions".into());
        o.created_by = "dynpack catalog-index".into();
        let one = build_folder_image(&a, &o).unwrap();
        o.output = t.path().join("b");
        let two = build_folder_image(&b, &o).unwrap();
        assert_eq!(one.manifest_digest, two.manifest_digest);
        // The deflate bytes are pinned (zlib-rs, FastGzip): this digest holds on every machine.
        assert_eq!(
            one.layer_digest,
            "sha256:646062c8c24bb62304bd347430fa3feefaab777c5e4084df77b978177c1ba369"
        );
        let config = std::fs::read(
            t.path()
                .join("a/blobs/sha256")
                .join(blob::hex_of(&one.config_digest)),
        )
        .unwrap();
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            config["history"][0]["created_by"],
            json!("dynpack catalog-index")
        );
        assert_eq!(
            config["config"]["Labels"]["io.backstage.catalog-index"],
            json!("extensions")
        );
        o.source_date_epoch = 1;
        o.output = t.path().join("c");
        assert_ne!(
            build_folder_image(&a, &o).unwrap().manifest_digest,
            one.manifest_digest
        );
    }

    #[test]
    fn bad_paths_and_tags_are_refused_before_anything_is_written() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let o = FolderImageOptions::new(&out, "quay.io/acme/index:1");
        for bad in ["", "/etc/passwd", "a//b", "a/../b", "./a", "a\\b"] {
            let e = build_folder_image(&[bytes(bad, "x")], &o).unwrap_err();
            assert_eq!(e.code(), "E_INVALID_OPTION", "{bad:?}");
        }
        let twice = [bytes("a", "1"), bytes("a", "2")];
        assert!(build_folder_image(&twice, &o)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let file_and_dir = [bytes("a", "1"), bytes("a/b", "2")];
        assert_eq!(
            build_folder_image(&file_and_dir, &o).unwrap_err().code(),
            "E_INVALID_OPTION"
        );
        let missing = [Entry {
            path: "a".into(),
            content: Content::File(t.path().join("nope")),
        }];
        assert_eq!(
            build_folder_image(&missing, &o).unwrap_err().code(),
            "E_NOT_FOUND"
        );
        let no_tag = FolderImageOptions::new(&out, "no-repository");
        assert_eq!(
            build_folder_image(&[bytes("a", "1")], &no_tag)
                .unwrap_err()
                .code(),
            "E_INVALID_TAG"
        );
        assert!(!out.exists());
    }

    #[test]
    fn a_cancelled_build_fails_with_e_aborted_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let mut o = FolderImageOptions::new(t.path().join("out"), "quay.io/acme/index:1");
        o.cancel = Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            true,
        )));
        let e = build_folder_image(&[bytes("a", "1")], &o).unwrap_err();
        assert_eq!(e.code(), "E_ABORTED");
        assert!(!t.path().join("out").exists());
    }

    #[test]
    fn a_pinned_digest_must_be_the_one_built() {
        let t = tempfile::tempdir().unwrap();
        let o = FolderImageOptions::new(
            t.path().join("out"),
            format!("quay.io/acme/index@sha256:{}", "0".repeat(64)),
        );
        let e = build_folder_image(&[bytes("a", "1")], &o).unwrap_err();
        assert_eq!(e.code(), "E_INVALID_TAG");
        assert!(!t.path().join("out").exists(), "nothing left behind");
    }
}
