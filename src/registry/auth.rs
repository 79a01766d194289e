//! The keychain: registry credentials from where podman and skopeo users
//! already keep them (containers-auth.json(5), as containers/image 5.23
//! reads it), from `--creds`, and `login`/`logout` writing the same file
//! `podman login` writes.
//!
//! Lookup order, first file with a matching entry wins (even a wrong one):
//! `--authfile`/`REGISTRY_AUTH_FILE` else `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`,
//! `${DOCKER_CONFIG:-~/.docker}/config.json`, `~/.dockercfg`. In a file,
//! `credHelpers[host]` (a `docker-credential-<name>` program on PATH) comes
//! first, then `auths` keys from the most specific (`host/ns/repo`) to the
//! host. `credsStore` is ignored, as containers/image does. An
//! `identitytoken` next to an `auth` that names the user, or a helper
//! answering `Username: "<token>"`, is an OAuth2 refresh token that the
//! transport exchanges at the token realm.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::error::{Error, IoContext, Result};

/// A user name and password (or token) for one registry.
#[derive(Clone)]
pub struct Credential {
    pub username: String,
    pub password: String,
    /// `password` is an identity token (an OAuth2 refresh token: an auth
    /// file's `identitytoken`, or a helper's answer with `Username:
    /// "<token>"`), to exchange at the Bearer realm for an access token.
    pub identity_token: bool,
    /// Where it came from, for messages (never the secret itself).
    pub source: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({} from {})", self.username, self.source)
    }
}

/// Where credentials come from.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// `--authfile`: the one auth.json to read first (else `REGISTRY_AUTH_FILE`).
    pub authfile: Option<PathBuf>,
    /// `--creds USER:PASSWORD`: used instead of any file.
    pub creds: Option<String>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

/// The file `login` writes and the first one read: `--authfile`,
/// `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json` (podman's
/// default), else `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`.
pub fn primary_auth_file(opts: &AuthOptions) -> Option<PathBuf> {
    opts.authfile
        .clone()
        .or_else(|| env_path("REGISTRY_AUTH_FILE"))
        .or_else(|| env_path("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")))
        .or_else(config_auth_file)
}

fn config_auth_file() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME")
        .or_else(|| home().map(|h| h.join(".config")))
        .map(|d| d.join("containers/auth.json"))
}

/// The files read, in order.
pub fn auth_files(opts: &AuthOptions) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let first = opts
        .authfile
        .clone()
        .or_else(|| env_path("REGISTRY_AUTH_FILE"))
        .or_else(|| env_path("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(first);
    files.extend(config_auth_file());
    files.extend(
        env_path("DOCKER_CONFIG")
            .or_else(|| home().map(|h| h.join(".docker")))
            .map(|d| d.join("config.json")),
    );
    files.extend(home().map(|h| h.join(".dockercfg")));
    files
}

/// `host` from a key such as `https://index.docker.io/v1/` or `quay.io/org`,
/// with Docker Hub's aliases folded to `docker.io`.
fn normalise_key(key: &str) -> String {
    let key = match key.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => key,
    };
    let (host, rest) = match key.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (key, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    };
    match rest {
        Some(r) => format!("{host}/{r}"),
        None => host.to_string(),
    }
}

/// Parses `--creds USER[:PASSWORD]`.
pub fn parse_creds(creds: &str) -> Result<Credential> {
    let (user, pass) = creds.split_once(':').unwrap_or((creds, ""));
    if user.is_empty() {
        return Err(Error::InvalidOption {
            message: "creds must be USER:PASSWORD (the user name is empty)".into(),
        });
    }
    Ok(Credential {
        username: user.to_string(),
        password: pass.to_string(),
        identity_token: false,
        source: "--creds".into(),
    })
}

