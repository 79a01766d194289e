//! A CycloneDX 1.6 JSON SBOM of what a plugin really ships.
//!
//! The input is the [`PackList`] dynpack packs (the tarball's or the image
//! directory's files), not a lock file: the plugin is `metadata.component`,
//! and every packed `node_modules/…/<name>/package.json` that is a package
//! root (`node_modules/[@scope/]name`, nested any number of times) is one
//! `library` component, copies of the same name and version included.
//! Dependency edges come from the `dependencies`, `optionalDependencies` and
//! `peerDependencies` of those package.json files, resolved as Node resolves
//! `require` inside the packed tree (the nearest `node_modules` upward, never
//! above the plugin); a name that resolves to nothing packed (a peer the host
//! provides) has no edge.
//!
//! **Hash** of a package (its `SHA-512`): the SHA-512 of the text
//! `sha512sum` prints for the package's packed files, i.e. one line
//! `<sha512 hex of the file>  <path relative to the package folder>\n` per
//! file, sorted by path bytes (`LC_ALL=C sort`), leaving out the package's
//! own `node_modules/` folder (nested packages are components of their own).
//! The same rule hashes the plugin's own files (everything but
//! `node_modules/`).
//!
//! **Determinism:** keys in a fixed order, components sorted by their path
//! in the package, no wall-clock time (`metadata.timestamp` only when the
//! caller passes an epoch, e.g. from `SOURCE_DATE_EPOCH`), and a
//! `serialNumber` that is the RFC 4122 name-based (v5, SHA-1) UUID of the
//! document's own bytes without it. Same files in, same bytes out.
//!
//! Written with serde_json rather than the `cyclonedx-bom` crate: its
//! newest release (0.8) models spec 1.3–1.5 only, not 1.6. The tests check
//! the output against the official 1.6 JSON schema instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde_json::{json, Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha512};

use crate::error::{Error, Result};
use crate::hex::hex;
use crate::input::{read_regular, Unreadable};
use crate::manifest::{Manifest, MAX_MANIFEST_BYTES};
use crate::packlist::{PackFile, PackList};
use crate::pipeline::{check_cancel, Cancel};

/// The media type of a CycloneDX JSON document (IANA registered).
pub const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";
pub const SPEC_VERSION: &str = "1.6";
pub const SCHEMA_URL: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
/// File name suffix dynpack writes SBOMs under (`<tgz>.cdx.json`).
pub const FILE_SUFFIX: &str = ".cdx.json";
/// CycloneDX property (official `cdx:npm` taxonomy): where the package is.
pub const PROPERTY_PATH: &str = "cdx:npm:package:path";
/// CycloneDX property: the package ships inside the plugin.
pub const PROPERTY_BUNDLED: &str = "cdx:npm:package:bundled";

/// RFC 4122's URL namespace; serial numbers are the v5 UUIDs of
/// [`SERIAL_PREFIX`] + the document bytes in it.
const SERIAL_NAMESPACE: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// Options of [`sbom_of`].
#[derive(Debug, Clone, Default)]
pub struct SbomOptions {
    /// `metadata.timestamp`, in seconds since 1970; `None` leaves it out.
    pub timestamp: Option<u64>,
    pub cancel: Cancel,
}

/// The SBOM of the package folder `dir` (what `npm pack` would pack).
pub fn sbom_of_dir(dir: &Path, opts: &SbomOptions) -> Result<Vec<u8>> {
    check_cancel(&opts.cancel)?;
    let list = PackList::collect(dir)?;
    sbom_of(&list, opts)
}

/// The SBOM of a plugin folder: the dist-dynamic folder in it, or the
/// folder itself ([`crate::plugin::locate`]).
pub fn sbom_of_plugin(dir: &Path, opts: &SbomOptions) -> Result<Vec<u8>> {
    sbom_of_dir(&crate::plugin::locate(dir)?, opts)
}

