//! Daemonless, reproducible OCI images of dynamic plugins (buildOciLayout).
//!
//! [`build_oci_layout`] does what `rhdh-cli plugin package --tag` does with
//! podman, without a container engine: each plugin's npm-pack selection
//! ([`PackList`]) goes under its RHDH directory in one gzip layer
//! ([`layer`]), with the packagers' `index.json` at the root and the
//! `io.backstage.dynamic-packages` annotation on the manifest ([`image`]);
//! the image is then recorded under a tag in an OCI image layout folder
//! ([`layout`]) or an oci-archive file ([`archive`]).
//!
//! The same inputs give the same bytes on every machine and thread count:
//! sorted entries, fixed owners and timestamps, a pure-Rust deflate cut
//! into fixed blocks, JSON with a fixed key order, no host platform.

pub mod archive;
mod blob;
pub mod folder_image;
pub mod image;
pub mod layer;
pub mod layout;
pub mod reference;
pub mod referrer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::gzip::Sink;
use crate::output::FolderLock;
use crate::packlist::PackList;
use crate::pipeline::{check_cancel, Cancel};
use crate::plugin;
pub use image::Platform;
use image::{Descriptor, DYNAMIC_PACKAGES};
use layer::PluginFiles;
pub use reference::ImageReference;

/// RHDH ≤ 1.9 refuses layer members larger than this (`MAX_ENTRY_SIZE`).
pub const ENTRY_LIMIT_OLD: u64 = 20_000_000;
/// RHDH ≥ 1.10 refuses layer members larger than this.
pub const ENTRY_LIMIT_NEW: u64 = 40_000_000;
/// Deflate level of image layers. Measured on a 59 MB / 3,987-file backend
/// (whole build, 2 cores, zlib-rs): level 1 gives 24.8 MB in 0.48 s, 2 gives
/// 19.3 MB in 0.51 s, 3 gives 18.1 MB in 0.53 s, 4 gives 17.2 MB in 0.70 s,
/// 6 gives 16.5 MB in 0.94 s. Level 3 is the knee; `compressionLevel: 9`
/// squeezes the rest.
pub const DEFAULT_LEVEL: u32 = 3;

/// Options of [`build_oci_layout`].
#[derive(Debug, Clone)]
pub struct OciOptions {
    /// The layout folder, or the archive file with `archive`.
    pub output: PathBuf,
    /// The image reference, e.g. `quay.io/example/image:v0.0.1`.
    pub tag: String,
    /// The layout tag (`org.opencontainers.image.ref.name`); default: the
    /// tag part of `tag`.
    pub ref_name: Option<String>,
    /// Write one oci-archive file instead of a layout folder.
    pub archive: bool,
    pub platform: Platform,
    /// Extra manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Extra config labels.
    pub labels: BTreeMap<String, String>,
    /// Every timestamp of the image (`SOURCE_DATE_EPOCH`), in seconds.
    pub source_date_epoch: u64,
    /// Deflate level of the layer, 1–9.
    pub compression_level: u32,
    /// Accept a directory that is a prefix of another (a warning instead
    /// of `E_PLUGIN_CONFLICT`); see [`plugin::check_conflicts`].
    pub allow_prefix_directories: bool,
    /// Set to stop the work; the call then fails with `E_ABORTED`.
    pub cancel: Cancel,
    /// Advanced per plugin file read into the layer, for live progress.
    pub progress: crate::progress::SharedProgress,
    /// Attach each plugin's CycloneDX SBOM to the image as an OCI 1.1
    /// referrer ([`referrer`]).
    pub sbom: bool,
    /// The SBOMs' `metadata.timestamp` (seconds since 1970; none if unset).
    pub sbom_timestamp: Option<u64>,
}

impl OciOptions {
    /// The defaults: linux/amd64, epoch 0, [`DEFAULT_LEVEL`], a layout folder.
    pub fn new(output: impl Into<PathBuf>, tag: impl Into<String>) -> OciOptions {
        OciOptions {
            output: output.into(),
            tag: tag.into(),
            ref_name: None,
            archive: false,
            platform: Platform::default(),
            annotations: BTreeMap::new(),
            labels: BTreeMap::new(),
            source_date_epoch: 0,
            compression_level: DEFAULT_LEVEL,
            allow_prefix_directories: false,
            cancel: None,
            progress: None,
            sbom: false,
            sbom_timestamp: None,
        }
    }
}

