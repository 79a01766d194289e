//! Hostile input and faults at the Rust level: every case ends in the right
//! output or an error with a stable code, never a hang, a file outside the
//! destination or a half-written file. (Cases that need Node, npm, another
//! user or a tmpfs are in `__test__/hostile-*.test.mjs`.)

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dynpack::error::Error;
use dynpack::gzip::{FastGzip, Sink};
use dynpack::pack::{compress_tar, pack_dynamic, Compression, PackOptions, PackReport};
use dynpack::packlist::PackList;
use dynpack::tarball::{write_entries, TarEntry, TarStyle};

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn manifest(root: &Path, json: &str) {
    write(root, "package.json", json);
}

fn fast(dest: &Path) -> PackOptions {
    PackOptions {
        destination: Some(dest.to_path_buf()),
        compression: Compression::Fast,
        ..Default::default()
    }
}

/// Everything in `dir`, recursively: relative path to content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(root, &p, out);
            } else if meta.is_file() {
                out.insert(rel, fs::read(&p).unwrap());
            } else {
                out.insert(rel, b"<special>".to_vec());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".dynpack-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `f` on another thread and fails the test if it has not returned
/// within `secs` (a FIFO opened for reading would block forever).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s: it hangs"))
}

fn code(r: Result<PackReport, Error>) -> &'static str {
    match r {
        Ok(r) => panic!("expected an error, packed {}", r.id),
        Err(e) => e.code(),
    }
}

/// The entry names of a tgz, read back with the `tar` crate.
fn tgz_names(path: &Path) -> Vec<String> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            assert_eq!(body.len() as u64, e.header().size().unwrap());
            e.path().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn bad_package_folders_fail_with_codes_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let pack = |dir: &Path| pack_dynamic(dir, &fast(&dest));

    assert_eq!(code(pack(&tmp.path().join("missing"))), "E_NOT_FOUND");
    let file = tmp.path().join("a-file");
    fs::write(&file, "x").unwrap();
    assert_eq!(code(pack(&file)), "E_NOT_A_DIRECTORY");
    let dir = tmp.path().join("pkg");
    fs::create_dir(&dir).unwrap();
    assert_eq!(code(pack(&dir)), "E_NO_PACKAGE_JSON");

    let invalid: &[(&str, &str)] = &[
        ("{\"name\": \"x\",", "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", "JSON object"),
        ("\"text\"", "JSON object"),
        ("{\"version\": \"1.0.0\"}", "`name` is missing"),
        (
            "{\"name\": \"\", \"version\": \"1.0.0\"}",
            "`name` is missing",
        ),
        (
            "{\"name\": 5, \"version\": \"1.0.0\"}",
            "`name` must be a string",
        ),
        (
            "{\"name\": null, \"version\": \"1.0.0\"}",
            "`name` must be a string",
        ),
        (
            "{\"name\": [\"x\"], \"version\": \"1.0.0\"}",
            "`name` must be a string",
        ),
        ("{\"name\": \"x\"}", "`version` is missing"),
        (
            "{\"name\": \"x\", \"version\": 1}",
            "`version` must be a string",
        ),
        (
            "{\"name\": \"x\", \"version\": {}}",
            "`version` must be a string",
        ),
    ];
    for (text, why) in invalid {
        manifest(&dir, text);
        let e = pack(&dir).unwrap_err();
        assert_eq!(e.code(), "E_INVALID_MANIFEST", "{text}");
        let msg = e.to_string();
        assert!(
            msg.contains("package.json") && msg.contains(why),
            "{text}: {msg}"
        );
    }

    // Nesting deep enough to overflow a naive recursive parser.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    manifest(&dir, &deep);
    assert_eq!(code(pack(&dir)), "E_INVALID_MANIFEST");

    // Larger than any real manifest: refused by its size, without reading it.
    let huge = dir.join("package.json");
    fs::write(&huge, "{}").unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(dynpack::manifest::MAX_MANIFEST_BYTES + 1)
        .unwrap();
    let e = pack(&dir).unwrap_err();
    assert_eq!(e.code(), "E_INVALID_MANIFEST");
    assert!(e.to_string().contains("bytes"), "{e}");

    fs::remove_file(&huge).unwrap();
    fs::create_dir(&huge).unwrap();
    assert_eq!(code(pack(&dir)), "E_INVALID_MANIFEST");
    fs::remove_dir(&huge).unwrap();
    #[cfg(unix)]
    {
        mkfifo(&huge);
        let d = dir.clone();
        let dst = dest.clone();
        let r = within(20, move || pack_dynamic(&d, &fast(&dst)));
        assert_eq!(code(r), "E_INVALID_MANIFEST");
    }
    assert!(snapshot(&dest).is_empty());
}