/// The package folder of a packed path when it is a package root's
/// package.json: `node_modules/a/node_modules/@s/b/package.json` gives
/// `node_modules/a/node_modules/@s/b`; `node_modules/a/lib/package.json`
/// (a nested `{"type":"module"}` file) gives `None`.
pub fn package_dir_of(path: &str) -> Option<&str> {
    let dir = path.strip_suffix("/package.json")?;
    let segments: Vec<&str> = dir.split('/').collect();
    let mut i = 0;
    while i < segments.len() {
        if segments[i] != "node_modules" {
            return None;
        }
        i += 1;
        let scoped = segments.get(i)?.starts_with('@');
        if scoped {
            if segments[i].len() < 2 {
                return None;
            }
            i += 1;
        }
        let name = segments.get(i)?;
        if name.is_empty() || name.starts_with('.') {
            return None;
        }
        i += 1;
    }
    (!segments.is_empty()).then_some(dir)
}

/// Percent-encodes a purl component: everything but `A-Za-z0-9-._~`.
fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The package URL of an npm package: `pkg:npm/%40scope/name@1.0.0`
/// (scope and name lowercased, as the purl spec requires for npm).
pub fn purl(name: &str, version: Option<&str>) -> String {
    let (scope, bare) = split_scope(name);
    let mut out = String::from("pkg:npm/");
    if let Some(scope) = scope {
        out.push_str(&purl_encode(&scope.to_lowercase()));
        out.push('/');
    }
    out.push_str(&purl_encode(&bare.to_lowercase()));
    if let Some(v) = version {
        out.push('@');
        out.push_str(&purl_encode(v));
    }
    out
}

/// `@scope/name` → (`Some("@scope")`, `name`).
fn split_scope(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((scope, bare)) if scope.starts_with('@') => (Some(scope), bare),
        _ => (None, name),
    }
}

/// One license string as CycloneDX wants it: an SPDX id, else a valid SPDX
/// expression, else a free-text name (`SEE LICENSE IN …`, `Apache 2.0`).
fn license_choice(text: &str) -> Value {
    let text = text.trim();
    if spdx::license_id(text).is_some_and(|id| id.name == text) {
        return json!({ "license": { "id": text } });
    }
    if spdx::Expression::parse(text).is_ok() {
        return json!({ "expression": text });
    }
    json!({ "license": { "name": text } })
}

/// The `licenses` of a package.json as declared: `license` (a string, or
/// the old `{type}` object) or the old `licenses: [{type}]` array.
fn licenses(raw: &Map<String, Value>) -> Option<Value> {
    let text_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Object(o) => o
                .get("type")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string),
            _ => None,
        }
    };
    let declared: Vec<String> = match raw.get("license") {
        Some(v) => text_of(v).into_iter().collect(),
        None => match raw.get("licenses") {
            Some(Value::Array(a)) => a.iter().filter_map(text_of).collect(),
            Some(v) => text_of(v).into_iter().collect(),
            None => Vec::new(),
        },
    };
    let choices: Vec<Value> = declared.iter().map(|t| license_choice(t)).collect();
    match choices.len() {
        0 => None,
        // The schema allows one expression alone, or a list of licenses.
        1 => Some(Value::Array(choices)),
        _ if choices.iter().any(|c| c.get("expression").is_some()) => Some(json!([{
            "expression": declared.iter().map(|t| format!("({})", t.trim())).collect::<Vec<_>>().join(" AND ")
        }])),
        _ => Some(Value::Array(choices)),
    }
}

const SERIAL_PREFIX: &[u8] = b"dynpack:sbom:";

