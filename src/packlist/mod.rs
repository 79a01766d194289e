//! Which files go into the package, in which order: npm-packlist's rules.
//!
//! [`PackList::collect`] walks a package folder the way `npm pack` does
//! (ignore-walk driven by npm-packlist, bundled dependencies resolved as
//! Arborist resolves them) and returns the files in npm's tar order, each
//! with the metadata the tar header needs.

mod braces;
mod extglob;
mod glob;
mod jsregex;
mod rules;

pub mod order;

/// Public for the fuzz targets (`fuzz/`), which parse arbitrary rule text.
pub use braces::brace_expand;
pub use glob::Pattern;
pub use rules::parse_rules;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, IoContext, Result};
use crate::input::{read_regular, Unreadable};
use crate::manifest::{EdgeKind, Manifest};
use rules::{default_rules, Level, Source};

/// One regular file to pack.
#[derive(Debug, Clone)]
pub struct PackFile {
    /// Path inside the package, `/`-separated, without `package/`.
    pub path: String,
    /// Where it is on disk (through the link location for linked bundles).
    pub abs: PathBuf,
    /// Permission bits as `lstat` reports them (`st_mode & 0o7777`).
    pub mode: u32,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
}

/// The files of a package in npm's order, with its manifest.
#[derive(Debug, Clone)]
pub struct PackList {
    pub root: PathBuf,
    pub manifest: Manifest,
    pub files: Vec<PackFile>,
}

impl PackList {
    /// Collects the files `npm pack` would put in the tarball of `dir`.
    pub fn collect(dir: &Path) -> Result<PackList> {
        let meta = match std::fs::metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(Error::io(dir, e)),
        };
        if !meta.is_dir() {
            return Err(Error::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let manifest = Manifest::read_dir(dir)?;
        manifest.require_name()?;
        manifest.require_version()?;
        let real = std::fs::canonicalize(dir).at(dir)?;
        let root = Node {
            path: real.clone(),
            real: real.clone(),
            manifest,
            is_link: false,
            is_root: true,
            is_top: true,
        };
        let walk = Walk {
            root_real: real,
            children: Mutex::new(HashMap::new()),
        };
        let mut found = walk.packages(&root)?;

        let mut unique = HashSet::new();
        found.retain(|f: &PackFile| unique.insert(f.path.clone()));
        let mut keyed: Vec<(order::SortKey, PackFile)> = found
            .into_iter()
            .map(|f| (order::SortKey::new(&f.path), f))
            .collect();
        keyed.sort_by(|a, b| order::compare_tar(&a.0, &b.0));
        Ok(PackList {
            root: dir.to_path_buf(),
            manifest: root.manifest,
            files: keyed.into_iter().map(|(_, f)| f).collect(),
        })
    }
}

/// A package in the dependency tree (Arborist's node).
struct Node {
    /// Where Arborist sees the package: a link's own path for linked
    /// packages, else the folder under its parent's `node_modules`.
    path: PathBuf,
    /// Where its files really are.
    real: PathBuf,
    manifest: Manifest,
    is_link: bool,
    is_root: bool,
    /// Tree tops (the root, link targets outside it) load devDependencies.
    is_top: bool,
}

struct Walk {
    root_real: PathBuf,
    /// [`list_children`] of each `node_modules` folder looked in so far.
    children: Mutex<HashMap<PathBuf, HashMap<String, String>>>,
}

/// The key of Arborist's case-insensitive child map
/// (`key.normalize('NFKD').toLowerCase()`).
fn child_key(name: &str) -> String {
    icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(name)
        .to_lowercase()
}

/// The children Arborist's `loadActual` sees in a `node_modules` folder
/// (`readdirScoped`, then entries starting with `.` or `@scope/.` dropped),
/// by [`child_key`]. A scope that cannot be listed makes the whole listing
/// fail, and Arborist then sees no children at all.
fn list_children(modules: &Path) -> HashMap<String, String> {
    let names = |dir: &Path| -> Option<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).ok()? {
            // A name that is not UTF-8 cannot equal a dependency name.
            if let Ok(name) = e.ok()?.file_name().into_string() {
                out.push(name);
            }
        }
        Some(out)
    };
    let mut kids = Vec::new();
    let Some(top) = names(modules) else {
        return HashMap::new();
    };
    for item in top {
        if item.starts_with('@') {
            let Some(scoped) = names(&modules.join(&item)) else {
                return HashMap::new();
            };
            kids.extend(scoped.into_iter().map(|s| format!("{item}/{s}")));
        } else {
            kids.push(item);
        }
    }
    kids.sort();
    kids.into_iter()
        .filter(|kid| !is_hidden_child(kid))
        .map(|kid| (child_key(&kid), kid))
        .collect()
}

