//! `inspectOciImage`: what a plugin image holds, and whether RHDH's plugin
//! installer (Python ≤ 1.10, TypeScript ≥ 1.11) will install it.
//!
//! [`inspect`] reads an image from any [`ImageSource`] (a layout folder, an
//! oci-archive, a registry) the way the installer does: the top-level JSON
//! (`skopeo inspect --raw`), its `io.backstage.dynamic-packages`
//! annotation, then only `layers[0]`, streamed and walked as a tar. Every
//! manifest and blob is checked against its digest as it is read. The
//! findings are grouped by [`rules::Rule`], each with a stable name.

pub mod rules;
pub mod scan;
pub mod source;
pub mod supply_chain;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::oci::image::DYNAMIC_PACKAGES;
use crate::oci::{ImageReference, ENTRY_LIMIT_NEW, ENTRY_LIMIT_OLD};
use crate::pipeline::{check_cancel, Cancel};
use rules::{Check, Findings, Rule};
use scan::{digest_like, normalized, Compression, EntryKind, Verified};
pub use source::{ArchiveSource, Fetched, ImageSource, LayoutSource};
pub use target::Target;

/// Largest image config read.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Options of [`inspect`] and [`inspect_target`].
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// The image in a layout or archive (tag or digest); default: the only one.
    pub reference: Option<String>,
    /// Folder relative paths are taken from (default: the current one).
    pub cwd: Option<PathBuf>,
    /// Report a plugin directory that is a prefix of another as a warning
    /// (RHDH ≥ 1.11 extracts up to a `/`) instead of an error.
    pub allow_prefix_directories: bool,
    pub cancel: Cancel,
    /// Credentials for a registry reference (as `dynpack push` finds them).
    pub auth: crate::registry::auth::AuthOptions,
    /// TLS and timeouts for a registry reference.
    pub transport: crate::registry::transport::TransportOptions,
    /// cosign.pub: require a signature by this key (the `signature` rule).
    pub public_key: Option<PathBuf>,
    /// Accept a signature whose payload names another repository than the
    /// inspected reference (by default it must name it, as containers/image
    /// policies require).
    pub any_repository: bool,
}

/// How the image was named, for the `reference` rule and the report.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// `layout`, `archive` or `registry`.
    pub kind: &'static str,
    /// The full reference RHDH would use (`host/repo:tag`, `…@sha256:…`),
    /// when known (a registry reference, a layout's recorded image name).
    pub image_name: Option<String>,
    /// The `!dir` of an RHDH reference, checked to be one of the plugins.
    pub plugin: Option<String>,
}

/// One plugin of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSummary {
    pub directory: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// Regular files under `<directory>/` in the first layer.
    pub files: u64,
    pub bytes: u64,
    /// Path (in the layer) and size of the largest file.
    pub largest_file: Option<(String, u64)>,
}

/// The first layer.
#[derive(Debug, Clone)]
pub struct LayerSummary {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// `gzip`, `none`, `zstd`, `bzip2` or `xz`, from the bytes themselves.
    pub compression: &'static str,
    pub entries: u64,
    /// sha256 of the uncompressed tar (checked against the config).
    pub diff_id: Option<String>,
}

/// What [`inspect`] found.
#[derive(Debug, Clone)]
pub struct InspectReport {
    pub kind: &'static str,
    pub location: String,
    pub reference: String,
    pub image_name: Option<String>,
    /// Media type and digest of the top-level JSON (index or manifest).
    pub media_type: String,
    pub digest: String,
    /// The image manifest inspected (the linux/amd64 one of an index).
    pub manifest_digest: String,
    /// `os/arch` of the image config.
    pub platform: Option<String>,
    pub layer_count: usize,
    pub layer: Option<LayerSummary>,
    pub plugins: Vec<PluginSummary>,
    pub checks: Vec<Check>,
    /// No check has an error.
    pub ok: bool,
    /// With a public key: the signatures found and verified.
    pub signature: Option<supply_chain::SignatureSummary>,
    /// Referrers (SBOMs) listed in the registry's `sha256-<hex>` tag.
    pub referrers: Vec<supply_chain::ReferrerSummary>,
}

fn bad(location: &str, reason: impl Into<String>) -> Error {
    Error::BadImage {
        location: location.to_string(),
        reason: reason.into(),
    }
}