/// The RFC 4122 version 5 UUID of [`SERIAL_PREFIX`] + `name`.
fn uuid_v5(name: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(SERIAL_NAMESPACE);
    h.update(SERIAL_PREFIX);
    h.update(name);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// The SHA-512 hex of one file.
fn hash_file(file: &PackFile) -> Result<String> {
    // Non-blocking open: a file swapped for a FIFO since it was listed
    // must not hang the hash.
    let (mut f, _) = crate::input::open_regular(&file.abs).map_err(|e| match e {
        Unreadable::Io(e) => Error::io(&file.abs, e),
        Unreadable::NotRegular(kind) => Error::NotAFile {
            path: file.abs.clone(),
            kind,
            fix: "it was a regular file when the package was listed; run again once nothing changes the folder",
        },
        Unreadable::TooLarge(_) => unreachable!("open_regular has no size limit"),
    })?;
    let mut h = Sha512::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(&file.abs, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Which package (folder) a packed path belongs to: the deepest package
/// folder above it, unless the path is inside that package's own
/// `node_modules/` (then it belongs to no package's hash).
fn owner_of<'a>(path: &'a str, dirs: &HashSet<&str>) -> Option<&'a str> {
    let mut end = path.len();
    while let Some(slash) = path[..end].rfind('/') {
        let dir = &path[..slash];
        if dirs.contains(dir) {
            return (!path[slash + 1..].starts_with("node_modules/")).then_some(dir);
        }
        end = slash;
    }
    (!path.starts_with("node_modules/")).then_some("")
}

/// Where Node finds `name` required from the package folder `from`: the
/// nearest `<ancestor>/node_modules/<name>` that is a packed package.
fn resolve<'a>(from: &str, name: &str, dirs: &'a BTreeSet<String>) -> Option<&'a str> {
    let segments: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.split('/').collect()
    };
    for i in (0..=segments.len()).rev() {
        if i > 0 && segments[i - 1] == "node_modules" {
            continue;
        }
        let prefix = segments[..i].join("/");
        let candidate = if prefix.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{prefix}/node_modules/{name}")
        };
        if let Some(found) = dirs.get(&candidate) {
            return Some(found.as_str());
        }
    }
    None
}

/// A package of the packed tree: the plugin (`dir` "") or a bundled one.
struct Package {
    dir: String,
    manifest: Manifest,
    name: String,
    version: Option<String>,
    purl: String,
}

fn read_bundled_manifest(file: &PackFile) -> Result<Manifest> {
    let bytes = match read_regular(&file.abs, MAX_MANIFEST_BYTES) {
        Ok(b) => b,
        Err(Unreadable::Io(e)) => return Err(Error::io(&file.abs, e)),
        Err(Unreadable::NotRegular(kind)) => {
            return Err(Error::InvalidManifest {
                path: file.abs.clone(),
                reason: format!("package.json is {kind}, not a regular file"),
            })
        }
        Err(Unreadable::TooLarge(len)) => {
            return Err(Error::InvalidManifest {
                path: file.abs.clone(),
                reason: format!(
                    "package.json is {len} bytes, more than the {MAX_MANIFEST_BYTES} bytes dynpack accepts"
                ),
            })
        }
    };
    Manifest::parse(&file.abs, &bytes)
}

/// The folder name a package is installed under (`node_modules/@s/x` → `@s/x`).
fn installed_name(dir: &str) -> &str {
    let last = dir
        .rfind("node_modules/")
        .map_or(0, |i| i + "node_modules/".len());
    &dir[last..]
}

fn component(p: &Package, bom_ref: &str, kind: &str, hash: Option<&String>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("bom-ref".into(), json!(bom_ref));
    let (scope, bare) = split_scope(&p.name);
    if let Some(scope) = scope {
        m.insert("group".into(), json!(scope));
    }
    m.insert("name".into(), json!(bare));
    if let Some(v) = &p.version {
        m.insert("version".into(), json!(v));
    }
    if let Some(d) = p.manifest.raw.get("description").and_then(Value::as_str) {
        if !d.is_empty() {
            m.insert("description".into(), json!(d));
        }
    }
    if let Some(l) = licenses(&p.manifest.raw) {
        m.insert("licenses".into(), l);
    }
    m.insert("purl".into(), json!(p.purl));
    if let Some(h) = hash {
        m.insert("hashes".into(), json!([{ "alg": "SHA-512", "content": h }]));
    }
    if !p.dir.is_empty() {
        m.insert(
            "properties".into(),
            json!([
                { "name": PROPERTY_BUNDLED, "value": "true" },
                { "name": PROPERTY_PATH, "value": p.dir },
            ]),
        );
    }
    Value::Object(m)
}

