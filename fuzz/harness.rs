//! The checks behind each fuzz target, shared by `fuzz/fuzz_targets/*.rs`
//! (libFuzzer, nightly) and `tests/fuzz_regressions.rs` (stable `cargo
//! test`, replaying `fuzz/regressions/<target>/*`), so a crash found once
//! is re-checked on every CI run without a nightly toolchain.
//!
//! Each function takes raw fuzzer bytes, must never panic, hang or allocate
//! without bound, and asserts the properties the rest of dynpack relies on.

#![allow(dead_code, unexpected_cfgs)]

use std::io::Read;
use std::path::Path;

use dynpack::integrity::{expected, integrity_of_bytes, parse_sri, Algorithm};
use dynpack::manifest::{clean_join, Manifest};
use dynpack::pack::{report_file_name, tarball_file_name};
use dynpack::packlist::{parse_rules, Pattern};
use dynpack::tarball::{pad_to_block, EntryType, Header, NPM_MTIME};

/// Splits fuzzer bytes at the first NUL: rule text, then candidate paths.
fn split_input(data: &[u8]) -> (String, String) {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let rest = data.get(cut + 1..).unwrap_or(&[]);
    (
        String::from_utf8_lossy(&data[..cut]).into_owned(),
        String::from_utf8_lossy(rest).into_owned(),
    )
}

