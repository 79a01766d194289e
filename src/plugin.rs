//! Dynamic-plugin metadata and directory naming, as RHDH's packagers do it.
//!
//! An image holds each plugin under its own top-level directory, named from
//! the `dist-dynamic/package.json` name (rhdh-cli `plugin package`):
//! `-dynamic` suffix dropped, leading `@` dropped, first `/` turned into
//! `-`. RHDH's installer extracts a plugin by a raw string prefix on member
//! names, so one directory must never be a prefix of another in the same
//! image; [`check_conflicts`] refuses that before anything is written.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// The metadata file the packagers put at the image root.
pub const ROOT_INDEX: &str = "index.json";

/// The package.json keys copied into `index.json` and the
/// `io.backstage.dynamic-packages` annotation, in the packagers' order.
pub const METADATA_KEYS: [&str; 11] = [
    "name",
    "version",
    "description",
    "backstage",
    "homepage",
    "repository",
    "license",
    "maintainers",
    "author",
    "bugs",
    "keywords",
];

/// Checks that `path`, the folder to pack, is a folder. Which folder that is
/// (a plugin's dist-dynamic/, an unpacked published plugin, never a plugin
/// source) is decided once, in lib/folders.js, before the addon is called:
/// deciding here too would let the two rules drift apart.
pub fn locate(path: &Path) -> Result<PathBuf> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(path.to_path_buf()),
        Ok(_) => Err(Error::NotADirectory {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The image directory of a dist-dynamic package name.
pub fn directory_name(package_name: &str) -> String {
    let base = package_name
        .strip_suffix("-dynamic")
        .unwrap_or(package_name);
    let base = base.strip_prefix('@').unwrap_or(base);
    base.replacen('/', "-", 1)
}

/// Refuses directory names that cannot be one top-level folder of a layer.
pub fn check_directory(dir: &str, manifest: &Path) -> Result<()> {
    let bad = if dir.is_empty() {
        Some("it is empty")
    } else if dir == "." || dir == ".." {
        Some("it is `.` or `..`")
    } else if dir.starts_with('.') {
        Some("it starts with `.`, a hidden folder (npm names cannot start with one either)")
    } else if dir.contains(['/', '\\']) {
        Some("it still contains a `/` or `\\` (only the scope's `/` is replaced)")
    } else if dir.chars().any(char::is_control) {
        Some("it contains control characters")
    } else {
        None
    };
    match bad {
        Some(why) => Err(Error::InvalidManifest {
            path: manifest.to_path_buf(),
            reason: format!(
                "the name gives the image directory {dir:?}, which is unusable: {why}; use an npm package name such as @scope/plugin-x-dynamic"
            ),
        }),
        None => Ok(()),
    }
}

/// The packagers' metadata object: the [`METADATA_KEYS`] the package.json
/// has, in that order, values as written.
pub fn metadata(manifest: &Manifest) -> Map<String, Value> {
    let mut out = Map::new();
    for key in METADATA_KEYS {
        if let Some(v) = manifest.raw.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out
}

/// One plugin of an image, as far as naming goes.
#[derive(Debug, Clone)]
pub struct Named<'a> {
    pub directory: &'a str,
    pub name: &'a str,
    pub source: &'a Path,
}

/// Refuses two plugins with the same directory, a directory that is a
/// prefix of another (RHDH ≤ 1.10 extracts `!<dir>` by raw prefix, so it
/// would install both), and a directory that clashes with [`ROOT_INDEX`].
/// With `allow_prefix` a prefix pair is returned as a warning instead: the
/// common `plugin-x` + `plugin-x-backend` pair is safe on RHDH ≥ 1.11, whose
/// installer extracts up to a `/`.
pub fn check_conflicts(plugins: &[Named], allow_prefix: bool) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for (i, a) in plugins.iter().enumerate() {
        if ROOT_INDEX.starts_with(a.directory) {
            return Err(Error::PluginConflict {
                reason: format!(
                    "{} ({}) would use the image directory {:?}, which clashes with the image's {ROOT_INDEX} (RHDH extracts by raw name prefix); rename the package",
                    a.source.display(),
                    a.name,
                    a.directory
                ),
            });
        }
        for b in &plugins[i + 1..] {
            if a.directory == b.directory {
                return Err(Error::PluginConflict {
                    reason: format!(
                        "{} ({}) and {} ({}) both go to the image directory {:?}; pass each plugin once, or build them into separate images",
                        a.source.display(),
                        a.name,
                        b.source.display(),
                        b.name,
                        a.directory
                    ),
                });
            }
            let (short, long) = if b.directory.starts_with(a.directory) {
                (a, b)
            } else if a.directory.starts_with(b.directory) {
                (b, a)
            } else {
                continue;
            };
            let problem = format!(
                "the image directory {:?} ({}) is a prefix of {:?} ({}): RHDH's installer up to 1.10 extracts `!{}` by raw name prefix and would install both",
                short.directory, short.name, long.directory, long.name, short.directory
            );
            if !allow_prefix {
                return Err(Error::PluginConflict {
                    reason: format!(
                        "{problem}; build them into separate images, or allow it (allowPrefixDirectories, CLI --allow-prefix-dirs) when RHDH is 1.11 or later"
                    ),
                });
            }
            warnings.push(problem);
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_packagers_do() {
        let cases = [
            (
                "@backstage-community/plugin-todo-backend-dynamic",
                "backstage-community-plugin-todo-backend",
            ),
            (
                "@backstage-community/plugin-todo-dynamic",
                "backstage-community-plugin-todo",
            ),
            ("plain-plugin-dynamic", "plain-plugin"),
            ("no-suffix", "no-suffix"),
            ("@s/a/b-dynamic", "s-a/b"),
            ("x-dynamic-dynamic", "x-dynamic"),
        ];
        for (name, dir) in cases {
            assert_eq!(directory_name(name), dir, "{name}");
        }
    }

    #[test]
    fn bad_directories_are_refused() {
        let p = Path::new("package.json");
        assert!(check_directory("scope-plugin", p).is_ok());
        for bad in ["", ".", "..", ".hidden", "..-..", "s-a/b", "a\\b", "a\nb"] {
            assert!(check_directory(bad, p).is_err(), "{bad:?}");
        }
    }

    fn named<'a>(dirs: &'a [&'a str]) -> Vec<Named<'a>> {
        dirs.iter()
            .map(|d| Named {
                directory: d,
                name: d,
                source: Path::new(d),
            })
            .collect()
    }

    #[test]
    fn conflicts() {
        let ok = ["plugin-a", "plugin-b", "other"];
        assert!(check_conflicts(&named(&ok), false).is_ok());
        for bad in [
            &["plugin-a", "plugin-a"][..],
            &["plugin-a-backend", "plugin-a"][..],
            &["x", "plugin-a", "plugin-ab"][..],
            &["index"][..],
            &["index.json"][..],
        ] {
            let e = check_conflicts(&named(bad), false).unwrap_err();
            assert_eq!(e.code(), "E_PLUGIN_CONFLICT", "{bad:?}");
        }
        let w = check_conflicts(&named(&["plugin-a-backend", "plugin-a"]), true).unwrap();
        assert_eq!(w.len(), 1);
        let e = check_conflicts(&named(&["plugin-a-backend", "plugin-a"]), false).unwrap_err();
        assert!(e
            .to_string()
            .contains("\"plugin-a\" (plugin-a) is a prefix"));
    }

    #[test]
    fn metadata_keeps_the_packagers_key_order() {
        let m = Manifest::parse(
            Path::new("package.json"),
            br#"{"keywords":["k"],"main":"x.js","version":"1.0.0","name":"p-dynamic","backstage":{"role":"backend-plugin","pluginId":"p"},"license":"MIT"}"#,
        )
        .unwrap();
        let md = metadata(&m);
        assert_eq!(
            md.keys().collect::<Vec<_>>(),
            ["name", "version", "backstage", "license", "keywords"]
        );
        assert_eq!(
            serde_json::to_string(&md["backstage"]).unwrap(),
            r#"{"role":"backend-plugin","pluginId":"p"}"#
        );
    }
}
