//! Ignore rules per folder, and the decision whether an entry is packed.
//!
//! This mirrors ignore-walk's `filterEntry` as npm-packlist drives it: each
//! folder has up to five rule sets (npm's defaults, `files` from
//! package.json, `.npmignore`, `.gitignore`, the strict rules), later sets
//! override earlier ones, and a folder first asks its parent about
//! `<its name>/<entry>`.

use std::sync::{Arc, OnceLock};

use super::glob::{Pattern, Subject};

/// Where a rule set comes from, in precedence order (later wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Defaults = 0,
    PackageJson = 1,
    NpmIgnore = 2,
    GitIgnore = 3,
    Strict = 4,
}

impl Source {
    /// The file name that carries this rule set in a folder, if any.
    pub fn file_name(self) -> Option<&'static str> {
        match self {
            Source::PackageJson => Some("package.json"),
            Source::NpmIgnore => Some(".npmignore"),
            Source::GitIgnore => Some(".gitignore"),
            Source::Defaults | Source::Strict => None,
        }
    }
}

/// Rule sets of the root package walk.
pub const PACKAGE_SOURCES: &[Source] = &[
    Source::Defaults,
    Source::PackageJson,
    Source::NpmIgnore,
    Source::GitIgnore,
    Source::Strict,
];
/// Rule sets of every sub-folder.
pub const FOLDER_SOURCES: &[Source] = &[
    Source::Defaults,
    Source::NpmIgnore,
    Source::GitIgnore,
    Source::Strict,
];
/// Rule sets of a bundled dependency that is not a link.
pub const BUNDLE_SOURCES: &[Source] = &[Source::PackageJson, Source::Strict];

/// A parsed rule file.
pub type Rules = Arc<Vec<Pattern>>;

/// Parses ignore-file text as ignore-walk does: one rule per line, trimmed,
/// blank lines and `#` comments dropped.
pub fn parse_rules(text: &str) -> Rules {
    Arc::new(
        text.split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Pattern::new)
            .collect(),
    )
}

/// npm-packlist's default rules (applied everywhere except to the root
/// folder of a bundled dependency that is not a link).
pub fn default_rules() -> Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        parse_rules(
            &[
                ".npmignore",
                ".gitignore",
                "**/.git",
                "**/.svn",
                "**/.hg",
                "**/CVS",
                "**/.git/**",
                "**/.svn/**",
                "**/.hg/**",
                "**/CVS/**",
                "/.lock-wscript",
                "/.wafpickle-*",
                "/build/config.gypi",
                "npm-debug.log",
                "**/.npmrc",
                ".*.swp",
                ".DS_Store",
                "**/.DS_Store/**",
                "._*",
                "**/._*/**",
                "*.orig",
                "/archived-packages/**",
            ]
            .join("\n"),
        )
    })
    .clone()
}

/// The strict rules of a sub-folder: `/.git`, plus the files `files`
/// names directly in it (shared when there are none, as in most folders).
pub fn folder_strict_rules(required: &[String]) -> Rules {
    static PLAIN: OnceLock<Rules> = OnceLock::new();
    if required.is_empty() {
        return PLAIN.get_or_init(|| parse_rules("/.git")).clone();
    }
    let mut strict = vec!["/.git".to_string()];
    strict.extend(required.iter().map(|f| format!("!{f}")));
    parse_rules(&strict.join("\n"))
}

/// The rule that last decided whether an entry is packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The folder whose rules hold it, relative to the package root.
    pub folder: String,
    pub source: Source,
    /// The rule as written (for `files`, the rule dynpack derived from it).
    pub rule: String,
}

/// The rules of one folder of the walk.
pub struct Level<'p> {
    pub parent: Option<&'p Level<'p>>,
    /// The folder's own name, as its parent sees it.
    pub basename: String,
    pub sources: &'static [Source],
    pub rules: [Option<Rules>; 5],
    /// Set when the parent included this folder itself, so that this
    /// folder's rules may still re-include what the parent excluded.
    pub exact: bool,
}

impl<'p> Level<'p> {
    pub fn set(&mut self, source: Source, rules: Rules) {
        self.rules[source as usize] = Some(rules);
    }

