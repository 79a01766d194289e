//! Replays every input under `fuzz/regressions/<target>/` through the same
//! checks the cargo-fuzz targets run (`fuzz/harness.rs`), so inputs that
//! once crashed a target are re-checked by a plain `cargo test` on stable.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "{}: no regression inputs",
        dir.display()
    );
    for input in inputs {
        let data = std::fs::read(&input).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{} fails again", input.display());
    }
}

#[test]
fn glob_rules() {
    replay("glob_rules", harness::glob_rules);
}

#[test]
fn sri() {
    replay("sri", harness::sri);
}

#[test]
fn manifest() {
    replay("manifest", harness::manifest);
}

#[test]
fn tar_header() {
    replay("tar_header", harness::tar_header);
}

#[test]
fn glob_extglob() {
    replay("glob_extglob", harness::glob_extglob);
}