/// One plugin of the image and how to reference it in dynamic-plugins.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginImageRef {
    pub directory: String,
    pub name: String,
    pub version: String,
    /// `oci://<tag>!<directory>`.
    pub reference: String,
    /// `oci://<repository>@sha256:<manifest>!<directory>`.
    pub digest_reference: String,
}

/// An SBOM attached to the image (with [`OciOptions::sbom`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomReferrer {
    /// The plugin's image directory.
    pub directory: String,
    /// The artifact manifest (its `subject` is the image manifest).
    pub manifest_digest: String,
    /// The SBOM blob (`application/vnd.cyclonedx+json`).
    pub sbom_digest: String,
    pub sbom_size: u64,
}

/// What [`build_oci_layout`] wrote.
#[derive(Debug, Clone)]
pub struct OciReport {
    pub output: PathBuf,
    pub ref_name: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub diff_id: String,
    /// Bytes of the compressed layer.
    pub layer_size: u64,
    pub warnings: Vec<String>,
    pub plugins: Vec<PluginImageRef>,
    /// One per plugin with [`OciOptions::sbom`], else empty.
    pub sboms: Vec<SbomReferrer>,
}

/// A plugin folder resolved and listed.
struct Loaded {
    source: PathBuf,
    list: PackList,
    name: String,
    version: String,
    directory: String,
}

fn load(source: &Path) -> Result<Loaded> {
    let dist = plugin::locate(source)?;
    let list = PackList::collect(&dist)?;
    let name = list.manifest.require_name()?.to_string();
    let version = list.manifest.require_version()?.to_string();
    crate::packlist::check_entry_points(&list)?;
    let directory = plugin::directory_name(&name);
    plugin::check_directory(&directory, &list.manifest.path)?;
    Ok(Loaded {
        source: source.to_path_buf(),
        list,
        name,
        version,
        directory,
    })
}

fn check_user_keys(map: &BTreeMap<String, String>, what: &str) -> Result<()> {
    for k in map.keys() {
        if k.is_empty() {
            return Err(Error::InvalidOption {
                message: format!("{what} keys must not be empty"),
            });
        }
        if k == DYNAMIC_PACKAGES {
            return Err(Error::InvalidOption {
                message: format!(
                    "{what} must not set {DYNAMIC_PACKAGES}: dynpack writes it from the plugins' package.json, and RHDH reads the plugin list from it"
                ),
            });
        }
    }
    Ok(())
}

fn size_warnings(plugins: &[PluginFiles], warnings: &mut Vec<String>) {
    for p in plugins {
        for f in &p.files {
            let limit = if f.size > ENTRY_LIMIT_NEW {
                "RHDH refuses it at every version (the installer's MAX_ENTRY_SIZE is 20,000,000 bytes up to 1.9 and 40,000,000 from 1.10)"
            } else if f.size > ENTRY_LIMIT_OLD {
                "RHDH 1.9 and earlier refuse it (their installer's MAX_ENTRY_SIZE is 20,000,000 bytes; 1.10 and later accept up to 40,000,000)"
            } else {
                continue;
            };
            warnings.push(format!(
                "{}/{} is {} bytes: {limit} unless MAX_ENTRY_SIZE is raised",
                p.directory, f.path, f.size
            ));
        }
    }
}

/// Builds the image of `inputs` (the plugins' artifact folders, as
/// lib/folders.js resolves them) and records it under `opts.tag`.
pub fn build_oci_layout(inputs: &[PathBuf], opts: &OciOptions) -> Result<OciReport> {
    build_oci_layout_tapped(inputs, opts, None)
}

/// Receives the compressed layer as it is written ([`Sink::write`]), then
/// its digest: an upload that runs during the build
/// ([`crate::registry::stream`]).
pub trait LayerTap: Sink {
    /// Every byte was written; `digest` names them.
    fn complete(&mut self, digest: &str);
}

/// The layer blob, and `tap` given every compressed byte of it as written.
struct Tee<'a, 't> {
    blob: &'a mut blob::TempBlob,
    tap: Option<&'a mut (dyn LayerTap + 't)>,
}

