//! The two orders npm puts files in.
//!
//! The tar is sorted by npm-packlist's comparator (extension, then base name,
//! then path, each with `localeCompare(…, 'en')`); the `files` list of
//! `npm pack --json` re-sorts with `Intl.Collator('en', {sensitivity: 'case',
//! numeric: true})`, capitals first. Both are ICU collations, not byte
//! orders, so ICU4X's collator does the comparing.

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::posix;

use icu_collator::options::{CaseLevel, CollatorOptions, Strength};
use icu_collator::preferences::CollationNumericOrdering;
use icu_collator::{Collator, CollatorBorrowed, CollatorPreferences};

fn tar_collator() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        Collator::try_new(CollatorPreferences::default(), CollatorOptions::default())
            .expect("compiled collation data")
    })
}

fn listing_collator() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        let mut prefs = CollatorPreferences::default();
        prefs.numeric_ordering = Some(CollationNumericOrdering::True);
        let mut options = CollatorOptions::default();
        options.strength = Some(Strength::Primary);
        options.case_level = Some(CaseLevel::On);
        Collator::try_new(prefs, options).expect("compiled collation data")
    })
}

/// The key npm-packlist sorts by: the path as it compares it (paths that
/// start with `@` get a `./` prefix first) and its lowercased parts.
pub struct SortKey {
    ext: String,
    base: String,
    path: String,
}

impl SortKey {
    pub fn new(rel: &str) -> SortKey {
        let path = if rel.starts_with('@') {
            format!("./{rel}")
        } else {
            rel.to_string()
        };
        SortKey {
            ext: posix::extname(&path).to_lowercase(),
            base: posix::basename(&path).to_lowercase(),
            path,
        }
    }
}

/// npm-packlist's comparator.
pub fn compare_tar(a: &SortKey, b: &SortKey) -> Ordering {
    let c = tar_collator();
    c.compare(&a.ext, &b.ext)
        .then_with(|| c.compare(&a.base, &b.base))
        .then_with(|| c.compare(&a.path, &b.path))
}

/// npm's comparator for the `files` list of `npm pack --json`.
pub fn compare_listing(a: &str, b: &str) -> Ordering {
    listing_collator().compare(a, b)
}

/// npm's "upper" test: the first UTF-16 unit equals its own upper case.
pub fn starts_upper(s: &str) -> bool {
    match s.chars().next() {
        None => true,
        Some(ch) => {
            let up: String = ch.to_uppercase().collect();
            up == ch.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extnames() {
        use crate::posix::extname;
        assert_eq!(extname("a/b.js"), ".js");
        assert_eq!(extname(".DS_Store"), "");
        assert_eq!(extname("x/.DS_Store"), "");
        assert_eq!(extname("x.d.ts"), ".ts");
        assert_eq!(extname("COPYING"), "");
        assert_eq!(extname(".."), "");
        assert_eq!(extname("..a"), ".a");
        assert_eq!(extname("..."), ".");
        assert_eq!(extname("a."), ".");
    }

    #[test]
    fn tar_order() {
        let mut v = vec![
            "b.js",
            "10.js",
            "9.js",
            "_under.js",
            "a.js",
            "B.JS",
            "LICENSE",
            "x.json",
        ];
        v.sort_by(|a, b| compare_tar(&SortKey::new(a), &SortKey::new(b)));
        assert_eq!(
            v,
            vec![
                "LICENSE",
                "_under.js",
                "10.js",
                "9.js",
                "a.js",
                "b.js",
                "B.JS",
                "x.json"
            ]
        );
    }

    #[test]
    fn listing_order() {
        assert_eq!(compare_listing("a10", "a9"), Ordering::Greater);
        assert_eq!(compare_listing("a", "A"), Ordering::Less);
        assert!(starts_upper("README"));
        assert!(starts_upper("_x"));
        assert!(!starts_upper("dist/x"));
    }
}
