//! Images built by hand (every shape the rules look for) and by
//! [`crate::oci::build_oci_layout`], inspected from layouts and archives.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::oci::image::sha256_digest;

/// One layer entry of a hand-made image.
enum E<'a> {
    File(&'a str, Vec<u8>),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Fifo(&'a str),
}

/// How the hand-made image differs from a good one.
struct Shape<'a> {
    entries: Vec<E<'a>>,
    /// Plugin directories for the annotation; `None`: no annotation.
    annotated: Option<Vec<&'a str>>,
    gzip: bool,
    docker_media_types: bool,
    tag: &'a str,
}

fn good_shape<'a>() -> Shape<'a> {
    Shape {
        entries: vec![
            E::Dir("plugin-a/"),
            E::File(
                "plugin-a/package.json",
                br#"{"name":"@s/plugin-a-dynamic","version":"1.0.0"}"#.to_vec(),
            ),
            E::File("plugin-a/dist/index.js", b"module.exports = 1\n".to_vec()),
            E::File(
                "index.json",
                br#"[{"plugin-a":{"name":"@s/plugin-a-dynamic","version":"1.0.0"}}]"#.to_vec(),
            ),
        ],
        annotated: Some(vec!["plugin-a"]),
        gzip: true,
        docker_media_types: false,
        tag: "v1",
    }
}

/// The tar of `entries`, names written as given (the `tar` crate's
/// builder would drop a `./` prefix).
fn layer_tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_size(0);
        let (name, data): (&str, &[u8]) = match e {
            E::File(name, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                (name, data)
            }
            E::Dir(name) => {
                h.set_entry_type(tar::EntryType::Directory);
                (name, b"")
            }
            E::Symlink(name, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name_literal(target).unwrap();
                (name, b"")
            }
            E::Fifo(name) => {
                h.set_entry_type(tar::EntryType::Fifo);
                (name, b"")
            }
        };
        let field = &mut h.as_gnu_mut().unwrap().name;
        field.fill(0);
        field[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn put(root: &Path, bytes: &[u8]) -> String {
    let d = sha256_digest(bytes);
    std::fs::write(root.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
    d
}

/// Writes the image as a layout at `root`; returns the manifest digest.
fn write_layout(root: &Path, s: &Shape) -> String {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let tar = layer_tar(&s.entries);
    let diff_id = sha256_digest(&tar);
    let layer = if s.gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    } else {
        tar
    };
    let layer_digest = put(root, &layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }))
    .unwrap();
    let config_digest = put(root, &config);
    let (mt_manifest, mt_config, mt_layer) = if s.docker_media_types {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
            if s.gzip {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            } else {
                "application/vnd.docker.image.rootfs.diff.tar"
            },
        )
    } else {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
            if s.gzip {
                "application/vnd.oci.image.layer.v1.tar+gzip"
            } else {
                "application/vnd.oci.image.layer.v1.tar"
            },
        )
    };
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt_manifest,
        "config": {"mediaType": mt_config, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": mt_layer, "digest": layer_digest, "size": layer.len()}],
    });
    if let Some(dirs) = &s.annotated {
        let list: Vec<Value> = dirs
            .iter()
            .map(|d| json!({ *d: {"name": format!("@s/{d}-dynamic"), "version": "1.0.0"} }))
            .collect();
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&list).unwrap());
        manifest["annotations"] = json!({ DYNAMIC_PACKAGES: b64 });
    }
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = put(root, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": mt_manifest, "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": s.tag},
        }],
    });
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    manifest_digest
}

fn inspect_dir(root: &Path) -> InspectReport {
    inspect_target(root.to_str().unwrap(), &InspectOptions::default()).unwrap()
}

fn status(r: &InspectReport, rule: &str) -> &'static str {
    r.checks
        .iter()
        .find(|c| c.rule.name() == rule)
        .unwrap()
        .status
}

fn failed(r: &InspectReport) -> Vec<&'static str> {
    r.checks
        .iter()
        .filter(|c| c.status == "error")
        .map(|c| c.rule.name())
        .collect()
}

fn hand_made(t: &Path, name: &str, s: &Shape) -> InspectReport {
    let root = t.join(name);
    write_layout(&root, s);
    inspect_dir(&root)
}