fn decode_auth(auth: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Runs `docker-credential-<helper> get` for `host`; `None` when the
/// helper has nothing for it.
pub fn run_helper(helper: &str, host: &str) -> Result<Option<Credential>> {
    let program = format!("docker-credential-{helper}");
    let fail = |reason: String| Error::RegistryAuth {
        host: host.to_string(),
        reason,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(format!(
                "the credential helper {program} (credHelpers) could not run ({e}); install it on PATH or remove the entry"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("{program} failed: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let first_line = stdout.lines().next().unwrap_or("").chars().take(200);
        return Err(fail(format!(
            "the credential helper {program} failed: {}",
            first_line.collect::<String>()
        )));
    }
    let v: Value = serde_json::from_str(&stdout)
        .map_err(|_| fail(format!("{program} printed something that is not JSON")))?;
    let username = v.get("Username").and_then(Value::as_str).unwrap_or("");
    let secret = v.get("Secret").and_then(Value::as_str).unwrap_or("");
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: username.to_string(),
        password: secret.to_string(),
        // docker-credential-helpers' marker for an identity token.
        identity_token: username == "<token>",
        source: program,
    }))
}

/// The credential for `registry/path`: `--creds`, else the first file with
/// a matching entry. `None` means anonymous.
pub fn lookup(registry: &str, path: &str, opts: &AuthOptions) -> Result<Option<Credential>> {
    if let Some(c) = &opts.creds {
        return parse_creds(c).map(Some);
    }
    let host = normalise_key(registry);
    // host/ns/repo, host/ns, host.
    let full = format!("{host}/{path}");
    let mut keys = vec![full.clone()];
    let mut cut = full.as_str();
    while let Some(i) = cut.rfind('/') {
        cut = &cut[..i];
        keys.push(cut.to_string());
    }
    for file in auth_files(opts) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| Error::RegistryAuth {
            host: registry.to_string(),
            reason: format!(
                "{}: not valid JSON ({e}); repair or remove it",
                file.display()
            ),
        })?;
        let legacy = file.file_name().is_some_and(|n| n == ".dockercfg");
        if let Some(helper) = doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| normalise_key(k) == host)
                    .and_then(|(_, v)| v.as_str())
            })
        {
            // containers/image passes the bare host name.
            if let Some(c) = run_helper(helper, registry)? {
                return Ok(Some(c));
            }
        }
        let auths = if legacy {
            doc.as_object()
        } else {
            doc.get("auths").and_then(Value::as_object)
        };
        let Some(auths) = auths else { continue };
        let entries: Vec<(String, &Value)> =
            auths.iter().map(|(k, v)| (normalise_key(k), v)).collect();
        for key in &keys {
            let Some((_, entry)) = entries.iter().find(|(k, _)| k == key) else {
                continue;
            };
            let auth = entry.get("auth").and_then(Value::as_str).unwrap_or("");
            if auth.is_empty() {
                continue; // a marker for a helper, not a credential
            }
            if let Some((username, password)) = decode_auth(auth) {
                let source = format!("{} (key {key})", file.display());
                // As containers/image: `identitytoken` counts only next to an
                // `auth` naming the user, and then wins over the password.
                let identity = entry
                    .get("identitytoken")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty());
                let (password, identity_token) = match identity {
                    Some(token) => (token.to_string(), true),
                    None => (password, false),
                };
                return Ok(Some(Credential {
                    username,
                    password,
                    identity_token,
                    source,
                }));
            }
        }
    }
    Ok(None)
}

