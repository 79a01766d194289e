//! Proxies from the environment, by the rules of Go's
//! `http.ProxyFromEnvironment` (golang.org/x/net/http/httpproxy), which
//! skopeo and podman follow, so that a machine set up for them works for
//! dynpack too:
//!
//! - `HTTPS_PROXY` for `https://` URLs, `HTTP_PROXY` for `http://` ones;
//!   the upper-case name wins when both are set and not empty, then the
//!   lower-case one. There is no `ALL_PROXY`.
//! - A value without a scheme is `http://host:port`.
//! - `NO_PROXY` (or `no_proxy`): comma-separated `*` (nothing is proxied),
//!   an IP address or CIDR block, a domain (`example.com` matches it and
//!   its subdomains, `.example.com` or `*.example.com` only subdomains),
//!   each optionally with `:port`.
//! - `localhost` and loopback addresses are never proxied.
//!
//! ureq takes one proxy per agent (`CONNECT` tunnels for HTTPS, the
//! absolute-URI form for plain HTTP) and does not decide per URL, so
//! [`Agents`] keeps one agent per decision: direct, or through a proxy.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// A proxy to use, as the environment named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// The variable it came from (`HTTPS_PROXY`, `http_proxy`, …).
    pub var: &'static str,
    /// `scheme://host:port`, without credentials (for messages).
    pub shown: String,
    url: url::Url,
}

impl ProxyUrl {
    fn parse(var: &'static str, value: &str) -> Option<ProxyUrl> {
        let allowed = |u: &url::Url| matches!(u.scheme(), "http" | "https" | "socks5");
        let url = match url::Url::parse(value) {
            Ok(u) if allowed(&u) && u.host_str().is_some() => u,
            _ => url::Url::parse(&format!("http://{value}")).ok()?,
        };
        let host = url.host_str()?.to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        Some(ProxyUrl {
            var,
            shown: format!("{}://{host}:{port}", url.scheme()),
            url,
        })
    }

    /// The ureq proxy (HTTP proxies only: ureq 2 speaks neither TLS to a
    /// proxy nor, without a feature dynpack does not build, SOCKS).
    fn to_ureq(&self) -> Result<ureq::Proxy> {
        if self.url.scheme() != "http" {
            return Err(Error::InvalidOption {
                message: format!(
                    "{}={}: dynpack reaches registries through HTTP proxies only (http://host:port); set {} to the proxy's http:// address",
                    self.var, self.shown, self.var
                ),
            });
        }
        let decode = |s: &str| {
            let b = s.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                    (b'%', Some(v)) => {
                        out.push(v);
                        i += 3;
                    }
                    (c, _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        };
        let creds = match (self.url.username(), self.url.password()) {
            ("", None) => String::new(),
            (u, p) => format!("{}:{}@", decode(u), decode(p.unwrap_or(""))),
        };
        let host = self.url.host_str().unwrap_or("");
        let port = self.url.port_or_known_default().unwrap_or(80);
        ureq::Proxy::new(format!("http://{creds}{host}:{port}")).map_err(|e| Error::InvalidOption {
            message: format!(
                "{}={}: not a usable proxy address ({e})",
                self.var, self.shown
            ),
        })
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exempt {
    All,
    Cidr(IpAddr, u8),
    Ip(IpAddr, Option<u16>),
    /// `.suffix` (with its dot); `exact`: the bare name matches too.
    Domain {
        suffix: String,
        port: Option<u16>,
        exact: bool,
    },
}

/// The proxy settings of the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    http: Option<ProxyUrl>,
    https: Option<ProxyUrl>,
    exempt: Vec<Exempt>,
}

/// Splits `host:port` / `[v6]:port`; `None` without a port (Go's
/// `net.SplitHostPort` fails then, and the entry is a host).
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return after.strip_prefix(':').map(|p| (host, p));
    }
    let (host, port) = s.split_once(':')?;
    (!port.contains(':')).then_some((host, port))
}

fn parse_cidr(s: &str) -> Option<Exempt> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some(Exempt::Cidr(ip, bits))
}

fn in_cidr(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let (net, ip, len) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        (IpAddr::V6(n), IpAddr::V4(i)) => match n.to_ipv4_mapped() {
            Some(n) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            None => return false,
        },
        (IpAddr::V4(n), IpAddr::V6(i)) => match i.to_ipv4_mapped() {
            Some(i) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            None => return false,
        },
    };
    let bits = u32::from(bits).min(len);
    if bits == 0 {
        return true;
    }
    let shift = len - bits;
    (net >> shift) == (ip >> shift)
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