/// Fetches the manifest `reference` names and checks its bytes against the
/// digest the source claims (or the digest asked for).
fn fetch_verified(source: &dyn ImageSource, reference: &str) -> Result<(Fetched, String)> {
    let location = source.location();
    let fetched = source.manifest(reference)?;
    let expected = fetched
        .digest
        .clone()
        .or_else(|| source::is_digest(reference).then(|| reference.to_string()));
    let actual = digest_like(expected.as_deref().unwrap_or("sha256:"), &fetched.bytes);
    if let Some(expected) = &expected {
        if *expected != actual {
            return Err(bad(
                &location,
                format!("the manifest {expected} does not match its digest (its bytes hash to {actual})"),
            ));
        }
    }
    Ok((fetched, actual))
}

fn parse_object(location: &str, what: &str, bytes: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad(location, format!("{what} is not a JSON object"))),
        Err(e) => Err(bad(location, format!("{what} is not valid JSON ({e})"))),
    }
}

fn str_at<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn annotation(m: &Map<String, Value>) -> Option<&str> {
    m.get("annotations")
        .and_then(|a| a.get(DYNAMIC_PACKAGES))
        .and_then(Value::as_str)
}

/// Reads a whole blob (config) through the digest check, at most `max` bytes.
fn read_blob(
    source: &dyn ImageSource,
    digest: &str,
    size: Option<u64>,
    max: u64,
) -> Result<Vec<u8>> {
    let location = source.location();
    if size.is_some_and(|s| s > max) {
        return Err(bad(
            &location,
            format!(
                "the blob {digest} is {} bytes, more than dynpack reads for it",
                size.unwrap()
            ),
        ));
    }
    let reader = source.blob(digest)?;
    let mut verified = Verified::new(reader, digest, size).ok_or_else(|| {
        bad(
            &location,
            format!("cannot verify {digest}: dynpack computes sha256 and sha512 only"),
        )
    })?;
    let mut bytes = Vec::new();
    (&mut verified)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(&location, e.to_string()))?;
    if bytes.len() as u64 > max {
        return Err(bad(
            &location,
            format!("the blob {digest} is more than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// The plugins the annotation lists: directory and its metadata.
type Declared = Vec<(String, Map<String, Value>)>;

/// Decodes the annotation as RHDH does (base64, UTF-8, JSON array of
/// objects whose keys are the plugin directories).
fn decode_annotation(value: &str, f: &mut Findings) -> Option<Declared> {
    let fail = |f: &mut Findings, why: String| {
        f.error(
            Rule::AnnotationFormat,
            format!("{DYNAMIC_PACKAGES} {why}; RHDH cannot find the plugins from it"),
        );
        None
    };
    let bytes = match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
        Ok(b) => b,
        Err(e) => return fail(f, format!("is not standard base64 ({e})")),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return fail(f, "does not decode to UTF-8 text".into());
    };
    let list = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(list)) => list,
        Ok(_) => return fail(f, "decodes to JSON that is not an array".into()),
        Err(e) => return fail(f, format!("does not decode to JSON ({e})")),
    };
    if list.is_empty() {
        return fail(f, "lists no plugin".into());
    }
    let mut out: Declared = Vec::new();
    for item in list {
        let Value::Object(obj) = item else {
            return fail(
                f,
                "holds an item that is not an object {\"<dir>\": {…}}".into(),
            );
        };
        if obj.len() != 1 {
            f.warn(
                Rule::AnnotationFormat,
                format!(
                    "an item has {} keys; the packagers write one object per plugin",
                    obj.len()
                ),
            );
        }
        for (dir, meta) in obj {
            if let Err(e) =
                crate::plugin::check_directory(&dir, std::path::Path::new(DYNAMIC_PACKAGES))
            {
                f.error(
                    Rule::AnnotationFormat,
                    format!("the plugin directory {dir:?} is unusable: {e}"),
                );
                continue;
            }
            if out.iter().any(|(d, _)| *d == dir) {
                f.error(
                    Rule::AnnotationFormat,
                    format!("the plugin directory {dir:?} is listed twice"),
                );
                continue;
            }
            let meta = match meta {
                Value::Object(m) => m,
                _ => {
                    f.warn(
                        Rule::AnnotationFormat,
                        format!("the metadata of {dir:?} is not an object"),
                    );
                    Map::new()
                }
            };
            out.push((dir, meta));
        }
    }
    Some(out)
}

/// Checks the name RHDH would pull the image by (the `reference` rule).
fn check_reference(naming: &Naming, reference: &str, f: &mut Findings) {
    let checked = naming
        .image_name
        .as_deref()
        .map(|name| (name, ImageReference::parse(name)));
    match checked {
        Some((_, Ok(r))) => {
            if r.has_port() {
                f.warn(Rule::Reference, format!("{}: the registry has a port, which RHDH 1.9 and earlier cannot parse in oci:// references (1.10 can)", r.raw));
            }
            if r.tag.as_deref() == Some("latest") {
                f.warn(Rule::Reference, format!("{}: RHDH pulls `:latest` references on every start (pullPolicy Always); pin a version tag or the digest", r.raw));
            }
        }
        Some((name, Err(e))) => {
            let reason = match e {
                Error::InvalidTag { reason, .. } => reason,
                other => other.to_string(),
            };
            f.error(Rule::Reference, format!("{name}: RHDH's oci:// reference syntax refuses it: {reason}"));
        }
        None if source::is_digest(reference) => {}
        // A layout tag may itself be a full reference (`oci:DIR:quay.io/x/y:v1`).
        None if ImageReference::parse(reference).is_ok() => {}
        None if !crate::oci::reference::is_valid_tag(reference) => f.error(
            Rule::Reference,
            format!("the tag {reference:?} is not a registry tag (letters, digits, `_`, `.`, `-`, up to 128, not starting with `.` or `-`); RHDH's oci:// references cannot name it"),
        ),
        None => {}
    }
}

/// What the first layer holds under one top-level name.
#[derive(Default)]
struct TopLevel {
    entries: u64,
    files: u64,
    bytes: u64,
    largest: Option<(String, u64)>,
}

/// Where a link in `dir` ends up; `None` when it leaves `dir`.
fn link_target(entry: &str, target: &str, hard: bool) -> Option<Vec<String>> {
    if target.starts_with('/') {
        return None;
    }
    let name = normalized(entry);
    let mut parts: Vec<String> = if hard {
        Vec::new()
    } else {
        let mut p: Vec<String> = name
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        p.pop();
        p
    };
    let target = if hard { normalized(target) } else { target };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c.to_string()),
        }
    }
    let top = name.split('/').next().unwrap_or("");
    (parts.first().map(String::as_str) == Some(top) && parts.len() > 1).then_some(parts)
}