/// ignore-file text and `files` entries: parsing, brace expansion and
/// matching (full and partial, as ignore-walk asks) of every rule against
/// every candidate path and its `/`-rooted form.
pub fn glob_rules(data: &[u8]) {
    let (rules_text, paths) = split_input(data);
    // One rule may expand to 100,000 alternatives, as in npm: seconds of
    // work (under AddressSanitizer, minutes), bounded, and covered by unit
    // tests and the regression replays. The fuzzer skips those rules to
    // explore the rest; `cargo test` replays them whole.
    #[cfg(fuzzing)]
    let rules_text: String = rules_text
        .split('\n')
        .take(16)
        .filter(|line| {
            dynpack::packlist::brace_expand(line.trim()).map_or(true, |v| v.len() <= 1_000)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let rules = parse_rules(&rules_text);
    let mut candidates: Vec<&str> = paths.split('\n').take(4).collect();
    candidates.push("");
    candidates.push("/");
    for rule in rules.iter().take(16) {
        let _ = rule.is_relative();
        for path in &candidates {
            let rooted = format!("/{path}");
            for partial in [false, true] {
                let _ = rule.matches(path, partial);
                let _ = rule.matches(&rooted, partial);
            }
        }
    }
    // A rule made only of plain name characters is a literal basename rule
    // (matchBase): it matches that name at any depth, in any case.
    for line in rules_text.lines().take(8) {
        let name = line.trim();
        if !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            let p = Pattern::new(name);
            assert!(p.matches(name, false), "{name:?} must match itself");
            assert!(
                p.matches(&format!("/dir/{name}"), false),
                "{name:?} basename"
            );
            assert!(
                p.matches(&name.to_ascii_uppercase(), false),
                "{name:?} nocase"
            );
        }
    }
}

/// Pieces of minimatch's segment grammar: the extglob target builds rules
/// from them, so the fuzzer reaches nesting, adoption and classes at once.
const EXTGLOB_PIECES: &[&str] = &[
    "!(",
    "@(",
    "+(",
    "*(",
    "?(",
    "(",
    ")",
    ")",
    "|",
    "*",
    "?",
    "**",
    "/",
    "\\",
    "\\|",
    "[",
    "]",
    "!",
    "^",
    "-",
    "[[:alpha:]]",
    "[[:upper:]]",
    "[[:digit:]]",
    "[[:space:]]",
    "[[:graph:]]",
    "[[:print:]]",
    "[[:ascii:]]",
    "[:",
    ":]",
    "{",
    "}",
    ",",
    "..",
    ".",
    "a",
    "B",
    "k",
    "s",
    "1",
    "é",
    "ß",
    "ſ",
    "\u{212A}",
    "😀",
    " ",
    "#",
];

/// Names to match extglob rules against.
const EXTGLOB_NAMES: &[&str] = &[
    "a", "B", "k", "K", "\u{212A}", "s", "ſ", "1", ".", "..", "é", "É", "ß", "😀", "(", ")", "|",
    "!", "[", "]", "-", " ", "ab", ".a", "a.b",
];

/// Extglob rules built from grammar pieces (one byte each) and a name
/// (after a NUL). Checks, beyond never panicking or hanging: a rule with
/// its `!` doubled matches exactly as the rule; a one-segment rule matches
/// a name, `dir/<name>` and `/<name>` alike (matchBase), in full and
/// partial matching.
pub fn glob_extglob(data: &[u8]) {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let rule: String = data[..cut.min(64)]
        .iter()
        .map(|&b| EXTGLOB_PIECES[b as usize % EXTGLOB_PIECES.len()])
        .collect();
    let name: String = data
        .get(cut + 1..)
        .unwrap_or(&[])
        .iter()
        .take(8)
        .map(|&b| EXTGLOB_NAMES[b as usize % EXTGLOB_NAMES.len()])
        .collect();
    #[cfg(fuzzing)]
    if dynpack::packlist::brace_expand(&rule).map_or(true, |v| v.len() > 1_000) {
        return;
    }
    let p = Pattern::new(&rule);
    if rule.is_empty() || rule.starts_with('#') {
        // A comment or an empty rule; `!!#…` and `!!` are neither.
        let _ = p.matches(&name, false);
        return;
    }
    let doubled = Pattern::new(&format!("!!{rule}"));
    assert_eq!(p.error(), doubled.error(), "{rule:?}");
    let one_segment = !rule.contains(['/', '{']);
    for partial in [false, true] {
        for path in [name.clone(), format!("dir/{name}"), format!("/{name}")] {
            let m = p.matches(&path, partial);
            assert_eq!(m, doubled.matches(&path, partial), "{rule:?} on {path:?}");
            if one_segment && !name.is_empty() && p.error().is_none() {
                assert_eq!(m, p.matches(&name, partial), "{rule:?}: basename {path:?}");
            }
        }
    }
}

/// SRI strings as ssri parses them, and the round trip of a computed SRI.
pub fn sri(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for h in parse_sri(&text) {
        assert!(!h.algorithm.is_empty() && !h.digest.is_empty());
        assert!(h
            .algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert!(!h.digest.contains(char::is_whitespace) && !h.digest.contains('?'));
        for o in &h.options {
            assert!(!o.contains(char::is_whitespace) && !o.contains('?'));
        }
    }
    match expected(&text) {
        Ok(e) => {
            assert!(!e.digests.is_empty());
            let _ = e.matches(&text);
        }
        Err(err) => assert!(
            matches!(err.code(), "E_INVALID_SRI" | "E_UNKNOWN_ALGORITHM"),
            "unexpected code {}",
            err.code()
        ),
    }
    // Whatever junk surrounds it, a computed SRI verifies its own data
    // unless the junk names a stronger algorithm (ssri picks the strongest).
    let all = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ];
    let own = integrity_of_bytes(data, &all);
    let e = expected(&own).expect("a computed SRI parses");
    assert_eq!(e.algorithm, Algorithm::Sha512);
    assert!(e.matches(&integrity_of_bytes(data, &[Algorithm::Sha512])));
    let mixed = format!("{text} {own}");
    if let Ok(e) = expected(&mixed) {
        if e.algorithm == Algorithm::Sha512 {
            assert!(e.matches(&integrity_of_bytes(data, &[Algorithm::Sha512])));
        }
    }
}

/// package.json text: parsing and npm's normalization never panic, and the
/// tarball name derived from any name/version stays inside the destination.
pub fn manifest(data: &[u8]) {
    let m = match Manifest::parse(Path::new("package.json"), data) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(e.code(), "E_INVALID_MANIFEST");
            return;
        }
    };
    for (_, target) in &m.bin {
        assert!(!target.is_empty() && !target.starts_with('/'));
        assert!(!target.split('/').any(|s| s == ".."), "bin {target:?}");
        let _ = m.is_bin(target);
    }
    for name in m.dependencies.iter().chain(&m.bundle_dependencies) {
        let _ = m.edge_kind(name, true);
        let _ = m.edge_kind(name, false);
    }
    for f in m.files.iter().flatten() {
        let c = clean_join(f);
        assert!(!c.starts_with('/') && !c.split('/').any(|s| s == ".."));
    }
    let (Ok(name), Ok(version)) = (m.require_name(), m.require_version()) else {
        return;
    };
    let file = tarball_file_name(name, version);
    assert!(!file.contains('/') && !file.contains('\\'), "{file:?}");
    assert!(file.ends_with(".tgz") && file != "." && file != "..");
    assert!(Path::new(&file).components().count() == 1, "{file:?}");
    let _ = report_file_name(name, version);
}

/// Reads little-endian integers off the front of the fuzzer input.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
}

