//! What `inspect` reports about an image's supply chain in a registry: its
//! cosign signatures (the `sha256-<hex>.sig` tag, checked against a public
//! key: each payload must name the inspected digest and verify with the
//! key) and its referrers (the SBOMs listed in the `sha256-<hex>` referrers
//! tag, as `dynpack push` and oras maintain it on registries without the
//! referrers API).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::inspect::rules::{Findings, Rule};
use crate::inspect::source::ImageSource;
use crate::oci::image::sha256_digest;
use crate::sign::{self, keys, manifest::signature_tag, manifest::ANNOTATION_SIGNATURE, payload};

/// Largest signature payload read.
const MAX_PAYLOAD_BYTES: u64 = 64 << 10;

/// The signatures found for the inspected digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureSummary {
    /// `sha256-<hex>.sig`.
    pub tag: String,
    /// Signature layers at that tag.
    pub found: u32,
    /// Those signed by the key for the inspected digest.
    pub verified: u32,
}

/// One entry of the referrers tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerSummary {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: u64,
    pub annotations: BTreeMap<String, String>,
}

/// The manifest at `tag` of a registry source, `None` when there is none.
fn manifest_at(source: &dyn ImageSource, tag: &str) -> Result<Option<Value>> {
    match source.manifest(tag) {
        Ok(m) => Ok(serde_json::from_slice(&m.bytes).ok()),
        Err(Error::ImageNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_payload(source: &dyn ImageSource, digest: &str) -> Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    source
        .blob(digest)?
        .take(MAX_PAYLOAD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(digest, e))?;
    Ok(
        (bytes.len() as u64 <= MAX_PAYLOAD_BYTES && sha256_digest(&bytes) == digest)
            .then_some(bytes),
    )
}

/// Does `payload` name `digest` as cosign's simple-signing payload does?
fn names_digest(payload: &[u8], digest: &str) -> bool {
    serde_json::from_slice::<Value>(payload).is_ok_and(|v| {
        v.pointer("/critical/image/docker-manifest-digest")
            .and_then(Value::as_str)
            == Some(digest)
            && v.pointer("/critical/type").and_then(Value::as_str) == Some(payload::SIGNATURE_TYPE)
    })
}

/// The image a signature payload names (`critical.identity.docker-reference`).
fn signed_identity(payload: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    Some(
        v.pointer("/critical/identity/docker-reference")?
            .as_str()?
            .to_string(),
    )
}

/// A reference as containers/image's `ParseNormalizedNamed` reads it: the
/// repository with Docker Hub's defaults made explicit (`busybox` and
/// `index.docker.io/busybox` are `docker.io/library/busybox`), and the
/// tag, if any. A digest is dropped: the payload's digest is checked
/// separately.
fn normalized_name(reference: &str) -> (String, Option<String>) {
    let name_tag = reference.split_once('@').map_or(reference, |(n, _)| n);
    let last_slash = name_tag.rfind('/');
    let (name, tag) = match name_tag.rfind(':') {
        Some(c) if last_slash.is_none_or(|s| c > s) => {
            (&name_tag[..c], Some(name_tag[c + 1..].to_string()))
        }
        _ => (name_tag, None),
    };
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if crate::oci::reference::is_registry_host(h) => (h, p),
        _ => ("docker.io", name),
    };
    let host = if host == "index.docker.io" {
        "docker.io"
    } else {
        host
    };
    let path = if host == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    (format!("{host}/{path}"), tag)
}

/// Whether a signature for `signed` (its docker-reference) is one for the
/// inspected image `intended`. containers/image's default policy,
/// `matchRepoDigestOrExact` (signature/policy_reference_match.go), wants
/// the same repository, and the same tag when the image is named by tag;
/// but it refuses a repository-only identity, which is what cosign (and
/// `dynpack sign`) write, and for which containers-policy.json(5) says to
/// use `matchRepository`. So: the repositories must be equal, and the
/// tags too when both references carry one.
pub fn identity_matches(intended: &str, signed: &str) -> bool {
    let (want_repo, want_tag) = normalized_name(intended);
    let (repo, tag) = normalized_name(signed);
    repo == want_repo
        && match (want_tag, tag) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// The `signature` rule: with `key`, the image `digest` must have a cosign
/// signature made with it, whose payload names `image_name` (the
/// repository, and the tag when both name one) unless `any_repository`;
/// without `key`, the rule is skipped.
pub fn check_signature(
    source: &dyn ImageSource,
    registry: bool,
    digest: &str,
    image_name: Option<&str>,
    any_repository: bool,
    key: Option<&Path>,
    f: &mut Findings,
) -> Result<Option<SignatureSummary>> {
    let Some(key_path) = key else {
        f.skip(Rule::Signature);
        return Ok(None);
    };
    let pem = keys::read_key_file(key_path)?;
    let public = keys::load_public_key(&pem, &key_path.to_string_lossy())?;
    let tag = signature_tag(digest);
    if !registry {
        f.error(Rule::Signature, format!("cosign signatures live in a registry beside the image ({tag}); push the image, sign it and inspect the registry reference"));
        return Ok(None);
    }
    let layers = manifest_at(source, &tag)?
        .and_then(|m| m.get("layers").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let mut summary = SignatureSummary {
        tag: tag.clone(),
        found: 0,
        verified: 0,
    };
    // Signatures by the key for the digest that name another image.
    let mut elsewhere: Vec<String> = Vec::new();
    for layer in &layers {
        let Some(signature) = layer
            .pointer("/annotations/dev.cosignproject.cosign~1signature")
            .and_then(Value::as_str)
        else {
            continue;
        };
        debug_assert_eq!(ANNOTATION_SIGNATURE, "dev.cosignproject.cosign/signature");
        summary.found += 1;
        let Some(layer_digest) = layer.get("digest").and_then(Value::as_str) else {
            continue;
        };
        let payload = match read_payload(source, layer_digest) {
            Ok(Some(p)) => p,
            Ok(None) | Err(Error::ImageNotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        if !names_digest(&payload, digest) || sign::verify(&public, &payload, signature).is_err() {
            continue;
        }
        let identity = signed_identity(&payload).unwrap_or_default();
        match image_name {
            Some(name) if !any_repository && !identity_matches(name, &identity) => {
                elsewhere.push(identity)
            }
            _ => summary.verified += 1,
        }
    }
    if summary.found == 0 {
        f.error(
            Rule::Signature,
            format!("no cosign signature: the tag {tag} is missing or empty; sign the image (dynpack sign REF --key cosign.key)"),
        );
    } else if summary.verified == 0 && !elsewhere.is_empty() {
        f.error(
            Rule::Signature,
            format!(
                "{} signature(s) made with {} for {digest} name another image ({:?}), not {:?}: a signature copied with the image from another repository does not sign this one. Sign it here (dynpack sign), or accept any repository (--any-repository, anyRepository: true)",
                elsewhere.len(),
                key_path.display(),
                elsewhere[0],
                image_name.unwrap_or_default()
            ),
        );
    } else if summary.verified == 0 {
        f.error(
            Rule::Signature,
            format!(
                "{} signature(s) at {tag}, none made with {} for {digest}",
                summary.found,
                key_path.display()
            ),
        );
    }
    Ok(Some(summary))
}

/// The referrers listed in the `sha256-<hex>` tag of `digest` (empty for
/// a layout or archive, or when there is no such tag).
pub fn referrers(
    source: &dyn ImageSource,
    registry: bool,
    digest: &str,
) -> Result<Vec<ReferrerSummary>> {
    if !registry {
        return Ok(Vec::new());
    }
    let tag = crate::registry::push::referrers_tag(digest);
    let Some(index) = manifest_at(source, &tag)? else {
        return Ok(Vec::new());
    };
    let text = |d: &Value, k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(index
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(ReferrerSummary {
                digest: text(d, "digest")?,
                media_type: text(d, "mediaType").unwrap_or_default(),
                artifact_type: text(d, "artifactType"),
                size: d.get("size").and_then(Value::as_u64).unwrap_or(0),
                annotations: d
                    .get("annotations")
                    .and_then(Value::as_object)
                    .map(|a| {
                        a.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::identity_matches;

    #[test]
    fn a_signature_names_the_inspected_repository() {
        let by_tag = "127.0.0.1:5000/team/app:1.0";
        let by_digest = "127.0.0.1:5000/team/app@sha256:00";
        // cosign and dynpack sign: the repository only.
        assert!(identity_matches(by_tag, "127.0.0.1:5000/team/app"));
        assert!(identity_matches(by_digest, "127.0.0.1:5000/team/app"));
        // skopeo / podman: the reference signed, tag included.
        assert!(identity_matches(by_tag, "127.0.0.1:5000/team/app:1.0"));
        assert!(!identity_matches(by_tag, "127.0.0.1:5000/team/app:2.0"));
        assert!(identity_matches(by_digest, "127.0.0.1:5000/team/app:2.0"));
        // Copied to another repository, registry or port.
        for other in [
            "127.0.0.1:5000/team/other",
            "127.0.0.1:5001/team/app",
            "quay.io/team/app:1.0",
            "127.0.0.1:5000/team/app/x",
            "",
        ] {
            assert!(!identity_matches(by_tag, other), "{other}");
            assert!(!identity_matches(by_digest, other), "{other}");
        }
        // Docker Hub's spellings of one repository.
        assert!(identity_matches(
            "docker.io/library/busybox:1",
            "index.docker.io/library/busybox"
        ));
        assert!(identity_matches("docker.io/library/busybox:1", "busybox"));
        assert!(!identity_matches("docker.io/acme/busybox:1", "busybox"));
    }
}
