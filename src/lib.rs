//! dynpack: package Backstage dynamic plugins for Red Hat Developer Hub.
//!
//! The library is plain Rust ([`pack::pack_dynamic`],
//! [`integrity::integrity_of_file`], [`oci::build_oci_layout`]); this file
//! only binds it to Node with napi-rs. Every exported function runs its work
//! on the libuv thread pool and returns a Promise. Errors reach JavaScript
//! with the message `E_CODE: text`; `lib/api.js` turns the prefix into
//! `error.code`.
#![deny(clippy::all)]

pub mod error;
pub mod gzip;
pub mod hex;
pub mod input;
pub mod inspect;
pub mod integrity;
pub mod manifest;
pub mod oci;
pub mod output;
pub mod pack;
pub mod packlist;
pub mod pipeline;
pub mod plugin;
pub mod posix;
pub mod progress;
pub mod registry;
pub mod sbom;
pub mod sign;
pub mod source_digest;
pub mod tar_reader;
pub mod tarball;
pub mod time;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

fn js_error(e: error::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e))
}

/// Lets JavaScript stop a running task (an AbortSignal calls `cancel`).
#[napi]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

#[napi]
impl CancelToken {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    #[napi]
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// Live progress of a running task, sampled from JavaScript (lib/api.js
/// polls it on a timer and calls the `onProgress` callback); the task only
/// adds to atomic counters, so it never waits for JavaScript.
#[napi]
pub struct ProgressCounter {
    inner: Arc<progress::Progress>,
}

#[napi]
impl ProgressCounter {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ProgressCounter {
            inner: Arc::new(progress::Progress::default()),
        }
    }

    /// `[filesDone, filesTotal, bytesDone, bytesTotal]`.
    #[napi]
    pub fn snapshot(&self) -> Vec<f64> {
        self.inner.snapshot().iter().map(|&n| n as f64).collect()
    }
}

// ---------------------------------------------------------------------------
// packDynamic

#[napi(object)]
pub struct PackDynamicOptions {
    /// Folder to write `<filename>` into (default: the current directory).
    pub destination: Option<String>,
    /// Compute everything, write nothing.
    pub dry_run: Option<bool>,
    /// `'npm'` (default): byte-identical to `npm pack`; `'fast'`: all cores.
    pub compression: Option<String>,
    /// Also write the CycloneDX 1.6 SBOM of the packed files as `<tgz>.cdx.json`.
    pub sbom: Option<bool>,
    /// The SBOM's `metadata.timestamp`, seconds since 1970 (default:
    /// `SOURCE_DATE_EPOCH`, else none).
    pub source_date_epoch: Option<i64>,
}

#[napi(object)]
pub struct PackedFileInfo {
    pub path: String,
    pub size: i64,
    pub mode: u32,
}

/// What `npm pack --json` prints for the package, plus `path`.
#[napi(object)]
pub struct PackResult {
    pub id: String,
    pub name: String,
    pub version: String,
    pub size: i64,
    pub unpacked_size: i64,
    pub shasum: String,
    pub integrity: String,
    pub filename: String,
    pub files: Vec<PackedFileInfo>,
    pub entry_count: i64,
    pub bundled: Vec<String>,
    /// The file written; absent for dry runs.
    pub path: Option<String>,
    /// The SBOM written beside it (with `sbom: true`).
    pub sbom: Option<String>,
}

impl From<pack::PackReport> for PackResult {
    fn from(r: pack::PackReport) -> Self {
        PackResult {
            id: r.id,
            name: r.name,
            version: r.version,
            size: r.size as i64,
            unpacked_size: r.unpacked_size as i64,
            shasum: r.shasum,
            integrity: r.integrity,
            filename: r.filename,
            files: r
                .files
                .into_iter()
                .map(|f| PackedFileInfo {
                    path: f.path,
                    size: f.size as i64,
                    mode: f.mode,
                })
                .collect(),
            entry_count: r.entry_count as i64,
            bundled: r.bundled,
            path: r.path.map(|p| p.to_string_lossy().into_owned()),
            sbom: r.sbom.map(|p| p.to_string_lossy().into_owned()),
        }
    }
}

pub struct PackTask {
    dir: PathBuf,
    options: pack::PackOptions,
}

#[napi]
impl Task for PackTask {
    type Output = pack::PackReport;
    type JsValue = PackResult;