/// One entry's header encoded as node-tar does, read back by the `tar`
/// crate: path (ustar split or PAX), link path, size (octal, base-256 or
/// PAX), mode and mtime must come back unchanged.
pub fn tar_header(data: &[u8]) {
    let mut input = Bytes(data);
    let [flags] = input.take::<1>();
    let size_raw = u64::from_le_bytes(input.take::<8>());
    let mode = u32::from_le_bytes(input.take::<4>()) % 0o10000000;
    let mtime_raw = u64::from_le_bytes(input.take::<8>());
    let (path_text, link_text) = split_input(input.0);
    // Paths are built from file names found by the walk: no NUL, no empty,
    // `.` or `..` segment, no trailing slash (node-tar's splitPrefix runs
    // path.dirname/join, which would normalize those differently).
    let (Some(rel), link_rel) = (walk_path(&path_text), walk_path(&link_text)) else {
        return;
    };
    let path = format!("package/{rel}");
    let link = format!("package/{}", link_rel.unwrap_or_default());
    let hard_link = flags & 1 == 1;
    // Small sizes carry their data; large ones (base-256 range) only the header.
    let with_data = flags & 2 == 0;
    // (The tar crate cannot skip data past u64::MAX, so stay below 2^56.)
    let size = if with_data {
        size_raw % 4096
    } else {
        size_raw >> 8
    };
    let mtime = if flags & 4 == 0 { NPM_MTIME } else { mtime_raw };
    let owner = if flags & 8 == 0 { None } else { Some(0) };

    let mut out = Vec::new();
    Header {
        path: &path,
        mode,
        size,
        mtime,
        entry_type: if hard_link {
            EntryType::HardLink
        } else {
            EntryType::File
        },
        linkpath: hard_link.then_some(link.as_str()),
        owner,
    }
    .encode(&mut out);
    assert_eq!(out.len() % 512, 0);
    let content: Vec<u8> = if with_data {
        (0..size).map(|i| (i % 251) as u8).collect()
    } else {
        Vec::new()
    };
    if with_data {
        out.extend_from_slice(&content);
        pad_to_block(&mut out, size);
        out.extend_from_slice(&[0u8; 1024]);
    }

    // The PAX body, read by its length prefixes as POSIX specifies.
    if out[156] == b'x' {
        let len = tar::Header::from_byte_slice(&out[..512])
            .entry_size()
            .expect("PAX size") as usize;
        let records = pax_records(&out[512..512 + len]).expect("well-formed PAX body");
        let get = |k: &str| records.iter().find(|r| r.0 == k).map(|r| r.1.as_slice());
        assert_eq!(get("path"), Some(path.as_bytes()), "PAX path");
        if hard_link {
            assert_eq!(get("linkpath"), Some(link.as_bytes()), "PAX linkpath");
        }
        assert_eq!(get("size"), Some(size.to_string().as_bytes()), "PAX size");
    }
    // The tar crate splits PAX records at '\n' instead of using their
    // lengths, so it cannot read names holding a newline (node-tar can).
    if path.contains('\n') || (hard_link && link.contains('\n')) {
        return;
    }

    let mut archive = tar::Archive::new(&out[..]);
    let mut entries = archive.entries().expect("entries");
    let mut entry = entries
        .next()
        .expect("one entry")
        .unwrap_or_else(|e| panic!("unreadable entry for {path:?}: {e}"));
    assert_eq!(
        &*entry.path_bytes(),
        path.as_bytes(),
        "path of {path:?} (mode {mode:o}, size {size})"
    );
    assert_eq!(entry.size(), size, "size of {path:?}");
    let h = entry.header().clone();
    assert_eq!(h.mode().expect("mode"), mode);
    assert_eq!(h.mtime().expect("mtime"), mtime);
    if hard_link {
        assert_eq!(h.entry_type(), tar::EntryType::Link);
        assert_eq!(
            entry.link_name_bytes().as_deref(),
            Some(link.as_bytes()),
            "link of {path:?}"
        );
    } else {
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
    }
    if let Some(owner) = owner {
        assert_eq!(h.uid().expect("uid"), owner);
    }
    if with_data {
        let mut body = Vec::new();
        entry.read_to_end(&mut body).expect("body");
        assert!(body == content, "content of {path:?}");
        drop(entry);
        assert!(entries.next().is_none(), "a single entry");
    }
}

/// POSIX `"<len> key=value\n"` records; None when a length is wrong.
fn pax_records(mut body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let sp = body.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&body[..sp]).ok()?.parse().ok()?;
        if len <= sp + 1 || len > body.len() || body[len - 1] != b'\n' {
            return None;
        }
        let kv = &body[sp + 1..len - 1];
        let eq = kv.iter().position(|&b| b == b'=')?;
        out.push((
            String::from_utf8(kv[..eq].to_vec()).ok()?,
            kv[eq + 1..].to_vec(),
        ));
        body = &body[len..];
    }
    Some(out)
}

/// `text` as a path the package walk could produce, or None.
fn walk_path(text: &str) -> Option<String> {
    let text = text.replace('\0', "");
    let segments: Vec<&str> = text
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect();
    let joined = segments.join("/");
    (!joined.is_empty()).then_some(joined)
}