/// Inspects the image `reference` names in `source`.
pub fn inspect(
    source: &dyn ImageSource,
    reference: &str,
    naming: &Naming,
    opts: &InspectOptions,
) -> Result<InspectReport> {
    check_cancel(&opts.cancel)?;
    let location = source.location();
    let mut f = Findings::default();
    check_reference(naming, reference, &mut f);

    let (top, top_digest) = fetch_verified(source, reference)?;
    let top_json = parse_object(&location, "the top-level manifest", &top.bytes)?;
    let top_media_type = str_at(&top_json, "mediaType")
        .map(str::to_string)
        .or(top.media_type.clone())
        .unwrap_or_default();
    if top_json.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
        return Err(bad(&location, "a schema 1 (Docker v1) manifest; RHDH's skopeo reads it, but dynpack inspects schema 2 and OCI images only"));
    }

    // An index: the linux/amd64 image, as RHDH ≥ 1.9 pulls it.
    let (manifest_json, manifest_digest, index_json) = if let Some(Value::Array(list)) =
        top_json.get("manifests")
    {
        let images: Vec<&Map<String, Value>> = list.iter().filter_map(Value::as_object).collect();
        let platform_of = |d: &Map<String, Value>| {
            d.get("platform").and_then(Value::as_object).map(|p| {
                format!(
                    "{}/{}",
                    str_at(p, "os").unwrap_or("?"),
                    str_at(p, "architecture").unwrap_or("?")
                )
            })
        };
        let amd64 = images
            .iter()
            .find(|d| platform_of(d).as_deref() == Some("linux/amd64"));
        let chosen = match amd64 {
            Some(d) => Some(*d),
            None => {
                let found: Vec<String> = images
                    .iter()
                    .map(|d| platform_of(d).unwrap_or_else(|| "no platform".into()))
                    .collect();
                f.error(
                    Rule::Platform,
                    format!("the image index has no linux/amd64 image (it has: {}); RHDH 1.9 and later pull linux/amd64", if found.is_empty() { "none".into() } else { found.join(", ") }),
                );
                images.first().copied()
            }
        };
        let Some(chosen) = chosen else {
            return Err(bad(&location, "the image index lists no image"));
        };
        let digest = str_at(chosen, "digest")
            .ok_or_else(|| bad(&location, "an index descriptor has no digest"))?
            .to_string();
        check_cancel(&opts.cancel)?;
        let (m, d) = fetch_verified(source, &digest)?;
        (
            parse_object(&location, "the image manifest", &m.bytes)?,
            d,
            Some(top_json),
        )
    } else {
        (top_json, top_digest.clone(), None)
    };
    if manifest_json.get("manifests").is_some() {
        return Err(bad(
            &location,
            "an image index inside an image index; inspect the inner index by its digest",
        ));
    }
    let Some(Value::Array(layers)) = manifest_json.get("layers") else {
        return Err(bad(
            &location,
            format!("{manifest_digest} is not an image manifest (no layers)"),
        ));
    };
    let layers: Vec<Map<String, Value>> = layers
        .iter()
        .filter_map(|l| l.as_object().cloned())
        .collect();

    // The config: platform, labels, diff_ids.
    let config = manifest_json.get("config").and_then(Value::as_object);
    let config_json = match config.and_then(|c| str_at(c, "digest")) {
        Some(digest) => {
            let size = config.and_then(|c| c.get("size")).and_then(Value::as_u64);
            let bytes = read_blob(source, digest, size, MAX_CONFIG_BYTES)?;
            Some(parse_object(&location, "the image config", &bytes)?)
        }
        None => None,
    };
    let platform = config_json.as_ref().and_then(|c| {
        Some(format!(
            "{}/{}",
            str_at(c, "os")?,
            str_at(c, "architecture")?
        ))
    });
    if index_json.is_none() {
        if let Some(p) = platform.as_deref().filter(|p| *p != "linux/amd64") {
            f.warn(Rule::Platform, format!("the image config says {p}; RHDH runs linux/amd64 (the plugins install anyway: a single image is pulled whatever its platform)"));
        }
    }
    let config_label = config_json
        .as_ref()
        .and_then(|c| c.get("config"))
        .and_then(|c| c.get("Labels"))
        .and_then(|l| l.get(DYNAMIC_PACKAGES))
        .and_then(Value::as_str);

    // The annotation, where RHDH reads it: the top-level JSON.
    let top_level = index_json.as_ref().unwrap_or(&manifest_json);
    let declared = match annotation(top_level) {
        Some(v) => decode_annotation(v, &mut f),
        None => {
            let elsewhere = if index_json.is_some() && annotation(&manifest_json).is_some() {
                " It is on the linux/amd64 image manifest, not on the index: RHDH reads the top-level JSON (`skopeo inspect --raw`), so add it to the index too."
            } else if config_label.is_some() {
                " It is only a config label: RHDH reads the manifest annotations (build with --annotation, not --label)."
            } else {
                ""
            };
            f.error(
                Rule::Annotation,
                format!("the top-level manifest has no {DYNAMIC_PACKAGES} annotation: RHDH 1.9+ cannot find the plugins of an oci:// reference without `!<dir>`, and tools cannot list them.{elsewhere}"),
            );
            f.skip(Rule::AnnotationFormat);
            None
        }
    };
    if let Some(list) = &declared {
        if let Some(plugin) = &naming.plugin {
            if !list.iter().any(|(d, _)| d == plugin) {
                let dirs: Vec<&str> = list.iter().map(|(d, _)| d.as_str()).collect();
                f.error(
                    Rule::PluginsInFirstLayer,
                    format!(
                        "the reference names !{plugin}, which is not a plugin of this image ({})",
                        dirs.join(", ")
                    ),
                );
            }
        }
    }

    // The first layer, streamed.
    let mut tops: BTreeMap<String, TopLevel> = BTreeMap::new();
    let mut layer_summary = None;
    let mut small_files = scan::SmallFiles::new();
    let layer_rules = [
        Rule::EntryNames,
        Rule::EntrySize,
        Rule::Links,
        Rule::SpecialFiles,
        Rule::PrefixDirectories,
        Rule::RootIndex,
    ];
    match layers.first() {
        None => {
            f.error(Rule::PluginsInFirstLayer, "the manifest has no layers");
            f.skip(Rule::LayerFormat);
            for r in layer_rules {
                f.skip(r);
            }
        }
        Some(layer) => {
            if layers.len() > 1 {
                f.warn(Rule::PluginsInFirstLayer, format!("the image has {} layers; RHDH installs from the first one only and ignores the others", layers.len()));
            }
            let digest = str_at(layer, "digest")
                .ok_or_else(|| bad(&location, "the first layer has no digest"))?
                .to_string();
            let size = layer.get("size").and_then(Value::as_u64);
            let media_type = str_at(layer, "mediaType").unwrap_or("").to_string();
            let reader = source.blob(&digest)?;
            let verified = Verified::new(reader, &digest, size).ok_or_else(|| {
                bad(
                    &location,
                    format!("cannot verify {digest}: dynpack computes sha256 and sha512 only"),
                )
            })?;
            let mut entries = 0u64;
            let mut dot_prefixed: Option<(u64, String)> = None;
            let scan = scan::scan_layer(
                verified,
                &format!("{location}: layer {digest}"),
                &opts.cancel,
                |e| {
                    entries += 1;
                    let name = normalized(&e.name);
                    if name != e.name {
                        let d = dot_prefixed.get_or_insert((0, e.name.clone()));
                        d.0 += 1;
                    }
                    if name.split('/').any(|c| c == "..") {
                        f.error(
                            Rule::EntryNames,
                            format!("{}: a `..` component; RHDH's tar filter refuses it", e.name),
                        );
                    }
                    let (top, rest) = match name.split_once('/') {
                        Some((t, r)) => (t, r),
                        None => (name, ""),
                    };
                    if top.is_empty() {
                        return;
                    }
                    let t = tops.entry(top.to_string()).or_default();
                    t.entries += 1;
                    match e.kind {
                        EntryKind::File => {
                            if !rest.is_empty() {
                                t.files += 1;
                                t.bytes += e.size;
                                if t.largest.as_ref().is_none_or(|(_, s)| e.size > *s) {
                                    t.largest = Some((name.to_string(), e.size));
                                }
                            }
                            if e.size > ENTRY_LIMIT_NEW {
                                f.error(Rule::EntrySize, format!("{name} is {} bytes: RHDH's installer refuses entries over 40,000,000 bytes (20,000,000 up to 1.9) unless MAX_ENTRY_SIZE is raised", e.size));
                            } else if e.size > ENTRY_LIMIT_OLD {
                                f.warn(Rule::EntrySize, format!("{name} is {} bytes: RHDH 1.9 and earlier refuse entries over 20,000,000 bytes (1.10 and later accept up to 40,000,000)", e.size));
                            }
                        }
                        EntryKind::Directory => {}
                        EntryKind::Symlink | EntryKind::HardLink => {
                            let hard = e.kind == EntryKind::HardLink;
                            let target = e.link.as_deref().unwrap_or("");
                            let what = if hard { "hard link" } else { "symbolic link" };
                            if link_target(&e.name, target, hard).is_none() {
                                f.error(Rule::Links, format!("{name}: a {what} to {target:?}, outside {top}/; RHDH skips it (or refuses the plugin), so the plugin lacks it"));
                            } else {
                                f.warn(Rule::Links, format!("{name}: a {what} to {target:?}; RHDH 1.10 and earlier skip every link in an OCI layer, so the plugin would lack it (package without links: dereference them)"));
                            }
                        }
                        EntryKind::Special(kind) => {
                            f.error(
                                Rule::SpecialFiles,
                                format!("{name} is {kind}; RHDH's installer refuses or drops it"),
                            );
                        }
                    }
                },
            )?;
            if let Some((n, example)) = dot_prefixed {
                f.error(
                    Rule::EntryNames,
                    format!("{n} entries start with `./` or `/` (e.g. {example:?}): RHDH's installer keeps members whose name starts with `<dir>` and would install nothing; rebuild the layer with names such as `<dir>/package.json`"),
                );
            }
            let known = [
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.diff.tar",
            ];
            if !known.contains(&media_type.as_str()) {
                f.warn(Rule::LayerFormat, format!("the first layer has the media type {media_type:?}, not a layer type skopeo and umoci expect"));
            } else {
                let says = if media_type.ends_with("gzip") {
                    Compression::Gzip
                } else if media_type.ends_with("zstd") {
                    Compression::Zstd
                } else {
                    Compression::None
                };
                if says != scan.compression {
                    f.warn(Rule::LayerFormat, format!("the first layer's media type {media_type} does not match its content ({}); umoci refuses such layers", scan.compression.name()));
                }
            }
            match scan.compression {
                Compression::Gzip => {}
                Compression::None => f.warn(Rule::LayerFormat, "the first layer is not compressed: RHDH 1.8 and earlier read gzip layers only, and `skopeo copy` to a registry gzips it, which changes the manifest digest"),
                Compression::Bzip2 | Compression::Xz => f.warn(Rule::LayerFormat, format!("the first layer is {}-compressed: RHDH 1.9 and 1.10 read it, 1.8 and earlier read gzip only; dynpack cannot list it", scan.compression.name())),
                Compression::Zstd => f.error(Rule::LayerFormat, "the first layer is zstd-compressed, which RHDH's installers cannot read; use gzip"),
            }
            if scan.diff_id.is_none() {
                for r in layer_rules {
                    f.skip(r);
                }
                f.skip(Rule::PluginsInFirstLayer);
            }
            let expected_diff = config_json
                .as_ref()
                .and_then(|c| c.get("rootfs"))
                .and_then(|r| r.get("diff_ids"))
                .and_then(|d| d.get(0))
                .and_then(Value::as_str);
            if let (Some(got), Some(want)) = (&scan.diff_id, expected_diff) {
                if got != want {
                    f.error(Rule::LayerFormat, format!("the uncompressed layer hashes to {got}, but the config's rootfs.diff_ids[0] is {want}; umoci and podman refuse the image"));
                }
            }
            layer_summary = Some(LayerSummary {
                media_type,
                digest,
                size: size.unwrap_or(0),
                compression: scan.compression.name(),
                entries,
                diff_id: scan.diff_id.clone(),
            });
            small_files = scan.small_files;
        }
    }
    let listed = layer_summary.as_ref().is_some_and(|l| l.diff_id.is_some());

    // The plugins: the annotation's, else the layer's top-level folders.
    let dirs: Vec<(String, Map<String, Value>)> = match &declared {
        Some(list) => list.clone(),
        None => tops
            .iter()
            .filter(|(_, t)| t.files > 0)
            .map(|(d, _)| (d.clone(), Map::new()))
            .collect(),
    };
    let plugins: Vec<PluginSummary> = dirs
        .iter()
        .map(|(dir, meta)| {
            let pj = small_files
                .get(&format!("{dir}/package.json"))
                .and_then(|b| serde_json::from_slice::<Value>(b).ok());
            let field = |k: &str| {
                meta.get(k)
                    .and_then(Value::as_str)
                    .or_else(|| pj.as_ref().and_then(|p| p.get(k)).and_then(Value::as_str))
                    .map(str::to_string)
            };
            let t = tops.get(dir);
            PluginSummary {
                directory: dir.clone(),
                name: field("name"),
                version: field("version"),
                files: t.map_or(0, |t| t.files),
                bytes: t.map_or(0, |t| t.bytes),
                largest_file: t.and_then(|t| t.largest.clone()),
            }
        })
        .collect();

    if listed {
        if let Some(list) = &declared {
            for (dir, _) in list {
                if tops.get(dir).is_none_or(|t| t.files == 0) {
                    f.error(Rule::PluginsInFirstLayer, format!("{dir}: listed in {DYNAMIC_PACKAGES} but has no files in the first layer, which is the only one RHDH installs from"));
                }
            }
        }
        for p in &plugins {
            for other in tops.keys() {
                if *other != p.directory && other.starts_with(&p.directory) {
                    let problem = format!("the plugin directory {:?} is a name prefix of {other:?}: RHDH's installer up to 1.10 extracts `!{}` by raw name prefix and would install both", p.directory, p.directory);
                    if opts.allow_prefix_directories {
                        f.warn(Rule::PrefixDirectories, problem);
                    } else {
                        f.error(Rule::PrefixDirectories, format!("{problem}; build them into separate images (RHDH 1.11 and later are not affected)"));
                    }
                }
            }
        }
        match small_files.get(crate::plugin::ROOT_INDEX) {
            None => f.skip(Rule::RootIndex),
            Some(bytes) => {
                let keys: Option<BTreeSet<String>> =
                    serde_json::from_slice::<Value>(bytes).ok().and_then(|v| {
                        Some(
                            v.as_array()?
                                .iter()
                                .filter_map(Value::as_object)
                                .flat_map(|o| o.keys().cloned())
                                .collect(),
                        )
                    });
                match (keys, &declared) {
                    (None, _) => f.warn(
                        Rule::RootIndex,
                        "the root index.json is not the packagers' JSON array of {\"<dir>\": {…}}",
                    ),
                    (Some(keys), Some(list)) => {
                        let want: BTreeSet<String> = list.iter().map(|(d, _)| d.clone()).collect();
                        if keys != want {
                            f.warn(
                                Rule::RootIndex,
                                format!(
                                    "the root index.json lists {:?}, the annotation {:?}",
                                    keys, want
                                ),
                            );
                        }
                    }
                    (Some(_), None) => {}
                }
            }
        }
    }

    let registry = naming.kind == "registry";
    let signature = supply_chain::check_signature(
        source,
        registry,
        &top_digest,
        naming.image_name.as_deref(),
        opts.any_repository,
        opts.public_key.as_deref(),
        &mut f,
    )?;
    let referrers = supply_chain::referrers(source, registry, &top_digest)?;
    let checks = f.checks();
    let ok = checks.iter().all(|c| c.status != "error");
    Ok(InspectReport {
        kind: naming.kind,
        location,
        reference: reference.to_string(),
        image_name: naming.image_name.clone(),
        media_type: top_media_type,
        digest: top_digest,
        manifest_digest,
        platform,
        layer_count: layers.len(),
        layer: layer_summary,
        plugins,
        checks,
        ok,
        signature,
        referrers,
    })
}

