//! packDynamic as a plain Rust function, without Node: the pipeline from a
//! package folder to a tgz, read back with the `tar` crate.

use std::fs;
use std::io::Read;
use std::path::Path;

use dynpack::integrity::{integrity_of_file, Algorithm};
use dynpack::pack::{pack_dynamic, Compression, PackOptions};

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn fixture(root: &Path) {
    write(
        root,
        "package.json",
        r#"{"name":"@s/demo-dynamic","version":"1.0.0","files":["dist"],"bundleDependencies":true,"dependencies":{"dep":"1"}}"#,
    );
    write(root, "dist/index.js", "module.exports = 1\n");
    write(root, "dist/index.d.ts", "export {}\n");
    write(root, "README.md", "# demo\n");
    write(root, "yarn.lock", "lock\n");
    write(
        root,
        "node_modules/dep/package.json",
        r#"{"name":"dep","version":"1.0.0"}"#,
    );
    write(root, "node_modules/dep/index.js", "dep\n");
    write(root, "src/ignored.ts", "not in files\n");
}

fn read_tgz(path: &Path) -> Vec<(String, u64, u32, u64)> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let h = e.header().clone();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            assert_eq!(body.len() as u64, h.size().unwrap());
            (
                path,
                h.size().unwrap(),
                h.mode().unwrap(),
                h.mtime().unwrap(),
            )
        })
        .collect()
}

#[test]
fn packs_a_dist_dynamic_folder() {
    let src = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    fixture(src.path());
    let report = pack_dynamic(
        src.path(),
        &PackOptions {
            destination: Some(dest.path().to_path_buf()),
            compression: Compression::Fast,
            ..Default::default()
        },
    )
    .unwrap();
    let written = report.path.clone().unwrap();
    assert_eq!(written, dest.path().join("s-demo-dynamic-1.0.0.tgz"));
    assert_eq!(report.filename, "s-demo-dynamic-1.0.0.tgz");
    assert_eq!(report.bundled, vec!["dep"]);
    assert_eq!(report.entry_count, 6);

    let entries = read_tgz(&written);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "package/dist/index.js",
            "package/node_modules/dep/index.js",
            "package/node_modules/dep/package.json",
            "package/package.json",
            "package/README.md",
            "package/dist/index.d.ts",
        ]
    );
    assert!(entries.iter().all(|e| e.2 == 0o644 && e.3 == 499_162_500));
    assert_eq!(
        report.unpacked_size,
        entries.iter().map(|e| e.1).sum::<u64>()
    );
    assert_eq!(
        integrity_of_file(&written, &[Algorithm::Sha512]).unwrap(),
        report.integrity
    );
    // nothing but the tgz in the destination: no temporary file left behind
    assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 1);
}

#[test]
fn dry_run_and_npm_compression() {
    // The test binary links the system zlib, standing in for Node's.
    let _ = unsafe { libz_sys::zlibVersion() };
    let src = tempfile::tempdir().unwrap();
    fixture(src.path());
    let dest = tempfile::tempdir().unwrap();
    let opts = PackOptions {
        destination: Some(dest.path().to_path_buf()),
        dry_run: true,
        ..Default::default()
    };
    let dry = pack_dynamic(src.path(), &opts).unwrap();
    assert!(dry.path.is_none());
    assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 0);
    let real = pack_dynamic(
        src.path(),
        &PackOptions {
            dry_run: false,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(dry.integrity, real.integrity);
    assert_eq!(read_tgz(&real.path.unwrap()).len(), 6);
}

#[test]
fn fast_output_does_not_depend_on_thread_count() {
    let src = tempfile::tempdir().unwrap();
    fixture(src.path());
    // enough data for several parallel blocks
    let big: String = (0..3_000_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    write(src.path(), "dist/big.js", &big);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                pack_dynamic(
                    src.path(),
                    &PackOptions {
                        dry_run: true,
                        compression: Compression::Fast,
                        ..Default::default()
                    },
                )
                .unwrap()
                .integrity
            })
    };
    assert_eq!(run(1), run(4));
}