#[test]
fn a_large_but_valid_manifest_packs() {
    let tmp = tempfile::tempdir().unwrap();
    let filler: String = (0..200_000).map(|i| format!("\"k{i}\":{i},")).collect();
    manifest(
        tmp.path(),
        &format!("{{{filler}\"name\":\"big\",\"version\":\"1.0.0\"}}"),
    );
    let r = pack_dynamic(
        tmp.path(),
        &PackOptions {
            dry_run: true,
            compression: Compression::Fast,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.id, "big@1.0.0");
}

#[test]
fn package_names_never_write_outside_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("a/b/dest");
    fs::create_dir_all(&dest).unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let cases = [
        ("../../x", "1.0.0", "..-..-x-1.0.0.tgz"),
        ("/abs/x", "1.0.0", "-abs-x-1.0.0.tgz"),
        ("a\\b", "..\\1", "a-b-..-1.tgz"),
        ("@../../../x", "1.0.0", "..-..-..-x-1.0.0.tgz"),
        ("..", "..", "..-...tgz"),
        ("x", "../../../../etc/y", "x-..-..-..-..-etc-y.tgz"),
        ("\\\\server\\share", "1", "--server-share-1.tgz"),
    ];
    for (name, version, file) in cases {
        let json = serde_json::json!({ "name": name, "version": version }).to_string();
        manifest(&src, &json);
        let r = pack_dynamic(&src, &fast(&dest)).unwrap();
        assert_eq!(r.path.as_deref(), Some(dest.join(file).as_path()), "{name}");
        assert_eq!(r.path.unwrap().parent(), Some(dest.as_path()));
    }
    let outside: Vec<_> = snapshot(tmp.path())
        .into_keys()
        .filter(|p| !p.starts_with("a") && !p.starts_with("src"))
        .collect();
    assert!(outside.is_empty(), "written outside: {outside:?}");
    assert_eq!(snapshot(&dest).len(), cases.len());
}