#[test]
fn a_good_hand_made_image_passes() {
    let t = tempfile::tempdir().unwrap();
    let r = hand_made(t.path(), "good", &good_shape());
    assert!(r.ok, "{:?}", r.checks);
    assert_eq!(r.plugins.len(), 1);
    let p = &r.plugins[0];
    assert_eq!(
        (p.directory.as_str(), p.name.as_deref(), p.files),
        ("plugin-a", Some("@s/plugin-a-dynamic"), 2)
    );
    assert_eq!(p.largest_file.as_ref().unwrap().0, "plugin-a/package.json");
    assert_eq!(r.layer.as_ref().unwrap().compression, "gzip");
    assert_eq!(r.platform.as_deref(), Some("linux/amd64"));
    assert!(
        r.checks
            .iter()
            .all(|c| c.status == "pass" || (c.rule == Rule::Signature && c.status == "skipped")),
        "{:?}",
        r.checks
    );
}

#[test]
fn podman_style_images_pass() {
    // Docker v2s2 media types, an uncompressed layer, no annotation on a
    // tag but all else as podman builds it.
    let t = tempfile::tempdir().unwrap();
    let mut s = good_shape();
    s.docker_media_types = true;
    s.gzip = false;
    let r = hand_made(t.path(), "podman", &s);
    assert!(r.ok, "{:?}", r.checks);
    assert_eq!(status(&r, "layer-format"), "warning");
    assert_eq!(
        r.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}

#[test]
fn missing_annotation_fails_but_still_lists() {
    let t = tempfile::tempdir().unwrap();
    let mut s = good_shape();
    s.annotated = None;
    let r = hand_made(t.path(), "noann", &s);
    assert_eq!(failed(&r), ["annotation"]);
    assert_eq!(status(&r, "annotation-format"), "skipped");
    assert_eq!(r.plugins[0].directory, "plugin-a");
    assert_eq!(r.plugins[0].version.as_deref(), Some("1.0.0"));
}

#[test]
fn rule_violations_are_named() {
    let t = tempfile::tempdir().unwrap();
    let big = |n: usize| vec![0u8; n];
    /// Name, layer entries, annotated directories, rule, expected status.
    type Case<'a> = (&'a str, Vec<E<'a>>, Option<Vec<&'a str>>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "big41",
            vec![E::File("plugin-a/big.bin", big(41_000_000))],
            Some(vec!["plugin-a"]),
            "entry-size",
            "error",
        ),
        (
            "big21",
            vec![E::File("plugin-a/big.bin", big(21_000_000))],
            Some(vec!["plugin-a"]),
            "entry-size",
            "warning",
        ),
        (
            "prefix",
            vec![
                E::File("plugin-a/x", b"x".to_vec()),
                E::File("plugin-a-backend/x", b"x".to_vec()),
            ],
            Some(vec!["plugin-a", "plugin-a-backend"]),
            "prefix-directories",
            "error",
        ),
        (
            "escape",
            vec![
                E::File("plugin-a/x", b"x".to_vec()),
                E::Symlink("plugin-a/l", "../../etc/passwd"),
            ],
            Some(vec!["plugin-a"]),
            "links",
            "error",
        ),
        (
            "inside",
            vec![
                E::File("plugin-a/x", b"x".to_vec()),
                E::Symlink("plugin-a/node_modules/.bin/x", "../../x"),
            ],
            Some(vec!["plugin-a"]),
            "links",
            "warning",
        ),
        (
            "fifo",
            vec![E::File("plugin-a/x", b"x".to_vec()), E::Fifo("plugin-a/p")],
            Some(vec!["plugin-a"]),
            "special-files",
            "error",
        ),
        (
            "dotslash",
            vec![E::File("./plugin-a/x", b"x".to_vec())],
            Some(vec!["plugin-a"]),
            "entry-names",
            "error",
        ),
        (
            "absent",
            vec![E::File("plugin-a/x", b"x".to_vec())],
            Some(vec!["plugin-a", "plugin-b"]),
            "plugins-in-first-layer",
            "error",
        ),
    ];
    for (name, entries, annotated, rule, want) in cases {
        let s = Shape {
            entries,
            annotated,
            ..good_shape()
        };
        let r = hand_made(t.path(), name, &s);
        assert_eq!(status(&r, rule), want, "{name}: {:?}", r.checks);
        let others: Vec<_> = failed(&r).into_iter().filter(|x| *x != rule).collect();
        assert!(others.is_empty(), "{name}: {others:?}");
        assert_eq!(r.ok, want != "error", "{name}");
    }
}

