//! Outputs and reads that hostile folders cannot turn against the host:
//! ignore files and oci-archive indexes read with a bound, no writing
//! through links in an image layout, existing blobs verified, FIFO outputs
//! refused without blocking, and hashing that an abort stops.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use dynpack::error::Error;
use dynpack::integrity::{
    integrity_of_bytes_cancellable, integrity_of_file_cancellable, Algorithm,
};
use dynpack::oci::{build_oci_layout, OciOptions, OciReport};
use dynpack::packlist::PackList;

const TAG: &str = "quay.io/example/plugins:1.0.0";

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A file of `len` bytes that takes no disk space.
fn sparse(root: &Path, rel: &str, len: u64) {
    write(root, rel, "");
    fs::File::options()
        .write(true)
        .open(root.join(rel))
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// Runs `f` on another thread and fails if it has not returned in `secs`.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s: it hangs"))
}

fn plugin(root: &Path) -> PathBuf {
    let dir = root.join("plugin");
    write(
        &dir,
        "package.json",
        r#"{"name":"@s/plugin-x-dynamic","version":"1.0.0"}"#,
    );
    write(&dir, "dist/index.js", "module.exports = 1\n");
    dir
}

fn build(plugin: &Path, output: &Path, archive: bool) -> Result<OciReport, Error> {
    let mut o = OciOptions::new(output.to_path_buf(), TAG);
    o.archive = archive;
    build_oci_layout(&[plugin.to_path_buf()], &o)
}

fn fails_with(r: Result<OciReport, Error>, code: &str, needle: &str) {
    match r {
        Ok(r) => panic!("expected {code}, built {}", r.manifest_digest),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// 1 TiB: reading it whole would abort the process (no such allocation).
const HUGE: u64 = 1 << 40;

#[test]
fn huge_or_sparse_ignore_files_are_refused_before_reading() {
    let t = tempfile::tempdir().unwrap();
    for (i, rel) in [
        ".npmignore",
        "lib/.gitignore",
        "node_modules/dep/lib/.npmignore",
    ]
    .iter()
    .enumerate()
    {
        let dir = t.path().join(format!("p{i}"));
        write(
            &dir,
            "package.json",
            r#"{"name":"p","version":"1.0.0","dependencies":{"dep":"1"},"bundleDependencies":true}"#,
        );
        write(&dir, "lib/a.js", "1");
        write(
            &dir,
            "node_modules/dep/package.json",
            r#"{"name":"dep","version":"1.0.0"}"#,
        );
        write(&dir, "node_modules/dep/lib/b.js", "1");
        sparse(&dir, rel, HUGE);
        let e = PackList::collect(&dir).unwrap_err();
        assert_eq!(e.code(), "E_INVALID_RULE", "{rel}: {e}");
        assert!(e.to_string().contains(rel), "names the file: {e}");
        assert!(e.to_string().contains("bytes"), "{e}");
    }
}

#[test]
fn an_ignore_file_at_the_bound_is_still_read() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "package.json",
        r#"{"name":"p","version":"1.0.0"}"#,
    );
    write(t.path(), "a.js", "1");
    write(t.path(), "b.js", "1");
    // Generous for real files: 4 MiB of rules is read and honoured.
    let mut rules = "# comment line that takes some room\n".repeat(4 << 20 >> 5);
    rules.push_str("b.js\n");
    write(t.path(), ".npmignore", rules);
    let list = PackList::collect(t.path()).unwrap();
    let paths: Vec<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["a.js", "package.json"]);
}

#[test]
fn an_oci_archive_with_a_huge_index_json_is_refused_before_reading() {
    let t = tempfile::tempdir().unwrap();
    let p = plugin(t.path());
    let out = t.path().join("image.tar");
    let mut header = tar::Header::new_ustar();
    header.set_path("index.json").unwrap();
    header.set_size(HUGE);
    header.set_mode(0o644);
    header.set_cksum();
    fs::write(&out, header.as_bytes()).unwrap();
    fs::File::options()
        .write(true)
        .open(&out)
        .unwrap()
        .set_len(512 + HUGE + 1024)
        .unwrap();
    let r = within(60, move || build(&p, &out, true));
    fails_with(r, "E_OCI_LAYOUT", "more than the");
}

