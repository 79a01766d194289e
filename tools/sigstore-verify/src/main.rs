//! Test helper for `__test__/sign.test.mjs`: reads dynpack's keys and checks
//! its signatures with sigstore-rs (the `sigstore` crate), not with dynpack.
//!
//!   sigstore-verify load-key cosign.key          prints the public key PEM
//!                                                (passphrase: COSIGN_PASSWORD)
//!   sigstore-verify verify cosign.pub PAYLOAD SIG  exit 0 when SIG (base64)
//!                                                is a valid signature of PAYLOAD
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
        _ => fail("usage: sigstore-verify load-key KEY | verify PUB PAYLOAD SIG"),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("sigstore-verify: {message}");
    std::process::exit(2)
}