/// `/^(@[^/]+\/)?\./`: a dot folder, or a dot folder in a scope.
fn is_hidden_child(kid: &str) -> bool {
    let rest = match kid.split_once('/') {
        Some((scope, rest)) if scope.len() > 1 && scope.starts_with('@') => rest,
        _ => kid,
    };
    rest.starts_with('.') || kid.starts_with('.')
}

fn strict_package_rules(
    manifest: &Manifest,
    dir: &Path,
    required: &mut Vec<String>,
) -> (Option<rules::Rules>, rules::Rules) {
    let mut strict: Vec<String> = [
        "/.git",
        "!/package.json",
        "!/readme{,.*[^~$]}",
        "!/copying{,.*[^~$]}",
        "!/license{,.*[^~$]}",
        "!/licence{,.*[^~$]}",
        "/.git",
        "/node_modules",
        ".npmrc",
        "/package-lock.json",
        "/yarn.lock",
        "/pnpm-lock.yaml",
        "/bun.lockb",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut package_rules = None;
    if let Some(files) = &manifest.files {
        let mut ignores = vec!["*".to_string()];
        for file in files {
            let mut file = file.clone();
            if file.starts_with("./") {
                file.remove(0);
            }
            if file.ends_with("/*") {
                file.push('*');
            }
            let inverse = format!("!{file}");
            let target = file.trim_start_matches('!');
            let probe = dir.join(target.trim_start_matches('/'));
            match std::fs::symlink_metadata(&probe) {
                Ok(st) if st.is_file() => {
                    strict.insert(0, inverse);
                    required.push(file.strip_prefix('/').unwrap_or(&file).to_string());
                }
                Ok(st) if st.is_dir() => {
                    ignores.push(inverse.clone());
                    ignores.push(format!("{inverse}/**"));
                }
                Ok(_) => {}
                Err(_) => ignores.push(inverse),
            }
        }
        package_rules = Some(parse_rules(&ignores.join("\n")));
    }
    if let Some(browser) = &manifest.browser {
        strict.push(format!("!/{browser}"));
    }
    if let Some(main) = &manifest.main {
        strict.push(format!("!/{main}"));
    }
    for (_, target) in &manifest.bin {
        strict.push(format!("!/{target}"));
    }
    (package_rules, parse_rules(&strict.join("\n")))
}

/// The rules of one folder of the walk (ignore-walk's per-folder state):
/// npm's defaults, the package's `files` and strict rules at a package root,
/// `.npmignore` (else `.gitignore`) when `names` holds one.
fn folder_level<'p>(
    dir: &Path,
    names: &[&str],
    parent: Option<&'p Level<'p>>,
    sources: &'static [Source],
    exact: bool,
    manifest: Option<&Manifest>,
    required: &mut Vec<String>,
) -> Result<Level<'p>> {
    let basename = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut level = Level {
        parent,
        basename,
        sources,
        rules: Default::default(),
        exact,
    };
    level.set(Source::Defaults, default_rules());
    if manifest.is_none() {
        level.set(Source::Strict, rules::folder_strict_rules(required));
    }
    for source in sources {
        let Some(file_name) = source.file_name() else {
            continue;
        };
        if !names.contains(&file_name) {
            continue;
        }
        match (source, manifest) {
            (Source::PackageJson, Some(m)) => {
                let (package_rules, strict) = strict_package_rules(m, dir, required);
                check_rules(&strict, &m.path)?;
                if let Some(p) = package_rules {
                    check_rules(&p, &m.path)?;
                    level.set(Source::PackageJson, p);
                }
                level.set(Source::Strict, strict);
            }
            _ => {
                let path = dir.join(file_name);
                let bytes = read_rule_file(&path)?;
                let rules = parse_rules(&String::from_utf8_lossy(&bytes));
                check_rules(&rules, &path)?;
                level.set(*source, rules);
            }
        }
    }
    if level.has(Source::PackageJson) {
        level.clear(Source::NpmIgnore);
        level.clear(Source::GitIgnore);
    } else if level.has(Source::NpmIgnore) {
        level.clear(Source::GitIgnore);
    }
    Ok(level)
}

