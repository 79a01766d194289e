//! Reading `package.json` the way npm normalizes it for packing.
//!
//! npm works on a normalized manifest (`@npmcli/package-json`): `bin` is
//! turned into a clean `{name: path}` map, `bundleDependencies: true` becomes
//! the names of `dependencies`, names listed as optional are removed from
//! `dependencies`. File selection and the tar's mode bits depend on exactly
//! those normalized values, so they are reproduced here.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::input::{read_regular, Unreadable};
use crate::posix;
/// Kept here for the fuzz harness, which checks it against Node's rules.
pub use crate::posix::clean_join;

/// package.json files larger than this are refused: no real manifest comes
/// close, and parsing gigabytes of JSON would only hide a mistake.
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// The fields of a package.json that packing needs, normalized as npm does.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where it was read from.
    pub path: PathBuf,
    /// The whole document, as written (key order kept by serde_json's map).
    pub raw: Map<String, Value>,
    pub name: Option<String>,
    pub version: Option<String>,
    /// `files`, string entries only.
    pub files: Option<Vec<String>>,
    pub main: Option<String>,
    pub browser: Option<String>,
    /// Normalized `bin`: command name to clean relative path.
    pub bin: Vec<(String, String)>,
    /// Normalized `bundleDependencies`.
    pub bundle_dependencies: Vec<String>,
    /// `dependencies` minus the names also in `optionalDependencies`.
    pub dependencies: Vec<String>,
    pub optional_dependencies: Vec<String>,
    pub peer_dependencies: Vec<String>,
    pub dev_dependencies: Vec<String>,
}

/// How an edge to a dependency is typed, by the precedence Arborist applies
/// (later kinds override earlier ones: peer < prod < optional < dev).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Peer,
    Prod,
    Optional,
    Dev,
}