/// Writes `doc` to `file` as podman does: mode 0600, via a temporary file
/// renamed into place, creating the parent folder (0700) when missing.
fn write_private(file: &Path, doc: &Value) -> Result<()> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        std::fs::create_dir_all(&dir).at(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let name = file
        .file_name()
        .ok_or_else(|| Error::InvalidOption {
            message: format!("{}: the auth file path names no file", file.display()),
        })?
        .to_string_lossy()
        .into_owned();
    let (temp, mut f) = crate::output::create_private_temp(&dir, &name)?;
    let result = (|| {
        let mut bytes = serde_json::to_vec_pretty(doc).expect("JSON");
        bytes.push(b'\n');
        f.write_all(&bytes).at(&temp)?;
        f.sync_all().at(&temp)?;
        std::fs::rename(&temp, file).at(file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn read_doc(file: &Path) -> Result<Map<String, Value>> {
    match std::fs::read_to_string(file) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::InvalidOption {
                message: format!("{}: not a JSON object; repair or remove it", file.display()),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(Error::io(file, e)),
    }
}

/// Records `username:password` for `host` in the primary auth file (the one
/// `podman login` writes) and returns its path. The caller checks the
/// credentials against the registry first.
pub fn store(host: &str, username: &str, password: &str, opts: &AuthOptions) -> Result<PathBuf> {
    let file = primary_auth_file(opts).ok_or_else(|| Error::InvalidOption {
        message: "no place for auth.json: set HOME, XDG_RUNTIME_DIR or pass --authfile".into(),
    })?;
    let mut doc = read_doc(&file)?;
    let auths = doc
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    auths
        .as_object_mut()
        .expect("object")
        .insert(host.to_string(), json!({ "auth": token }));
    write_private(&file, &Value::Object(doc))?;
    Ok(file)
}

/// Removes `host` from the primary auth file; `false` when it was not there.
pub fn erase(host: &str, opts: &AuthOptions) -> Result<(bool, PathBuf)> {
    let file = primary_auth_file(opts).ok_or_else(|| Error::InvalidOption {
        message: "no auth.json to edit: set HOME, XDG_RUNTIME_DIR or pass --authfile".into(),
    })?;
    let mut doc = read_doc(&file)?;
    let removed = doc
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .is_some_and(|a| a.remove(host).is_some());
    if removed {
        write_private(&file, &Value::Object(doc))?;
    }
    Ok((removed, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_creds() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("quay.io/org"), "quay.io/org");
        assert_eq!(normalise_key("http://127.0.0.1:5000"), "127.0.0.1:5000");
        let c = parse_creds("u:p:q").unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p:q"));
        assert!(parse_creds(":x").is_err());
        assert!(!format!("{c:?}").contains("p:q"));
    }

    #[test]
    fn namespace_key_wins_and_files_are_0600() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("sub/auth.json");
        let opts = AuthOptions {
            authfile: Some(file.clone()),
            creds: None,
        };
        store("reg.example:5000", "host", "h", &opts).unwrap();
        let mut doc = read_doc(&file).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("ns:n");
        doc["auths"]
            .as_object_mut()
            .unwrap()
            .insert("reg.example:5000/team".into(), json!({ "auth": b64 }));
        write_private(&file, &Value::Object(doc)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let c = lookup("reg.example:5000", "team/app", &opts)
            .unwrap()
            .unwrap();
        assert_eq!(c.username, "ns");
        let c = lookup("reg.example:5000", "other/app", &opts)
            .unwrap()
            .unwrap();
        assert_eq!(c.username, "host");
        assert!(erase("reg.example:5000", &opts).unwrap().0);
        assert!(!erase("reg.example:5000", &opts).unwrap().0);
    }

    #[test]
    fn identity_tokens_need_the_user_in_auth() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("auth.json");
        let opts = AuthOptions {
            authfile: Some(file.clone()),
            creds: None,
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let doc = json!({ "auths": {
            "a.example": { "auth": b64("alice:"), "identitytoken": "idt-a" },
            "b.example": { "auth": b64("bob:pw"), "identitytoken": "idt-b" },
            "c.example": { "auth": "", "identitytoken": "idt-c" },
            "d.example": { "auth": b64("dan:pw") },
        }});
        std::fs::write(&file, doc.to_string()).unwrap();
        let a = lookup("a.example", "x/y", &opts).unwrap().unwrap();
        assert!(a.identity_token);
        assert_eq!(
            (a.username.as_str(), a.password.as_str()),
            ("alice", "idt-a")
        );
        let b = lookup("b.example", "x/y", &opts).unwrap().unwrap();
        assert!(
            b.identity_token,
            "the identity token wins over the password"
        );
        assert_eq!(b.password, "idt-b");
        assert!(lookup("c.example", "x/y", &opts).unwrap().is_none());
        let d = lookup("d.example", "x/y", &opts).unwrap().unwrap();
        assert!(!d.identity_token);
        assert!(!format!("{a:?}").contains("idt-a"));
    }
}
