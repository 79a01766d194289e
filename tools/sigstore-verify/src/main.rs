//! Test helper for `__test__/sign.test.mjs`: reads dynpack's keys and checks
//! its signatures with sigstore-rs (the `sigstore` crate), not with dynpack.
//!
//!   sigstore-verify load-key cosign.key          prints the public key PEM
//!                                                (passphrase: COSIGN_PASSWORD)
//!   sigstore-verify verify cosign.pub PAYLOAD SIG  exit 0 when SIG (base64)
//!                                                is a valid signature of PAYLOAD
//!   sigstore-verify verify-image cosign.pub REF    exit 0 when the image REF
//!                                                (a registry over plain HTTP) has a
//!                                                cosign signature by that key for its
//!                                                manifest digest (cosign client:
//!                                                `.sig` tag, payload digest, signature)
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| fail(&format!("{p}: {e}")));
    match args.get(1).map(String::as_str) {
        Some("load-key") if args.len() == 3 => {
            let pass = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
            let pair = SigStoreKeyPair::from_encrypted_pem(&read(&args[2]), pass.as_bytes())
                .unwrap_or_else(|e| fail(&format!("load: {e}")));
            print!(
                "{}",
                pair.public_key_to_pem()
                    .unwrap_or_else(|e| fail(&format!("pem: {e}")))
            );
        }
        Some("verify") if args.len() == 5 => {
            let key = CosignVerificationKey::from_pem(
                &read(&args[2]),
                &SigningScheme::ECDSA_P256_SHA256_ASN1,
            )
            .unwrap_or_else(|e| fail(&format!("public key: {e}")));
            let payload = read(&args[3]);
            let sig = read(&args[4]);
            match key.verify_signature(
                Signature::Base64Encoded(String::from_utf8_lossy(&sig).trim().as_bytes()),
                &payload,
            ) {
                Ok(()) => println!("VERIFIED"),
                Err(e) => {
                    println!("REJECTED: {e}");
                    std::process::exit(1)
                }
            }
        }
        Some("verify-image") if args.len() == 4 => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
            match runtime.block_on(verify_image(&read(&args[2]), &args[3])) {
                Ok(n) => println!("VERIFIED ({n} signature layers)"),
                Err(e) => {
                    println!("REJECTED: {e}");
                    std::process::exit(1)
                }
            }
        }
        _ => fail(
            "usage: sigstore-verify load-key KEY | verify PUB PAYLOAD SIG | verify-image PUB REF",
        ),
    }
}

/// The cosign client's own verification of a pushed image: find the `.sig`
/// tag of REF's digest, keep the layers whose payload names that digest,
/// and require one signed by `public_pem`.
async fn verify_image(public_pem: &[u8], reference: &str) -> Result<usize, String> {
    use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
    use sigstore::cosign::{verify_constraints, ClientBuilder, CosignCapabilities};
    use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};
    use sigstore::trust::ManualTrustRoot;

    let image: OciReference = reference.parse().map_err(|e| format!("reference: {e}"))?;
    let trust = ManualTrustRoot::default();
    let mut client = ClientBuilder::default()
        .with_oci_client_config(ClientConfig {
            protocol: ClientProtocol::Http,
            ..Default::default()
        })
        .with_trust_repository(&trust)
        .map_err(|e| format!("trust root: {e}"))?
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let layers = client
        .trusted_signature_layers(&Auth::Anonymous, &image)
        .await
        .map_err(|e| format!("no signature layers: {e}"))?;
    if layers.is_empty() {
        return Err("no signature layers for this digest".into());
    }
    let verifier = PublicKeyVerifier::try_from(public_pem).map_err(|e| format!("key: {e}"))?;
    let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
    verify_constraints(&layers, constraints.iter()).map_err(|e| {
        format!(
            "no layer signed by this key ({} unsatisfied)",
            e.unsatisfied_constraints.len()
        )
    })?;
    Ok(layers.len())
}

fn fail(message: &str) -> ! {
    eprintln!("sigstore-verify: {message}");
    std::process::exit(2)
}