impl Manifest {
    /// Reads and normalizes `<dir>/package.json`.
    pub fn read_dir(dir: &Path) -> Result<Manifest> {
        let path = dir.join("package.json");
        let bytes = match read_regular(&path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoPackageJson {
                    path: dir.to_path_buf(),
                })
            }
            Err(Unreadable::Io(e)) => return Err(Error::io(&path, e)),
            Err(Unreadable::NotRegular(kind)) => {
                return Err(Error::InvalidManifest {
                    path,
                    reason: format!("package.json is {kind}, not a regular file"),
                })
            }
            Err(Unreadable::TooLarge(len)) => {
                return Err(Error::InvalidManifest {
                    path,
                    reason: format!(
                        "package.json is {len} bytes, more than the {MAX_MANIFEST_BYTES} bytes dynpack accepts"
                    ),
                })
            }
        };
        Manifest::parse(&path, &bytes)
    }

    /// Parses and normalizes package.json text.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let value: Value = serde_json::from_str(text).map_err(|e| Error::InvalidManifest {
            path: path.to_path_buf(),
            reason: format!("invalid JSON ({e})"),
        })?;
        let Value::Object(raw) = value else {
            return Err(Error::InvalidManifest {
                path: path.to_path_buf(),
                reason: "package.json must hold a JSON object".into(),
            });
        };
        let string = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
        let keys = |k: &str| -> Vec<String> {
            match raw.get(k) {
                Some(Value::Object(m)) => m.keys().cloned().collect(),
                _ => Vec::new(),
            }
        };
        let name = string("name");
        let optional_dependencies = keys("optionalDependencies");
        let all_dependencies = keys("dependencies");

        let bundle_value = raw
            .get("bundleDependencies")
            .or_else(|| raw.get("bundledDependencies"));
        let bundle_dependencies = match bundle_value {
            Some(Value::Bool(true)) => all_dependencies.clone(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let dependencies = all_dependencies
            .into_iter()
            .filter(|d| !optional_dependencies.contains(d))
            .collect();

        let files = match raw.get("files") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        };

        Ok(Manifest {
            path: path.to_path_buf(),
            bin: normalize_bin(name.as_deref(), raw.get("bin")),
            version: string("version"),
            files,
            main: string("main"),
            browser: string("browser"),
            bundle_dependencies,
            dependencies,
            optional_dependencies,
            peer_dependencies: keys("peerDependencies"),
            dev_dependencies: keys("devDependencies"),
            name,
            raw,
        })
    }

    /// The name, or the error npm gives for a package without one.
    pub fn require_name(&self) -> Result<&str> {
        match self.raw.get("name") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) | None => {
                Err(self.invalid("`name` is missing; every package needs a name"))
            }
            Some(_) => Err(self.invalid("`name` must be a string")),
        }
    }

    /// The version, or the error npm gives for a package without one.
    pub fn require_version(&self) -> Result<&str> {
        match self.raw.get("version") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) | None => {
                Err(self.invalid("`version` is missing; every package needs a version"))
            }
            Some(_) => Err(self.invalid("`version` must be a string")),
        }
    }

    fn invalid(&self, reason: &str) -> Error {
        Error::InvalidManifest {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// The kind of the dependency edge named `name`, if any.
    /// `top` is true for the project root (only tops load devDependencies).
    pub fn edge_kind(&self, name: &str, top: bool) -> Option<EdgeKind> {
        let has = |v: &Vec<String>| v.iter().any(|n| n == name);
        if top && has(&self.dev_dependencies) {
            Some(EdgeKind::Dev)
        } else if has(&self.optional_dependencies) {
            Some(EdgeKind::Optional)
        } else if has(&self.dependencies) {
            Some(EdgeKind::Prod)
        } else if has(&self.peer_dependencies) {
            Some(EdgeKind::Peer)
        } else {
            None
        }
    }

    /// True when `rel` (a path relative to the package) is one of the
    /// package's bins, with pacote's quirk of dropping the first segment.
    pub fn is_bin(&self, rel: &str) -> bool {
        if self.bin.is_empty() {
            return false;
        }
        // `path.replace(/^[^\\/]*\//, '')`: only a leading segment ended by `/`.
        let p = match rel.find(['/', '\\']) {
            Some(i) if rel.as_bytes()[i] == b'/' => &rel[i + 1..],
            _ => rel,
        };
        self.bin.iter().any(|(_, target)| target == p)
    }
}

/// npm-normalize-package-bin: a string becomes `{name: path}`, every path is
/// made relative and clean (`join('/', p).slice(1)`).
fn normalize_bin(name: Option<&str>, bin: Option<&Value>) -> Vec<(String, String)> {
    let entries: Vec<(String, String)> = match bin {
        Some(Value::String(s)) => match name {
            Some(n) => vec![(n.to_string(), s.clone())],
            None => return Vec::new(),
        },
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| (posix::basename(s).to_string(), s.to_string()))
            .collect(),
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => return Vec::new(),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, target) in entries {
        let base = clean_join(posix::basename(&key.replace(['\\', ':'], "/")));
        let target = clean_join(&target.replace('\\', "/"));
        if base.is_empty() || target.is_empty() {
            continue;
        }
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == base) {
            slot.1 = target;
        } else {
            out.push((base, target));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Manifest {
        Manifest::parse(Path::new("package.json"), s.as_bytes()).unwrap()
    }

    #[test]
    fn bin_normalization() {
        let m = parse(r#"{"name":"@s/x","bin":"./cli.js"}"#);
        assert_eq!(m.bin, vec![("x".into(), "cli.js".into())]);
        let m = parse(r#"{"name":"x","bin":{"a":"../../bin/a.js","b":5}}"#);
        assert_eq!(m.bin, vec![("a".into(), "bin/a.js".into())]);
        assert!(!m.is_bin("x/a.js"));
        assert!(m.is_bin("bin/bin/a.js"));
    }

    #[test]
    fn bundles() {
        let m = parse(
            r#"{"dependencies":{"a":"1","b":"1"},"optionalDependencies":{"b":"1"},"bundleDependencies":true}"#,
        );
        assert_eq!(m.bundle_dependencies, vec!["a", "b"]);
        assert_eq!(m.dependencies, vec!["a"]);
        assert_eq!(m.edge_kind("b", true), Some(EdgeKind::Optional));
    }

    #[test]
    fn errors() {
        let e = Manifest::parse(Path::new("p.json"), b"{").unwrap_err();
        assert_eq!(e.code(), "E_INVALID_MANIFEST");
        let m = parse(r#"{"name":5,"version":"1.0.0"}"#);
        assert_eq!(m.require_name().unwrap_err().code(), "E_INVALID_MANIFEST");
    }
}