impl Sink for Tee<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.blob.write(bytes)?;
        match &mut self.tap {
            Some(tap) => tap.write(bytes),
            None => Ok(()),
        }
    }
}

/// [`build_oci_layout`], also handing the compressed layer to `tap` as it
/// is written, then its digest.
///
/// The steps, in order: check the options, load the plugins, refuse a bad
/// destination (and take its lock) before writing, write the layer, build
/// the JSON documents, the SBOM referrers, store everything, report.
pub fn build_oci_layout_tapped(
    inputs: &[PathBuf],
    opts: &OciOptions,
    tap: Option<&mut dyn LayerTap>,
) -> Result<OciReport> {
    let checked = check_options(inputs, opts)?;
    let (loaded, mut warnings) = load_plugins(inputs, opts)?;
    warnings.extend(naming_warnings(&checked.reference, &loaded, opts));
    let files: Vec<PluginFiles> = loaded
        .iter()
        .map(|l| PluginFiles::from_pack_list(&l.directory, &l.list))
        .collect();
    size_warnings(&files, &mut warnings);
    let metadata = PackagerMetadata::of(&loaded);
    let destination = Destination::open(opts)?;
    let (layer_blob, layer) = write_layer(&files, &metadata, &destination, opts, tap)?;
    let documents = image_documents(&checked, &loaded, &metadata, &layer, opts)?;
    let artifacts = sbom_artifacts(&loaded, &documents, &checked.created, opts)?;
    check_cancel(&opts.cancel)?;
    destination.store(layer_blob, &layer, &documents, &artifacts, opts)?;
    Ok(report(
        checked, loaded, layer, documents, &artifacts, warnings, opts,
    ))
}

/// The naming options every image dynpack writes starts from (a plugin image
/// or a folder image), checked before any file is read.
pub(crate) struct Checked {
    pub(crate) reference: ImageReference,
    pub(crate) ref_name: String,
    /// The image's timestamp (RFC 3339 of `source_date_epoch`).
    pub(crate) created: String,
}

impl Checked {
    /// The tag parsed, the layout's tag name (`ref_name`, else the tag's),
    /// the timestamp, and the deflate level (1 to 9) checked.
    pub(crate) fn of(
        tag: &str,
        ref_name: Option<&str>,
        source_date_epoch: u64,
        compression_level: u32,
    ) -> Result<Checked> {
        let reference = ImageReference::parse(tag)?;
        let ref_name = ref_name
            .map(str::to_string)
            .unwrap_or_else(|| reference.default_ref_name().to_string());
        reference::check_ref_name(&ref_name)?;
        let created = crate::time::rfc3339(source_date_epoch)?;
        if !(1..=9).contains(&compression_level) {
            return Err(Error::InvalidOption {
                message: format!("compressionLevel must be 1 to 9, not {compression_level}"),
            });
        }
        Ok(Checked {
            reference,
            ref_name,
            created,
        })
    }
}

fn check_options(inputs: &[PathBuf], opts: &OciOptions) -> Result<Checked> {
    check_cancel(&opts.cancel)?;
    if inputs.is_empty() {
        return Err(Error::InvalidOption {
            message: "pass at least one plugin folder".into(),
        });
    }
    let checked = Checked::of(
        &opts.tag,
        opts.ref_name.as_deref(),
        opts.source_date_epoch,
        opts.compression_level,
    )?;
    check_user_keys(&opts.annotations, "annotations")?;
    check_user_keys(&opts.labels, "labels")?;
    Ok(checked)
}

/// Every plugin folder listed (in parallel), and the directory conflicts
/// accepted as warnings.
fn load_plugins(inputs: &[PathBuf], opts: &OciOptions) -> Result<(Vec<Loaded>, Vec<String>)> {
    let loaded: Vec<Loaded> = inputs
        .par_iter()
        .map(|p| load(p))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_>>()?;
    let prefix_warnings = plugin::check_conflicts(
        &loaded
            .iter()
            .map(|l| plugin::Named {
                directory: &l.directory,
                name: &l.name,
                source: &l.source,
            })
            .collect::<Vec<_>>(),
        opts.allow_prefix_directories,
    )?;
    check_cancel(&opts.cancel)?;
    Ok((loaded, prefix_warnings))
}

