//! The cosign signature image (`SIGNATURE_SPEC.md`): what the registry push
//! stores at the tag `sha256-<hex>.sig` beside the signed image.
//!
//! One layer per signature: the payload blob, media type
//! `application/vnd.dev.cosign.simplesigning.v1+json`, with the base64
//! signature in the `dev.cosignproject.cosign/signature` annotation; the
//! config lists the payload digests as `rootfs.diff_ids`. Signing an image
//! that already has signatures keeps their layers and adds the new one.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::oci::image::{sha256_digest, Descriptor, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST};
use crate::sign::payload;

pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";

/// The tag cosign keeps an image's signatures under: `sha256:<hex>` →
/// `sha256-<hex>.sig`.
pub fn signature_tag(manifest_digest: &str) -> String {
    format!("{}.sig", manifest_digest.replacen(':', "-", 1))
}

/// One signature layer: the payload's descriptor with the signature.
pub fn signature_layer(payload_bytes: &[u8], signature_b64: &str) -> Value {
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_SIGNATURE, signature_b64);
    json!({
        "mediaType": payload::MEDIA_TYPE,
        "size": payload_bytes.len(),
        "digest": sha256_digest(payload_bytes),
        "annotations": annotations,
    })
}

/// The config and manifest bytes of the signature image holding `layers`
/// (existing layers first, then new ones; a layer whose digest and
/// signature are already there is not added twice).
pub fn signature_image(existing: &[Value], new: &[Value]) -> (Vec<u8>, Vec<u8>) {
    let mut layers: Vec<Value> = existing.to_vec();
    for l in new {
        let same = |x: &Value| {
            x.get("digest") == l.get("digest")
                && x.pointer("/annotations/dev.cosignproject.cosign~1signature")
                    == l.pointer("/annotations/dev.cosignproject.cosign~1signature")
        };
        if !layers.iter().any(same) {
            layers.push(l.clone());
        }
    }
    let diff_ids: Vec<&Value> = layers.iter().filter_map(|l| l.get("digest")).collect();
    let mut config = Map::new();
    config.insert("architecture".into(), json!(""));
    config.insert("created".into(), json!("0001-01-01T00:00:00Z"));
    config.insert(
        "history".into(),
        json!([{ "created": "0001-01-01T00:00:00Z" }]),
    );
    config.insert("os".into(), json!(""));
    config.insert(
        "rootfs".into(),
        json!({ "type": "layers", "diff_ids": diff_ids }),
    );
    config.insert("config".into(), json!({}));
    let config = serde_json::to_vec(&Value::Object(config)).expect("JSON");
    let config_desc = Descriptor::of(MEDIA_TYPE_CONFIG, &config);
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(MEDIA_TYPE_MANIFEST));
    m.insert("config".into(), Value::Object(config_desc.to_json()));
    m.insert("layers".into(), Value::Array(layers));
    (config, serde_json::to_vec(&Value::Object(m)).expect("JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_and_image() {
        assert_eq!(signature_tag("sha256:abc"), "sha256-abc.sig");
        let p = payload::simple_signing("q.io/a/b:1", "sha256:00").unwrap();
        let one = signature_layer(&p, "c2ln");
        let (config, manifest) = signature_image(&[], std::slice::from_ref(&one));
        let m: Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(m["layers"][0]["annotations"][ANNOTATION_SIGNATURE], "c2ln");
        assert_eq!(m["layers"][0]["mediaType"], payload::MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], json!(sha256_digest(&config)));
        let c: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(c["rootfs"]["diff_ids"][0], json!(sha256_digest(&p)));
        // signing again with another key keeps the first layer; the same one is not doubled
        let two = signature_layer(&p, "b3RoZXI=");
        let (_, manifest) = signature_image(&m["layers"].as_array().unwrap().clone(), &[one, two]);
        let m: Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(m["layers"].as_array().unwrap().len(), 2);
    }
}