/// The SBOM of a collected package, as pretty JSON bytes ending in `\n`
/// (what `JSON.stringify(sbom, null, 2) + '\n'` gives for the parsed object).
pub fn sbom_of(list: &PackList, opts: &SbomOptions) -> Result<Vec<u8>> {
    check_cancel(&opts.cancel)?;
    let root_name = list.manifest.require_name()?.to_string();
    let root_version = list.manifest.require_version()?.to_string();

    // The packages: the plugin and every packed package root.
    let mut packages = vec![Package {
        dir: String::new(),
        manifest: list.manifest.clone(),
        purl: purl(&root_name, Some(&root_version)),
        name: root_name,
        version: Some(root_version),
    }];
    let manifests: Vec<(&str, &PackFile)> = list
        .files
        .iter()
        .filter_map(|f| package_dir_of(&f.path).map(|d| (d, f)))
        .collect();
    let parsed: Vec<Result<Manifest>> = manifests
        .par_iter()
        .map(|(_, f)| read_bundled_manifest(f))
        .collect();
    for ((dir, _), manifest) in manifests.iter().zip(parsed) {
        let manifest = manifest?;
        let name = manifest
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| installed_name(dir).to_string());
        let version = manifest.version.clone().filter(|v| !v.is_empty());
        packages.push(Package {
            dir: dir.to_string(),
            purl: purl(&name, version.as_deref()),
            manifest,
            name,
            version,
        });
    }
    packages[1..].sort_by(|a, b| a.dir.as_bytes().cmp(b.dir.as_bytes()));
    check_cancel(&opts.cancel)?;

    // Hashes: every file to its owner, per-file SHA-512 in parallel.
    let dir_set: HashSet<&str> = packages[1..].iter().map(|p| p.dir.as_str()).collect();
    let owned: Vec<(&str, &PackFile)> = list
        .files
        .iter()
        .filter_map(|f| owner_of(&f.path, &dir_set).map(|o| (o, f)))
        .collect();
    let cancel = &opts.cancel;
    let file_hashes: Vec<String> = owned
        .par_iter()
        .map(|(_, f)| {
            check_cancel(cancel)?;
            hash_file(f)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_>>()?;
    let mut lines: HashMap<&str, Vec<(String, &String)>> = HashMap::new();
    for ((owner, f), h) in owned.iter().zip(&file_hashes) {
        let rel = if owner.is_empty() {
            f.path.clone()
        } else {
            f.path[owner.len() + 1..].to_string()
        };
        lines.entry(owner).or_default().push((rel, h));
    }
    let hashes: HashMap<&str, String> = lines
        .into_iter()
        .map(|(owner, mut files)| {
            files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut h = Sha512::new();
            for (rel, file_hash) in files {
                h.update(format!("{file_hash}  {rel}\n").as_bytes());
            }
            (owner, hex(&h.finalize()))
        })
        .collect();
    check_cancel(&opts.cancel)?;

    // bom-refs: the purl, or purl|path for copies that share a purl.
    let mut purl_count: HashMap<&str, usize> = HashMap::new();
    for p in &packages {
        *purl_count.entry(p.purl.as_str()).or_default() += 1;
    }
    let refs: Vec<String> = packages
        .iter()
        .map(|p| {
            if purl_count[p.purl.as_str()] > 1 {
                format!("{}|{}", p.purl, if p.dir.is_empty() { "." } else { &p.dir })
            } else {
                p.purl.clone()
            }
        })
        .collect();
    let ref_of_dir: HashMap<&str, &str> = packages
        .iter()
        .zip(&refs)
        .map(|(p, r)| (p.dir.as_str(), r.as_str()))
        .collect();
    let all_dirs: BTreeSet<String> = packages[1..].iter().map(|p| p.dir.clone()).collect();

    let dependencies: Vec<Value> = packages
        .iter()
        .zip(&refs)
        .map(|(p, r)| {
            let m = &p.manifest;
            let depends: BTreeSet<&str> = m
                .dependencies
                .iter()
                .chain(&m.optional_dependencies)
                .chain(&m.peer_dependencies)
                .filter_map(|name| resolve(&p.dir, name, &all_dirs))
                .map(|dir| ref_of_dir[dir])
                .filter(|target| target != r)
                .collect();
            let mut d = Map::new();
            d.insert("ref".into(), json!(r));
            if !depends.is_empty() {
                d.insert("dependsOn".into(), json!(depends));
            }
            Value::Object(d)
        })
        .collect();

    let mut metadata = Map::new();
    if let Some(epoch) = opts.timestamp {
        metadata.insert("timestamp".into(), json!(crate::time::rfc3339(epoch)?));
    }
    metadata.insert(
        "tools".into(),
        json!({ "components": [{
            "type": "application",
            "name": "dynpack",
            "version": env!("CARGO_PKG_VERSION"),
        }]}),
    );
    metadata.insert(
        "component".into(),
        component(&packages[0], &refs[0], "application", hashes.get("")),
    );
    let components: Vec<Value> = packages[1..]
        .iter()
        .zip(&refs[1..])
        .map(|(p, r)| component(p, r, "library", hashes.get(p.dir.as_str())))
        .collect();

    let body = |serial: Option<&str>| {
        let mut doc = Map::new();
        doc.insert("$schema".into(), json!(SCHEMA_URL));
        doc.insert("bomFormat".into(), json!("CycloneDX"));
        doc.insert("specVersion".into(), json!(SPEC_VERSION));
        if let Some(s) = serial {
            doc.insert("serialNumber".into(), json!(s));
        }
        doc.insert("version".into(), json!(1));
        doc.insert("metadata".into(), Value::Object(metadata.clone()));
        doc.insert("components".into(), json!(components));
        doc.insert("dependencies".into(), json!(dependencies));
        Value::Object(doc)
    };
    let unsigned = serde_json::to_vec(&body(None)).expect("JSON");
    let serial = format!("urn:uuid:{}", uuid_v5(&unsigned));
    let mut out = serde_json::to_vec_pretty(&body(Some(&serial))).expect("JSON");
    out.push(b'\n');
    Ok(out)
}

/// Component names of an SBOM, for tests and reports: `name@version` per
/// component, sorted.
pub fn component_ids(sbom: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(sbom).unwrap_or(Value::Null);
    let mut ids: Vec<String> = v["components"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let name = match c["group"].as_str() {
                        Some(g) => format!("{g}/{}", c["name"].as_str().unwrap_or("")),
                        None => c["name"].as_str().unwrap_or("").to_string(),
                    };
                    format!("{name}@{}", c["version"].as_str().unwrap_or(""))
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The map of `bom-ref` to `dependsOn` of an SBOM (for tests).
pub fn dependency_map(sbom: &[u8]) -> BTreeMap<String, Vec<String>> {
    let v: Value = serde_json::from_slice(sbom).unwrap_or(Value::Null);
    v["dependencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let on = d["dependsOn"]
                        .as_array()
                        .map(|x| {
                            x.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    (d["ref"].as_str().unwrap_or("").to_string(), on)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_roots() {
        assert_eq!(
            package_dir_of("node_modules/a/package.json"),
            Some("node_modules/a")
        );
        assert_eq!(
            package_dir_of("node_modules/a/node_modules/@s/b/package.json"),
            Some("node_modules/a/node_modules/@s/b")
        );
        for no in [
            "package.json",
            "node_modules/package.json",
            "node_modules/@s/package.json",
            "node_modules/a/lib/package.json",
            "node_modules/.bin/package.json",
            "node_modules/a/node_modules/package.json",
            "lib/node_modules/a/package.json",
        ] {
            assert_eq!(package_dir_of(no), None, "{no}");
        }
    }

    #[test]
    fn purls() {
        assert_eq!(
            purl("@Acme/Plugin", Some("1.2.3+b.1")),
            "pkg:npm/%40acme/plugin@1.2.3%2Bb.1"
        );
        assert_eq!(purl("lodash", Some("4.17.21")), "pkg:npm/lodash@4.17.21");
        assert_eq!(purl("x", None), "pkg:npm/x");
    }

    #[test]
    fn license_forms() {
        let l = |v: Value| licenses(v.as_object().unwrap()).unwrap();
        assert_eq!(
            l(json!({"license": "MIT"})),
            json!([{"license": {"id": "MIT"}}])
        );
        assert_eq!(
            l(json!({"license": "(MIT OR Apache-2.0)"})),
            json!([{"expression": "(MIT OR Apache-2.0)"}])
        );
        assert_eq!(
            l(json!({"license": "Apache 2.0"})),
            json!([{"license": {"name": "Apache 2.0"}}])
        );
        assert_eq!(
            l(json!({"licenses": [{"type": "MIT"}, {"type": "BSD"}]})),
            json!([{"license": {"id": "MIT"}}, {"license": {"name": "BSD"}}])
        );
        assert_eq!(
            l(json!({"license": {"type": "ISC"}})),
            json!([{"license": {"id": "ISC"}}])
        );
        assert!(licenses(json!({"license": ""}).as_object().unwrap()).is_none());
    }

    #[test]
    fn node_resolution() {
        let dirs: BTreeSet<String> = [
            "node_modules/a",
            "node_modules/b",
            "node_modules/a/node_modules/b",
            "node_modules/@s/c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            resolve("node_modules/a", "b", &dirs),
            Some("node_modules/a/node_modules/b")
        );
        assert_eq!(
            resolve("node_modules/a/node_modules/b", "@s/c", &dirs),
            Some("node_modules/@s/c")
        );
        assert_eq!(resolve("", "b", &dirs), Some("node_modules/b"));
        assert_eq!(
            resolve("node_modules/@s/c", "b", &dirs),
            Some("node_modules/b")
        );
        assert_eq!(resolve("", "missing", &dirs), None);
    }

    #[test]
    fn owners() {
        let dirs: HashSet<&str> = ["node_modules/a", "node_modules/a/node_modules/b"]
            .into_iter()
            .collect();
        assert_eq!(owner_of("index.js", &dirs), Some(""));
        assert_eq!(
            owner_of("node_modules/a/x.js", &dirs),
            Some("node_modules/a")
        );
        assert_eq!(
            owner_of("node_modules/a/node_modules/b/package.json", &dirs),
            Some("node_modules/a/node_modules/b")
        );
        assert_eq!(owner_of("node_modules/a/node_modules/.bin/x", &dirs), None);
        assert_eq!(owner_of("node_modules/z/x.js", &dirs), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_for_a_fifo_fails_instead_of_hanging() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("package.json"),
            r#"{"name":"p","version":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(t.path().join("index.js"), "x").unwrap();
        let list = PackList::collect(t.path()).unwrap();
        assert!(sbom_of(&list, &SbomOptions::default()).is_ok());
        let file = t.path().join("index.js");
        std::fs::remove_file(&file).unwrap();
        let c = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = sbom_of(&list, &SbomOptions::default()).unwrap_err();
        assert_eq!(e.code(), "E_NOT_A_FILE");
    }

    #[test]
    fn serials_are_v5_uuids() {
        let u = uuid_v5(b"x");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "5");
        assert!("89ab".contains(&u[19..20]));
        assert_ne!(u, uuid_v5(b"y"));
    }
}