/// A registry port old RHDH cannot parse, and packages not named like
/// exported ones.
fn naming_warnings(
    reference: &ImageReference,
    loaded: &[Loaded],
    opts: &OciOptions,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if reference.has_port() {
        warnings.push(format!(
            "{}: the registry has a port, which RHDH 1.9 and earlier cannot parse in oci:// references (1.10 can)",
            opts.tag
        ));
    }
    for l in loaded {
        // `backstage-cli package bundle` keeps the plugin's own name: its
        // marker says the folder is an export all the same.
        if !l.name.ends_with("-dynamic") && !l.list.root.join(".bundle-output").exists() {
            warnings.push(format!(
                "{}: the package {} is not named *-dynamic; is this the exported dist-dynamic folder? (export it first, e.g. `npx @red-hat-developer-hub/cli plugin export`)",
                l.list.root.display(),
                l.name
            ));
        }
    }
    warnings
}

/// The packagers' metadata of the plugins: `index.json` at the layer root
/// (pretty, as `JSON.stringify(_, _, 2)`) and the dynamic-packages
/// annotation and label (base64 of the compact JSON).
struct PackagerMetadata {
    root_index: Vec<u8>,
    packages: String,
}

impl PackagerMetadata {
    fn of(loaded: &[Loaded]) -> PackagerMetadata {
        let entries: Vec<Value> = loaded
            .iter()
            .map(|l| {
                let mut m = Map::new();
                m.insert(
                    l.directory.clone(),
                    Value::Object(plugin::metadata(&l.list.manifest)),
                );
                Value::Object(m)
            })
            .collect();
        let entries = Value::Array(entries);
        PackagerMetadata {
            root_index: serde_json::to_string_pretty(&entries)
                .expect("JSON")
                .into_bytes(),
            packages: base64::engine::general_purpose::STANDARD
                .encode(serde_json::to_vec(&entries).expect("JSON")),
        }
    }
}

/// Where the image goes, opened (and locked, so that concurrent builds
/// into one output take turns) before anything is written.
struct Destination {
    store: Store,
    /// The folder the layer is written into before it is stored.
    temp_dir: PathBuf,
}

enum Store {
    Layout(layout::Layout),
    Archive {
        existing: Option<archive::ExistingArchive>,
        _lock: FolderLock,
    },
}

impl Destination {
    /// Refuses a bad destination before anything is written.
    fn open(opts: &OciOptions) -> Result<Destination> {
        if opts.archive {
            let parent = archive::folder_of(&opts.output);
            crate::output::check_destination(&parent)?;
            let lock = FolderLock::acquire(&parent, &opts.cancel)?;
            let existing = archive::open_existing(&opts.output)?;
            Ok(Destination {
                store: Store::Archive {
                    existing,
                    _lock: lock,
                },
                temp_dir: parent,
            })
        } else {
            let mut layout = layout::Layout::open(&opts.output, &opts.cancel)?;
            let temp_dir = layout.prepare()?;
            Ok(Destination {
                store: Store::Layout(layout),
                temp_dir,
            })
        }
    }

    /// Writes the blobs and records the image (and its referrers) under
    /// `ref_name`.
    fn store(
        self,
        layer_blob: blob::TempBlob,
        layer: &Layer,
        documents: &Documents,
        artifacts: &[referrer::Artifact],
        opts: &OciOptions,
    ) -> Result<()> {
        let referrer_descriptors: Vec<Value> = artifacts
            .iter()
            .map(|a| a.index_descriptor.clone())
            .collect();
        match self.store {
            Store::Layout(l) => store_in_layout(
                l,
                layer_blob,
                layer,
                documents,
                artifacts,
                &referrer_descriptors,
            ),
            Store::Archive { existing, _lock } => store_in_archive(
                existing,
                layer_blob,
                layer,
                documents,
                artifacts,
                &referrer_descriptors,
                opts,
            ),
        }
    }
}

/// The compressed layer (its blob aside).
struct Layer {
    digest: String,
    size: u64,
    diff_id: String,
}

