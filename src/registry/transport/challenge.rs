//! The `WWW-Authenticate` header parsed: which scheme a registry asks for
//! (Basic or Bearer) and, for Bearer, the token realm, service and scope.
//! Parsing is apart from answering ([`super::exchange`]) because what a
//! header says is not trusted alike from every host.

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses `Bearer realm="…",service="…",scope="a:b:pull,push"`.
    pub fn parse(header: &str) -> Challenge {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek() {
                    if *c == ',' {
                        break;
                    }
                    value.push(*c);
                    chars.next();
                }
            }
            params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        }
    }

    /// This challenge (its scheme, realm and service) asking for the scope
    /// `later` asks for: what a registry's later 401 may change.
    pub fn with_scope_of(&self, later: &Challenge) -> Challenge {
        let mut params: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != "scope")
            .cloned()
            .collect();
        if later.scheme == self.scheme {
            params.extend(
                later
                    .get("scope")
                    .map(|s| ("scope".to_string(), s.to_string())),
            );
        }
        Challenge {
            scheme: self.scheme.clone(),
            params,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="http://127.0.0.1:5106/token",service="test-registry",scope="repository:t/app:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.get("realm"), Some("http://127.0.0.1:5106/token"));
        assert_eq!(c.get("scope"), Some("repository:t/app:pull,push"));
        assert_eq!(c.get("error"), Some("insufficient_scope"));
        let b = Challenge::parse(r#"Basic realm="test-realm""#);
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.get("realm"), Some("test-realm"));
        assert_eq!(Challenge::parse("").scheme, "");
    }

    #[test]
    fn a_later_challenge_changes_the_scope_only() {
        let first = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example""#,
        );
        let later = Challenge::parse(
            r#"Bearer realm="https://evil.example/token",service="evil",scope="repository:a/b:pull""#,
        );
        let merged = first.with_scope_of(&later);
        assert_eq!(merged.get("realm"), Some("https://auth.example/token"));
        assert_eq!(merged.get("service"), Some("registry.example"));
        assert_eq!(merged.get("scope"), Some("repository:a/b:pull"));
        let basic = Challenge::parse(r#"Basic realm="x""#);
        assert_eq!(first.with_scope_of(&basic).get("scope"), None);
        assert_eq!(first.with_scope_of(&basic).scheme, "bearer");
    }
}