/// The files `files` names directly in the sub-folder `name` (ignore-walk
/// passes them down as that folder's strict rules).
fn child_required(required: &[String], name: &str) -> Vec<String> {
    required
        .iter()
        .filter_map(|f| {
            f.strip_prefix(name)
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| !r.is_empty() && !r.contains('/'))
                .map(str::to_string)
        })
        .collect()
}

impl Walk {
    /// The files of the root package and of its bundles, paths relative to
    /// the project root, in npm's walk order (each package's files, then
    /// its bundled dependencies, depth first).
    ///
    /// Which packages are walked depends only on manifests, so they are
    /// resolved first, in that order, and their folders then walked on all
    /// cores; a tree of many small bundled packages kept one core idle
    /// otherwise. Errors keep npm's order too: a folder's error wins over a
    /// resolution error met after it.
    fn packages(&self, root: &Node) -> Result<Vec<PackFile>> {
        let mut bundled = Vec::new();
        // The root's own folders are walked while the bundles are resolved.
        let (planned, root_files) = rayon::join(
            || self.bundles(root, &mut HashSet::new(), &mut bundled),
            || self.package_files(root),
        );
        let walked: Vec<Result<Vec<PackFile>>> =
            bundled.par_iter().map(|n| self.package_files(n)).collect();
        let mut out = root_files?;
        for w in walked {
            out.extend(w?);
        }
        planned?;
        Ok(out)
    }