impl ProxyConfig {
    /// The settings of this process's environment.
    pub fn from_env() -> ProxyConfig {
        ProxyConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// The settings read through `get` (a variable's value, if set).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ProxyConfig {
        let any = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| get(n).filter(|v| !v.is_empty()).map(|v| (n, v)))
        };
        let proxy = |names| any(names).and_then(|(var, v)| ProxyUrl::parse(var, v.trim()));
        let mut config = ProxyConfig {
            http: proxy(["HTTP_PROXY", "http_proxy"]),
            https: proxy(["HTTPS_PROXY", "https_proxy"]),
            exempt: Vec::new(),
        };
        let no_proxy = any(["NO_PROXY", "no_proxy"])
            .map(|(_, v)| v)
            .unwrap_or_default();
        for entry in no_proxy.split(',') {
            let p = entry.trim().to_ascii_lowercase();
            if p.is_empty() {
                continue;
            }
            if p == "*" {
                config.exempt = vec![Exempt::All];
                break;
            }
            if let Some(cidr) = parse_cidr(&p) {
                config.exempt.push(cidr);
                continue;
            }
            let (host, port) = match split_host_port(&p) {
                Some((h, port)) => (h, Some(port)),
                None => (p.as_str(), None),
            };
            let port = match port.map(str::parse::<u16>) {
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => continue, // a port that never matches
                None => None,
            };
            if let Ok(ip) = host.parse::<IpAddr>() {
                config.exempt.push(Exempt::Ip(ip, port));
                continue;
            }
            if host.is_empty() {
                continue;
            }
            let host = host
                .strip_prefix('*')
                .filter(|h| h.starts_with('.'))
                .unwrap_or(host);
            let (suffix, exact) = match host.starts_with('.') {
                true => (host.to_string(), false),
                false => (format!(".{host}"), true),
            };
            config.exempt.push(Exempt::Domain {
                suffix,
                port,
                exact,
            });
        }
        config
    }

    /// Whether a request to `host` (a name or an IP address, IPv6 with or
    /// without brackets) on `port` goes through a proxy, NO_PROXY aside.
    pub fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        if host == "localhost" {
            return false;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.to_canonical().is_loopback()) {
            return false;
        }
        !self.exempt.iter().any(|e| match e {
            Exempt::All => true,
            Exempt::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(*net, *bits, ip)),
            Exempt::Ip(want, p) => {
                ip.is_some_and(|ip| same_ip(*want, ip)) && p.is_none_or(|p| p == port)
            }
            Exempt::Domain {
                suffix,
                port: p,
                exact,
            } => {
                (host.ends_with(suffix.as_str()) || (*exact && host == suffix[1..]))
                    && p.is_none_or(|p| p == port)
            }
        })
    }

    /// The proxy for `url`, if any.
    pub fn for_url(&self, url: &url::Url) -> Option<&ProxyUrl> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        self.use_proxy(host, port).then_some(proxy)
    }
}

/// One ureq agent per proxy decision (direct, or through one proxy), all
/// with the registry's TLS setup, built as URLs need them.
pub(super) struct Agents {
    config: ProxyConfig,
    build: Box<dyn Fn(Option<ureq::Proxy>) -> ureq::Agent + Send + Sync>,
    built: Mutex<Vec<(Option<ProxyUrl>, ureq::Agent)>>,
}

impl Agents {
    pub(super) fn new(
        config: ProxyConfig,
        build: impl Fn(Option<ureq::Proxy>) -> ureq::Agent + Send + Sync + 'static,
    ) -> Agents {
        Agents {
            config,
            build: Box::new(build),
            built: Mutex::new(Vec::new()),
        }
    }

