//! The simple-signing payload cosign signs (cosign `SIGNATURE_SPEC.md`;
//! containers/image parses it strictly: `critical` and `optional` only).

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

pub const MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The payload for the image `docker_reference` (as pushed, e.g.
/// `quay.io/acme/plugins:1.0.0`; cosign itself writes the repository only)
/// whose manifest digest is `manifest_digest`. Compact JSON, fixed key
/// order, `optional: null`.
pub fn simple_signing(docker_reference: &str, manifest_digest: &str) -> Result<Vec<u8>> {
    if !manifest_digest.starts_with("sha256:") || docker_reference.is_empty() {
        return Err(Error::InvalidOption {
            message: format!(
                "a signature needs an image reference and its sha256 manifest digest, not {docker_reference:?} and {manifest_digest:?}"
            ),
        });
    }
    let mut critical = Map::new();
    critical.insert(
        "identity".into(),
        json!({ "docker-reference": docker_reference }),
    );
    critical.insert(
        "image".into(),
        json!({ "docker-manifest-digest": manifest_digest }),
    );
    critical.insert("type".into(), json!(SIGNATURE_TYPE));
    let mut doc = Map::new();
    doc.insert("critical".into(), Value::Object(critical));
    doc.insert("optional".into(), Value::Null);
    Ok(serde_json::to_vec(&Value::Object(doc)).expect("JSON of strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_as_cosign_writes_it() {
        let p = simple_signing("127.0.0.1:5101/sig/app:signed", "sha256:0541").unwrap();
        assert_eq!(
            String::from_utf8(p).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5101/sig/app:signed"},"image":{"docker-manifest-digest":"sha256:0541"},"type":"cosign container image signature"},"optional":null}"#
        );
        assert!(simple_signing("x", "md5:1").is_err());
    }
}
