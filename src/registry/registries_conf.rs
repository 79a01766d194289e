//! registries.conf as containers/image reads it (containers-registries.conf(5)
//! and containers-registries.conf.d(5)), for the one thing dynpack needs
//! from it: whether a registry is marked `insecure`.
//!
//! Files, in order: the main file (`~/.config/containers/registries.conf`
//! if it exists, else `/etc/containers/registries.conf`), then the `*.conf`
//! drop-ins of `/etc/containers/registries.conf.d/` (only when the main
//! file is the system one) and of `~/.config/containers/registries.conf.d/`,
//! each folder in lexical order. A later `[[registry]]` table with the same
//! `prefix` (its `location` when it has none) replaces the earlier one
//! whole, as the man page says ("overwriting existing items if the prefixes
//! are identical"); new ones are added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The merged `[[registry]]` tables (keyed by prefix) and the v1
/// `[registries.insecure] registries = [...]` list.
#[derive(Debug, Default)]
pub struct RegistriesConf {
    pub registries: BTreeMap<String, toml::Table>,
    pub insecure_v1: Vec<String>,
}

fn home_config() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".config/containers"))
}

/// The `*.conf` files of `dir`, in lexical order (none when it is missing).
fn drop_ins(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
        .collect();
    files.sort();
    files
}

/// The files read, in the order they apply.
pub fn files() -> Vec<PathBuf> {
    let user = home_config();
    let user_main = user
        .as_ref()
        .map(|d| d.join("registries.conf"))
        .filter(|p| p.is_file());
    let mut files = Vec::new();
    match user_main {
        Some(main) => files.push(main),
        None => {
            files.push(PathBuf::from("/etc/containers/registries.conf"));
            files.extend(drop_ins(Path::new("/etc/containers/registries.conf.d")));
        }
    }
    if let Some(d) = &user {
        files.extend(drop_ins(&d.join("registries.conf.d")));
    }
    files
}

impl RegistriesConf {
    /// Merges the given files in order; unreadable or malformed files are
    /// skipped (a broken registries.conf does not stop a push to a
    /// registry that needs nothing from it).
    pub fn load(files: &[PathBuf]) -> RegistriesConf {
        let mut conf = RegistriesConf::default();
        for f in files {
            if let Some(table) = std::fs::read_to_string(f)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
            {
                conf.apply(&table);
            }
        }
        conf
    }

    /// Applies one file on top of what was read before.
    pub fn apply(&mut self, file: &toml::Table) {
        for r in file
            .get("registry")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let Some(table) = r.as_table() else { continue };
            let key = table
                .get("prefix")
                .or_else(|| table.get("location"))
                .and_then(|l| l.as_str())
                .unwrap_or("");
            if !key.is_empty() {
                self.registries.insert(key.to_string(), table.clone());
            }
        }
        if let Some(list) = file
            .get("registries")
            .and_then(|r| r.get("insecure"))
            .and_then(|r| r.get("registries"))
            .and_then(|r| r.as_array())
        {
            self.insecure_v1 = list
                .iter()
                .filter_map(|h| h.as_str().map(str::to_string))
                .collect();
        }
    }

    /// Whether `registry` (`host[:port]`) is marked insecure: a
    /// `[[registry]]` whose location's host is it with `insecure = true`, or
    /// the v1 list naming it.
    pub fn insecure(&self, registry: &str) -> bool {
        let v2 = self.registries.values().any(|r| {
            let loc = r.get("location").and_then(|l| l.as_str()).unwrap_or("");
            let host = loc.split('/').next().unwrap_or("");
            host == registry && r.get("insecure").and_then(|i| i.as_bool()) == Some(true)
        });
        v2 || self.insecure_v1.iter().any(|h| h == registry)
    }
}

/// Whether the registries.conf files of this machine and user mark
/// `registry` insecure.
pub fn insecure(registry: &str) -> bool {
    RegistriesConf::load(&files()).insecure(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn later_tables_with_the_same_prefix_replace_earlier_ones() {
        let t = tempfile::tempdir().unwrap();
        let main = write(
            t.path(),
            "registries.conf",
            "[[registry]]\nlocation = \"a:5000\"\ninsecure = true\n[[registry]]\nlocation = \"b:5000\"\n",
        );
        let d = t.path().join("registries.conf.d");
        write(
            &d,
            "10-b.conf",
            "[[registry]]\nlocation = \"b:5000\"\ninsecure = true\n",
        );
        write(
            &d,
            "20-a.conf",
            "[[registry]]\nlocation = \"a:5000\"\nblocked = false\n",
        );
        write(
            &d,
            "30-c.conf",
            "[[registry]]\nprefix = \"c.example/team\"\nlocation = \"c:5000/team\"\ninsecure = true\n",
        );
        write(
            &d,
            "ignored.txt",
            "[[registry]]\nlocation = \"d:5000\"\ninsecure = true\n",
        );
        write(&d, "40-broken.conf", "[[registry\n");
        let mut files = vec![main];
        files.extend(drop_ins(&d));
        assert_eq!(files.len(), 5, "only *.conf, in lexical order");
        let conf = RegistriesConf::load(&files);
        // 20-a.conf replaced a:5000 whole: its insecure = true is gone.
        assert!(!conf.insecure("a:5000"));
        assert!(conf.insecure("b:5000"));
        assert!(conf.insecure("c:5000"));
        assert!(!conf.insecure("d:5000"));

        let off = write(
            &d,
            "50-b-off.conf",
            "[[registry]]\nlocation = \"b:5000\"\ninsecure = false\n",
        );
        let mut more = files.clone();
        more.push(off);
        assert!(!RegistriesConf::load(&more).insecure("b:5000"));
    }

    #[test]
    fn v1_list() {
        let mut conf = RegistriesConf::default();
        conf.apply(
            &"[registries.insecure]\nregistries = [\"old:5000\"]\n"
                .parse()
                .unwrap(),
        );
        assert!(conf.insecure("old:5000"));
        assert!(!conf.insecure("new:5000"));
    }
}
