//! Image references (`quay.io/org/image:v1`) and layout tag names.
//!
//! RHDH (≥ 1.9) accepts `oci://HOST[:PORT]/PATH(:TAG | @sha256:HEX)!DIR`:
//! a registry path with at least two components and exactly one of a tag
//! or a digest. [`ImageReference::parse`] enforces the registry grammar
//! (distribution/reference) plus those RHDH rules, so that the references
//! dynpack prints can be pasted into `dynamic-plugins.yaml` as they are.

use std::sync::OnceLock;

use regex::Regex;

use crate::error::{Error, Result};

/// A parsed `--tag`-style image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// As given.
    pub raw: String,
    /// `host[:port]/path`, without tag or digest.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference pins a digest.
    pub digest: Option<String>,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

fn domain_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$",
    )
}

fn path_component_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
}

fn tag_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
}

fn digest_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^sha256:[a-f0-9]{64}$")
}

fn ref_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$",
    )
}

impl ImageReference {
    /// Parses and validates `raw`; the error says what to change.
    pub fn parse(raw: &str) -> Result<ImageReference> {
        let fail = |reason: String| Error::InvalidTag {
            tag: raw.to_string(),
            reason,
        };
        if let Some(i) = raw.find("://") {
            return Err(fail(format!(
                "pass the image reference without the `{}` scheme, e.g. {}",
                &raw[..i + 3],
                &raw[i + 3..]
            )));
        }
        if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c == '!') {
            return Err(fail(
                "expected registry/path:tag, without spaces or `!` (dynpack appends `!<directory>` itself)".into(),
            ));
        }
        let (name_tag, digest) = match raw.split_once('@') {
            Some((n, d)) => {
                if !digest_re().is_match(d) {
                    return Err(fail(format!(
                        "the digest {d:?} is not sha256:<64 lowercase hex digits>, the digest dynpack computes"
                    )));
                }
                (n, Some(d.to_string()))
            }
            None => (raw, None),
        };
        let last_slash = name_tag.rfind('/');
        let (repository, tag) = match name_tag.rfind(':') {
            Some(c) if last_slash.is_none_or(|s| c > s) => {
                (&name_tag[..c], Some(name_tag[c + 1..].to_string()))
            }
            _ => (name_tag, None),
        };
        match (&tag, &digest) {
            (None, None) => {
                return Err(fail(
                    "add a tag (`:v1.0.0`) or a digest (`@sha256:…`): RHDH refuses oci:// references without one".into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(fail(
                    "give either a tag or a digest, not both: RHDH's oci:// grammar accepts only one of them".into(),
                ))
            }
            _ => {}
        }
        if let Some(t) = &tag {
            if !tag_re().is_match(t) {
                return Err(fail(format!(
                    "the tag {t:?} is invalid: up to 128 characters among letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
                )));
            }
        }
        if repository.len() > 255 {
            return Err(fail(
                "the repository name is longer than 255 characters".into(),
            ));
        }
        let parts: Vec<&str> = repository.split('/').collect();
        if parts.len() < 2 {
            return Err(fail(format!(
                "name the registry and the repository, e.g. quay.io/<org>/{repository}: RHDH's oci:// references need a registry host"
            )));
        }
        if !is_registry_host(parts[0]) {
            let normalised = format!("docker.io/{raw}");
            return Err(fail(format!(
                "{:?} is not a registry host: a first component is a host only with a `.` or a `:`, or when it is `localhost` (docker rule), so container tools read this as {normalised}; write that, or name your registry (e.g. quay.io/{raw})",
                parts[0]
            )));
        }
        if !domain_re().is_match(parts[0]) {
            return Err(fail(format!(
                "{:?} is not a valid registry host[:port]",
                parts[0]
            )));
        }
        for p in &parts[1..] {
            if !path_component_re().is_match(p) {
                return Err(fail(format!(
                    "the path component {p:?} is invalid: registries accept lowercase letters, digits and single `.`, `_`, `__` or `-` separators"
                )));
            }
        }
        Ok(ImageReference {
            raw: raw.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The name the image gets in the layout's `index.json` by default:
    /// the tag (`v0.0.1`), or the digest for a digest reference.
    pub fn default_ref_name(&self) -> &str {
        self.tag
            .as_deref()
            .or(self.digest.as_deref())
            .expect("parse guarantees a tag or a digest")
    }

    /// Whether the registry part has a port, which RHDH ≤ 1.9 cannot parse.
    pub fn has_port(&self) -> bool {
        self.repository
            .split('/')
            .next()
            .is_some_and(|d| d.contains(':'))
    }

    /// `oci://<reference>!<dir>`, the `package:` of dynamic-plugins.yaml.
    pub fn plugin_reference(&self, dir: &str) -> String {
        format!("oci://{}!{dir}", self.raw)
    }

    /// `oci://<repository>@<manifest digest>!<dir>`: immutable.
    pub fn digest_reference(&self, manifest_digest: &str, dir: &str) -> String {
        format!("oci://{}@{manifest_digest}!{dir}", self.repository)
    }
}

/// Whether `tag` is a registry tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`),
/// the grammar [`ImageReference::parse`] applies to the `:tag` part.
pub fn is_valid_tag(tag: &str) -> bool {
    tag_re().is_match(tag)
}

/// The docker rule for where a reference's registry host ends: its first
/// `/`-component is a host only when it has a `.` or a `:`, or is
/// `localhost`; otherwise docker, podman and skopeo read the whole name as
/// a Docker Hub repository (`acme/x` = `docker.io/acme/x`).
pub fn is_registry_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// Checks a layout tag (`org.opencontainers.image.ref.name`) against the
/// OCI grammar: `component ("/" component)*`, alphanumerics joined by one
/// of `-._:@+` or `--`.
pub fn check_ref_name(name: &str) -> Result<()> {
    if ref_name_re().is_match(name) {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            message: format!(
                "refName {name:?} is not a valid OCI layout tag (letters and digits joined by one of `-._:@+` or `--`, components separated by `/`); pass another refName"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_references() {
        let r = ImageReference::parse("quay.io/example/image:v0.0.1").unwrap();
        assert_eq!(r.repository, "quay.io/example/image");
        assert_eq!(r.tag.as_deref(), Some("v0.0.1"));
        assert_eq!(r.default_ref_name(), "v0.0.1");
        assert!(!r.has_port());
        assert_eq!(
            r.plugin_reference("p"),
            "oci://quay.io/example/image:v0.0.1!p"
        );
        assert_eq!(
            r.digest_reference("sha256:ab", "p"),
            "oci://quay.io/example/image@sha256:ab!p"
        );

        let r = ImageReference::parse("127.0.0.1:5000/a/b-c__d.e:1.0_rc-1").unwrap();
        assert_eq!(r.repository, "127.0.0.1:5000/a/b-c__d.e");
        assert!(r.has_port());

        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageReference::parse(&format!("ghcr.io/o/i@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.default_ref_name(), d);
        assert_eq!(r.repository, "ghcr.io/o/i");
        assert!(check_ref_name(&d).is_ok());
    }

    #[test]
    fn invalid_references() {
        let d = format!("sha256:{}", "a".repeat(64));
        for bad in [
            "",
            "quay.io/example/image",
            "image:v1",
            "oci://quay.io/x/y:v1",
            "docker://quay.io/x/y:v1",
            "quay.io/Example/image:v1",
            "quay.io/x/y:v1!dir",
            "quay.io/x/y: v1",
            "quay.io/x/y:.v1",
            "quay.io/x/y:",
            &format!("quay.io/x/y:v1@{d}"),
            "quay.io/x/y@sha256:abc",
            "quay.io/x/y@sha512:abc",
            "-bad.io/x:v1",
            "quay.io//x:v1",
            "acme/plugins:1.0.0",
            "a/b/c:v1",
        ] {
            let e = ImageReference::parse(bad).unwrap_err();
            assert_eq!(e.code(), "E_INVALID_TAG", "{bad:?}");
        }
    }

    #[test]
    fn docker_host_rule() {
        let e = ImageReference::parse("acme/plugins:1.0.0").unwrap_err();
        assert!(
            e.to_string().contains("docker.io/acme/plugins:1.0.0"),
            "{e}"
        );
        for ok in [
            "localhost/a:v1",
            "localhost:5000/a:v1",
            "reg.example/a:v1",
            "127.0.0.1/a:v1",
        ] {
            assert!(ImageReference::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn ref_names() {
        for ok in ["v1", "v0.0.1", "latest", "a--b", "x/y:z", "1.0+build"] {
            assert!(check_ref_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_x", "v1 bad!", "a/", "-a", "a..b"] {
            assert!(check_ref_name(bad).is_err(), "{bad}");
        }
    }
}