/// Writes the layer into `destination`'s temporary folder, handing every
/// compressed byte to `tap` as well, then its digest.
fn write_layer(
    files: &[PluginFiles],
    metadata: &PackagerMetadata,
    destination: &Destination,
    opts: &OciOptions,
    mut tap: Option<&mut dyn LayerTap>,
) -> Result<(blob::TempBlob, Layer)> {
    let members = layer::members(files, (plugin::ROOT_INDEX, &metadata.root_index));
    let mut blob = blob::TempBlob::create(&destination.temp_dir, "layer")?;
    let digests = layer::write_layer_counted(
        &members,
        opts.source_date_epoch,
        opts.compression_level,
        &mut Tee {
            blob: &mut blob,
            tap: tap.as_deref_mut(),
        },
        &opts.cancel,
        &opts.progress,
    )?;
    let (digest, size) = blob.digest();
    if let Some(tap) = tap {
        tap.complete(&digest);
    }
    check_cancel(&opts.cancel)?;
    Ok((
        blob,
        Layer {
            digest,
            size,
            diff_id: digests.diff_id,
        },
    ))
}

/// The image's JSON: config, manifest and the index descriptor.
struct Documents {
    config: Vec<u8>,
    config_desc: Descriptor,
    manifest: Vec<u8>,
    manifest_desc: Descriptor,
    /// The manifest's entry in `index.json`, under `ref_name`.
    index_descriptor: Value,
    ref_name: String,
}

