//! OCI registries, crane-like: [`reference`] parsing, [`auth`] (the
//! containers-auth.json keychain and `login`/`logout`), [`transport`] (HTTP,
//! TLS, proxies, token challenges bound to the registry, retries), [`access`]
//! (the push check before a build), [`push`] (an image from a layout or an
//! oci-archive to a registry), [`stream`] (the layer uploaded while it is
//! built) and [`remote`] (reading manifests and blobs back), over the images
//! on disk that [`source`] opens.
//!
//! The distribution protocol is written here on top of `ureq` (blocking,
//! rustls) rather than taken from `oci-client`: see "Pushing" in
//! docs/registries-and-auth.md for the measurement behind that choice.

pub mod access;
pub mod auth;
pub mod mirror;
pub mod mirror_layout;
pub mod push;
pub mod reference;
pub mod registries_conf;
pub mod remote;
pub mod sign;
pub mod source;
pub mod stream;
pub mod transport;

pub use push::{push_image, PushOptions, PushReport};
pub use remote::{blob_reader, pull_manifest, RemoteManifest};
pub use sign::{sign_image, SignOptions, SignReport};

/// Checks `username`/`password` against `host`, then stores them in the
/// primary auth.json (as `podman login` does); returns the file written.
pub fn login(
    host: &str,
    username: &str,
    password: &str,
    auth: &auth::AuthOptions,
    transport: &transport::TransportOptions,
) -> crate::error::Result<std::path::PathBuf> {
    let credential = auth::Credential {
        username: username.to_string(),
        password: password.to_string(),
        identity_token: false,
        source: "the login".into(),
    };
    remote::check_login(host, credential, transport)?;
    auth::store(host, username, password, auth)
}
