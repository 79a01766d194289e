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
pub mod input;
pub mod integrity;
pub mod manifest;
pub mod oci;
pub mod output;
pub mod pack;
pub mod packlist;
pub mod pipeline;
pub mod plugin;
pub mod posix;
pub mod registry;
pub mod tarball;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
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
) -> Result<AsyncTask<PackTask>> {
    let options = options.unwrap_or(PackDynamicOptions {
        destination: None,
        dry_run: None,
        compression: None,
    });
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

    fn integrity(&self, algorithms: &[integrity::Algorithm]) -> error::Result<String> {
        match self {
            Input::File(p) => integrity::integrity_of_file(p, algorithms),
            Input::Bytes(b) => Ok(integrity::integrity_of_bytes(b, algorithms)),
        }
    }
}

pub struct IntegrityTask {
    input: Input,
    algorithms: Vec<integrity::Algorithm>,
}

#[napi]
impl Task for IntegrityTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<Self::Output> {
        self.input.integrity(&self.algorithms).map_err(js_error)
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
) -> Result<AsyncTask<IntegrityTask>> {
    let names = options
        .and_then(|o| o.algorithms)
        .unwrap_or_else(|| vec!["sha512".to_string()]);
    if names.is_empty() {
        return Err(js_error(error::Error::InvalidOption {
            message: "algorithms must name at least one algorithm".into(),
        }));
    }
    let mut algorithms = Vec::new();
    for n in &names {
        let a = integrity::Algorithm::parse(n).map_err(js_error)?;
        if !algorithms.contains(&a) {
            algorithms.push(a);
        }
    }
    Ok(AsyncTask::new(IntegrityTask {
        input: Input::from_js(input),
        algorithms,
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
            .integrity(&[expected.algorithm])
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
}

impl From<oci::OciReport> for OciLayoutResult {
    fn from(r: oci::OciReport) -> Self {
        OciLayoutResult {
            output: r.output.to_string_lossy().into_owned(),
            ref_name: r.ref_name,
            manifest_digest: r.manifest_digest,
            config_digest: r.config_digest,
            layer_digest: r.layer_digest,
            diff_id: r.diff_id,
            layer_size: r.layer_size as i64,
            warnings: r.warnings,
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
}

#[napi]
impl Task for OciTask {
    type Output = oci::OciReport;
    type JsValue = OciLayoutResult;

    fn compute(&mut self) -> Result<Self::Output> {
        oci::build_oci_layout(&self.plugins, &self.options).map_err(js_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Writes a reproducible OCI image of dynamic plugins, no container engine needed.
#[napi(ts_return_type = "Promise<OciLayoutResult>")]
pub fn build_oci_layout(
    plugins: Either<String, Vec<String>>,
    options: BuildOciLayoutOptions,
    cancel: Option<&CancelToken>,
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
    if let Some(epoch) = options.source_date_epoch {
        o.source_date_epoch = u64::try_from(epoch).map_err(|_| {
            js_error(error::Error::InvalidOption {
                message: format!("sourceDateEpoch must be seconds since 1970, not {epoch}"),
            })
        })?;
    }
    o.allow_prefix_directories = options.allow_prefix_directories.unwrap_or(false);
    if let Some(level) = options.compression_level {
        o.compression_level = level;
    }
    o.cancel = cancel.map(|c| c.flag.clone());
    Ok(AsyncTask::new(OciTask {
        plugins,
        options: o,
    }))
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
    });
    let mut transport = transport_options(o.cert_dir, o.tls_verify, cancel);
    transport.progress = progress.map(|p| p.bytes.clone());
    AsyncTask::new(PushTask {
        options: registry::PushOptions {
            source: PathBuf::from(source),
            ref_name: o.ref_name,
            tag: o.tag,
            mount_from: o.mount_from.unwrap_or_default(),
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
        let credential = registry::auth::Credential {
            username: self.username.clone(),
            password: self.password.clone(),
            source: "the login".into(),
        };
        registry::remote::check_login(&self.host, credential, &self.transport).map_err(js_error)?;
        registry::auth::store(&self.host, &self.username, &self.password, &self.auth)
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
