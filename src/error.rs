//! The one error type of dynpack.
//!
//! Every variant carries the path it concerns and maps to a stable `code`
//! (`E_...`) that the JavaScript layer exposes as `error.code`. Messages say
//! what went wrong *and* what to do about it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while packing, hashing or writing images.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: no such folder; pass the dist-dynamic folder of a plugin (or a plugin folder that contains dist-dynamic/)")]
    NotFound { path: PathBuf },

    #[error("{path}: no such file; check the path")]
    NoSuchFile { path: PathBuf },

    #[error("{path}: not a folder; pass the folder that holds package.json")]
    NotADirectory { path: PathBuf },

    #[error("{path}: no package.json; run the dynamic-plugin export first (e.g. `npx @red-hat-developer-hub/cli plugin export`)")]
    NoPackageJson { path: PathBuf },

    #[error("{path}: {reason}; fix package.json and run again")]
    InvalidManifest { path: PathBuf, reason: String },

    #[error("{path}: {source}{hint}", hint = io_hint(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the file name is not valid UTF-8; npm cannot pack it either. Rename the file or exclude it (.npmignore / `files`)")]
    InvalidFileName { path: PathBuf },

    #[error("{path}: the file changed while it was being packed (expected {expected} bytes, read {actual}); run again once nothing writes to the folder")]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    #[error("{path}: it is {kind}, not a regular file; {fix}")]
    NotAFile {
        path: PathBuf,
        kind: &'static str,
        fix: &'static str,
    },

    #[error("{path}: {reason}")]
    InvalidRule { path: PathBuf, reason: String },

    #[error("{path}: the destination is not a writable folder ({reason}); pass an existing, writable folder")]
    Destination { path: PathBuf, reason: String },

    #[error("Node's zlib is not reachable from this process ({reason}); byte-identical output needs the addon to run inside Node. Use compression 'fast' elsewhere")]
    ZlibUnavailable { reason: String },

    #[error("zlib {operation} failed with status {status}")]
    Zlib {
        operation: &'static str,
        status: i32,
    },

    #[error("invalid integrity string {value:?}: {reason}")]
    InvalidSri { value: String, reason: String },

    #[error("unknown hash algorithm {name:?}; use one of sha512, sha384, sha256, sha1")]
    UnknownAlgorithm { name: String },

    #[error("{message}")]
    InvalidOption { message: String },

    /// `E_OCI_LAYOUT`: the image output is unusable (a folder that is neither
    /// empty nor an OCI layout, a corrupt layout, a file that is not an
    /// oci-archive). Nothing is written; the reason says what to change.
    #[error("{path}: {reason}")]
    Oci { path: PathBuf, reason: String },

    /// `E_INVALID_TAG`: an image reference RHDH cannot use (no `:tag` or
    /// `@digest`, no registry host, bad grammar), or a pinned digest that
    /// is not the one the inputs build.
    #[error("invalid image tag {tag:?}: {reason}")]
    InvalidTag { tag: String, reason: String },

    /// `E_PLUGIN_CONFLICT`: plugins that cannot share one image (same
    /// directory, or a directory that is a prefix of another's).
    #[error("{reason}")]
    PluginConflict { reason: String },

    #[error("the operation was aborted")]
    Aborted,

    /// `E_BAD_IMAGE`: an image that cannot be read to the end: JSON that is
    /// not an image index or manifest, a missing blob, a blob whose bytes
    /// do not match its digest or size, a layer that is not a tar.
    #[error("{location}: {reason}")]
    BadImage { location: String, reason: String },

    /// `E_KEY`: a signing or verification key that cannot be used (wrong
    /// passphrase, not a P-256 key, not PEM) or a signature that does not
    /// verify. Never carries key material or the passphrase.
    #[error("{path}: {reason}")]
    Key { path: PathBuf, reason: String },
    /// `E_REGISTRY_AUTH`: the registry wants credentials dynpack does not
    /// have, or refused the ones it sent.
    #[error("{host}: {reason}")]
    RegistryAuth { host: String, reason: String },

    /// `E_REGISTRY_DENIED`: the credentials were accepted but do not allow
    /// the operation (no push permission on the repository).
    #[error("{host}: {reason}")]
    RegistryDenied { host: String, reason: String },

    /// `E_REGISTRY_UNREACHABLE`: no answer (DNS, refused, timeout, reset)
    /// after the bounded retries.
    #[error("{host}: {reason}")]
    RegistryUnreachable { host: String, reason: String },

    /// `E_REGISTRY_TLS`: the TLS handshake failed (unknown CA, wrong name,
    /// a plain-HTTP registry).
    #[error("{host}: {reason}")]
    RegistryTls { host: String, reason: String },

    /// `E_REGISTRY_PROTOCOL`: an answer the distribution API does not allow
    /// (or an error code dynpack cannot act on).
    #[error("{host}: {reason}")]
    RegistryProtocol { host: String, reason: String },

    /// `E_IMAGE_NOT_FOUND`: no such image (tag, digest or refName) in the
    /// registry or the local layout.
    #[error("{what}: {reason}")]
    ImageNotFound { what: String, reason: String },

    /// `E_TAR_HEADER_TOO_LARGE`: a tar member's metadata (GNU long name or
    /// link, PAX records) is larger than [`crate::tar_reader::MAX_METADATA`]:
    /// only a hostile archive's is, and reading it would take memory in
    /// proportion (Go's archive/tar refuses it too).
    #[error("{location}: a tar member's metadata (GNU long name or link, PAX header) is larger than 1 MiB, which only a hostile or broken archive has; dynpack refuses it (as Go's archive/tar does) rather than read it into memory. Rebuild the image with a standard tar writer")]
    TarHeaderTooLarge { location: String },

    /// `E_ENTRY_MISSING`: a plugin package whose packed files lack an entry
    /// point RHDH loads (`main`, a frontend's scalprum plugin manifest):
    /// RHDH would install it and then fail to load it.
    #[error("{path}: the entry point {entry} (its `{field}`) is not in the files to pack: {why}. Fix `{field}`, the `files` list or the ignore rule, or export the plugin again")]
    EntryMissing {
        path: PathBuf,
        entry: String,
        field: String,
        why: String,
    },
}