/// Builds the config and manifest of the image; refuses a tag that pins
/// another manifest digest.
fn image_documents(
    checked: &Checked,
    loaded: &[Loaded],
    metadata: &PackagerMetadata,
    layer: &Layer,
    opts: &OciOptions,
) -> Result<Documents> {
    let mut labels = opts.labels.clone();
    labels.insert(DYNAMIC_PACKAGES.into(), metadata.packages.clone());
    let directories: Vec<String> = loaded.iter().map(|l| l.directory.clone()).collect();
    let config = image::config_json(&image::ConfigSpec {
        platform: &opts.platform,
        created: &checked.created,
        labels: &labels,
        diff_id: &layer.diff_id,
        directories: &directories,
    });
    let config_desc = Descriptor::of(image::MEDIA_TYPE_CONFIG, &config);
    let layer_desc = Descriptor {
        media_type: image::MEDIA_TYPE_LAYER_GZIP,
        digest: layer.digest.clone(),
        size: layer.size,
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(
        image::ANNOTATION_CREATED.to_string(),
        checked.created.clone(),
    );
    annotations.extend(opts.annotations.clone());
    annotations.insert(DYNAMIC_PACKAGES.into(), metadata.packages.clone());
    let manifest = image::manifest_json(&config_desc, &layer_desc, &annotations);
    let manifest_desc = Descriptor::of(image::MEDIA_TYPE_MANIFEST, &manifest);
    if let Some(pinned) = &checked.reference.digest {
        if *pinned != manifest_desc.digest {
            return Err(Error::InvalidTag {
                tag: opts.tag.clone(),
                reason: format!(
                    "it pins {pinned}, but these inputs build the manifest {}; use a tag, or pin the digest dynpack reports",
                    manifest_desc.digest
                ),
            });
        }
    }
    let index_descriptor = image::index_descriptor(
        &manifest_desc,
        &checked.ref_name,
        &checked.reference.raw,
        &opts.platform,
    );
    Ok(Documents {
        config,
        config_desc,
        manifest,
        manifest_desc,
        index_descriptor,
        ref_name: checked.ref_name.clone(),
    })
}

/// Each plugin's CycloneDX SBOM as a referrer of the image manifest (with
/// [`OciOptions::sbom`]; none without).
fn sbom_artifacts(
    loaded: &[Loaded],
    documents: &Documents,
    created: &str,
    opts: &OciOptions,
) -> Result<Vec<referrer::Artifact>> {
    if !opts.sbom {
        return Ok(Vec::new());
    }
    let sbom_options = crate::sbom::SbomOptions {
        timestamp: opts.sbom_timestamp,
        cancel: opts.cancel.clone(),
    };
    loaded
        .par_iter()
        .map(|l| {
            let bytes = crate::sbom::sbom_of(&l.list, &sbom_options)?;
            let title = format!("{}{}", l.directory, crate::sbom::FILE_SUFFIX);
            Ok(referrer::sbom_artifact(
                bytes,
                &title,
                &documents.manifest_desc,
                created,
            ))
        })
        .collect::<Vec<Result<_>>>()
        .into_iter()
        .collect()
}

fn store_in_layout(
    mut l: layout::Layout,
    layer_blob: blob::TempBlob,
    layer: &Layer,
    documents: &Documents,
    artifacts: &[referrer::Artifact],
    referrer_descriptors: &[Value],
) -> Result<()> {
    l.put_temp(&layer.digest, layer_blob)?;
    l.put_bytes(&documents.config_desc.digest, &documents.config)?;
    l.put_bytes(&documents.manifest_desc.digest, &documents.manifest)?;
    for a in artifacts {
        l.put_bytes(&a.sbom_descriptor.digest, &a.sbom)?;
        l.put_bytes(
            &image::sha256_digest(referrer::EMPTY_CONFIG),
            referrer::EMPTY_CONFIG,
        )?;
        l.put_bytes(&a.manifest_descriptor.digest, &a.manifest)?;
    }
    l.finish_with_referrers(
        documents.index_descriptor.clone(),
        &documents.ref_name,
        referrer_descriptors,
    )
}

/// `blobs/sha256/<hex>`: where a blob is in a layout or archive.
fn blob_name(digest: &str) -> String {
    format!("blobs/sha256/{}", blob::hex_of(digest))
}

fn store_in_archive(
    mut existing: Option<archive::ExistingArchive>,
    mut layer_blob: blob::TempBlob,
    layer: &Layer,
    documents: &Documents,
    artifacts: &[referrer::Artifact],
    referrer_descriptors: &[Value],
    opts: &OciOptions,
) -> Result<()> {
    let old_index = existing.as_ref().map(|a| a.index.clone());
    let index = layout::merge_index(
        old_index,
        documents.index_descriptor.clone(),
        &documents.ref_name,
    );
    let old_subjects = old_referrer_subjects(existing.as_mut(), &index);
    let index = referrer::add_to_index(index, referrer_descriptors, |d| {
        old_subjects.get(d).cloned()
    });
    let mut blobs = Vec::new();
    for a in artifacts {
        blobs.push((
            blob_name(&a.sbom_descriptor.digest),
            archive::Content::Bytes(a.sbom.clone()),
        ));
        blobs.push((
            blob_name(&image::sha256_digest(referrer::EMPTY_CONFIG)),
            archive::Content::Bytes(referrer::EMPTY_CONFIG.to_vec()),
        ));
        blobs.push((
            blob_name(&a.manifest_descriptor.digest),
            archive::Content::Bytes(a.manifest.clone()),
        ));
    }
    archive::write_archive(
        &opts.output,
        existing,
        vec![
            (
                blob_name(&layer.digest),
                archive::Content::Temp(&mut layer_blob, layer.size),
            ),
            (
                blob_name(&documents.config_desc.digest),
                archive::Content::Bytes(documents.config.clone()),
            ),
            (
                blob_name(&documents.manifest_desc.digest),
                archive::Content::Bytes(documents.manifest.clone()),
            ),
        ]
        .into_iter()
        .chain(blobs)
        .collect(),
        &index,
        opts.source_date_epoch,
        &opts.cancel,
    )?;
    Ok(())
}

/// The subjects of the SBOM referrers already in the archive, read before
/// the archive is rewritten.
fn old_referrer_subjects(
    existing: Option<&mut archive::ExistingArchive>,
    index: &Value,
) -> std::collections::HashMap<String, String> {
    let mut subjects = std::collections::HashMap::new();
    let (Some(old), Some(list)) = (existing, index["manifests"].as_array()) else {
        return subjects;
    };
    for d in list {
        let Some(digest) = d["digest"].as_str() else {
            continue;
        };
        if d["artifactType"].as_str() != Some(crate::sbom::MEDIA_TYPE)
            || !blob::is_sha256_digest(digest)
        {
            continue;
        }
        if let Some(bytes) = old.read_member(&blob_name(digest), 4 << 20) {
            if let Some(subject) = referrer::subject_digest(&bytes) {
                subjects.insert(digest.to_string(), subject);
            }
        }
    }
    subjects
}

fn report(
    checked: Checked,
    loaded: Vec<Loaded>,
    layer: Layer,
    documents: Documents,
    artifacts: &[referrer::Artifact],
    warnings: Vec<String>,
    opts: &OciOptions,
) -> OciReport {
    let sboms = artifacts
        .iter()
        .zip(&loaded)
        .map(|(a, l)| SbomReferrer {
            directory: l.directory.clone(),
            manifest_digest: a.manifest_descriptor.digest.clone(),
            sbom_digest: a.sbom_descriptor.digest.clone(),
            sbom_size: a.sbom_descriptor.size,
        })
        .collect();
    let reference = checked.reference;
    let manifest_digest = documents.manifest_desc.digest;
    let plugins = loaded
        .into_iter()
        .map(|l| PluginImageRef {
            reference: reference.plugin_reference(&l.directory),
            digest_reference: reference.digest_reference(&manifest_digest, &l.directory),
            directory: l.directory,
            name: l.name,
            version: l.version,
        })
        .collect();
    OciReport {
        sboms,
        output: opts.output.clone(),
        ref_name: checked.ref_name,
        manifest_digest,
        config_digest: documents.config_desc.digest,
        layer_digest: layer.digest,
        diff_id: layer.diff_id,
        layer_size: layer.size,
        warnings,
        plugins,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin with a few MiB of incompressible-ish data, so the layer
    /// spans several parallel gzip blocks.
    fn plugin(root: &Path, name: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        std::fs::write(
            dir.join("package.json"),
            format!(r#"{{"name":"@s/{name}-dynamic","version":"1.0.0","keywords":["k"]}}"#),
        )
        .unwrap();
        let mut x: u32 = 0x9e37_79b9;
        for i in 0..6 {
            let data: Vec<u8> = (0..700_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    b"abcdefghij{}();\n "[(x % 17) as usize]
                })
                .collect();
            std::fs::write(dir.join("dist").join(format!("f{i}.js")), data).unwrap();
        }
        dir
    }

    fn build_in_pool(threads: usize, inputs: &[PathBuf], opts: &OciOptions) -> OciReport {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| build_oci_layout(inputs, opts).unwrap())
    }

    #[test]
    fn same_digests_on_any_thread_count_and_in_an_archive() {
        let t = tempfile::tempdir().unwrap();
        let inputs = vec![plugin(t.path(), "alpha"), plugin(t.path(), "beta")];
        let tag = "quay.io/example/image:v1";
        let one = build_in_pool(1, &inputs, &OciOptions::new(t.path().join("one"), tag));
        let four = build_in_pool(4, &inputs, &OciOptions::new(t.path().join("four"), tag));
        let mut archive = OciOptions::new(t.path().join("image.tar"), tag);
        archive.archive = true;
        let tar = build_in_pool(2, &inputs, &archive);
        for r in [&four, &tar] {
            assert_eq!(r.manifest_digest, one.manifest_digest);
            assert_eq!(r.layer_digest, one.layer_digest);
            assert_eq!(r.diff_id, one.diff_id);
        }
        assert!(one.layer_size > 0);
        assert_eq!(one.plugins[0].directory, "s-alpha");
        assert_eq!(
            one.plugins[1].digest_reference,
            format!("oci://quay.io/example/image@{}!s-beta", one.manifest_digest)
        );
    }

    #[test]
    fn epoch_and_level_change_the_digest() {
        let t = tempfile::tempdir().unwrap();
        let inputs = vec![plugin(t.path(), "alpha")];
        let tag = "quay.io/example/image:v1";
        let base = build_oci_layout(&inputs, &OciOptions::new(t.path().join("a"), tag)).unwrap();
        let mut o = OciOptions::new(t.path().join("b"), tag);
        o.source_date_epoch = 1;
        let epoch = build_oci_layout(&inputs, &o).unwrap();
        let mut o = OciOptions::new(t.path().join("c"), tag);
        o.compression_level = 1;
        let level = build_oci_layout(&inputs, &o).unwrap();
        assert_ne!(epoch.manifest_digest, base.manifest_digest);
        assert_ne!(epoch.diff_id, base.diff_id);
        assert_ne!(level.layer_digest, base.layer_digest);
        assert_eq!(level.diff_id, base.diff_id);
    }
}