    /// The agent for `url`, and the proxy it goes through.
    pub(super) fn for_url(&self, url: &str) -> Result<(ureq::Agent, Option<ProxyUrl>)> {
        let proxy = url::Url::parse(url)
            .ok()
            .and_then(|u| self.config.for_url(&u).cloned());
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, a)) = built.iter().find(|(p, _)| *p == proxy) {
            return Ok((a.clone(), proxy));
        }
        let agent = (self.build)(proxy.as_ref().map(ProxyUrl::to_ureq).transpose()?);
        built.push((proxy.clone(), agent.clone()));
        Ok((agent, proxy))
    }

    /// The proxy a request to `url` goes through (for messages).
    pub(super) fn proxy_for(&self, url: &str) -> Option<ProxyUrl> {
        url::Url::parse(url)
            .ok()
            .and_then(|u| self.config.for_url(&u).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> ProxyConfig {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyConfig::from_lookup(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    fn proxied(c: &ProxyConfig, url: &str) -> Option<String> {
        c.for_url(&url::Url::parse(url).unwrap())
            .map(|p| p.shown.clone())
    }

    #[test]
    fn upper_case_wins_then_lower_case_and_each_scheme_has_its_own() {
        let c = config(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("http_proxy", "plain:8080"),
        ]);
        assert_eq!(
            proxied(&c, "https://quay.io/v2/").as_deref(),
            Some("http://upper:3128")
        );
        assert_eq!(
            proxied(&c, "http://quay.io/v2/").as_deref(),
            Some("http://plain:8080")
        );
        // an empty upper-case value does not hide the lower-case one
        let c = config(&[("HTTPS_PROXY", ""), ("https_proxy", "10.0.0.1:3128")]);
        assert_eq!(
            proxied(&c, "https://quay.io/").as_deref(),
            Some("http://10.0.0.1:3128")
        );
        assert_eq!(c.https.as_ref().unwrap().var, "https_proxy");
        // no ALL_PROXY in Go's rules; HTTPS_PROXY is not used for http://
        let c = config(&[("ALL_PROXY", "http://all:1"), ("HTTPS_PROXY", "http://p:1")]);
        assert_eq!(proxied(&c, "http://quay.io/"), None);
        assert_eq!(
            proxied(&c, "https://quay.io/").as_deref(),
            Some("http://p:1")
        );
        assert_eq!(config(&[]), ProxyConfig::default());
    }

    #[test]
    fn loopback_and_localhost_are_never_proxied() {
        let c = config(&[("HTTPS_PROXY", "http://p:1"), ("HTTP_PROXY", "http://p:1")]);
        for url in [
            "https://localhost:5000/v2/",
            "https://127.0.0.1:5000/v2/",
            "https://127.8.9.1/",
            "http://[::1]:5000/v2/",
        ] {
            assert_eq!(proxied(&c, url), None, "{url}");
        }
        assert!(proxied(&c, "https://localhost.example/").is_some());
        assert!(proxied(&c, "https://10.1.2.3/").is_some());
    }

    #[test]
    fn no_proxy_entries_as_go_matches_them() {
        // The cases of golang.org/x/net/http/httpproxy's own table.
        let c = config(&[
            ("HTTP_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "foobar.com, .barbaz.net, *.wildcard.com, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64, bar.com:8080",
            ),
        ]);
        let exempt = [
            "http://foobar.com/",
            "http://www.foobar.com/",
            "http://www.barbaz.net/",
            "http://foo.wildcard.com/",
            "http://192.168.1.1/",
            "http://192.168.1.2:81/",
            "http://192.168.1.3/",
            "http://10.0.0.2/",
            "http://[2001:db8::52:0:1]/",
            "http://[2001:db8::52:0:3]/",
            "http://[2002:db8:a::123]/",
            "http://bar.com:8080/",
            "http://www.bar.com:8080/",
        ];
        for url in exempt {
            assert_eq!(proxied(&c, url), None, "{url} is in NO_PROXY");
        }
        let proxied_anyway = [
            "http://barbaz.net/",   // .barbaz.net: subdomains only
            "http://wildcard.com/", // *.wildcard.com: subdomains only
            "http://192.168.1.2/",  // :81 only
            "http://192.168.1.4/",
            "http://10.0.0.4/",           // outside the /30
            "http://[2001:db8::52:0:2]/", // :443 only
            "http://bar.com/",            // :8080 only
            "http://notfoobar.com/",      // not a subdomain of foobar.com
            "http://foobar.com.evil/",
        ];
        for url in proxied_anyway {
            assert!(proxied(&c, url).is_some(), "{url} is proxied");
        }
        let all = config(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("no_proxy", "example.com, *"),
        ]);
        assert_eq!(proxied(&all, "https://quay.io/"), None);
        let upper = config(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("NO_PROXY", "quay.io"),
            ("no_proxy", "*"),
        ]);
        assert_eq!(proxied(&upper, "https://quay.io/"), None);
        assert!(
            proxied(&upper, "https://ghcr.io/").is_some(),
            "NO_PROXY wins over no_proxy"
        );
    }

    #[test]
    fn proxy_values_and_what_ureq_can_use() {
        let c = config(&[("HTTPS_PROXY", "http://user:p%40ss@proxy.corp:3128/")]);
        let p = c.https.clone().unwrap();
        assert_eq!(
            p.shown, "http://proxy.corp:3128",
            "no credentials in messages"
        );
        assert!(p.to_ureq().is_ok());
        let s = config(&[("HTTPS_PROXY", "socks5://proxy.corp:1080")])
            .https
            .unwrap();
        let e = s.to_ureq().unwrap_err();
        assert_eq!(e.code(), "E_INVALID_OPTION");
        assert!(e
            .to_string()
            .contains("HTTPS_PROXY=socks5://proxy.corp:1080"));
        assert_eq!(
            config(&[("HTTPS_PROXY", "proxy.corp")])
                .https
                .unwrap()
                .shown,
            "http://proxy.corp:80"
        );
    }
}
