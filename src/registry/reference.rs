//! Where a reference points in the distribution API: the registry host and
//! the repository path. Parsing and the docker host rule live in one place,
//! [`crate::oci::reference`], which both image building and pushing call.

pub use crate::oci::reference::{is_registry_host, ImageReference};

/// A repository in a registry (`quay.io` + `acme/plugins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The registry as written in the reference (`host[:port]`).
    pub registry: String,
    /// The repository path (`acme/plugins`).
    pub path: String,
}

impl Repository {
    /// The registry and path of a parsed reference.
    pub fn of(reference: &ImageReference) -> Repository {
        let (registry, path) = reference
            .repository
            .split_once('/')
            .expect("ImageReference::parse requires a registry host");
        Repository {
            registry: registry.to_string(),
            path: path.to_string(),
        }
    }

    /// The host the API lives on: Docker Hub's names map to its API host.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// `registry/path`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }
}

/// Docker Hub's aliases answer at `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// Whether `host[:port]` is on the loopback interface, the one place plain
/// HTTP may carry credentials.
pub fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_parts() {
        let r = ImageReference::parse("127.0.0.1:5000/acme/x:v1").unwrap();
        let repo = Repository::of(&r);
        assert_eq!(repo.registry, "127.0.0.1:5000");
        assert_eq!(repo.path, "acme/x");
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("quay.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