#[test]
fn tarball_names_too_long_or_with_nul_are_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();

    // 244 + "-1.0.0.tgz" = 254 bytes: legal, and so must be its temp name.
    let long = "n".repeat(244);
    manifest(&src, &format!(r#"{{"name":"{long}","version":"1.0.0"}}"#));
    let r = pack_dynamic(&src, &fast(&dest)).unwrap();
    assert_eq!(r.filename.len(), 254);
    assert!(r.path.unwrap().is_file());

    let longer = "n".repeat(300);
    manifest(&src, &format!(r#"{{"name":"{longer}","version":"1.0.0"}}"#));
    let e = pack_dynamic(&src, &fast(&dest)).unwrap_err();
    assert_eq!(e.code(), "E_INVALID_MANIFEST");
    assert!(e.to_string().contains("255"), "{e}");
    let dry = PackOptions {
        dry_run: true,
        ..fast(&dest)
    };
    assert!(pack_dynamic(&src, &dry).is_ok(), "a dry run writes no file");

    manifest(&src, r#"{"name":"x\u0000y","version":"1.0.0"}"#);
    let e = pack_dynamic(&src, &fast(&dest)).unwrap_err();
    assert_eq!(e.code(), "E_INVALID_MANIFEST");
    assert!(e.to_string().contains("NUL"), "{e}");
    assert_eq!(snapshot(&dest).len(), 1);
}

#[test]
fn files_entries_cannot_reach_outside_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "outside.txt", "secret");
    write(tmp.path(), "secret/key.pem", "secret");
    let dir = tmp.path().join("pkg");
    let files = [
        "../outside.txt",
        "../secret",
        "../secret/**",
        "/etc/passwd",
        "../../",
        "..",
        "/",
        "/dist/../../outside.txt",
        "dist",
    ];
    manifest(
        &dir,
        &serde_json::json!({ "name": "p", "version": "1.0.0", "files": files }).to_string(),
    );
    write(&dir, "dist/index.js", "1");
    let list = PackList::collect(&dir).unwrap();
    let paths: Vec<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
    for f in &list.files {
        assert!(f.abs.starts_with(&dir), "{} is outside", f.abs.display());
        assert!(!f.path.split('/').any(|s| s == ".." || s.is_empty()));
    }
    assert!(paths.contains(&"dist/index.js") && paths.contains(&"package.json"));
    assert!(!paths
        .iter()
        .any(|p| p.contains("outside") || p.contains("key")));
}

#[cfg(unix)]
#[test]
fn symlinks_are_never_followed_and_loops_never_hang() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "outside.txt", "secret");
    write(tmp.path(), "secret/key.pem", "secret");
    let dir = tmp.path().join("pkg");
    manifest(
        &dir,
        r#"{"name":"p","version":"1.0.0","main":"out-file","bin":{"x":"dist/up/index.js"},
            "bundleDependencies":["dep","self-loop"],"dependencies":{"dep":"1","self-loop":"1"}}"#,
    );
    write(&dir, "dist/index.js", "1");
    symlink("../outside.txt", dir.join("out-file")).unwrap();
    symlink("../secret", dir.join("out-dir")).unwrap();
    symlink(".", dir.join("self")).unwrap();
    symlink("loop-b", dir.join("loop-a")).unwrap();
    symlink("loop-a", dir.join("loop-b")).unwrap();
    symlink("..", dir.join("dist/up")).unwrap();
    symlink("/", dir.join("root")).unwrap();
    symlink("nowhere", dir.join("dangling")).unwrap();
    fs::create_dir(dir.join("node_modules")).unwrap();
    // A bundled link back to the package itself, and one to itself.
    symlink("..", dir.join("node_modules/dep")).unwrap();
    symlink("self-loop", dir.join("node_modules/self-loop")).unwrap();

    let d = dir.clone();
    let list = within(60, move || PackList::collect(&d)).unwrap();
    for f in &list.files {
        let meta = fs::symlink_metadata(&f.abs).unwrap();
        assert!(meta.is_file(), "{} is not a regular file", f.abs.display());
        assert!(!f.path.contains("outside") && !f.path.contains("key"));
        let depth = f.path.matches("node_modules/dep/").count();
        assert!(depth <= 1, "followed a loop: {}", f.path);
    }
    let own: Vec<&str> = list
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !p.starts_with("node_modules/"))
        .collect();
    assert_eq!(own, vec!["dist/index.js", "package.json"]);

    // The same with the links named in `files`: still dropped, as npm does.
    manifest(
        &dir,
        r#"{"name":"p","version":"1.0.0","files":["out-file","out-dir","self","loop-a","dist"]}"#,
    );
    let d = dir.clone();
    let list = within(60, move || PackList::collect(&d)).unwrap();
    let paths: Vec<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["dist/index.js", "package.json"]);
}

