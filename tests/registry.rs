//! The Rust push and remote-read API against a real docker-registry on
//! 127.0.0.1 over plain HTTP (TLS and auth are covered by
//! __test__/registry.test.mjs). Skipped when docker-registry is missing,
//! failed when CI=true.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dynpack::oci::{build_oci_layout, OciOptions};
use dynpack::registry::auth::AuthOptions;
use dynpack::registry::reference::ImageReference;
use dynpack::registry::transport::TransportOptions;
use dynpack::registry::{blob_reader, pull_manifest, push_image, PushOptions};
use sha2::{Digest, Sha256};

const REGISTRY: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    host: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_registry(dir: &Path) -> Option<Registry> {
    if !Path::new(REGISTRY).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI: docker-registry is not installed"
        );
        eprintln!("skipped: needs docker-registry");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let registry = Registry {
        child: Command::new(REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        host: format!("127.0.0.1:{port}"),
    };
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(registry);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("docker-registry did not start");
}

fn plugin(root: &Path) -> PathBuf {
    let dir = root.join("plugin");
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"@acme/p-dynamic","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("dist/index.js"),
        "module.exports = 1\n".repeat(5000),
    )
    .unwrap();
    dir
}

fn insecure() -> TransportOptions {
    TransportOptions {
        tls_verify: false,
        ..TransportOptions::default()
    }
}

#[test]
fn push_then_read_back_over_http() {
    let t = tempfile::tempdir().unwrap();
    let Some(registry) = start_registry(t.path()) else {
        return;
    };
    let tag = format!("{}/acme/plugins:1.0.0", registry.host);
    let layout = t.path().join("layout");
    let built = build_oci_layout(&[plugin(t.path())], &OciOptions::new(&layout, &tag)).unwrap();

    let opts = PushOptions {
        source: layout.clone(),
        transport: insecure(),
        ..PushOptions::default()
    };
    let r = push_image(&opts).unwrap();
    assert_eq!(r.tag, tag);
    assert_eq!(r.digest, built.manifest_digest);
    assert_eq!((r.uploaded, r.mounted, r.existing), (2, 0, 0));
    assert!(!r.up_to_date);

    let again = push_image(&opts).unwrap();
    assert!(again.up_to_date);
    assert_eq!(again.bytes_uploaded, 0);

    // The remote read the inspect code uses.
    let reference = ImageReference::parse(&tag).unwrap();
    let m = pull_manifest(&reference, &[], &AuthOptions::default(), &insecure()).unwrap();
    let local = std::fs::read(
        layout
            .join("blobs/sha256")
            .join(&built.manifest_digest[7..]),
    )
    .unwrap();
    assert_eq!(m.bytes, local);
    assert_eq!(m.digest, built.manifest_digest);
    assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");

    let mut layer = Vec::new();
    blob_reader(
        &format!("{}/acme/plugins", registry.host),
        &built.layer_digest,
        &AuthOptions::default(),
        &insecure(),
    )
    .unwrap()
    .read_to_end(&mut layer)
    .unwrap();
    assert_eq!(
        format!("sha256:{:x}", Sha256::digest(&layer)),
        built.layer_digest
    );

    let missing = ImageReference::parse(&format!("{}/acme/plugins:nope", registry.host)).unwrap();
    let e = pull_manifest(&missing, &[], &AuthOptions::default(), &insecure()).unwrap_err();
    assert_eq!(e.code(), "E_IMAGE_NOT_FOUND");
}
