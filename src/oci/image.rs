//! The image's JSON documents: config, manifest and the index descriptor.
//!
//! Every object is built key by key in a fixed order (serde_json's map
//! keeps insertion order here), and user-supplied maps are sorted by key,
//! so the bytes, and therefore the digests, depend only on the inputs.
//! Nothing comes from the build host: the platform is an option and every
//! timestamp derives from one epoch.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The annotation (and label) RHDH's installer reads the plugin list from.
pub const DYNAMIC_PACKAGES: &str = "io.backstage.dynamic-packages";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's full image name on a layout descriptor (informational).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// `os/architecture[/variant]`, as in `--platform linux/amd64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    /// linux/amd64: what RHDH pods run and (from 1.9) pull.
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok(p)) {
            return Err(Error::InvalidOption {
                message: format!(
                    "platform {s:?} is not os/architecture[/variant] in Go's names (e.g. linux/amd64, linux/arm64, linux/arm/v7)"
                ),
            });
        }
        Ok(Platform {
            os: parts[0].into(),
            architecture: parts[1].into(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("architecture".into(), json!(self.architecture));
        m.insert("os".into(), json!(self.os));
        if let Some(v) = &self.variant {
            m.insert("variant".into(), json!(v));
        }
        Value::Object(m)
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::hex::hex(&Sha256::digest(bytes)))
}

/// A content descriptor (`mediaType`, `digest`, `size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: &'static str,
    pub digest: String,
    pub size: u64,
}

impl Descriptor {
    pub fn of(media_type: &'static str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type,
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
        }
    }

    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("mediaType".into(), json!(self.media_type));
        m.insert("digest".into(), json!(self.digest));
        m.insert("size".into(), json!(self.size));
        m
    }
}

fn sorted(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Inputs of the config document.
pub struct ConfigSpec<'a> {
    pub platform: &'a Platform,
    pub created: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub diff_id: &'a str,
    /// The image directories, for the history entry.
    pub directories: &'a [String],
}

/// The image config: platform, labels, one layer, one history entry.
pub fn config_json(spec: &ConfigSpec) -> Vec<u8> {
    let mut cfg = Map::new();
    cfg.insert("Labels".into(), sorted(spec.labels));
    let mut m = Map::new();
    m.insert("created".into(), json!(spec.created));
    m.insert("architecture".into(), json!(spec.platform.architecture));
    if let Some(v) = &spec.platform.variant {
        m.insert("variant".into(), json!(v));
    }
    m.insert("os".into(), json!(spec.platform.os));
    m.insert("config".into(), Value::Object(cfg));
    m.insert(
        "rootfs".into(),
        json!({ "type": "layers", "diff_ids": [spec.diff_id] }),
    );
    m.insert(
        "history".into(),
        json!([{
            "created": spec.created,
            "created_by": format!("dynpack buildOciLayout: {}", spec.directories.join(" ")),
        }]),
    );
    serde_json::to_vec(&Value::Object(m)).expect("JSON of strings")
}

/// The image manifest: one config, one gzip layer, sorted annotations.
pub fn manifest_json(
    config: &Descriptor,
    layer: &Descriptor,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(MEDIA_TYPE_MANIFEST));
    m.insert("config".into(), Value::Object(config.to_json()));
    m.insert("layers".into(), json!([Value::Object(layer.to_json())]));
    if !annotations.is_empty() {
        m.insert("annotations".into(), sorted(annotations));
    }
    serde_json::to_vec(&Value::Object(m)).expect("JSON of strings")
}

/// The `index.json` descriptor that names the manifest `ref_name`.
pub fn index_descriptor(
    manifest: &Descriptor,
    ref_name: &str,
    image_name: &str,
    platform: &Platform,
) -> Value {
    let mut m = manifest.to_json();
    let mut ann = BTreeMap::new();
    ann.insert(ANNOTATION_IMAGE_NAME.to_string(), image_name.to_string());
    ann.insert(ANNOTATION_REF_NAME.to_string(), ref_name.to_string());
    m.insert("annotations".into(), sorted(&ann));
    m.insert("platform".into(), platform.to_json());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        assert_eq!(Platform::parse("linux/amd64").unwrap(), Platform::default());
        let p = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(p.variant.as_deref(), Some("v7"));
        for bad in ["linux", "Linux/amd64", "linux/amd64/v1/x", "linux//v7", ""] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn documents_have_a_fixed_key_order() {
        let mut labels = BTreeMap::new();
        labels.insert("z".to_string(), "1".to_string());
        labels.insert("a".to_string(), "2".to_string());
        let platform = Platform::default();
        let cfg = config_json(&ConfigSpec {
            platform: &platform,
            created: "1970-01-01T00:00:00Z",
            labels: &labels,
            diff_id: "sha256:00",
            directories: &["p".to_string()],
        });
        assert_eq!(
            String::from_utf8(cfg).unwrap(),
            r#"{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Labels":{"a":"2","z":"1"}},"rootfs":{"type":"layers","diff_ids":["sha256:00"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"dynpack buildOciLayout: p"}]}"#
        );
        let c = Descriptor::of(MEDIA_TYPE_CONFIG, b"{}");
        let l = Descriptor {
            media_type: MEDIA_TYPE_LAYER_GZIP,
            digest: "sha256:11".into(),
            size: 3,
        };
        let m = String::from_utf8(manifest_json(&c, &l, &labels)).unwrap();
        assert!(m.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"#));
        assert!(m.ends_with(r#""annotations":{"a":"2","z":"1"}}"#));
    }
}