#[cfg(unix)]
#[test]
fn fifos_and_sockets_are_skipped_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    manifest(
        &dir,
        r#"{"name":"p","version":"1.0.0","main":"dist/pipe","bin":"dist/sock","files":["dist","pipe"]}"#,
    );
    write(&dir, "dist/index.js", "1");
    mkfifo(&dir.join("dist/pipe"));
    mkfifo(&dir.join("pipe"));
    let _sock = std::os::unix::net::UnixListener::bind(dir.join("dist/sock")).unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let (d, o) = (dir.clone(), fast(&dest));
    let r = within(60, move || pack_dynamic(&d, &o)).unwrap();
    assert_eq!(
        tgz_names(&r.path.unwrap()),
        vec!["package/dist/index.js", "package/package.json"]
    );
}

#[cfg(unix)]
#[test]
fn an_ignore_file_that_is_a_fifo_or_folder_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    manifest(&dir, r#"{"name":"p","version":"1.0.0"}"#);
    write(&dir, "index.js", "1");
    mkfifo(&dir.join(".npmignore"));
    let d = dir.clone();
    let e = within(30, move || PackList::collect(&d)).unwrap_err();
    assert_eq!(e.code(), "E_NOT_A_FILE");
    assert!(e.to_string().contains("FIFO") && e.to_string().contains(".npmignore"));

    fs::remove_file(dir.join(".npmignore")).unwrap();
    fs::create_dir_all(dir.join("lib/.gitignore")).unwrap();
    write(&dir, "lib/a.js", "1");
    let e = PackList::collect(&dir).unwrap_err();
    assert_eq!(e.code(), "E_NOT_A_FILE");
    assert!(e.to_string().contains("folder"), "{e}");
}

/// A package whose files are planned, so that they can change before the
/// tar is written.
fn planned(dir: &Path, files: &[(&str, usize)]) -> Vec<TarEntry> {
    manifest(dir, r#"{"name":"p","version":"1.0.0"}"#);
    for (name, size) in files {
        write(dir, name, vec![b'x'; *size]);
    }
    TarEntry::plan(&PackList::collect(dir).unwrap())
}

fn entry<'a>(entries: &'a [TarEntry], path: &str) -> &'a TarEntry {
    entries.iter().find(|e| e.path == path).unwrap()
}

fn write_one(
    e: &TarEntry,
    sink: &mut dyn FnMut(Vec<u8>) -> dynpack::error::Result<()>,
) -> &'static str {
    match write_entries(std::slice::from_ref(e), &TarStyle::npm(), sink) {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn files_that_change_between_walk_and_tar_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let entries = planned(
        dir,
        &[
            ("grow.js", 1000),
            ("shrink.js", 1000),
            ("gone.js", 1000),
            ("dir.js", 10),
        ],
    );
    let mut discard = |_: Vec<u8>| Ok(());
    fs::write(dir.join("grow.js"), vec![b'y'; 1001]).unwrap();
    assert_eq!(
        write_one(entry(&entries, "grow.js"), &mut discard),
        "E_FILE_CHANGED"
    );
    fs::write(dir.join("shrink.js"), vec![b'y'; 999]).unwrap();
    assert_eq!(
        write_one(entry(&entries, "shrink.js"), &mut discard),
        "E_FILE_CHANGED"
    );
    fs::remove_file(dir.join("gone.js")).unwrap();
    assert_eq!(
        write_one(entry(&entries, "gone.js"), &mut discard),
        "E_VANISHED"
    );
    fs::remove_file(dir.join("dir.js")).unwrap();
    fs::create_dir(dir.join("dir.js")).unwrap();
    assert_eq!(
        write_one(entry(&entries, "dir.js"), &mut discard),
        "E_FILE_CHANGED"
    );
    // Unchanged files still write.
    assert_eq!(
        write_one(entry(&entries, "package.json"), &mut discard),
        "ok"
    );
}

#[cfg(unix)]
#[test]
fn a_file_swapped_for_a_fifo_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let entries = planned(&dir, &[("pipe.js", 100)]);
    fs::remove_file(dir.join("pipe.js")).unwrap();
    mkfifo(&dir.join("pipe.js"));
    let e = entry(&entries, "pipe.js").clone();
    let code = within(20, move || write_one(&e, &mut |_| Ok(())));
    assert_eq!(code, "E_FILE_CHANGED");
}

