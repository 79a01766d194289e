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
pub mod integrity;
pub mod manifest;
pub mod oci;
pub mod output;
pub mod pack;
pub mod packlist;
pub mod plugin;
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
