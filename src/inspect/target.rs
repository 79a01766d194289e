//! What the user asked to inspect: `dynpack inspect REF` accepts the forms
//! skopeo and RHDH users already write.
//!
//! | REF | means |
//! |---|---|
//! | `DIR` (a folder) | an OCI image layout |
//! | `FILE` (a file) | an oci-archive |
//! | `oci:DIR[:REF]` | a layout, image `REF` in it (skopeo's transport syntax) |
//! | `oci-archive:FILE[:REF]` | an oci-archive, image `REF` in it |
//! | `oci://host/repo:tag[!dir]`, `docker://…`, `host/repo:tag`, `host/repo@sha256:…` | a registry image |

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A parsed inspect reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An OCI image layout folder; `reference` is a tag or digest in it.
    Layout {
        path: PathBuf,
        reference: Option<String>,
    },
    /// An oci-archive file; `reference` is a tag or digest in it.
    Archive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// A registry image: `reference` is `host/repo:tag` or
    /// `host/repo@sha256:…` (no scheme); `plugin` the `!dir` of an RHDH
    /// `oci://` reference.
    Remote {
        reference: String,
        plugin: Option<String>,
    },
}

/// `PATH[:REF]` of skopeo's `oci:` and `oci-archive:` transports (a path
/// cannot hold a `:` there either).
fn path_and_ref(rest: &str, base: &Path) -> (PathBuf, Option<String>) {
    match rest.split_once(':') {
        Some((p, r)) if !r.is_empty() => (base.join(p), Some(r.to_string())),
        Some((p, _)) => (base.join(p), None),
        None => (base.join(rest), None),
    }
}

/// Whether `s` looks like `host/…`: the first component names a registry
/// (has a `.` or a `:`, or is `localhost`), as docker's reference rules
/// tell a registry from a Docker Hub path.
fn looks_remote(s: &str) -> bool {
    match s.split_once('/') {
        Some((host, rest)) => {
            !rest.is_empty() && (host.contains('.') || host.contains(':') || host == "localhost")
        }
        None => false,
    }
}

impl Target {
    /// Parses `raw`; relative paths are taken from `base`.
    pub fn parse(raw: &str, base: &Path) -> Result<Target> {
        if raw.is_empty() {
            return Err(Error::InvalidOption {
                message: "pass what to inspect: a layout folder, an oci-archive file or an image reference".into(),
            });
        }
        for scheme in ["oci://", "docker://"] {
            if let Some(rest) = raw.strip_prefix(scheme) {
                let (reference, plugin) = match rest.split_once('!') {
                    Some((r, p)) => (r.to_string(), Some(p.to_string())),
                    None => (rest.to_string(), None),
                };
                return Ok(Target::Remote { reference, plugin });
            }
        }
        if let Some(rest) = raw.strip_prefix("oci-archive:") {
            let (path, reference) = path_and_ref(rest, base);
            return Ok(Target::Archive { path, reference });
        }
        if let Some(rest) = raw.strip_prefix("oci:") {
            let (path, reference) = path_and_ref(rest, base);
            return Ok(Target::Layout { path, reference });
        }
        let path = base.join(raw);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => Ok(Target::Layout {
                path,
                reference: None,
            }),
            Ok(_) => Ok(Target::Archive {
                path,
                reference: None,
            }),
            Err(_) if looks_remote(raw) => {
                let (reference, plugin) = match raw.split_once('!') {
                    Some((r, p)) => (r.to_string(), Some(p.to_string())),
                    None => (raw.to_string(), None),
                };
                Ok(Target::Remote { reference, plugin })
            }
            Err(_) => Err(Error::NoSuchFile { path }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path();
        std::fs::create_dir(base.join("layout")).unwrap();
        std::fs::write(base.join("img.tar"), "").unwrap();
        assert_eq!(
            Target::parse("layout", base).unwrap(),
            Target::Layout {
                path: base.join("layout"),
                reference: None
            }
        );
        assert_eq!(
            Target::parse("img.tar", base).unwrap(),
            Target::Archive {
                path: base.join("img.tar"),
                reference: None
            }
        );
        assert_eq!(
            Target::parse("oci:layout:v1", base).unwrap(),
            Target::Layout {
                path: base.join("layout"),
                reference: Some("v1".into())
            }
        );
        assert_eq!(
            Target::parse("oci-archive:/x/img.tar", base).unwrap(),
            Target::Archive {
                path: PathBuf::from("/x/img.tar"),
                reference: None
            }
        );
        assert_eq!(
            Target::parse("oci://quay.io/a/b:1!dir", base).unwrap(),
            Target::Remote {
                reference: "quay.io/a/b:1".into(),
                plugin: Some("dir".into())
            }
        );
        assert_eq!(
            Target::parse("127.0.0.1:5000/a/b:1", base).unwrap(),
            Target::Remote {
                reference: "127.0.0.1:5000/a/b:1".into(),
                plugin: None
            }
        );
        assert_eq!(
            Target::parse("missing-folder", base).unwrap_err().code(),
            "E_NOT_FOUND"
        );
        assert_eq!(
            Target::parse("", base).unwrap_err().code(),
            "E_INVALID_OPTION"
        );
    }
}