#[test]
fn files_that_change_while_being_read_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let big = 8 << 20;
    let entries = planned(&dir, &[("big.js", big)]);
    let e = entry(&entries, "big.js");
    let path = dir.join("big.js");

    // The sink runs between reads of the file: change it there.
    let shrink = |_: Vec<u8>| {
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        Ok(())
    };
    let mut shrink = shrink;
    assert_eq!(write_one(e, &mut shrink), "E_FILE_CHANGED");

    fs::write(&path, vec![b'x'; big]).unwrap();
    let grow = |_: Vec<u8>| {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"more").unwrap();
        Ok(())
    };
    let mut grow = grow;
    assert_eq!(write_one(e, &mut grow), "E_FILE_CHANGED");

    // Unlinked while open: the open file is still whole, so is the archive.
    fs::write(&path, vec![b'x'; big]).unwrap();
    let mut total = 0usize;
    let mut unlink = |chunk: Vec<u8>| {
        let _ = fs::remove_file(&path);
        total += chunk.len();
        Ok(())
    };
    assert_eq!(write_one(e, &mut unlink), "ok");
    assert_eq!(total, 512 + big);
}

/// Counts the gzip output and truncates `victim` at the first write: by
/// then the tar thread is at most a channel's worth of chunks ahead.
struct TruncatingSink {
    victim: PathBuf,
    written: usize,
}

impl Sink for TruncatingSink {
    fn write(&mut self, bytes: &[u8]) -> dynpack::error::Result<()> {
        if self.written == 0 {
            fs::OpenOptions::new()
                .write(true)
                .open(&self.victim)
                .unwrap()
                .set_len(0)
                .unwrap();
        }
        self.written += bytes.len();
        Ok(())
    }
}

#[test]
fn the_pipeline_stops_on_a_file_truncated_mid_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let entries = planned(&dir, &[("huge.bin", 96 << 20)]);
    let mut sink = TruncatingSink {
        victim: dir.join("huge.bin"),
        written: 0,
    };
    let r = compress_tar(
        &entries,
        &TarStyle::npm(),
        Box::new(FastGzip::new()),
        &mut sink,
        &None,
    );
    assert_eq!(r.unwrap_err().code(), "E_FILE_CHANGED");
}

#[test]
fn destination_problems_leave_it_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    manifest(&src, r#"{"name":"p","version":"1.0.0"}"#);
    write(&src, "index.js", "1");

    let file = tmp.path().join("dest-file");
    fs::write(&file, "keep").unwrap();
    let e = pack_dynamic(&src, &fast(&file)).unwrap_err();
    assert_eq!(e.code(), "E_DESTINATION");
    assert!(e.to_string().contains("dest-file"));
    assert_eq!(fs::read(&file).unwrap(), b"keep");

    let missing = tmp.path().join("missing");
    assert_eq!(code(pack_dynamic(&src, &fast(&missing))), "E_DESTINATION");
    assert!(!missing.exists());

    // A failed pack leaves an older tarball of the same name untouched.
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("p-1.0.0.tgz"), "old").unwrap();
    let cancel = Arc::new(AtomicBool::new(true));
    let opts = PackOptions {
        cancel: Some(cancel),
        ..fast(&dest)
    };
    assert_eq!(code(pack_dynamic(&src, &opts)), "E_ABORTED");
    assert_eq!(fs::read(dest.join("p-1.0.0.tgz")).unwrap(), b"old");
    assert_eq!(snapshot(&dest).len(), 1, "no temp files");
    // A successful one replaces it whole.
    let ok = pack_dynamic(&src, &fast(&dest)).unwrap();
    assert_eq!(tgz_names(&ok.path.unwrap()).len(), 2);
    assert_eq!(snapshot(&dest).len(), 1, "no temp files");
}