    fn compute(&mut self) -> Result<Self::Output> {
        pack::pack_dynamic(&self.dir, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Packs `dir` as `npm pack --ignore-scripts` does and writes the tgz.
#[napi(ts_return_type = "Promise<PackResult>")]
pub fn pack_dynamic(
    dir: String,
    options: Option<PackDynamicOptions>,
    cancel: Option<&CancelToken>,
    progress: Option<&ProgressCounter>,
) -> Result<AsyncTask<PackTask>> {
    let options = options.unwrap_or(PackDynamicOptions {
        destination: None,
        dry_run: None,
        compression: None,
        sbom: None,
        source_date_epoch: None,
    });
    let sbom_timestamp = epoch_option(options.source_date_epoch)?;
    let compression = match options.compression.as_deref() {
        None => pack::Compression::Npm,
        Some(c) => pack::Compression::parse(c).map_err(js_error)?,
    };
    Ok(AsyncTask::new(PackTask {
        dir: PathBuf::from(dir),
        options: pack::PackOptions {
            destination: options.destination.map(PathBuf::from),
            dry_run: options.dry_run.unwrap_or(false),
            compression,
            cancel: cancel.map(|c| c.flag.clone()),
            progress: progress.map(|p| p.inner.clone()),
            sbom: options.sbom.unwrap_or(false),
            sbom_timestamp,
        },
    }))
}

fn epoch_option(epoch: Option<i64>) -> Result<Option<u64>> {
    epoch
        .map(|e| {
            u64::try_from(e).map_err(|_| {
                js_error(error::Error::InvalidOption {
                    message: format!("sourceDateEpoch must be seconds since 1970, not {e}"),
                })
            })
        })
        .transpose()
}

// ---------------------------------------------------------------------------
// sbomOf

#[napi(object)]
pub struct SbomOfOptions {
    /// `metadata.timestamp`, seconds since 1970 (default: `SOURCE_DATE_EPOCH`, else none).
    pub source_date_epoch: Option<i64>,
}

pub struct SbomTask {
    dir: PathBuf,
    options: sbom::SbomOptions,
}

#[napi]
impl Task for SbomTask {
    type Output = Vec<u8>;
    type JsValue = String;

    fn compute(&mut self) -> Result<Self::Output> {
        sbom::sbom_of_plugin(&self.dir, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        String::from_utf8(output).map_err(|e| napi::Error::from_reason(e.to_string()))
    }
}

/// The CycloneDX 1.6 SBOM (JSON text) of what packing `dir` ships.
#[napi(ts_return_type = "Promise<string>")]
pub fn sbom_of(
    dir: String,
    options: Option<SbomOfOptions>,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<SbomTask>> {
    let timestamp = epoch_option(options.and_then(|o| o.source_date_epoch))?;
    Ok(AsyncTask::new(SbomTask {
        dir: PathBuf::from(dir),
        options: sbom::SbomOptions {
            timestamp,
            cancel: cancel.map(|c| c.flag.clone()),
        },
    }))
}

// ---------------------------------------------------------------------------
// computeIntegrity / verifyIntegrity

#[napi(object)]
pub struct IntegrityOptions {
    /// Among `sha512` (default), `sha384`, `sha256`, `sha1`.
    pub algorithms: Option<Vec<String>>,
}

enum Input {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Input {
    fn from_js(input: Either<String, Buffer>) -> Input {
        match input {
            Either::A(path) => Input::File(PathBuf::from(path)),
            Either::B(buf) => Input::Bytes(buf.to_vec()),
        }
    }

    fn integrity(
        &self,
        algorithms: &[integrity::Algorithm],
        cancel: &pipeline::Cancel,
    ) -> error::Result<String> {
        match self {
            Input::File(p) => integrity::integrity_of_file_cancellable(p, algorithms, cancel),
            Input::Bytes(b) => integrity::integrity_of_bytes_cancellable(b, algorithms, cancel),
        }
    }
}

pub struct IntegrityTask {
    input: Input,
    algorithms: Vec<integrity::Algorithm>,
    cancel: pipeline::Cancel,
}

#[napi]
impl Task for IntegrityTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<Self::Output> {
        self.input
            .integrity(&self.algorithms, &self.cancel)
            .map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// The SRI string (`sha512-...`) of a file or a Buffer.
#[napi(ts_return_type = "Promise<string>")]
pub fn compute_integrity(
    input: Either<String, Buffer>,
    options: Option<IntegrityOptions>,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<IntegrityTask>> {
    let names = options
        .and_then(|o| o.algorithms)
        .unwrap_or_else(|| vec!["sha512".to_string()]);
    let algorithms = integrity::Algorithm::parse_list(&names).map_err(js_error)?;
    Ok(AsyncTask::new(IntegrityTask {
        input: Input::from_js(input),
        algorithms,
        cancel: cancel.map(|c| c.flag.clone()),
    }))
}

pub struct VerifyTask {
    input: Input,
    sri: String,
}

#[napi]
impl Task for VerifyTask {
    type Output = bool;
    type JsValue = bool;

    fn compute(&mut self) -> Result<Self::Output> {
        let expected = integrity::expected(&self.sri).map_err(js_error)?;
        let computed = self
            .input
            .integrity(&[expected.algorithm], &None)
            .map_err(js_error)?;
        Ok(expected.matches(&computed))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// Resolves true when the data matches `sri` (its strongest algorithm).
#[napi(ts_return_type = "Promise<boolean>")]
pub fn verify_integrity(input: Either<String, Buffer>, sri: String) -> AsyncTask<VerifyTask> {
    AsyncTask::new(VerifyTask {
        input: Input::from_js(input),
        sri,
    })
}

/// gzips `data` with the host's zlib exactly as `npm pack` does; used by
/// the JavaScript layer to check once that it equals `zlib.gzipSync`.
#[napi]
pub fn npm_gzip_sync(data: Buffer) -> Result<Buffer> {
    gzip::npm_gzip(&data).map(Buffer::from).map_err(js_error)
}

/// An advisory lock on a folder (`flock`), for JavaScript code that reads,
/// merges and rewrites files there (the catalog folder): other dynpack
/// runs wait for it. The kernel releases it when the process ends, so a
/// crashed run leaves no stale lock.
#[napi]
pub struct FolderLockHandle {
    lock: Option<output::FolderLock>,
}

#[napi]
impl FolderLockHandle {
    /// Releases the lock (idempotent).
    #[napi]
    pub fn release(&mut self) {
        self.lock = None;
    }
}

/// Waits (blocking, polling) for the lock on the existing folder `dir`.
#[napi]
pub fn lock_folder(dir: String) -> Result<FolderLockHandle> {
    output::FolderLock::acquire(Path::new(&dir), &None)
        .map(|lock| FolderLockHandle { lock: Some(lock) })
        .map_err(js_error)
}

// ---------------------------------------------------------------------------
// buildOciLayout

#[napi(object)]
pub struct BuildOciLayoutOptions {
    /// The image layout folder to write (or update), or the oci-archive
    /// file with `archive`.
    pub output: String,
    /// The image reference, e.g. `quay.io/example/image:v0.0.1`.
    pub tag: String,
    /// The layout tag (default: the tag part of `tag`).
    pub ref_name: Option<String>,
    /// Write one oci-archive tar file instead of a layout folder.
    pub archive: Option<bool>,
    /// `os/arch[/variant]` (default `linux/amd64`).
    pub platform: Option<String>,
    /// Extra manifest annotations.
    pub annotations: Option<std::collections::HashMap<String, String>>,
    /// Extra config labels.
    pub labels: Option<std::collections::HashMap<String, String>>,
    /// Seconds since 1970 for every timestamp (default: `SOURCE_DATE_EPOCH`, else 0).
    pub source_date_epoch: Option<i64>,
    /// Deflate level of the layer, 1-9 (default 3).
    pub compression_level: Option<u32>,
    /// Accept a plugin directory that is a prefix of another (reported in
    /// `warnings`); RHDH up to 1.10 would install both for either one.
    pub allow_prefix_directories: Option<bool>,
    /// Attach each plugin's CycloneDX SBOM as an OCI 1.1 referrer of the image.
    pub sbom: Option<bool>,
    /// Upload the layer to the registry of `tag` while it is compressed, so
    /// that a pushOciImage right after finds it there (best effort).
    pub upload_layer: Option<LayerUploadOptions>,
}

/// Where and how the layer is uploaded during the build (as pushOciImage's options).
#[napi(object)]
pub struct LayerUploadOptions {
    pub authfile: Option<String>,
    pub creds: Option<String>,
    pub cert_dir: Option<String>,
    pub tls_verify: Option<bool>,
}

/// What became of `uploadLayer`.
#[napi(object)]
pub struct LayerUploadResult {
    /// The layer is in the registry (pass `layerDigest` as pushOciImage's
    /// `streamedBlobs` to count it as uploaded).
    pub uploaded: bool,
    pub bytes: i64,
    /// Why the layer was left to the push, when it was.
    pub note: Option<String>,
}

#[napi(object)]
pub struct OciPluginInfo {
    pub directory: String,
    pub name: String,
    pub version: String,
    /// `oci://<tag>!<directory>`, for dynamic-plugins.yaml.
    pub reference: String,
    /// `oci://<repository>@sha256:<manifest>!<directory>`.
    pub digest_reference: String,
}

/// An SBOM stored in the layout as a referrer of the image.
#[napi(object)]
pub struct OciSbomInfo {
    pub directory: String,
    /// The artifact manifest (`subject` = the image manifest).
    pub manifest_digest: String,
    pub sbom_digest: String,
    pub sbom_size: i64,
}

#[napi(object)]
pub struct OciLayoutResult {
    pub output: String,
    pub ref_name: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub diff_id: String,
    pub layer_size: i64,
    pub warnings: Vec<String>,
    pub plugins: Vec<OciPluginInfo>,
    /// One per plugin with `sbom: true`, else empty.
    pub sboms: Vec<OciSbomInfo>,
    /// With `uploadLayer`.
    pub layer_upload: Option<LayerUploadResult>,
}

impl From<oci::OciReport> for OciLayoutResult {
    fn from(r: oci::OciReport) -> Self {
        OciLayoutResult {
            layer_upload: None,
            output: r.output.to_string_lossy().into_owned(),
            ref_name: r.ref_name,
            manifest_digest: r.manifest_digest,
            config_digest: r.config_digest,
            layer_digest: r.layer_digest,
            diff_id: r.diff_id,
            layer_size: r.layer_size as i64,
            warnings: r.warnings,
            sboms: r
                .sboms
                .into_iter()
                .map(|s| OciSbomInfo {
                    directory: s.directory,
                    manifest_digest: s.manifest_digest,
                    sbom_digest: s.sbom_digest,
                    sbom_size: s.sbom_size as i64,
                })
                .collect(),
            plugins: r
                .plugins
                .into_iter()
                .map(|p| OciPluginInfo {
                    directory: p.directory,
                    name: p.name,
                    version: p.version,
                    reference: p.reference,
                    digest_reference: p.digest_reference,
                })
                .collect(),
        }
    }
}

pub struct OciTask {
    plugins: Vec<PathBuf>,
    options: oci::OciOptions,
    upload: Option<(
        registry::auth::AuthOptions,
        registry::transport::TransportOptions,
    )>,
}

#[napi]
impl Task for OciTask {
    type Output = (oci::OciReport, Option<registry::stream::StreamOutcome>);
    type JsValue = OciLayoutResult;

    fn compute(&mut self) -> Result<Self::Output> {
        match self.upload.take() {
            None => oci::build_oci_layout(&self.plugins, &self.options).map(|r| (r, None)),
            Some((auth, transport)) => registry::stream::build_uploading_layer(
                &self.plugins,
                &self.options,
                auth,
                transport,
            )
            .map(|(r, s)| (r, Some(s))),
        }
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, (report, upload): Self::Output) -> Result<Self::JsValue> {
        let mut result = OciLayoutResult::from(report);
        result.layer_upload = upload.map(|u| LayerUploadResult {
            uploaded: u.uploaded,
            bytes: u.bytes as i64,
            note: u.note,
        });
        Ok(result)
    }
}

/// Writes a reproducible OCI image of dynamic plugins, no container engine needed.
#[napi(ts_return_type = "Promise<OciLayoutResult>")]
pub fn build_oci_layout(
    plugins: Either<String, Vec<String>>,
    options: BuildOciLayoutOptions,
    cancel: Option<&CancelToken>,
    progress: Option<&ProgressCounter>,
) -> Result<AsyncTask<OciTask>> {
    let plugins = match plugins {
        Either::A(one) => vec![PathBuf::from(one)],
        Either::B(many) => many.into_iter().map(PathBuf::from).collect(),
    };
    let mut o = oci::OciOptions::new(options.output, options.tag);
    o.ref_name = options.ref_name;
    o.archive = options.archive.unwrap_or(false);
    if let Some(p) = options.platform {
        o.platform = oci::Platform::parse(&p).map_err(js_error)?;
    }
    o.annotations = options
        .annotations
        .unwrap_or_default()
        .into_iter()
        .collect();
    o.labels = options.labels.unwrap_or_default().into_iter().collect();
    let epoch = epoch_option(options.source_date_epoch)?;
    o.source_date_epoch = epoch.unwrap_or(0);
    o.allow_prefix_directories = options.allow_prefix_directories.unwrap_or(false);
    if let Some(level) = options.compression_level {
        o.compression_level = level;
    }
    o.cancel = cancel.map(|c| c.flag.clone());
    o.progress = progress.map(|p| p.inner.clone());
    o.sbom = options.sbom.unwrap_or(false);
    // The SBOM carries a timestamp only when an epoch was given (the JS
    // layer passes SOURCE_DATE_EPOCH here); the image's default 0 is not one.
    o.sbom_timestamp = epoch;
    let upload = options.upload_layer.map(|u| {
        (
            registry::auth::AuthOptions {
                authfile: u.authfile.map(PathBuf::from),
                creds: u.creds,
            },
            transport_options(u.cert_dir, u.tls_verify, cancel),
        )
    });
    Ok(AsyncTask::new(OciTask {
        plugins,
        options: o,
        upload,
    }))
}

// ---------------------------------------------------------------------------
// pluginDirectory (internal: the CLI's one rule for plugin folder names)

/// The folder a dist-dynamic package gets in an image or an export
/// ([`plugin::directory_name`]), refused with `E_INVALID_MANIFEST` naming
/// `manifest` when [`plugin::check_directory`] finds it unusable. The CLI's
/// `--export-to` calls this, so images and exports share one rule.
#[napi]
pub fn plugin_directory(package_name: String, manifest: String) -> Result<String> {
    let directory = plugin::directory_name(&package_name);
    plugin::check_directory(&directory, std::path::Path::new(&manifest)).map_err(js_error)?;
    Ok(directory)
}

/// The name the tgz of `name`@`version` is written under
/// ([`pack::tarball_file_name`]: every `/` and `\` made `-`), for the CLI,
/// which must know it before packing (collisions, `--base-url`).
#[napi]
pub fn tarball_file_name(name: String, version: String) -> String {
    pack::tarball_file_name(&name, &version)
}

// ---------------------------------------------------------------------------
// inspectOciImage

#[napi(object)]
pub struct InspectOciImageOptions {
    /// The image in a layout or archive (tag or digest); default: the only one.
    pub ref_name: Option<String>,
    /// Folder relative paths are taken from (default: the current one).
    pub cwd: Option<String>,
    /// Report a plugin directory that is a name prefix of another as a
    /// warning (RHDH ≥ 1.11) instead of an error.
    pub allow_prefix_directories: Option<bool>,
    /// For a registry reference: the auth.json read first (as pushOciImage).
    pub authfile: Option<String>,
    /// For a registry reference: `USER:PASSWORD`, instead of any auth file.
    pub creds: Option<String>,
    /// For a registry reference: CAs and client certificates, instead of certs.d.
    pub cert_dir: Option<String>,
    /// For a registry reference: `false` accepts any certificate and falls back to HTTP.
    pub tls_verify: Option<bool>,
    /// cosign.pub: require a cosign signature by this key (the `signature` rule).
    pub key: Option<String>,
    /// With `key`: accept a signature whose payload (`docker-reference`)
    /// names another repository; by default it must name the inspected
    /// one (and its tag when both name one), so that a signature copied
    /// with the image from another repository does not pass.
    pub any_repository: Option<bool>,
}

#[napi(object)]
pub struct InspectedSignature {
    /// `sha256-<hex>.sig`.
    pub tag: String,
    /// Signatures at that tag.
    pub found: u32,
    /// Those made with the key for the inspected digest.
    pub verified: u32,
}

#[napi(object)]
pub struct InspectedReferrer {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[napi(object)]
pub struct InspectedFile {
    pub path: String,
    pub size: i64,
}

#[napi(object)]
pub struct InspectedPlugin {
    pub directory: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// Regular files under `<directory>/` in the first layer.
    pub files: i64,
    pub bytes: i64,
    pub largest_file: Option<InspectedFile>,
}

#[napi(object)]
pub struct InspectedLayer {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    /// `gzip`, `none`, `zstd`, `bzip2` or `xz` (from the bytes).
    pub compression: String,
    pub entries: i64,
    pub diff_id: Option<String>,
}

#[napi(object)]
pub struct InspectFinding {
    /// `error` or `warning`.
    pub severity: String,
    pub message: String,
}

#[napi(object)]
pub struct InspectCheck {
    /// Stable rule name, e.g. `entry-size`.
    pub rule: String,
    pub description: String,
    /// `pass`, `warning`, `error` or `skipped`.
    pub status: String,
    pub findings: Vec<InspectFinding>,
    /// Findings not listed (past 20 per rule).
    pub omitted: u32,
}

#[napi(object)]
pub struct InspectResult {
    /// `layout`, `archive` or `registry`.
    pub source: String,
    pub location: String,
    /// The tag or digest inspected.
    pub reference: String,
    /// The full image name (`host/repo:tag`) when known.
    pub image_name: Option<String>,
    /// Media type and digest of the top-level JSON (index or manifest).
    pub media_type: String,
    pub digest: String,
    pub manifest_digest: String,
    pub platform: Option<String>,
    pub layer_count: u32,
    pub layer: Option<InspectedLayer>,
    pub plugins: Vec<InspectedPlugin>,
    pub checks: Vec<InspectCheck>,
    /// No check failed (warnings allowed).
    pub ok: bool,
    /// With `key`: the signatures found and verified.
    pub signature: Option<InspectedSignature>,
    /// Referrers (SBOMs) of a registry image, from its `sha256-<hex>` tag.
    pub referrers: Vec<InspectedReferrer>,
}

impl From<inspect::InspectReport> for InspectResult {
    fn from(r: inspect::InspectReport) -> Self {
        InspectResult {
            source: r.kind.to_string(),
            location: r.location,
            reference: r.reference,
            image_name: r.image_name,
            media_type: r.media_type,
            digest: r.digest,
            manifest_digest: r.manifest_digest,
            platform: r.platform,
            layer_count: r.layer_count as u32,
            layer: r.layer.map(|l| InspectedLayer {
                media_type: l.media_type,
                digest: l.digest,
                size: l.size as i64,
                compression: l.compression.to_string(),
                entries: l.entries as i64,
                diff_id: l.diff_id,
            }),
            plugins: r
                .plugins
                .into_iter()
                .map(|p| InspectedPlugin {
                    directory: p.directory,
                    name: p.name,
                    version: p.version,
                    files: p.files as i64,
                    bytes: p.bytes as i64,
                    largest_file: p.largest_file.map(|(path, size)| InspectedFile {
                        path,
                        size: size as i64,
                    }),
                })
                .collect(),
            checks: r
                .checks
                .into_iter()
                .map(|c| InspectCheck {
                    rule: c.rule.name().to_string(),
                    description: c.rule.description().to_string(),
                    status: c.status.to_string(),
                    findings: c
                        .findings
                        .into_iter()
                        .map(|f| InspectFinding {
                            severity: f.severity.name().to_string(),
                            message: f.message,
                        })
                        .collect(),
                    omitted: c.omitted as u32,
                })
                .collect(),
            ok: r.ok,
            signature: r.signature.map(|s| InspectedSignature {
                tag: s.tag,
                found: s.found,
                verified: s.verified,
            }),
            referrers: r
                .referrers
                .into_iter()
                .map(|x| InspectedReferrer {
                    digest: x.digest,
                    media_type: x.media_type,
                    artifact_type: x.artifact_type,
                    size: x.size as i64,
                    annotations: x.annotations,
                })
                .collect(),
        }
    }
}

pub struct InspectTask {
    target: String,
    options: inspect::InspectOptions,
}

#[napi]
impl Task for InspectTask {
    type Output = inspect::InspectReport;
    type JsValue = InspectResult;

    fn compute(&mut self) -> Result<Self::Output> {
        inspect::inspect_target(&self.target, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Lists the plugins of an OCI image (layout folder, oci-archive, or a
/// registry reference) and checks it against RHDH's installer rules.
#[napi(ts_return_type = "Promise<InspectResult>")]
pub fn inspect_oci_image(
    target: String,
    options: Option<InspectOciImageOptions>,
    cancel: Option<&CancelToken>,
) -> AsyncTask<InspectTask> {
    let o = options.unwrap_or(InspectOciImageOptions {
        ref_name: None,
        cwd: None,
        allow_prefix_directories: None,
        authfile: None,
        creds: None,
        cert_dir: None,
        tls_verify: None,
        key: None,
        any_repository: None,
    });
    AsyncTask::new(InspectTask {
        target,
        options: inspect::InspectOptions {
            reference: o.ref_name,
            cwd: o.cwd.map(PathBuf::from),
            allow_prefix_directories: o.allow_prefix_directories.unwrap_or(false),
            cancel: cancel.map(|c| c.flag.clone()),
            auth: registry::auth::AuthOptions {
                authfile: o.authfile.map(PathBuf::from),
                creds: o.creds,
            },
            transport: transport_options(o.cert_dir, o.tls_verify, cancel),
            public_key: o.key.map(PathBuf::from),
            any_repository: o.any_repository.unwrap_or(false),
        },
    })
}

// ---------------------------------------------------------------------------
// cosign keys and signatures (no pushing here)

#[napi(object)]
pub struct KeyPairFiles {
    pub private_key: String,
    pub public_key: String,
}

pub struct KeygenTask {
    dir: PathBuf,
    passphrase: String,
}

#[napi]
impl Task for KeygenTask {
    type Output = (PathBuf, PathBuf);
    type JsValue = KeyPairFiles;

    fn compute(&mut self) -> Result<Self::Output> {
        sign::keys::write_key_pair(&self.dir, self.passphrase.as_bytes()).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, (k, p): Self::Output) -> Result<Self::JsValue> {
        Ok(KeyPairFiles {
            private_key: k.to_string_lossy().into_owned(),
            public_key: p.to_string_lossy().into_owned(),
        })
    }
}

/// Writes `cosign.key` (encrypted with `passphrase`) and `cosign.pub` into `dir`.
#[napi(ts_return_type = "Promise<KeyPairFiles>")]
pub fn cosign_generate_key_pair(dir: String, passphrase: String) -> AsyncTask<KeygenTask> {
    AsyncTask::new(KeygenTask {
        dir: PathBuf::from(dir),
        passphrase,
    })
}

#[napi(object)]
pub struct CosignSignature {
    /// The simple-signing payload (the signed bytes), as text.
    pub payload: String,
    /// base64 ASN.1 DER ECDSA-P256 signature of `payload`.
    pub signature: String,
    /// `cosign.pub` of the key that signed.
    pub public_key: String,
}

pub struct SignTask {
    key: PathBuf,
    passphrase: Option<String>,
    reference: String,
    digest: String,
}

#[napi]
impl Task for SignTask {
    type Output = CosignSignature;
    type JsValue = CosignSignature;

    fn compute(&mut self) -> Result<Self::Output> {
        let signed = sign::sign_with_key_file(
            &self.key,
            self.passphrase.as_deref().map(str::as_bytes),
            &self.reference,
            &self.digest,
        )
        .map_err(js_error)?;
        Ok(CosignSignature {
            payload: String::from_utf8(signed.payload).expect("JSON text"),
            signature: signed.signature,
            public_key: signed.public_key,
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// Signs the image `reference` whose manifest is `digest` with a cosign or
/// PKCS#8 key file: the simple-signing payload and its signature, ready to
/// be pushed as a `sha256-<hex>.sig` layer.
#[napi(ts_return_type = "Promise<CosignSignature>")]
pub fn cosign_sign(
    key: String,
    passphrase: Option<String>,
    reference: String,
    digest: String,
) -> AsyncTask<SignTask> {
    AsyncTask::new(SignTask {
        key: PathBuf::from(key),
        passphrase,
        reference,
        digest,
    })
}

// ---------------------------------------------------------------------------
// pushOciImage / registryLogin / registryLogout

#[napi(object)]
pub struct PushOciImageOptions {
    /// The image in the layout (`org.opencontainers.image.ref.name`); default: the only one.
    pub ref_name: Option<String>,
    /// Where to push (`host/repo:tag`); default: the reference the image was built for.
    pub tag: Option<String>,
    /// The auth.json to read first (else `REGISTRY_AUTH_FILE`, then the containers/docker files).
    pub authfile: Option<String>,
    /// `USER:PASSWORD`, instead of any auth file.
    pub creds: Option<String>,
    /// CAs (`*.crt`) and client certificates for the registry, instead of certs.d.
    pub cert_dir: Option<String>,
    /// `false`: accept any certificate and fall back to plain HTTP.
    pub tls_verify: Option<bool>,
    /// Repositories (`host/path`) of the same registry to mount blobs from.
    pub mount_from: Option<Vec<String>>,
    /// Blobs uploaded during the build (buildOciLayout's `uploadLayer`):
    /// found in the registry, they count as uploaded, not existing.
    pub streamed_blobs: Option<Vec<String>>,
}

#[napi(object)]
pub struct PushBlobCounts {
    pub uploaded: u32,
    pub mounted: u32,
    pub existing: u32,
}

#[napi(object)]
pub struct PushOciImageResult {
    pub tag: String,
    pub repository: String,
    pub digest: String,
    /// `<repository>@<digest>`.
    pub reference: String,
    pub up_to_date: bool,
    pub blobs: PushBlobCounts,
    pub bytes_uploaded: i64,
    /// Referrers of the image (SBOMs) pushed with it or already there.
    pub referrers: u32,
}

/// Bytes sent so far by the pushes it is passed to (polled for progress).
#[napi]
pub struct PushProgress {
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

#[napi]
impl PushProgress {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        PushProgress {
            bytes: registry::push::progress_counter(),
        }
    }

    #[napi(getter)]
    pub fn bytes(&self) -> i64 {
        self.bytes.load(Ordering::Relaxed) as i64
    }
}

pub struct PushTask {
    options: registry::PushOptions,
}

#[napi]
impl Task for PushTask {
    type Output = registry::PushReport;
    type JsValue = PushOciImageResult;

    fn compute(&mut self) -> Result<Self::Output> {
        registry::push_image(&self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, r: Self::Output) -> Result<Self::JsValue> {
        Ok(PushOciImageResult {
            tag: r.tag,
            repository: r.repository,
            digest: r.digest,
            reference: r.reference,
            up_to_date: r.up_to_date,
            blobs: PushBlobCounts {
                uploaded: r.uploaded,
                mounted: r.mounted,
                existing: r.existing,
            },
            bytes_uploaded: r.bytes_uploaded as i64,
            referrers: r.referrers,
        })
    }
}

fn transport_options(
    cert_dir: Option<String>,
    tls_verify: Option<bool>,
    cancel: Option<&CancelToken>,
) -> registry::transport::TransportOptions {
    registry::transport::TransportOptions {
        tls_verify: tls_verify.unwrap_or(true),
        cert_dir: cert_dir.map(PathBuf::from),
        progress: None,
        cancel: cancel.map(|c| c.flag.clone()),
        pings: Default::default(),
    }
}

/// Pushes an image of an OCI layout folder or oci-archive to its registry.
#[napi(ts_return_type = "Promise<PushOciImageResult>")]
pub fn push_oci_image(
    source: String,
    options: Option<PushOciImageOptions>,
    cancel: Option<&CancelToken>,
    progress: Option<&PushProgress>,
) -> AsyncTask<PushTask> {
    let o = options.unwrap_or(PushOciImageOptions {
        ref_name: None,
        tag: None,
        authfile: None,
        creds: None,
        cert_dir: None,
        tls_verify: None,
        mount_from: None,
        streamed_blobs: None,
    });
    let mut transport = transport_options(o.cert_dir, o.tls_verify, cancel);
    transport.progress = progress.map(|p| p.bytes.clone());
    AsyncTask::new(PushTask {
        options: registry::PushOptions {
            source: PathBuf::from(source),
            ref_name: o.ref_name,
            tag: o.tag,
            mount_from: o.mount_from.unwrap_or_default(),
            streamed: o.streamed_blobs.unwrap_or_default(),
            auth: registry::auth::AuthOptions {
                authfile: o.authfile.map(PathBuf::from),
                creds: o.creds,
            },
            transport,
        },
    })
}

#[napi(object)]
pub struct RegistryLoginOptions {
    /// The auth.json to write (default: `REGISTRY_AUTH_FILE`, else podman's).
    pub authfile: Option<String>,
    pub cert_dir: Option<String>,
    pub tls_verify: Option<bool>,
}

pub struct LoginTask {
    host: String,
    username: String,
    password: String,
    auth: registry::auth::AuthOptions,
    transport: registry::transport::TransportOptions,
}

#[napi]
impl Task for LoginTask {
    type Output = PathBuf;
    type JsValue = String;

    fn compute(&mut self) -> Result<Self::Output> {
        registry::login(
            &self.host,
            &self.username,
            &self.password,
            &self.auth,
            &self.transport,
        )
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, path: Self::Output) -> Result<Self::JsValue> {
        Ok(path.to_string_lossy().into_owned())
    }
}

/// Checks credentials against `host` and stores them in auth.json (as
/// `podman login` does); resolves to the file written.
#[napi(ts_return_type = "Promise<string>")]
pub fn registry_login(
    host: String,
    username: String,
    password: String,
    options: Option<RegistryLoginOptions>,
    cancel: Option<&CancelToken>,
) -> AsyncTask<LoginTask> {
    let o = options.unwrap_or(RegistryLoginOptions {
        authfile: None,
        cert_dir: None,
        tls_verify: None,
    });
    AsyncTask::new(LoginTask {
        host,
        username,
        password,
        auth: registry::auth::AuthOptions {
            authfile: o.authfile.map(PathBuf::from),
            creds: None,
        },
        transport: transport_options(o.cert_dir, o.tls_verify, cancel),
    })
}

#[napi(object)]
pub struct RegistryLogoutResult {
    /// Whether the file held credentials for the host.
    pub removed: bool,
    pub file: String,
}

/// Removes `host`'s credentials from auth.json (as `podman logout` does).
#[napi]
pub fn registry_logout(host: String, authfile: Option<String>) -> Result<RegistryLogoutResult> {
    let (removed, file) = registry::auth::erase(
        &host,
        &registry::auth::AuthOptions {
            authfile: authfile.map(PathBuf::from),
            creds: None,
        },
    )
    .map_err(js_error)?;
    Ok(RegistryLogoutResult {
        removed,
        file: file.to_string_lossy().into_owned(),
    })
}

// ---------------------------------------------------------------------------
// signOciImage

#[napi(object)]
pub struct SignOciImageOptions {
    /// The private key file: cosign.key (encrypted) or a PKCS#8 / SEC1 PEM.
    pub key: String,
    /// The passphrase of an encrypted cosign key.
    pub passphrase: Option<String>,
    pub authfile: Option<String>,
    pub creds: Option<String>,
    pub cert_dir: Option<String>,
    pub tls_verify: Option<bool>,
}

#[napi(object)]
pub struct SignOciImageResult {
    /// `<repository>@<digest>`: the image the signature is for.
    pub reference: String,
    pub digest: String,
    /// `<repository>:sha256-<hex>.sig`.
    pub signature_tag: String,
    pub signature_digest: String,
    /// Signatures the tag holds now.
    pub signatures: u32,
    /// This key had already signed this digest: nothing was sent.
    pub up_to_date: bool,
}

pub struct SignImageTask {
    options: registry::SignOptions,
}

#[napi]
impl Task for SignImageTask {
    type Output = registry::SignReport;
    type JsValue = SignOciImageResult;

    fn compute(&mut self) -> Result<Self::Output> {
        registry::sign_image(&self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, r: Self::Output) -> Result<Self::JsValue> {
        Ok(SignOciImageResult {
            reference: r.reference,
            digest: r.digest,
            signature_tag: r.signature_tag,
            signature_digest: r.signature_digest,
            signatures: r.signatures,
            up_to_date: r.up_to_date,
        })
    }
}

/// Signs an image in its registry with a cosign key and pushes the
/// signature to the `sha256-<hex>.sig` tag beside it.
#[napi(ts_return_type = "Promise<SignOciImageResult>")]
pub fn sign_oci_image(
    reference: String,
    options: SignOciImageOptions,
    cancel: Option<&CancelToken>,
) -> AsyncTask<SignImageTask> {
    AsyncTask::new(SignImageTask {
        options: registry::SignOptions {
            reference,
            key: PathBuf::from(options.key),
            passphrase: options.passphrase,
            auth: registry::auth::AuthOptions {
                authfile: options.authfile.map(PathBuf::from),
                creds: options.creds,
            },
            transport: transport_options(options.cert_dir, options.tls_verify, cancel),
        },
    })
}

// ---------------------------------------------------------------------------
// checkPushAccess

#[napi(object)]
pub struct CheckPushAccessOptions {
    pub authfile: Option<String>,
    pub creds: Option<String>,
    pub cert_dir: Option<String>,
    pub tls_verify: Option<bool>,
}

#[napi(object)]
pub struct PushAccessFailure {
    /// `host[:port]`.
    pub registry: String,
    /// `host[:port]/path`: the repository that was tried.
    pub repository: String,
    /// The `E_…` code a push would have failed with.
    pub code: String,
    pub message: String,
}

pub struct PushAccessTask {
    tags: Vec<String>,
    auth: registry::auth::AuthOptions,
    transport: registry::transport::TransportOptions,
}

#[napi]
impl Task for PushAccessTask {
    type Output = Vec<registry::access::AccessFailure>;
    type JsValue = Vec<PushAccessFailure>;

    fn compute(&mut self) -> Result<Self::Output> {
        registry::access::check_push_access(&self.tags, &self.auth, &self.transport)
            .map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, failures: Self::Output) -> Result<Self::JsValue> {
        Ok(failures
            .into_iter()
            .map(|f| PushAccessFailure {
                registry: f.registry,
                repository: f.repository,
                code: f.error.code().to_string(),
                message: f.error.to_string(),
            })
            .collect())
    }
}

/// Checks, before anything is built, that the repositories of `tags` take
/// a push with these credentials; resolves to the failures (empty: all
/// fine), one per registry for a registry-wide problem.
#[napi(ts_return_type = "Promise<Array<PushAccessFailure>>")]
pub fn check_push_access(
    tags: Vec<String>,
    options: Option<CheckPushAccessOptions>,
    cancel: Option<&CancelToken>,
) -> AsyncTask<PushAccessTask> {
    let o = options.unwrap_or(CheckPushAccessOptions {
        authfile: None,
        creds: None,
        cert_dir: None,
        tls_verify: None,
    });
    AsyncTask::new(PushAccessTask {
        tags,
        auth: registry::auth::AuthOptions {
            authfile: o.authfile.map(PathBuf::from),
            creds: o.creds,
        },
        transport: transport_options(o.cert_dir, o.tls_verify, cancel),
    })
}

// ---------------------------------------------------------------------------
// buildFolderImage and parseImageReference (internal: the catalog index image)

/// One file of a `buildFolderImage` layer: `file` (read from disk) or `data`.
#[napi(object)]
pub struct FolderImageEntry {
    /// Relative, `/`-separated path in the layer.
    pub path: String,
    pub file: Option<String>,
    pub data: Option<Buffer>,
}

#[napi(object)]
pub struct BuildFolderImageOptions {
    /// The image layout folder to write (or update).
    pub output: String,
    /// The image reference, e.g. `quay.io/acme/catalog-index:1.0`.
    pub tag: String,
    /// The layout tag (default: the tag part of `tag`).
    pub ref_name: Option<String>,
    /// Config labels.
    pub labels: Option<std::collections::HashMap<String, String>>,
    /// The config's history entry.
    pub created_by: Option<String>,
    /// Seconds since 1970 for every timestamp (default 0).
    pub source_date_epoch: Option<i64>,
}

#[napi(object)]
pub struct FolderImageResult {
    pub output: String,
    pub ref_name: String,
    /// `host[:port]/path` of the tag.
    pub repository: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub diff_id: String,
    pub layer_size: i64,
    /// The files of the layer, in layer order.
    pub files: Vec<String>,
}

pub struct FolderImageTask {
    entries: Vec<oci::folder_image::Entry>,
    options: oci::folder_image::FolderImageOptions,
}

#[napi]
impl Task for FolderImageTask {
    type Output = oci::folder_image::FolderImageReport;
    type JsValue = FolderImageResult;

    fn compute(&mut self) -> Result<Self::Output> {
        oci::folder_image::build_folder_image(&self.entries, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, r: Self::Output) -> Result<Self::JsValue> {
        Ok(FolderImageResult {
            output: r.output.to_string_lossy().into_owned(),
            ref_name: r.ref_name,
            repository: r.repository,
            manifest_digest: r.manifest_digest,
            config_digest: r.config_digest,
            layer_digest: r.layer_digest,
            diff_id: r.diff_id,
            layer_size: r.layer_size as i64,
            files: r.files,
        })
    }
}

/// Writes a reproducible one-layer image of plain files (the catalog index
/// image) into an OCI image layout, with the plugin images' tar, deflate and
/// layout code ([`oci::folder_image`]).
#[napi(ts_return_type = "Promise<FolderImageResult>")]
pub fn build_folder_image(
    entries: Vec<FolderImageEntry>,
    options: BuildFolderImageOptions,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<FolderImageTask>> {
    use oci::folder_image::{Content, Entry, FolderImageOptions};
    let entries = entries
        .into_iter()
        .map(|e| {
            let content = match (e.file, e.data) {
                (Some(f), None) => Content::File(PathBuf::from(f)),
                (None, Some(d)) => Content::Bytes(d.to_vec()),
                _ => {
                    return Err(js_error(error::Error::InvalidOption {
                        message: format!(
                            "the entry {:?} needs exactly one of file and data",
                            e.path
                        ),
                    }))
                }
            };
            Ok(Entry {
                path: e.path,
                content,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut o = FolderImageOptions::new(options.output, options.tag);
    o.ref_name = options.ref_name;
    o.labels = options.labels.unwrap_or_default().into_iter().collect();
    if let Some(c) = options.created_by {
        o.created_by = c;
    }
    o.source_date_epoch = epoch_option(options.source_date_epoch)?.unwrap_or(0);
    o.cancel = cancel.map(|c| c.flag.clone());
    Ok(AsyncTask::new(FolderImageTask {
        entries,
        options: o,
    }))
}

/// The parts of an image reference, as [`oci::ImageReference::parse`] reads it.
#[napi(object)]
pub struct ImageReferenceParts {
    /// `host[:port]/path`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` of a pinned reference.
    pub digest: Option<String>,
    /// The layout tag it gets by default: the tag, else the digest.
    pub ref_name: String,
}

/// Parses an image reference with the rules every dynpack tag obeys; throws
/// `E_INVALID_TAG: …` saying what to change. The CLI's one reference parser.
#[napi]
pub fn parse_image_reference(reference: String) -> Result<ImageReferenceParts> {
    let r = oci::ImageReference::parse(&reference).map_err(js_error)?;
    Ok(ImageReferenceParts {
        ref_name: r.default_ref_name().to_string(),
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
    })
}

// ---------------------------------------------------------------------------
// mirrorImages

#[napi(object)]
pub struct MirrorImageJob {
    /// `host/repo:tag`, `host/repo@sha256:…` or both.
    pub source: String,
    /// `host[:port]/path` to copy it to.
    pub destination: String,
    /// The tag named beside a pinned digest: reported when it moved.
    pub tag: Option<String>,
}

#[napi(object)]
pub struct MirrorSideOptions {
    pub authfile: Option<String>,
    pub creds: Option<String>,
    pub cert_dir: Option<String>,
    pub tls_verify: Option<bool>,
}

#[napi(object)]
pub struct MirrorImagesOptions {
    pub src: Option<MirrorSideOptions>,
    pub dest: Option<MirrorSideOptions>,
    pub dry_run: Option<bool>,
    /// Read the images from this mirror folder (second hop).
    pub from_dir: Option<String>,
    /// Write them into this mirror folder (first hop).
    pub to_dir: Option<String>,
}

#[napi(object)]
pub struct MirrorImageResult {
    pub source: String,
    pub digest: String,
    /// `<destination>@<digest>`.
    pub reference: String,
    /// Set when the source tag no longer points at the pinned digest.
    pub moved_tag: Option<String>,
    pub manifests: u32,
    pub blobs: u32,
    pub uploaded: u32,
    pub mounted: u32,
    pub existing: u32,
    pub bytes_uploaded: i64,
    pub bytes_total: i64,
    pub signature: bool,
    pub referrers: u32,
    /// `E_…` when this image failed (the others still ran).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

pub struct MirrorTask {
    options: registry::mirror::MirrorOptions,
}

#[napi]
impl Task for MirrorTask {
    type Output = Vec<error::Result<registry::mirror::ImageReport>>;
    type JsValue = Vec<MirrorImageResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        registry::mirror::mirror_images(&self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, results: Self::Output) -> Result<Self::JsValue> {
        Ok(results
            .into_iter()
            .zip(&self.options.images)
            .map(|(r, job)| match r {
                Ok(r) => MirrorImageResult {
                    source: r.source,
                    digest: r.digest,
                    reference: r.reference,
                    moved_tag: r.moved_tag,
                    manifests: r.manifests,
                    blobs: r.blobs,
                    uploaded: r.uploaded,
                    mounted: r.mounted,
                    existing: r.existing,
                    bytes_uploaded: r.bytes_uploaded as i64,
                    bytes_total: r.bytes_total as i64,
                    signature: r.signature,
                    referrers: r.referrers,
                    error_code: None,
                    error_message: None,
                },
                Err(e) => MirrorImageResult {
                    source: job.source.clone(),
                    digest: String::new(),
                    reference: String::new(),
                    moved_tag: None,
                    manifests: 0,
                    blobs: 0,
                    uploaded: 0,
                    mounted: 0,
                    existing: 0,
                    bytes_uploaded: 0,
                    bytes_total: 0,
                    signature: false,
                    referrers: 0,
                    error_code: Some(e.code().to_string()),
                    error_message: Some(e.to_string()),
                },
            })
            .collect())
    }
}

fn mirror_side(
    o: Option<MirrorSideOptions>,
    cancel: Option<&CancelToken>,
    progress: Option<&PushProgress>,
) -> registry::mirror::Side {
    let o = o.unwrap_or(MirrorSideOptions {
        authfile: None,
        creds: None,
        cert_dir: None,
        tls_verify: None,
    });
    let mut transport = transport_options(o.cert_dir, o.tls_verify, cancel);
    transport.progress = progress.map(|p| p.bytes.clone());
    registry::mirror::Side {
        auth: registry::auth::AuthOptions {
            authfile: o.authfile.map(PathBuf::from),
            creds: o.creds,
        },
        transport,
    }
}

/// Copies images by digest, with their cosign signatures and referrers,
/// from their registries to a mirror; one result per job, in order.
#[napi(ts_return_type = "Promise<Array<MirrorImageResult>>")]
pub fn mirror_images(
    jobs: Vec<MirrorImageJob>,
    options: Option<MirrorImagesOptions>,
    cancel: Option<&CancelToken>,
    progress: Option<&PushProgress>,
) -> AsyncTask<MirrorTask> {
    let o = options.unwrap_or(MirrorImagesOptions {
        src: None,
        dest: None,
        dry_run: None,
        from_dir: None,
        to_dir: None,
    });
    AsyncTask::new(MirrorTask {
        options: registry::mirror::MirrorOptions {
            images: jobs
                .into_iter()
                .map(|j| registry::mirror::MirrorImage {
                    source: j.source,
                    destination: j.destination,
                    tag: j.tag,
                })
                .collect(),
            src: mirror_side(o.src, cancel, None),
            dest: mirror_side(o.dest, cancel, progress),
            dry_run: o.dry_run.unwrap_or(false),
            from_dir: o.from_dir.map(PathBuf::from),
            to_dir: o.to_dir.map(PathBuf::from),
        },
    })
}

// ---------------------------------------------------------------------------
// source digest (package --push skips an image whose remote tag already has it)

#[napi(object)]
pub struct SourceDigestOptions {
    pub platform: Option<String>,
    pub annotations: Option<std::collections::HashMap<String, String>>,
    pub labels: Option<std::collections::HashMap<String, String>>,
    pub source_date_epoch: Option<i64>,
    pub compression_level: Option<u32>,
    pub sbom: Option<bool>,
}

#[napi(object)]
pub struct SourcePluginInfo {
    pub directory: String,
    pub name: String,
    pub version: String,
    pub files: i64,
    pub bytes: i64,
}

#[napi(object)]
pub struct SourceDigestResult {
    /// `sha256:…`, the `io.dynpack.source.digest` annotation.
    pub digest: String,
    pub plugins: Vec<SourcePluginInfo>,
}

pub struct SourceDigestTask {
    plugins: Vec<PathBuf>,
    options: source_digest::SourceOptions,
}

fn source_digest_result(d: source_digest::SourceDigest) -> SourceDigestResult {
    SourceDigestResult {
        digest: d.digest,
        plugins: d
            .plugins
            .into_iter()
            .map(|p| SourcePluginInfo {
                directory: p.directory,
                name: p.name,
                version: p.version,
                files: p.files as i64,
                bytes: p.bytes as i64,
            })
            .collect(),
    }
}

#[napi]
impl Task for SourceDigestTask {
    type Output = source_digest::SourceDigest;
    type JsValue = SourceDigestResult;

    fn compute(&mut self) -> Result<Self::Output> {
        source_digest::source_digest(&self.plugins, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, d: Self::Output) -> Result<Self::JsValue> {
        Ok(source_digest_result(d))
    }
}

pub struct SourceDigestsTask {
    groups: Vec<Vec<PathBuf>>,
    options: source_digest::SourceOptions,
    on_image: Option<ThreadsafeFunction<SourceDigestOfImage>>,
}

/// One image's source digest, told as soon as it is known.
#[napi(object)]
pub struct SourceDigestOfImage {
    /// The image's place in `groups`.
    pub index: u32,
    pub result: SourceDigestResult,
}

#[napi]
impl Task for SourceDigestsTask {
    type Output = Vec<source_digest::SourceDigest>;
    type JsValue = Vec<SourceDigestResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        let on_image = self.on_image.as_ref();
        source_digest::source_digests_each(&self.groups, &self.options, |index, d| {
            if let Some(f) = on_image {
                let result = source_digest_result(d.clone());
                let told = SourceDigestOfImage {
                    index: index as u32,
                    result,
                };
                f.call(Ok(told), ThreadsafeFunctionCallMode::NonBlocking);
            }
        })
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, d: Self::Output) -> Result<Self::JsValue> {
        Ok(d.into_iter().map(source_digest_result).collect())
    }
}

fn source_digest_options(
    options: SourceDigestOptions,
    cancel: Option<&CancelToken>,
) -> Result<source_digest::SourceOptions> {
    let mut o = source_digest::SourceOptions {
        compression_level: options.compression_level.unwrap_or(oci::DEFAULT_LEVEL),
        source_date_epoch: epoch_option(options.source_date_epoch)?.unwrap_or(0),
        annotations: options
            .annotations
            .unwrap_or_default()
            .into_iter()
            .collect(),
        labels: options.labels.unwrap_or_default().into_iter().collect(),
        sbom: options.sbom.unwrap_or(false),
        cancel: cancel.map(|c| c.flag.clone()),
        ..Default::default()
    };
    if let Some(p) = options.platform.filter(|p| !p.is_empty()) {
        o.platform = oci::Platform::parse(&p).map_err(js_error)?;
    }
    Ok(o)
}

/// The source digest of an image of `plugins` (dist-dynamic folders, in
/// image order) built with these options (buildOciLayout's defaults).
#[napi(ts_return_type = "Promise<SourceDigestResult>")]
pub fn compute_source_digest(
    plugins: Vec<String>,
    options: SourceDigestOptions,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<SourceDigestTask>> {
    Ok(AsyncTask::new(SourceDigestTask {
        plugins: plugins.into_iter().map(PathBuf::from).collect(),
        options: source_digest_options(options, cancel)?,
    }))
}

/// computeSourceDigest of several images (`groups`: each image's plugins)
/// in one task: every file of every image is hashed in one parallel pass,
/// on one libuv thread, which leaves the others to the registry reads.
/// `onImage(err, { index, result })` is called as each image is done
/// (image by image, in order), before the task resolves with them all.
#[napi(ts_return_type = "Promise<Array<SourceDigestResult>>")]
pub fn compute_source_digests(
    groups: Vec<Vec<String>>,
    options: SourceDigestOptions,
    cancel: Option<&CancelToken>,
    on_image: Option<ThreadsafeFunction<SourceDigestOfImage>>,
) -> Result<AsyncTask<SourceDigestsTask>> {
    Ok(AsyncTask::new(SourceDigestsTask {
        groups: groups
            .into_iter()
            .map(|g| g.into_iter().map(PathBuf::from).collect())
            .collect(),
        options: source_digest_options(options, cancel)?,
        on_image,
    }))
}

#[napi(object)]
pub struct RemoteTagInfo {
    pub tag: String,
    /// null when the tag does not exist.
    pub manifest_digest: Option<String>,
    /// The manifest's `io.dynpack.source.digest`, when it has one.
    pub source_digest: Option<String>,
}

/// What one image's tags point at, or why they could not be read
/// (`CODE: message`, as a rejected call's message).
#[napi(object)]
pub struct RemoteTagGroup {
    pub tags: Vec<RemoteTagInfo>,
    pub error: Option<String>,
}

pub struct RemoteTagsTask {
    groups: Vec<Vec<String>>,
    auth: registry::auth::AuthOptions,
    transport: registry::transport::TransportOptions,
}

/// Images whose tags are read at the same time.
const PARALLEL_TAG_READS: usize = 8;

#[napi]
impl Task for RemoteTagsTask {
    type Output = Vec<error::Result<Vec<source_digest::RemoteTag>>>;
    type JsValue = Vec<RemoteTagGroup>;

    fn compute(&mut self) -> Result<Self::Output> {
        // One task, one transport: each registry is pinged once for all images.
        let outcomes = registry::push::each_in_parallel(&self.groups, PARALLEL_TAG_READS, |tags| {
            Ok(tags
                .iter()
                .map(|t| source_digest::remote_tag(t, &self.auth, &self.transport))
                .collect::<error::Result<Vec<_>>>())
        });
        let groups: Vec<_> = outcomes
            .into_iter()
            .map(|o| o.expect("never stopped").expect("never fails"))
            .collect();
        match groups.iter().find_map(|g| g.as_ref().err()) {
            Some(error::Error::Aborted) => Err(js_error(error::Error::Aborted)),
            _ => Ok(groups),
        }
    }

    fn resolve(&mut self, _env: Env, groups: Self::Output) -> Result<Self::JsValue> {
        Ok(groups
            .into_iter()
            .map(|g| match g {
                Ok(tags) => RemoteTagGroup {
                    tags: tags
                        .into_iter()
                        .map(|t| RemoteTagInfo {
                            tag: t.tag,
                            manifest_digest: t.manifest_digest,
                            source_digest: t.source_digest,
                        })
                        .collect(),
                    error: None,
                },
                Err(e) => RemoteTagGroup {
                    tags: Vec::new(),
                    error: Some(format!("{}: {}", e.code(), e)),
                },
            })
            .collect())
    }
}

/// What each image's tags (`groups`: one list per image) point at in their
/// registries: one manifest GET per tag, each registry pinged once. An
/// image whose tags cannot be read has its `error`; an abort rejects.
#[napi(ts_return_type = "Promise<Array<RemoteTagGroup>>")]
pub fn read_remote_tags(
    groups: Vec<Vec<String>>,
    options: Option<CheckPushAccessOptions>,
    cancel: Option<&CancelToken>,
) -> AsyncTask<RemoteTagsTask> {
    let o = options.unwrap_or(CheckPushAccessOptions {
        authfile: None,
        creds: None,
        cert_dir: None,
        tls_verify: None,
    });
    AsyncTask::new(RemoteTagsTask {
        groups,
        auth: registry::auth::AuthOptions {
            authfile: o.authfile.map(PathBuf::from),
            creds: o.creds,
        },
        transport: transport_options(o.cert_dir, o.tls_verify, cancel),
    })
}

/// Test and measurement hook for the exact parallel gzip (issue 23), not
/// API: deflates `data` with the host zlib exactly as npm does (level 9,
/// raw), decodes the result into its parse and re-encodes it as zlib's
/// trees.c would. `stream` is the re-encoded stream, which must equal
/// `zlib.deflateRawSync(data, { level: 9 })`; it is absent when a stored
/// block hides part of the parse, and then each coded block is re-encoded
/// and compared on its own (`identicalBlocks`, `mismatchedBlock`).
#[doc(hidden)]
#[napi(object)]
pub struct ExactDeflateRoundTrip {
    pub stream: Option<Buffer>,
    pub deflate_ms: f64,
    pub decode_ms: f64,
    pub encode_ms: f64,
    pub symbols: u32,
    pub blocks: u32,
    pub stored_blocks: u32,
    pub identical_blocks: u32,
    pub ambiguous_blocks: u32,
    pub mismatched_block: Option<u32>,
}

#[doc(hidden)]
#[napi]
pub fn exact_deflate_round_trip(data: Buffer) -> Result<ExactDeflateRoundTrip> {
    use gzip::{inflate_symbols, trees};
    let clock = std::time::Instant::now();
    let gz = gzip::npm_gzip(&data).map_err(js_error)?;
    let raw = &gz[10..gz.len() - 8];
    let deflate_ms = clock.elapsed().as_secs_f64() * 1e3;
    let clock = std::time::Instant::now();
    let decoded = inflate_symbols::decode(raw, 0)
        .map_err(|e| napi::Error::new(Status::GenericFailure, e.to_string()))?;
    let decode_ms = clock.elapsed().as_secs_f64() * 1e3;
    let clock = std::time::Instant::now();
    let mut stream = Vec::new();
    let (stream, check) = if decoded.has_stored() {
        (None, trees::verify_coded_blocks(raw, &decoded, &data))
    } else {
        let r = trees::encode_parse(
            &decoded.symbols,
            &data,
            trees::SYMBOLS_PER_BLOCK,
            &mut stream,
        );
        let check = trees::BlockCheck {
            ambiguous: r.is_err() as usize,
            ..Default::default()
        };
        (r.is_ok().then(|| stream.into()), check)
    };
    let encode_ms = clock.elapsed().as_secs_f64() * 1e3;
    Ok(ExactDeflateRoundTrip {
        stream,
        deflate_ms,
        decode_ms,
        encode_ms,
        symbols: decoded.symbols.len() as u32,
        blocks: decoded.blocks.len() as u32,
        stored_blocks: check.stored as u32,
        identical_blocks: check.identical as u32,
        ambiguous_blocks: check.ambiguous as u32,
        mismatched_block: check.first_mismatch.map(|i| i as u32),
    })
}

/// What the exact parallel compressor's stitcher did on one input (tests
/// and measurements of issue 23 only).
#[doc(hidden)]
#[napi(object)]
pub struct ParallelParseCheck {
    /// The stitched parse equals the host zlib's sequential parse.
    pub equal: bool,
    /// `"stored"` or `"no-join"` when the stitcher gave up.
    pub fallback: Option<String>,
    /// Per chunk boundary, how far past it the parses re-joined (bytes).
    pub join_distances: Vec<u32>,
    pub symbols: u32,
    /// Stored blocks in the sequential output.
    pub sequential_stored: u32,
    /// Wall time of the sequential host deflate, and of the speculative
    /// runs with decoding and stitching (ms).
    pub sequential_ms: f64,
    pub parallel_ms: f64,
    /// CPU time of the sequential host deflate, and summed over the
    /// speculative runs' deflates and decodes (ms).
    pub sequential_cpu_ms: f64,
    pub runs_compress_cpu_ms: f64,
    pub runs_decode_cpu_ms: f64,
    /// Input bytes the speculative runs compressed in all.
    pub runs_bytes: f64,
    /// Runs compressed again, longer, for want of a join.
    pub reruns: u32,
}

#[doc(hidden)]
#[napi]
pub fn npm_parallel_parse_check_for_test(
    data: Buffer,
    chunk: u32,
    threads: u32,
    dictionary: Option<bool>,
    tail: Option<u32>,
) -> Result<ParallelParseCheck> {
    use gzip::parallel::{self, Fallback, Prime};
    let t = std::time::Instant::now();
    let c = parallel::thread_cpu_ms();
    let seq = parallel::sequential_parse(&data).map_err(js_error)?;
    let sequential_cpu_ms = parallel::thread_cpu_ms() - c;
    let sequential_ms = t.elapsed().as_secs_f64() * 1e3;
    let prime = if dictionary.unwrap_or(false) {
        Prime::Dictionary
    } else {
        Prime::Prefix
    };
    let t = std::time::Instant::now();
    let r = parallel::stitched_parse_primed(
        &data,
        chunk as usize,
        threads as usize,
        prime,
        tail.map_or(parallel::TAIL, |t| t as usize),
    )
    .map_err(js_error)?;
    let parallel_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut cpu = (0.0, 0.0, 0.0);
    let mut reruns = 0;
    let (equal, fallback, join_distances) = match r {
        Ok((parse, stats)) => {
            reruns = stats.reruns as u32;
            cpu = (
                stats.compress_cpu_ms,
                stats.decode_cpu_ms,
                stats.compressed_bytes as f64,
            );
            (
                seq.stored.is_empty() && parse == seq.symbols,
                None,
                stats.join_distances.iter().map(|&d| d as u32).collect(),
            )
        }
        Err(f) => (
            false,
            Some(match f {
                Fallback::Stored => "stored".to_string(),
                Fallback::NoJoin => "no-join".to_string(),
            }),
            vec![],
        ),
    };
    Ok(ParallelParseCheck {
        equal,
        fallback,
        join_distances,
        symbols: seq.symbols.len() as u32,
        sequential_stored: seq.stored.len() as u32,
        sequential_ms,
        parallel_ms,
        sequential_cpu_ms,
        runs_compress_cpu_ms: cpu.0,
        runs_decode_cpu_ms: cpu.1,
        runs_bytes: cpu.2,
        reruns,
    })
}
