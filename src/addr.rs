//! Addresses as people type them: `5288`, `127.0.0.1:5288`, `localhost:5288`,
//! `[::1]:5288`, `::1`, or a host and a port as two arguments (`HOST PORT`, the
//! netcat way).
//!
//! Parsing is strict and its errors say what to write instead, because a
//! learner's first mistake is usually here ("localhost:" with no port, port
//! 70000). Resolution of names happens later, in [`resolve`], so that it can be
//! narrated.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// The host half of an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// What the user typed: a host, a port, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Option<Host>,
    pub port: Option<u16>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (&self.host, self.port) {
            (Some(h), Some(p)) => write!(f, "{h}:{p}"),
            (Some(h), None) => write!(f, "{h}"),
            (None, Some(p)) => write!(f, "{p}"),
            (None, None) => Ok(()),
        }
    }
}

/// Parses a port, with the error a learner needs.
pub fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() {
        return Err("the port is missing: give a number from 0 to 65535".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{s:?} is not a port: a port is a number from 0 to 65535"
        ));
    }
    s.parse::<u16>()
        .map_err(|_| format!("port {s} is out of range: ports are 16-bit numbers, 0 to 65535"))
}

fn parse_host(s: &str) -> Result<Host, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let valid = s.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if valid && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        Ok(Host::Name(s.to_string()))
    } else {
        Err(format!(
            "{s:?} is neither an IP address (like 127.0.0.1 or ::1) nor a host name (like localhost)"
        ))
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Endpoint, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the address is empty: write PORT, HOST:PORT or [IPv6]:PORT".into());
        }
        // "[::1]:5288" or "[::1]"
        if let Some(rest) = s.strip_prefix('[') {
            let (ip, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("{s:?} opens '[' but never closes it: write [::1]:5288"))?;
            let ip: std::net::Ipv6Addr = ip
                .parse()
                .map_err(|_| format!("{ip:?} inside [...] is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':').ok_or_else(|| {
                    format!("after [{ip}] write ':' and a port, like [{ip}]:5288")
                })?)?),
            };
            return Ok(Endpoint {
                host: Some(Host::Ip(IpAddr::V6(ip))),
                port,
            });
        }
        // A bare IPv6 address has several colons and cannot carry a port.
        if s.matches(':').count() > 1 {
            let ip: std::net::Ipv6Addr = s.parse().map_err(|_| {
                format!(
                    "{s:?} is not an IPv6 address; with a port, write it in brackets: [::1]:5288"
                )
            })?;
            return Ok(Endpoint {
                host: Some(Host::Ip(IpAddr::V6(ip))),
                port: None,
            });
        }
        if let Some((host, port)) = s.split_once(':') {
            if host.is_empty() {
                return Err(format!(
                    "{s:?} has no host before ':': write 127.0.0.1{s} or just the port"
                ));
            }
            if port.is_empty() {
                return Err(format!("{s:?} has no port after ':': write {host}:5288"));
            }
            return Ok(Endpoint {
                host: Some(parse_host(host)?),
                port: Some(parse_port(port)?),
            });
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Endpoint {
                host: None,
                port: Some(parse_port(s)?),
            });
        }
        Ok(Endpoint {
            host: Some(parse_host(s)?),
            port: None,
        })
    }
}

impl Endpoint {
    /// Combines `HOST[:PORT]` with an optional separate `PORT` argument into
    /// a host and exactly one port.
    pub fn with_port(self, port: Option<u16>) -> Result<(Host, u16), String> {
        let host = self.host.clone().ok_or_else(|| {
            format!("{self} is only a port: say which host, for example 127.0.0.1 {self}")
        })?;
        match (self.port, port) {
            (Some(a), Some(b)) => Err(format!(
                "the port is given twice ({host}:{a} and {b}): write either {host}:{a} or {host} {a}"
            )),
            (Some(p), None) | (None, Some(p)) => Ok((host, p)),
            (None, None) => Err(format!(
                "which port on {host}? write {host}:5288 or {host} 5288"
            )),
        }
    }

    /// The address to bind for a server: the host defaults to 127.0.0.1, so a
    /// port is not exposed to the network unless the user asks.
    pub fn bind_target(&self) -> Result<(Host, u16), String> {
        self.bind_target_for(Lookup::default())
    }

    /// [`Endpoint::bind_target`], with the loopback of the family `-4`/`-6`
    /// asks for.
    pub fn bind_target_for(&self, lookup: Lookup) -> Result<(Host, u16), String> {
        let port = self.port.ok_or_else(|| {
            format!("which port? write {self}:5288, or 0 to let the OS choose one")
        })?;
        let host = self.host.clone().unwrap_or_else(|| lookup.loopback());
        Ok((host, port))
    }
}

/// Which addresses a host may become (nc's `-4`, `-6`, `-n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// `Some(false)`: IPv4 only (`-4`); `Some(true)`: IPv6 only (`-6`).
    pub ipv6: Option<bool>,
    /// `-n`: a name is an error, no lookup happens.
    pub numeric: bool,
}