#[test]
fn concurrent_packs_of_the_same_output_all_end_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    manifest(&src, r#"{"name":"p","version":"1.0.0"}"#);
    for i in 0..50 {
        write(
            &src,
            &format!("lib/f{i}.js"),
            format!("module.exports = {i}\n").repeat(2000),
        );
    }
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let reports: Vec<PackReport> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| pack_dynamic(&src, &fast(&dest)).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(reports.windows(2).all(|w| w[0].integrity == w[1].integrity));
    let written = dest.join("p-1.0.0.tgz");
    let integrity =
        dynpack::integrity::integrity_of_file(&written, &[dynpack::integrity::Algorithm::Sha512])
            .unwrap();
    assert_eq!(integrity, reports[0].integrity);
    assert_eq!(tgz_names(&written).len(), 51);
    assert_eq!(snapshot(&dest).len(), 1, "no temp files");
}

#[test]
fn cancelling_mid_pack_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    manifest(&src, r#"{"name":"p","version":"1.0.0"}"#);
    // Incompressible data, so that compressing takes a while.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let data: Vec<u8> = (0..(64 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    write(&src, "blob.bin", &data);
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = PackOptions {
        cancel: Some(cancel.clone()),
        ..fast(&dest)
    };
    let r = std::thread::scope(|s| {
        let job = s.spawn(|| pack_dynamic(&src, &opts));
        // Cancel once the temporary file exists: the pack is under way.
        while temp_files(&dest).is_empty() && !job.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        cancel.store(true, Ordering::Relaxed);
        job.join().unwrap()
    });
    assert_eq!(code(r), "E_ABORTED");
    assert!(snapshot(&dest).is_empty(), "{:?}", snapshot(&dest).keys());
}

#[test]
fn deep_trees_pack_without_overflowing_the_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    manifest(&src, r#"{"name":"p","version":"1.0.0"}"#);
    let deep: String = (0..200).map(|i| format!("d{}/", i % 10)).collect();
    write(&src, &format!("{deep}leaf.js"), "1");
    let s = src.clone();
    // Node runs tasks on libuv threads; test on a small stack to have margin.
    let list = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || PackList::collect(&s))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert!(list.files.iter().any(|f| f.path.ends_with("leaf.js")));
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let r = pack_dynamic(&src, &fast(&dest)).unwrap();
    let names = tgz_names(&r.path.unwrap());
    assert_eq!(names[0], format!("package/{deep}leaf.js"));
}

#[test]
fn rules_npm_cannot_compile_fail_and_hostile_rules_stay_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    manifest(dir, r#"{"name":"p","version":"1.0.0"}"#);
    write(dir, "index.js", "1");
    write(dir, "lib/.npmignore", "a".repeat(70_000));
    let e = PackList::collect(dir).unwrap_err();
    assert_eq!(e.code(), "E_INVALID_RULE");
    assert!(e.to_string().contains(".npmignore"), "{e}");
    fs::remove_file(dir.join("lib/.npmignore")).unwrap();
    let files =
        serde_json::json!({ "name": "p", "version": "1.0.0", "files": ["b".repeat(70_000)] });
    manifest(dir, &files.to_string());
    assert_eq!(PackList::collect(dir).unwrap_err().code(), "E_INVALID_RULE");

    // Rules that expand to huge sets (brace-expansion caps them as npm does).
    manifest(dir, r#"{"name":"p","version":"1.0.0"}"#);
    let hostile = [
        "{a,b}".repeat(40),
        "{'..\u{fffd}}".to_string(),
        format!("{}x{}", "{".repeat(5000), "}".repeat(5000)),
        "**/".repeat(2000) + "x",
        "{1..100000}".to_string(),
    ];
    write(dir, ".npmignore", hostile.join("\n"));
    let d = dir.to_path_buf();
    let list = within(120, move || PackList::collect(&d)).unwrap();
    let paths: Vec<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["index.js", "package.json"]);
}