#[test]
fn links_where_a_layout_is_written_are_refused_and_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let p = plugin(t.path());
    let elsewhere = t.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();

    // The output folder itself is a link.
    let out = t.path().join("linked-output");
    std::os::unix::fs::symlink(&elsewhere, &out).unwrap();
    fails_with(build(&p, &out, false), "E_OCI_LAYOUT", "symbolic link");
    assert!(names(&elsewhere).is_empty(), "nothing written through it");

    // blobs, or blobs/sha256, is a link in an existing layout.
    for linked in ["blobs", "blobs/sha256"] {
        let out = t
            .path()
            .join(format!("layout-{}", linked.replace('/', "-")));
        build(&p, &out, false).unwrap();
        let index = fs::read(out.join("index.json")).unwrap();
        let at = out.join(linked);
        fs::rename(&at, t.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &at).unwrap();
        let mut o = OciOptions::new(out.clone(), "quay.io/example/plugins:2.0.0");
        o.source_date_epoch = 1;
        fails_with(
            build_oci_layout(std::slice::from_ref(&p), &o),
            "E_OCI_LAYOUT",
            "symbolic link",
        );
        assert!(
            names(&elsewhere).is_empty(),
            "{linked}: nothing written through it"
        );
        assert_eq!(fs::read(out.join("index.json")).unwrap(), index);
        fs::remove_dir_all(t.path().join("moved")).unwrap();
    }

    // index.json is a link.
    let out = t.path().join("layout-index");
    build(&p, &out, false).unwrap();
    fs::rename(out.join("index.json"), elsewhere.join("index.json")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("index.json"), out.join("index.json")).unwrap();
    fails_with(build(&p, &out, false), "E_OCI_LAYOUT", "symbolic link");
}

#[test]
fn existing_blobs_are_verified_not_trusted_by_name() {
    let t = tempfile::tempdir().unwrap();
    let p = plugin(t.path());
    let good = t.path().join("good");
    let report = build(&p, &good, false).unwrap();
    let hex = report
        .layer_digest
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    let blob = fs::read(good.join("blobs/sha256").join(&hex)).unwrap();

    let corrupt = |name: &str, make: &dyn Fn(&Path)| {
        let out = t.path().join(name);
        build(&p, &out, false).unwrap();
        let index = fs::read(out.join("index.json")).unwrap();
        let at = out.join("blobs/sha256").join(&hex);
        fs::remove_file(&at).unwrap();
        make(&at);
        let r = within(60, {
            let (p, out) = (p.clone(), out.clone());
            move || build(&p, &out, false)
        });
        fails_with(r, "E_OCI_LAYOUT", &hex);
        assert_eq!(fs::read(out.join("index.json")).unwrap(), index, "{name}");
    };
    corrupt("short", &|at| fs::write(at, &blob[1..]).unwrap());
    corrupt("same-size", &|at| {
        let mut other = blob.clone();
        other[0] ^= 1;
        fs::write(at, other).unwrap()
    });
    corrupt("folder", &|at| fs::create_dir(at).unwrap());
    corrupt("fifo", &|at| mkfifo(at));
    corrupt("link", &|at| {
        let target = at.with_extension("real");
        fs::write(&target, &blob).unwrap();
        std::os::unix::fs::symlink(&target, at).unwrap()
    });

    // A sound blob is reused: a second build into the layout succeeds.
    assert_eq!(
        build(&p, &good, false).unwrap().layer_digest,
        report.layer_digest
    );
}

#[test]
fn an_archive_output_that_is_a_fifo_or_a_link_is_refused_without_blocking() {
    let t = tempfile::tempdir().unwrap();
    let p = plugin(t.path());
    let fifo = t.path().join("pipe.tar");
    mkfifo(&fifo);
    let r = within(20, {
        let (p, fifo) = (p.clone(), fifo.clone());
        move || build(&p, &fifo, true)
    });
    fails_with(r, "E_OCI_LAYOUT", "FIFO");

    let link = t.path().join("link.tar");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let r = within(20, {
        let (p, link) = (p.clone(), link.clone());
        move || build(&p, &link, true)
    });
    fails_with(r, "E_OCI_LAYOUT", "symbolic link");

    // The folder lock was released: a good archive is still written there.
    build(&p, &t.path().join("good.tar"), true).unwrap();
}

#[test]
fn hashing_stops_when_cancelled() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("big");
    sparse(t.path(), "big", 64 << 20);
    let cancelled = Some(Arc::new(AtomicBool::new(true)));
    let e = integrity_of_file_cancellable(&file, &[Algorithm::Sha512], &cancelled).unwrap_err();
    assert_eq!(e.code(), "E_ABORTED");
    let data = vec![0u8; 16 << 20];
    let e = integrity_of_bytes_cancellable(&data, &[Algorithm::Sha512], &cancelled).unwrap_err();
    assert_eq!(e.code(), "E_ABORTED");
    assert_eq!(
        integrity_of_bytes_cancellable(&data, &[Algorithm::Sha512], &None).unwrap(),
        dynpack::integrity::integrity_of_bytes(&data, &[Algorithm::Sha512])
    );
}