    /// The files of one package (the root or a bundled dependency), paths
    /// relative to the project root.
    fn package_files(&self, node: &Node) -> Result<Vec<PackFile>> {
        let sources: &'static [Source] = if node.is_root || node.is_link {
            rules::PACKAGE_SOURCES
        } else {
            rules::BUNDLE_SOURCES
        };
        let prefix = lexical_relative(&self.root_real, &node.path);
        let mut required = Vec::new();
        let mut found = Vec::new();
        self.folder(
            &node.path,
            "",
            None,
            sources,
            false,
            Some(&node.manifest),
            &mut required,
            &mut found,
        )?;
        if prefix.is_empty() {
            return Ok(found);
        }
        Ok(found
            .into_iter()
            .filter_map(|mut f| {
                f.path = crate::posix::clean_join(&format!("{prefix}/{}", f.path));
                // A bundle that resolves outside the package cannot be
                // represented under package/; npm would write `..` paths.
                (!(f.path.starts_with("../") || f.path.is_empty())).then_some(f)
            })
            .collect())
    }

    /// Walks one folder with ignore-walk's rules. `manifest` is set for the
    /// root folder of a package; `required` holds the files that `files`
    /// names directly in this folder.
    #[allow(clippy::too_many_arguments)]
    fn folder(
        &self,
        dir: &Path,
        rel: &str,
        parent: Option<&Level>,
        sources: &'static [Source],
        exact: bool,
        manifest: Option<&Manifest>,
        required: &mut Vec<String>,
        out: &mut Vec<PackFile>,
    ) -> Result<()> {
        // The type readdir reports (no extra system call on most file
        // systems) lets a regular file skip the folder test and a link or
        // special file skip both: npm drops those after its lstat anyway.
        let mut entries: Vec<(
            std::fs::DirEntry,
            std::ffi::OsString,
            String,
            Option<std::fs::FileType>,
        )> = Vec::new();
        for e in std::fs::read_dir(dir).at(dir)? {
            let e = e.at(dir)?;
            let os = e.file_name();
            let name = os.to_string_lossy().into_owned();
            let file_type = e.file_type().ok();
            entries.push((e, os, name, file_type));
        }
        entries.sort_by(|a, b| a.1.cmp(&b.1));
        let names: Vec<&str> = entries.iter().map(|(_, _, n, _)| n.as_str()).collect();
        let level = folder_level(dir, &names, parent, sources, exact, manifest, required)?;

        let mut subfolders = Vec::new();
        for (entry, os, name, file_type) in &entries {
            let (maybe_file, maybe_dir) = match file_type {
                Some(t) => (t.is_file(), t.is_dir()),
                None => (true, true),
            };
            let pass_file = maybe_file && level.filter_entry(name, false, None);
            let pass_dir = maybe_dir && level.filter_entry(name, true, None);
            if !(pass_file || pass_dir) || name.contains('*') {
                continue;
            }
            let abs = dir.join(os);
            // lstat relative to the open folder: no walk of the whole path.
            let st = entry.metadata().at(&abs)?;
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if st.is_file() {
                if pass_file {
                    if os.to_str().is_none() {
                        return Err(Error::InvalidFileName { path: abs });
                    }
                    out.push(pack_file(child_rel, abs, &st));
                }
            } else if st.is_dir() && pass_dir {
                if os.to_str().is_none() {
                    return Err(Error::InvalidFileName { path: abs });
                }
                let exact = level.filter_entry(name, false, None)
                    || level.filter_entry(&format!("{name}/"), false, None);
                subfolders.push((abs, child_rel, exact, child_required(required, name)));
            }
        }
        // The folder's handle closes before its sub-folders are walked.
        drop(names);
        drop(entries);
        // Sub-folders are independent: walk them on all cores. The order of
        // `out` does not matter, the list is sorted afterwards.
        let walked: Vec<Result<Vec<PackFile>>> = subfolders
            .into_par_iter()
            .map(|(abs, child_rel, exact, mut child_required)| {
                let mut found = Vec::new();
                self.folder(
                    &abs,
                    &child_rel,
                    Some(&level),
                    rules::FOLDER_SOURCES,
                    exact,
                    None,
                    &mut child_required,
                    &mut found,
                )?;
                Ok(found)
            })
            .collect();
        for w in walked {
            out.extend(w?);
        }
        Ok(())
    }

    /// npm-packlist's `gatherBundles`: appends to `out` the bundled
    /// dependencies of `node` to walk, each followed by its own (a package
    /// reached twice is walked twice, its dependencies once).
    fn bundles(&self, node: &Node, seen: &mut HashSet<PathBuf>, out: &mut Vec<Node>) -> Result<()> {
        if !seen.insert(node.real.clone()) {
            return Ok(());
        }
        let names: Vec<String> = if node.is_root {
            node.manifest.bundle_dependencies.clone()
        } else {
            let m = &node.manifest;
            m.dependencies
                .iter()
                .chain(m.optional_dependencies.iter())
                .cloned()
                .collect()
        };
        for name in names {
            match node.manifest.edge_kind(&name, node.is_top) {
                None | Some(EdgeKind::Peer) | Some(EdgeKind::Dev) => continue,
                _ => {}
            }
            let Some(child) = self.resolve(node, &name)? else {
                continue;
            };
            let mut below = Vec::new();
            let planned = self.bundles(&child, seen, &mut below);
            out.push(child);
            out.append(&mut below);
            planned?;
        }
        Ok(())
    }

    /// Arborist's `node.resolve(name)`: the package's own `node_modules`,
    /// then its ancestors' up to the root.
    fn resolve(&self, from: &Node, name: &str) -> Result<Option<Node>> {
        let inside = from.real.starts_with(&self.root_real);
        let mut dir: Option<PathBuf> = Some(from.real.clone());
        while let Some(d) = dir {
            let is_modules = d.file_name().is_some_and(|n| n == "node_modules");
            if !is_modules {
                let modules = d.join("node_modules");
                if let Some(entry) = self.child_named(&modules, name) {
                    let candidate = modules.join(entry);
                    if let Ok(st) = std::fs::metadata(&candidate) {
                        if st.is_dir() {
                            return self.node_at(candidate).map(Some);
                        }
                    }
                }
            }
            if !inside || d == self.root_real {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(None)
    }

    /// The `node_modules` entry that Arborist's child map returns for
    /// `name`: a dependency name is looked up among the folder's listed
    /// children only, never joined onto a path, so a name such as
    /// `/abs/dir`, `../..` or `.hidden` resolves to nothing (as in npm).
    fn child_named(&self, modules: &Path, name: &str) -> Option<String> {
        let mut cache = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let children = cache
            .entry(modules.to_path_buf())
            .or_insert_with(|| list_children(modules));
        children.get(&child_key(name)).cloned()
    }

    fn node_at(&self, candidate: PathBuf) -> Result<Node> {
        let is_link = std::fs::symlink_metadata(&candidate)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let real = std::fs::canonicalize(&candidate).at(&candidate)?;
        let manifest = match Manifest::read_dir(&real) {
            Ok(m) => m,
            Err(Error::NoPackageJson { .. }) => Manifest::parse(&real.join("package.json"), b"{}")?,
            Err(e) => return Err(e),
        };
        let is_top = is_link && !real.starts_with(&self.root_real);
        Ok(Node {
            path: candidate,
            real,
            manifest,
            is_link,
            is_root: false,
            is_top,
        })
    }
}

/// The largest ignore file read: V8's string limit on 64-bit hosts
/// (`2**29 - 24` UTF-16 units). ignore-walk reads each ignore file as one
/// UTF-8 string, so npm fails (`ERR_STRING_TOO_LONG`) on anything larger;
/// real ignore files are a few kilobytes.
pub const MAX_IGNORE_FILE_BYTES: u64 = (1 << 29) - 24;

/// Reads an ignore file (`.npmignore`, `.gitignore`), refusing folders,
/// FIFOs, sockets and devices instead of failing late or hanging, and
/// files over [`MAX_IGNORE_FILE_BYTES`] before reading a byte of them.
fn read_rule_file(path: &Path) -> Result<Vec<u8>> {
    read_regular(path, MAX_IGNORE_FILE_BYTES).map_err(|why| match why {
        Unreadable::NotRegular(kind) => Error::NotAFile {
            path: path.to_path_buf(),
            kind,
            fix: "npm fails or hangs on it too; make it a regular file or remove it",
        },
        Unreadable::Io(e) => Error::io(path, e),
        Unreadable::TooLarge(len) => Error::InvalidRule {
            path: path.to_path_buf(),
            reason: format!(
                "the ignore file is {len} bytes, more than the {MAX_IGNORE_FILE_BYTES} bytes npm can read as one string (npm fails on it too); shorten it"
            ),
        },
    })
}

/// Fails on rules npm cannot compile, as npm does.
fn check_rules(rules: &rules::Rules, path: &Path) -> Result<()> {
    match rules.iter().find_map(Pattern::error) {
        Some(why) => Err(Error::InvalidRule {
            path: path.to_path_buf(),
            reason: format!("a rule {why} (npm fails on it too); simplify it"),
        }),
        None => Ok(()),
    }
}

/// `path.relative(from, to)` for absolute paths, `/`-separated.
fn lexical_relative(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

fn pack_file(path: String, abs: PathBuf, st: &std::fs::Metadata) -> PackFile {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        PackFile {
            path,
            abs,
            mode: st.mode() & 0o7777,
            size: st.size(),
            dev: st.dev(),
            ino: st.ino(),
            nlink: st.nlink(),
        }
    }
    #[cfg(not(unix))]
    {
        PackFile {
            path,
            abs,
            mode: if st.permissions().readonly() {
                0o444
            } else {
                0o666
            },
            size: st.len(),
            dev: 0,
            ino: 0,
            nlink: 1,
        }
    }
}

/// The backstage.role values of the plugins RHDH loads.
const PLUGIN_ROLES: [&str; 4] = [
    "backend-plugin",
    "backend-plugin-module",
    "frontend-plugin",
    "frontend-plugin-module",
];

/// The file RHDH's frontend loads a scalprum plugin from.
pub const SCALPRUM_MANIFEST: &str = "dist-scalprum/plugin-manifest.json";

/// The entry points RHDH loads from a plugin package, each as
/// `(file, what names it)`: `main` (as Node resolves it: the file, or with
/// `.js`/`.json`/`.node`, or its `index.js`), and for a frontend plugin with
/// a `scalprum` field its plugin manifest. Empty for a package that is no
/// Backstage plugin (a plain `npm pack` has no entry point to check).
fn entry_points(manifest: &Manifest) -> Vec<(Vec<String>, &'static str)> {
    let role = manifest
        .raw
        .get("backstage")
        .and_then(|b| b.get("role"))
        .and_then(|r| r.as_str());
    let Some(role) = role.filter(|r| PLUGIN_ROLES.contains(r)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(main) = &manifest.main {
        let main = crate::posix::clean_join(main.trim_start_matches("./"));
        let main = main.trim_end_matches('/').to_string();
        if !main.is_empty() && main != "." {
            let candidates = [
                "",
                ".js",
                ".json",
                ".node",
                "/index.js",
                "/index.json",
                "/index.node",
            ]
            .iter()
            .map(|suffix| format!("{main}{suffix}"))
            .collect();
            out.push((candidates, "main"));
        }
    }
    if role.starts_with("frontend-") && manifest.raw.contains_key("scalprum") {
        out.push((vec![SCALPRUM_MANIFEST.to_string()], "scalprum"));
    }
    out
}

/// Refuses, with E_ENTRY_MISSING, a plugin package whose pack list misses an
/// entry point RHDH loads ([`entry_points`]), naming the file and why it is
/// not there (no such file, or the ignore rule that dropped it): RHDH would
/// install the package and fail to load it, far from the mistake.
pub fn check_entry_points(list: &PackList) -> Result<()> {
    let packed: HashSet<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
    for (candidates, field) in entry_points(&list.manifest) {
        if candidates.iter().any(|c| packed.contains(c.as_str())) {
            continue;
        }
        let entry = &candidates[0];
        let why = why_excluded(&list.root, &list.manifest, entry)?;
        return Err(Error::EntryMissing {
            path: list.manifest.path.clone(),
            entry: entry.clone(),
            field: field.to_string(),
            why,
        });
    }
    Ok(())
}

/// Why the file `rel` (`/`-separated, inside the package `dir`) is not
/// packed, in words: it does not exist, is not a regular file, or which rule
/// (npm's defaults, `files`, an `.npmignore` or `.gitignore` line) dropped it
/// or the folder holding it. The same rules as [`PackList::collect`], replayed
/// along the path only.
pub fn why_excluded(dir: &Path, manifest: &Manifest, rel: &str) -> Result<String> {
    let abs = dir.join(rel);
    match std::fs::symlink_metadata(&abs) {
        Err(_) => {
            return Ok(format!(
                "there is no such file in {}: the export did not write it, or `main` names another file",
                dir.display()
            ))
        }
        Ok(m) if !m.is_file() => {
            return Ok("it is not a regular file (npm packs no links, folders are not entry points)".to_string())
        }
        Ok(_) => {}
    }
    let parts: Vec<&str> = rel.split('/').collect();
    let mut required = Vec::new();
    explain_in(
        dir,
        None,
        rules::PACKAGE_SOURCES,
        false,
        Some(manifest),
        &mut required,
        &parts,
    )
}

fn explain_in(
    dir: &Path,
    parent: Option<&Level>,
    sources: &'static [Source],
    exact: bool,
    manifest: Option<&Manifest>,
    required: &mut Vec<String>,
    parts: &[&str],
) -> Result<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).at(dir)? {
        names.push(e.at(dir)?.file_name().to_string_lossy().into_owned());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let level = folder_level(dir, &names, parent, sources, exact, manifest, required)?;
    let name = parts[0];
    let last = parts.len() == 1;
    let (included, why) = level.filter_entry_why(name, !last);
    if !included {
        let what = if last {
            String::from("it is excluded")
        } else {
            format!("its folder {} is excluded", level_path(&level, name))
        };
        return Ok(format!("{what} by {}", describe(why.as_ref(), manifest)));
    }
    if last {
        return Ok("npm's rules leave it out".to_string());
    }
    let exact = level.filter_entry(name, false, None)
        || level.filter_entry(&format!("{name}/"), false, None);
    let mut below = child_required(required, name);
    explain_in(
        &dir.join(name),
        Some(&level),
        rules::FOLDER_SOURCES,
        exact,
        None,
        &mut below,
        &parts[1..],
    )
}

fn level_path(level: &Level, name: &str) -> String {
    let folder = level.folder();
    if folder.is_empty() {
        format!("{name}/")
    } else {
        format!("{folder}/{name}/")
    }
}

/// A rule's decision in words: where the rule is written.
fn describe(why: Option<&rules::Decision>, manifest: Option<&Manifest>) -> String {
    let Some(d) = why else {
        return "npm's rules".to_string();
    };
    let at = |file: &str| {
        if d.folder.is_empty() {
            file.to_string()
        } else {
            format!("{}/{file}", d.folder)
        }
    };
    match d.source {
        Source::Defaults => format!("npm's default ignore rule `{}`", d.rule),
        Source::PackageJson => format!(
            "the `files` list of {} (it does not name it)",
            manifest.map_or_else(|| at("package.json"), |m| m.path.display().to_string())
        ),
        Source::NpmIgnore => format!("the rule `{}` of {}", d.rule, at(".npmignore")),
        Source::GitIgnore => format!(
            "the rule `{}` of {} (npm reads .gitignore where there is no .npmignore)",
            d.rule,
            at(".gitignore")
        ),
        Source::Strict => format!("npm's rule `{}`, which no setting overrides", d.rule),
    }
}
