//! Where a bot's Runtime API listens: a TCP address (`runtime_http_addr`,
//! which `"off"` switches off), a Unix socket (`runtime_http_socket`), or
//! both. A socket file of mode 0600 is reachable by its owner only, which
//! no loopback port is.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The longest path a Unix socket address holds (`sun_path`, less its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// `runtime_http_addr` as written: an address, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpAddr {
    Tcp(SocketAddr),
    Off,
}

impl Serialize for HttpAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HttpAddr::Tcp(addr) => s.collect_str(addr),
            HttpAddr::Off => s.serialize_str("off"),
        }
    }
}

impl<'de> Deserialize<'de> for HttpAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "off" {
            return Ok(HttpAddr::Off);
        }
        text.parse().map(HttpAddr::Tcp).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is neither an address such as 127.0.0.1:7331 nor \"off\""
            ))
        })
    }
}

/// Where a bot listens, once the loader has resolved it: at least one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenOn {
    pub tcp: Option<SocketAddr>,
    /// Absolute.
    pub socket: Option<PathBuf>,
}

impl ListenOn {
    /// What the bot's agents are given as `ALICE_RUNTIME_API_BASE_URL`:
    /// the TCP address while there is one (any HTTP client reaches it),
    /// else `unix://<path>`.
    pub fn base_url(&self) -> String {
        match (&self.tcp, &self.socket) {
            (Some(addr), _) => format!("http://{addr}"),
            (None, Some(path)) => format!("unix://{}", path.display()),
            (None, None) => String::new(),
        }
    }
}

impl fmt::Display for ListenOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.tcp, &self.socket) {
            (Some(addr), None) => write!(f, "{addr}"),
            (None, Some(path)) => write!(f, "unix:{}", path.display()),
            (Some(addr), Some(path)) => write!(f, "{addr} and unix:{}", path.display()),
            (None, None) => f.write_str("nowhere"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_the_tcp_address_while_there_is_one() {
        let addr: SocketAddr = "127.0.0.1:7331".parse().unwrap();
        let socket = Some(PathBuf::from("/run/alice/a.sock"));
        let both = ListenOn {
            tcp: Some(addr),
            socket: socket.clone(),
        };
        assert_eq!(both.base_url(), "http://127.0.0.1:7331");
        assert_eq!(
            both.to_string(),
            "127.0.0.1:7331 and unix:/run/alice/a.sock"
        );
        let only = ListenOn { tcp: None, socket };
        assert_eq!(only.base_url(), "unix:///run/alice/a.sock");
        assert_eq!(only.to_string(), "unix:/run/alice/a.sock");
    }
}