/// Where a remote image is read from: the registry reader over
/// `host/repository` (auth, TLS and transport are its business);
/// [`inspect`] does the rest.
fn remote_source(reference: &ImageReference, opts: &InspectOptions) -> Box<dyn ImageSource> {
    Box::new(crate::registry::remote::RemoteSource::new(
        &reference.repository,
        opts.auth.clone(),
        opts.transport.clone(),
    ))
}

/// Inspects what `raw` names (see [`Target`]).
pub fn inspect_target(raw: &str, opts: &InspectOptions) -> Result<InspectReport> {
    let base = match &opts.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let pick = |in_ref: Option<String>| -> Result<Option<String>> {
        match (in_ref, &opts.reference) {
            (Some(a), Some(b)) if a != *b => Err(Error::InvalidOption {
                message: format!(
                    "{raw} names the image {a:?} but refName is {b:?}; give one of them"
                ),
            }),
            (a, b) => Ok(a.or_else(|| b.clone())),
        }
    };
    match Target::parse(raw, &base)? {
        Target::Layout { path, reference } => {
            let source = LayoutSource::open(&path)?;
            let reference = match pick(reference)? {
                Some(r) => r,
                None => source.default_reference()?,
            };
            let naming = Naming {
                kind: "layout",
                image_name: source.image_name(&reference),
                plugin: None,
            };
            inspect(&source, &reference, &naming, opts)
        }
        Target::Archive { path, reference } => {
            let source = ArchiveSource::open(&path)?;
            let reference = match pick(reference)? {
                Some(r) => r,
                None => source.default_reference()?,
            };
            let naming = Naming {
                kind: "archive",
                image_name: source.image_name(&reference),
                plugin: None,
            };
            inspect(&source, &reference, &naming, opts)
        }
        Target::Remote { reference, plugin } => {
            let parsed = ImageReference::parse(&reference)?;
            let source = remote_source(&parsed, opts);
            let tag_or_digest = parsed
                .digest
                .clone()
                .or(parsed.tag.clone())
                .expect("parse guarantees a tag or a digest");
            let naming = Naming {
                kind: "registry",
                image_name: Some(reference),
                plugin,
            };
            inspect(source.as_ref(), &tag_or_digest, &naming, opts)
        }
    }
}

#[cfg(test)]
mod tests;
