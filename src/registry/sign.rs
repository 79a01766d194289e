//! `dynpack sign`: a cosign signature for an image already in a registry.
//!
//! The image's manifest digest is read from the registry (a tag resolves
//! to the bytes it serves now), the simple-signing payload names
//! `<repository>` + that digest as cosign writes it, and the signature image
//! at `sha256-<hex>.sig` gets one more layer (the payload blob with the
//! signature annotation), keeping the layers already there. ECDSA P-256
//! signatures are deterministic (RFC 6979), so signing twice with the same
//! key changes nothing.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::oci::image::{sha256_digest, MEDIA_TYPE_MANIFEST};
use crate::pipeline::check_cancel;
use crate::registry::auth::AuthOptions;
use crate::registry::push::{accept_all, get_manifest, put_blob_bytes, put_manifest};
use crate::registry::reference::{ImageReference, Repository};
use crate::registry::transport::{Session, TransportOptions};
use crate::sign::{keys, manifest, payload};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Options of [`sign_image`].
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `host/repo:tag` or `host/repo@sha256:…`.
    pub reference: String,
    /// The private key file (cosign.key or a PKCS#8 / SEC1 PEM).
    pub key: PathBuf,
    /// The passphrase of an encrypted cosign key.
    pub passphrase: Option<String>,
    pub auth: AuthOptions,
    pub transport: TransportOptions,
}

/// What [`sign_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignReport {
    /// `<repository>@<digest>`: what the signature is for.
    pub reference: String,
    pub digest: String,
    /// `<repository>:sha256-<hex>.sig`.
    pub signature_tag: String,
    /// The digest of the signature manifest now at that tag.
    pub signature_digest: String,
    /// How many signatures the tag holds now.
    pub signatures: u32,
    /// This key's signature was already there: nothing was sent.
    pub up_to_date: bool,
}

/// The manifest digest `reference` names in the registry now.
fn resolve_digest(
    session: &Session,
    repo: &Repository,
    reference: &ImageReference,
) -> Result<String> {
    let part = reference
        .digest
        .clone()
        .or_else(|| reference.tag.clone())
        .expect("a tag or a digest");
    let bytes = get_manifest(session, &repo.path, &part, &accept_all())?.ok_or_else(|| {
        Error::ImageNotFound {
            what: reference.raw.clone(),
            reason: "the registry has no such manifest; push the image first".into(),
        }
    })?;
    let digest = sha256_digest(&bytes);
    if let Some(pinned) = &reference.digest {
        if *pinned != digest {
            return Err(session.protocol(format!(
                "asked for {pinned} but the bytes received hash to {digest}"
            )));
        }
    }
    Ok(digest)
}

/// The layers of the signature image at `tag`, if there is one.
fn existing_layers(session: &Session, repo: &Repository, tag: &str) -> Result<Vec<Value>> {
    let accept = format!("{MEDIA_TYPE_MANIFEST}, {DOCKER_MANIFEST}");
    let Some(bytes) = get_manifest(session, &repo.path, tag, &accept)? else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|_| session.protocol(format!("the signature tag {tag} is not JSON")))?;
    doc.get("layers")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| {
            session.protocol(format!(
                "the tag {tag} of {} is not a cosign signature image (no layers)",
                repo.path
            ))
        })
}

/// Signs the image `opts.reference` in its registry with `opts.key` and
/// pushes the signature to `sha256-<hex>.sig` beside it.
pub fn sign_image(opts: &SignOptions) -> Result<SignReport> {
    check_cancel(&opts.transport.cancel)?;
    let key =
        keys::load_private_key_file(&opts.key, opts.passphrase.as_deref().map(str::as_bytes))?;
    let target = ImageReference::parse(&opts.reference)?;
    let repo = Repository::of(&target);
    let session = Session::connect(
        &repo.registry,
        &repo.path,
        vec![format!("repository:{}:pull,push", repo.path)],
        &opts.auth,
        &opts.transport,
    )?;
    let digest = resolve_digest(&session, &repo, &target)?;
    // cosign's identity: the repository, no tag (policies use matchRepository
    // or matchRepoDigestOrExact).
    let payload_bytes = payload::simple_signing(&repo.full_name(), &digest)?;
    let layer = manifest::signature_layer(&payload_bytes, &crate::sign::sign(&key, &payload_bytes));

    let tag = manifest::signature_tag(&digest);
    let existing = existing_layers(&session, &repo, &tag)?;
    let (config, signature_manifest) =
        manifest::signature_image(&existing, std::slice::from_ref(&layer));
    let signatures = serde_json::from_slice::<Value>(&signature_manifest)
        .ok()
        .and_then(|m| m.get("layers").and_then(Value::as_array).map(Vec::len))
        .unwrap_or(0) as u32;
    let mut report = SignReport {
        reference: format!("{}@{digest}", repo.full_name()),
        digest: digest.clone(),
        signature_tag: format!("{}:{tag}", repo.full_name()),
        signature_digest: sha256_digest(&signature_manifest),
        signatures,
        up_to_date: signatures as usize == existing.len(),
    };
    if report.up_to_date {
        return Ok(report);
    }
    check_cancel(&opts.transport.cancel)?;
    put_blob_bytes(&session, &repo.path, &payload_bytes)?;
    put_blob_bytes(&session, &repo.path, &config)?;
    check_cancel(&opts.transport.cancel)?;
    let (stored, _) = put_manifest(
        &session,
        &repo.path,
        &tag,
        MEDIA_TYPE_MANIFEST,
        &signature_manifest,
    )?;
    report.signature_digest = stored;
    Ok(report)
}