#[test]
fn a_bad_annotation_and_tag_are_reported() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("bad");
    let mut s = good_shape();
    s.tag = "v1 bad";
    write_layout(&root, &s);
    let r = inspect_dir(&root);
    assert_eq!(failed(&r), ["reference"]);
    let root2 = t.path().join("full");
    let mut s = good_shape();
    s.tag = "quay.io/x/y:v1";
    write_layout(&root2, &s);
    assert!(inspect_dir(&root2).ok);

    // Replace the annotation by something that is not base64 JSON.
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let digest = m["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut manifest: Value = serde_json::from_slice(
        &std::fs::read(root.join("blobs/sha256").join(&digest[7..])).unwrap(),
    )
    .unwrap();
    manifest["annotations"][DYNAMIC_PACKAGES] = json!("not base64!");
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let d = put(&root, &bytes);
    m["manifests"][0]["digest"] = json!(d);
    m["manifests"][0]["size"] = json!(bytes.len());
    m["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = json!("v1");
    std::fs::write(root.join("index.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let r = inspect_dir(&root);
    assert_eq!(failed(&r), ["annotation-format"]);
}

#[test]
fn corrupt_blobs_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("corrupt");
    write_layout(&root, &good_shape());
    let mut largest: Option<PathBuf> = None;
    for e in std::fs::read_dir(root.join("blobs/sha256")).unwrap() {
        let p = e.unwrap().path();
        if largest.as_ref().is_none_or(|l| {
            std::fs::metadata(l).unwrap().len() < std::fs::metadata(&p).unwrap().len()
        }) {
            largest = Some(p);
        }
    }
    // The layer is the largest blob; flip its last byte (the gzip size).
    let p = largest.unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    let e = inspect_target(root.to_str().unwrap(), &InspectOptions::default()).unwrap_err();
    assert_eq!(e.code(), "E_BAD_IMAGE", "{e}");
}

#[test]
fn images_built_by_dynpack_pass_as_layouts_and_archives() {
    let t = tempfile::tempdir().unwrap();
    let plugin = t.path().join("p");
    std::fs::create_dir_all(plugin.join("dist")).unwrap();
    std::fs::write(
        plugin.join("package.json"),
        r#"{"name":"@s/p-dynamic","version":"2.0.0"}"#,
    )
    .unwrap();
    std::fs::write(plugin.join("dist/index.js"), "x".repeat(5000)).unwrap();
    let tag = "quay.io/s/p:2.0.0";
    let layout = crate::oci::build_oci_layout(
        std::slice::from_ref(&plugin),
        &crate::oci::OciOptions::new(t.path().join("layout"), tag),
    )
    .unwrap();
    let mut o = crate::oci::OciOptions::new(t.path().join("img.tar"), tag);
    o.archive = true;
    crate::oci::build_oci_layout(&[plugin], &o).unwrap();
    for (raw, kind) in [
        ("layout", "layout"),
        ("img.tar", "archive"),
        ("oci:layout:2.0.0", "layout"),
        ("oci-archive:img.tar:2.0.0", "archive"),
    ] {
        let opts = InspectOptions {
            cwd: Some(t.path().to_path_buf()),
            ..Default::default()
        };
        let r = inspect_target(raw, &opts).unwrap();
        assert!(r.ok, "{raw}: {:?}", r.checks);
        assert_eq!(r.kind, kind);
        assert_eq!(r.manifest_digest, layout.manifest_digest);
        assert_eq!(r.image_name.as_deref(), Some(tag));
        assert_eq!(r.plugins[0].directory, "s-p");
        assert_eq!(r.plugins[0].bytes, 5000 + 41);
        assert_eq!(
            r.layer.as_ref().unwrap().diff_id.as_deref(),
            Some(layout.diff_id.as_str())
        );
        assert!(
            r.checks
                .iter()
                .all(|c| c.status == "pass" || (c.rule == Rule::Signature && c.status == "skipped")),
            "{raw}: {:?}",
            r.checks
        );
    }
    let e = inspect_target(
        "oci:layout:nope",
        &InspectOptions {
            cwd: Some(t.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "E_IMAGE_NOT_FOUND");
    let e = inspect_target("127.0.0.1:1/s/p:2.0.0", &InspectOptions::default()).unwrap_err();
    assert_eq!(e.code(), "E_REGISTRY_UNREACHABLE");
}

#[test]
fn links_are_resolved_within_their_plugin() {
    assert!(link_target("a/b/c", "../d", false).is_some());
    assert!(link_target("a/b", "../../x", false).is_none());
    assert!(link_target("a/b", "../x/y", false).is_none());
    assert!(link_target("a/b", "/etc/passwd", false).is_none());
    assert!(link_target("./a/b", "c", false).is_some());
    assert!(link_target("a/b", "a/c", true).is_some());
    assert!(link_target("a/b", "x/c", true).is_none());
    assert!(link_target("a/b", "..", false).is_none());
}