    pub fn has(&self, source: Source) -> bool {
        self.rules[source as usize].is_some()
    }

    pub fn clear(&mut self, source: Source) {
        self.rules[source as usize] = None;
    }

    /// ignore-walk's `filterEntry`: is `entry` (relative to this folder)
    /// included? `partial` asks whether it could lead to included files
    /// (for folders); `entry_basename` is the name of the entry in the
    /// folder that started the question.
    pub fn filter_entry(&self, entry: &str, partial: bool, entry_basename: Option<&str>) -> bool {
        self.decide(entry, partial, entry_basename, None)
    }

    /// [`Level::filter_entry`], also telling which rule decided last (None
    /// when no rule matched: included by default).
    pub fn filter_entry_why(&self, entry: &str, partial: bool) -> (bool, Option<Decision>) {
        let mut why = None;
        let included = self.decide(entry, partial, None, Some(&mut why));
        (included, why)
    }

    /// The folder of this level, relative to the package root (`""` for the root).
    pub fn folder(&self) -> String {
        match self.parent {
            None => String::new(),
            Some(p) => {
                let above = p.folder();
                if above.is_empty() {
                    self.basename.clone()
                } else {
                    format!("{above}/{}", self.basename)
                }
            }
        }
    }

    fn decide(
        &self,
        entry: &str,
        partial: bool,
        entry_basename: Option<&str>,
        mut why: Option<&mut Option<Decision>>,
    ) -> bool {
        let mut included = true;
        if let Some(parent) = self.parent {
            let parent_entry = format!("{}/{}", self.basename, entry);
            let parent_basename = entry_basename.unwrap_or(entry);
            included = parent.decide(
                &parent_entry,
                partial,
                Some(parent_basename),
                why.as_deref_mut(),
            );
            if !included && !self.exact {
                return false;
            }
        }
        let slash_entry = format!("/{entry}");
        let slash_entry = Subject::new(&slash_entry);
        let plain_entry = Subject::new(entry);
        // The forms partial matching tries, built (and split) once rather
        // than per rule.
        let dir_texts = partial.then(|| (format!("/{entry}/"), format!("{entry}/")));
        let dir_forms = dir_texts
            .as_ref()
            .map(|(slash_dir, dir)| (Subject::new(slash_dir), Subject::new(dir)));
        let base_texts = match (partial, entry_basename) {
            (true, Some(base)) => Some((
                base,
                format!("/{base}/"),
                format!("{base}/"),
                format!("/{base}"),
            )),
            _ => None,
        };
        let base_forms = base_texts
            .as_ref()
            .map(|(base, slash_base_dir, base_dir, slash_base)| {
                (
                    Subject::new(base),
                    Subject::new(slash_base_dir),
                    Subject::new(base_dir),
                    Subject::new(slash_base),
                )
            });
        for source in self.sources {
            let Some(rules) = &self.rules[*source as usize] else {
                continue;
            };
            for rule in rules.iter() {
                if rule.negate == included {
                    continue;
                }
                let relative = rule.is_relative();
                let hit = rule.matches_subject(&slash_entry, false)
                    || rule.matches_subject(&plain_entry, false)
                    || dir_forms.as_ref().is_some_and(|(slash_dir, dir)| {
                        rule.matches_subject(slash_dir, false)
                            || rule.matches_subject(dir, false)
                            || (rule.negate
                                && (rule.matches_subject(&slash_entry, true)
                                    || rule.matches_subject(&plain_entry, true)))
                            || (relative
                                && base_forms.as_ref().is_some_and(
                                    |(base, slash_base_dir, base_dir, slash_base)| {
                                        rule.matches_subject(slash_base_dir, false)
                                            || rule.matches_subject(base_dir, false)
                                            || (rule.negate
                                                && (rule.matches_subject(slash_base, true)
                                                    || rule.matches_subject(base, true)))
                                    },
                                ))
                    });
                if hit {
                    included = rule.negate;
                    if let Some(w) = why.as_deref_mut() {
                        *w = Some(Decision {
                            folder: self.folder(),
                            source: *source,
                            rule: rule.text().to_string(),
                        });
                    }
                }
            }
        }
        included
    }
}