impl Error {
    /// The stable code JavaScript sees as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "E_NOT_FOUND",
            Error::NoSuchFile { .. } => "E_NOT_FOUND",
            Error::NotADirectory { .. } => "E_NOT_A_DIRECTORY",
            Error::NoPackageJson { .. } => "E_NO_PACKAGE_JSON",
            Error::InvalidManifest { .. } => "E_INVALID_MANIFEST",
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => "E_PERMISSION",
                std::io::ErrorKind::NotFound => "E_VANISHED",
                _ if source.raw_os_error() == Some(libc::ENOSPC) => "E_NO_SPACE",
                _ => "E_IO",
            },
            Error::InvalidFileName { .. } => "E_INVALID_FILE_NAME",
            Error::FileChanged { .. } => "E_FILE_CHANGED",
            Error::NotAFile { .. } => "E_NOT_A_FILE",
            Error::InvalidRule { .. } => "E_INVALID_RULE",
            Error::Destination { .. } => "E_DESTINATION",
            Error::ZlibUnavailable { .. } => "E_ZLIB_UNAVAILABLE",
            Error::Zlib { .. } => "E_ZLIB",
            Error::InvalidSri { .. } => "E_INVALID_SRI",
            Error::UnknownAlgorithm { .. } => "E_UNKNOWN_ALGORITHM",
            Error::InvalidOption { .. } => "E_INVALID_OPTION",
            Error::Oci { .. } => "E_OCI_LAYOUT",
            Error::InvalidTag { .. } => "E_INVALID_TAG",
            Error::PluginConflict { .. } => "E_PLUGIN_CONFLICT",
            Error::Aborted => "E_ABORTED",
            Error::BadImage { .. } => "E_BAD_IMAGE",
            Error::Key { .. } => "E_KEY",
            Error::RegistryAuth { .. } => "E_REGISTRY_AUTH",
            Error::RegistryDenied { .. } => "E_REGISTRY_DENIED",
            Error::RegistryUnreachable { .. } => "E_REGISTRY_UNREACHABLE",
            Error::RegistryTls { .. } => "E_REGISTRY_TLS",
            Error::RegistryProtocol { .. } => "E_REGISTRY_PROTOCOL",
            Error::ImageNotFound { .. } => "E_IMAGE_NOT_FOUND",
            Error::TarHeaderTooLarge { .. } => "E_TAR_HEADER_TOO_LARGE",
            Error::EntryMissing { .. } => "E_ENTRY_MISSING",
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// What to do about an I/O error, for the kinds a user can fix.
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "; the user running dynpack needs read access to the package and write access to the destination"
        }
        std::io::ErrorKind::NotFound => {
            "; it disappeared while dynpack was working: run again once nothing changes the folder"
        }
        _ if e.raw_os_error() == Some(libc::ENOSPC) => {
            "; free space on that disk or choose another destination (nothing was left behind)"
        }
        _ => "",
    }
}

/// The result type of dynpack's library functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `.map_err(Error::io)`-style helper that attaches a path to `io::Result`s.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
