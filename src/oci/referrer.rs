//! OCI 1.1 referrers: an SBOM attached to an image as an artifact manifest.
//!
//! The artifact is an image manifest with `artifactType`
//! `application/vnd.cyclonedx+json`, the empty config (`{}`), the SBOM as
//! its one layer (titled `<directory>.cdx.json`) and `subject` = the image
//! manifest: what `oras attach --artifact-type application/vnd.cyclonedx+json`
//! pushes. In a layout it is stored like any manifest and listed in
//! `index.json` without a tag, with its `artifactType` and annotations on the
//! descriptor (as oras-go's OCI store lists untagged manifests and the
//! referrers API lists referrers). Its bytes are final: a registry push
//! sends them unchanged, so the digest stays what the layout says.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use crate::oci::image::{Descriptor, ANNOTATION_CREATED, MEDIA_TYPE_MANIFEST};
use crate::sbom;

pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty config blob every artifact manifest points to.
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// An SBOM artifact ready to store or push.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The manifest bytes (push them unchanged).
    pub manifest: Vec<u8>,
    pub manifest_descriptor: Descriptor,
    /// The SBOM bytes (the layer blob).
    pub sbom: Vec<u8>,
    pub sbom_descriptor: Descriptor,
    /// The `index.json` / referrers-list descriptor of the manifest.
    pub index_descriptor: Value,
}

/// The artifact manifest of `sbom` (file name `title`) for the image
/// manifest `subject`, created at `created` (RFC 3339).
pub fn sbom_artifact(sbom: Vec<u8>, title: &str, subject: &Descriptor, created: &str) -> Artifact {
    let config = Descriptor::of(MEDIA_TYPE_EMPTY, EMPTY_CONFIG);
    let sbom_descriptor = Descriptor::of(sbom::MEDIA_TYPE, &sbom);
    let mut layer = sbom_descriptor.to_json();
    layer.insert("annotations".into(), json!({ ANNOTATION_TITLE: title }));
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_CREATED.to_string(), created.to_string());

    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(MEDIA_TYPE_MANIFEST));
    m.insert("artifactType".into(), json!(sbom::MEDIA_TYPE));
    m.insert("config".into(), Value::Object(config.to_json()));
    m.insert("layers".into(), json!([Value::Object(layer)]));
    m.insert("subject".into(), Value::Object(subject.to_json()));
    m.insert("annotations".into(), json!(annotations));
    let manifest = serde_json::to_vec(&Value::Object(m)).expect("JSON of strings");
    let manifest_descriptor = Descriptor::of(MEDIA_TYPE_MANIFEST, &manifest);

    let mut d = manifest_descriptor.to_json();
    d.insert("artifactType".into(), json!(sbom::MEDIA_TYPE));
    d.insert("annotations".into(), json!(annotations));
    Artifact {
        manifest,
        manifest_descriptor,
        sbom,
        sbom_descriptor,
        index_descriptor: Value::Object(d),
    }
}

/// Is this index descriptor an SBOM referrer dynpack may replace?
fn is_sbom_referrer(d: &Value) -> bool {
    d.get("artifactType").and_then(Value::as_str) == Some(sbom::MEDIA_TYPE)
}

/// The index with `artifacts` listed (once each), after dropping the SBOM
/// referrers whose subject is no longer in the index (the image a rebuilt
/// tag used to name). `subject_of` reads a listed referrer's manifest and
/// returns its subject digest; `None` (unreadable) keeps the entry.
pub fn add_to_index(
    mut index: Value,
    artifacts: &[Value],
    subject_of: impl Fn(&str) -> Option<String>,
) -> Value {
    let Some(Value::Array(list)) = index.get_mut("manifests") else {
        return index;
    };
    let live: HashSet<String> = list
        .iter()
        .filter(|d| !is_sbom_referrer(d))
        .filter_map(|d| d.get("digest").and_then(Value::as_str).map(str::to_string))
        .collect();
    list.retain(|d| {
        if !is_sbom_referrer(d) {
            return true;
        }
        let digest = d.get("digest").and_then(Value::as_str).unwrap_or("");
        match subject_of(digest) {
            Some(subject) => live.contains(&subject),
            None => true,
        }
    });
    for a in artifacts {
        let digest = a.get("digest");
        if !list.iter().any(|d| d.get("digest") == digest) {
            list.push(a.clone());
        }
    }
    index
}

/// The `subject.digest` of manifest bytes, if any.
pub fn subject_digest(manifest: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(manifest).ok()?;
    v.get("subject")?
        .get("digest")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_manifest_shape() {
        let subject = Descriptor::of(MEDIA_TYPE_MANIFEST, b"{\"x\":1}");
        let a = sbom_artifact(
            b"{}\n".to_vec(),
            "p.cdx.json",
            &subject,
            "1970-01-01T00:00:00Z",
        );
        let text = String::from_utf8(a.manifest.clone()).unwrap();
        assert!(text.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.cyclonedx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.cyclonedx+json","#), "{text}");
        assert_eq!(subject_digest(&a.manifest), Some(subject.digest.clone()));
        assert_eq!(a.index_descriptor["artifactType"], sbom::MEDIA_TYPE);
    }

    #[test]
    fn stale_referrers_are_dropped_and_new_ones_added_once() {
        let index = json!({"manifests": [
            {"digest": "sha256:img"},
            {"digest": "sha256:old", "artifactType": sbom::MEDIA_TYPE},
            {"digest": "sha256:keep", "artifactType": sbom::MEDIA_TYPE},
            {"digest": "sha256:other", "artifactType": "application/x"},
        ]});
        let new = json!({"digest": "sha256:new", "artifactType": sbom::MEDIA_TYPE});
        let out = add_to_index(index, &[new.clone(), new], |d| match d {
            "sha256:old" => Some("sha256:gone".into()),
            "sha256:keep" => Some("sha256:img".into()),
            _ => None,
        });
        let digests: Vec<&str> = out["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["digest"].as_str().unwrap())
            .collect();
        assert_eq!(
            digests,
            ["sha256:img", "sha256:keep", "sha256:other", "sha256:new"]
        );
    }
}