impl Lookup {
    /// A server's default host: 127.0.0.1, or ::1 under `-6`.
    pub fn loopback(&self) -> Host {
        match self.ipv6 {
            Some(true) => Host::Ip(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
            _ => Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }

    /// Whether the host may be used at all: `-n` refuses names, `-4` and
    /// `-6` refuse an address of the other family. The error is a usage
    /// error: the command line contradicts itself.
    pub fn check(&self, host: &Host) -> Result<(), String> {
        match (host, self.ipv6) {
            (Host::Name(name), _) if self.numeric => Err(format!(
                "-n means no name lookups, and {name:?} is a name: write an IP address (127.0.0.1, ::1), or drop -n"
            )),
            (Host::Ip(IpAddr::V4(ip)), Some(true)) => Err(format!(
                "{ip} is an IPv4 address and -6 asks for IPv6: write an IPv6 address (::1), or drop -6"
            )),
            (Host::Ip(IpAddr::V6(ip)), Some(false)) => Err(format!(
                "{ip} is an IPv6 address and -4 asks for IPv4: write an IPv4 address (127.0.0.1), or drop -4"
            )),
            _ => Ok(()),
        }
    }

    /// Keeps the addresses of the family asked for.
    pub fn filter(&self, addrs: Vec<SocketAddr>) -> io::Result<Vec<SocketAddr>> {
        let Some(v6) = self.ipv6 else {
            return Ok(addrs);
        };
        let kept: Vec<SocketAddr> = addrs.into_iter().filter(|a| a.is_ipv6() == v6).collect();
        if kept.is_empty() {
            let (family, flag) = if v6 { ("IPv6", "-6") } else { ("IPv4", "-4") };
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the name has no {family} address ({flag})"),
            ));
        }
        Ok(kept)
    }
}

/// Turns a host and port into socket addresses, IPv4 first.
///
/// socklab listens on 127.0.0.1 by default, so for `localhost` (which resolves
/// to both ::1 and 127.0.0.1) trying IPv4 first reaches a default socklab
/// listener at once instead of being refused on ::1 first.
pub fn resolve(host: &Host, port: u16) -> io::Result<Vec<SocketAddr>> {
    let mut addrs: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => (name.as_str(), port).to_socket_addrs()?.collect(),
    };
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs.dedup();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the name has no addresses",
        ));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn every_accepted_form() {
        assert_eq!(
            ep("5288"),
            Endpoint {
                host: None,
                port: Some(5288)
            }
        );
        assert_eq!(ep("127.0.0.1:5288").to_string(), "127.0.0.1:5288");
        assert_eq!(ep("[::1]:5288").to_string(), "[::1]:5288");
        assert_eq!(ep("::1").port, None);
        assert_eq!(
            ep("localhost:80").host,
            Some(Host::Name("localhost".into()))
        );
        assert_eq!(ep("localhost").port, None);
        assert_eq!(ep("0.0.0.0:0").port, Some(0));
    }

    #[test]
    fn mistakes_get_advice() {
        let err = |s: &str| s.parse::<Endpoint>().expect_err(s);
        assert!(err("localhost:").contains("write localhost:5288"));
        assert!(err("70000").contains("out of range"));
        assert!(err("127.0.0.1:70000").contains("0 to 65535"));
        assert!(err(":5288").contains("no host"));
        assert!(err("[::1:5288").contains("never closes"));
        assert!(err("::1:5288:x").contains("brackets"));
        assert!(err("bad host!").contains("neither an IP"));
        assert!(err("1.2.3").contains("neither an IP"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn host_and_port_combine_once() {
        assert_eq!(
            ep("localhost").with_port(Some(80)),
            Ok((Host::Name("localhost".into()), 80))
        );
        assert!(
            ep("localhost:80")
                .with_port(Some(81))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            ep("localhost")
                .with_port(None)
                .unwrap_err()
                .contains("which port")
        );
        assert!(
            ep("80")
                .with_port(None)
                .unwrap_err()
                .contains("only a port")
        );
    }

    #[test]
    fn servers_bind_loopback_unless_told() {
        assert_eq!(
            ep("5288").bind_target(),
            Ok((Host::Ip(Ipv4Addr::LOCALHOST.into()), 5288))
        );
        assert!(ep("localhost").bind_target().is_err());
    }

    #[test]
    fn localhost_resolves_ipv4_first() {
        let addrs = resolve(&Host::Name("localhost".into()), 9).expect("localhost resolves");
        assert!(addrs[0].is_ipv4(), "{addrs:?}");
    }

    #[test]
    fn lookup_flags_refuse_what_contradicts_them() {
        let v6 = Lookup {
            ipv6: Some(true),
            numeric: true,
        };
        assert!(
            v6.check(&Host::Name("localhost".into()))
                .unwrap_err()
                .contains("-n")
        );
        assert!(
            v6.check(&Host::Ip(Ipv4Addr::LOCALHOST.into()))
                .unwrap_err()
                .contains("-6")
        );
        assert!(
            v6.check(&Host::Ip(std::net::Ipv6Addr::LOCALHOST.into()))
                .is_ok()
        );
        assert_eq!(v6.loopback().to_string(), "[::1]");
        let v4 = Lookup {
            ipv6: Some(false),
            numeric: false,
        };
        let only_v6 = vec!["[::1]:9".parse().expect("addr")];
        assert!(v4.filter(only_v6).is_err());
    }
}
