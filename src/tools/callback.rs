//! Callback delivery: the result of an asynchronous invocation POSTed to the
//! caller's URL. Only `http`/`https`; never to loopback, private, link-local,
//! unique-local, multicast or unspecified addresses, whether the URL names
//! one literally (refused at once) or a host name resolves to one (refused
//! at delivery, and the connection goes to the addresses checked, so a
//! second lookup cannot swap them: a DNS-rebinding guard). No redirects are
//! followed and at most [`MAX_ANSWER_BYTES`] of the answer are read.

use super::ToolError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// What is read of a receiver's answer (then the connection is dropped).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A checked callback: where and with which extra headers.
#[derive(Debug, Clone)]
pub struct Target {
    url: Url,
    headers: HeaderMap,
    allow_loopback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("{0} is not a public address")]
    Refused(IpAddr),
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("the request failed: {0}")]
    Send(String),
    #[error("the receiver answered {0}")]
    Status(u16),
}

/// Checks a callback as given: 400 for another scheme, a literal address
/// that is not public, a malformed header.
pub fn check(
    url: &str,
    headers: &BTreeMap<String, String>,
    allow_loopback: bool,
) -> Result<Target, ToolError> {
    let bad = |m: String| ToolError::BadCallback(m);
    let url = Url::parse(url.trim()).map_err(|e| bad(format!("`url` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "`url` must be http or https, not {}",
            url.scheme()
        )));
    }
    if let Some(ip) = literal(&url)? {
        if refused(ip, allow_loopback) {
            return Err(bad(format!("{ip} is not a public address")));
        }
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("`{name}` is not a header name")))?;
        if matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding" | "content-type"
        ) {
            return Err(bad(format!("the header `{name}` is set by alice")));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| bad(format!("the value of `{name}` is not a header value")))?;
        map.insert(name, value);
    }
    Ok(Target {
        url,
        headers: map,
        allow_loopback,
    })
}

/// The URL's host when it is an address.
fn literal(url: &Url) -> Result<Option<IpAddr>, ToolError> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => Ok(Some(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => Ok(Some(IpAddr::V6(ip))),
        Some(url::Host::Domain(_)) => Ok(None),
        None => Err(ToolError::BadCallback("`url` has no host".into())),
    }
}

/// Whether a callback must not go to `ip`.
pub fn refused(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if ip.is_loopback() {
        return !allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => not_public_v6(v6),
    }
}

fn not_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0 // "this network", 0.0.0.0 included
        || (a == 100 && (64..128).contains(&b)) // shared address space
}

fn not_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    // An IPv4 address inside: IPv4-compatible (`::a.b.c.d`, deprecated) or
    // NAT64 (`64:ff9b::a.b.c.d`), which a gateway would reach for us.
    let [.., a, b] = segments;
    let embedded = Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8);
    let wraps_v4 = segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first & 0xfe00) == 0xfc00 // unique-local
        || (wraps_v4 && refused(IpAddr::V4(embedded), false))
}

/// POSTs `body` to the target, checking the addresses a host name resolves
/// to now and connecting only to those.
pub async fn deliver(
    target: &Target,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<u16, CallbackError> {
    let port = target.url.port_or_known_default().unwrap_or(80);
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout);
    match target.url.host() {
        Some(url::Host::Domain(host)) => {
            let addrs = resolve(host, port, timeout).await?;
            if let Some(bad) = addrs
                .iter()
                .find(|a| refused(a.ip(), target.allow_loopback))
            {
                return Err(CallbackError::Refused(bad.ip()));
            }
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        Some(url::Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), target.allow_loopback)?,
        Some(url::Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), target.allow_loopback)?,
        None => return Err(CallbackError::Send("no host".into())),
    }
    let client = builder
        .build()
        .map_err(|e| CallbackError::Send(e.to_string()))?;
    let mut res = client
        .post(target.url.clone())
        .headers(target.headers.clone())
        .json(body)
        .send()
        .await
        .map_err(|e| CallbackError::Send(e.without_url().to_string()))?;
    let status = res.status();
    // Read a bounded part of the answer, so a receiver cannot hold us with
    // an endless body (the timeout covers a slow one).
    let mut read = 0;
    while read < MAX_ANSWER_BYTES {
        match res.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(CallbackError::Status(status.as_u16()))
    }
}

fn check_ip(ip: IpAddr, allow_loopback: bool) -> Result<(), CallbackError> {
    if refused(ip, allow_loopback) {
        return Err(CallbackError::Refused(ip));
    }
    Ok(())
}

async fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, CallbackError> {
    let failed = |reason: String| CallbackError::Resolve {
        host: host.to_string(),
        reason,
    };
    let found = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| failed("timed out".into()))?
        .map_err(|e| failed(e.to_string()))?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(failed("no address".into()));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_accepted() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(refused(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(!refused("127.0.0.1".parse().unwrap(), true));
        assert!(!refused("::ffff:127.0.0.1".parse().unwrap(), true));
        assert!(refused("10.0.0.1".parse().unwrap(), true));
    }

    #[test]
    fn urls_are_checked_for_scheme_literal_and_headers() {
        let none = BTreeMap::new();
        assert!(check("https://example.com/hook", &none, false).is_ok());
        assert!(
            check("http://localhost:1/hook", &none, false).is_ok(),
            "names are checked at delivery"
        );
        for url in [
            "ftp://example.com/",
            "http://[::1]/",
            "http://0x7f.0.0.1/",
            "not a url",
        ] {
            assert!(check(url, &none, false).is_err(), "{url}");
        }
        let host = BTreeMap::from([("Host".to_string(), "x".to_string())]);
        assert!(check("https://example.com/", &host, false).is_err());
    }
}
