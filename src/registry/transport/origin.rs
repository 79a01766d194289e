//! Where credentials may go. They are bound to the registry the user named
//! (its scheme, host and port) and to the token realm that registry's own
//! challenge names; never over plain HTTP to a host other than loopback.

use crate::error::{Error, Result};
use crate::registry::reference::is_loopback;

/// Whether `url` has the scheme, host and port of `base`.
pub fn same_origin(base: &url::Url, url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == base.scheme()
            && u.host_str() == base.host_str()
            && u.port_or_known_default() == base.port_or_known_default()
    })
}

/// Refuses (`E_REGISTRY_AUTH`) to send credentials to `url` over plain HTTP
/// unless its host is loopback.
pub fn credentials_allowed(registry: &str, url: &str) -> Result<()> {
    let u = url::Url::parse(url).map_err(|e| Error::RegistryProtocol {
        host: registry.to_string(),
        reason: format!("bad URL ({e})"),
    })?;
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    if u.scheme() == "http" && !is_loopback(&host) {
        return Err(Error::RegistryAuth {
            host: registry.to_string(),
            reason: format!(
                "refusing to send credentials over plain HTTP to {host}; serve the registry over TLS (dynpack sends credentials over plain HTTP only to loopback)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_credentials_over_plain_http_except_loopback() {
        assert!(credentials_allowed("r", "https://reg.example/v2/").is_ok());
        assert!(credentials_allowed("r", "http://127.0.0.1:5000/v2/").is_ok());
        assert!(credentials_allowed("r", "http://localhost/token").is_ok());
        let e = credentials_allowed("r", "http://reg.example:5000/v2/").unwrap_err();
        assert_eq!(e.code(), "E_REGISTRY_AUTH");
        assert!(credentials_allowed("r", "http://10.1.2.3/token").is_err());
    }

    #[test]
    fn credentials_stay_with_the_registry_scheme_host_and_port() {
        let base = url::Url::parse("https://registry.example:5000/").unwrap();
        assert!(same_origin(
            &base,
            "https://registry.example:5000/v2/a/blobs/x"
        ));
        assert!(same_origin(&base, "https://REGISTRY.example:5000/v2/"));
        // storage redirects and upload Locations elsewhere get none
        assert!(!same_origin(&base, "https://registry.example:5001/v2/"));
        assert!(!same_origin(&base, "https://s3.example/bucket/x?sig=1"));
        assert!(!same_origin(&base, "http://registry.example:5000/v2/"));
        assert!(!same_origin(
            &base,
            "https://registry.example.evil:5000/v2/"
        ));
        assert!(!same_origin(&base, "not a url"));
        let default = url::Url::parse("https://quay.io/").unwrap();
        assert!(same_origin(&default, "https://quay.io:443/v2/"));
        assert!(!same_origin(&default, "https://cdn.quay.io/v2/"));
    }
}
