//! The URLs an attachment travels by, read with suspicion: a slot's PUT URL
//! and a message's GET URL come from the wire, so they are parsed here (only
//! `http://HOST[:PORT]/PATH`, no user info, no TLS) and checked against the
//! one rule that keeps a chat client from being used to reach anything
//! else: **an attachment is fetched only from the chat server's own host**.
//!
//! A URL is just text in a message; a client that fetched every URL it was
//! sent could be made to reach any machine its user can (a printer, a
//! router's admin page, a service on localhost). So the host must be the
//! address the client connected to, or, when it connected to loopback, a
//! loopback name (`localhost`, `127.0.0.1`, `::1`). Any other URL is shown,
//! not fetched, with the reason.

use std::net::{IpAddr, SocketAddr};

/// An `http://` URL, in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// As written, without brackets for IPv6: `127.0.0.1`, `localhost`, `::1`.
    pub host: String,
    pub port: u16,
    /// The request target: `/files/ID/NAME` (with any query).
    pub path: String,
}

impl HttpUrl {
    /// Parses `http://HOST[:PORT][/PATH]`; the reason in words when it is not one.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                "an https:// URL: socklab's client speaks plain HTTP on loopback only".into()
            } else {
                "not an http:// URL".into()
            });
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or_default();
        if authority.contains('@') {
            return Err("the URL carries a user name (user@host): not followed".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or("an IPv6 host without its ']'")?;
            (h, tail.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("{p:?} is not a port"))?,
        };
        if host.is_empty() || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err("the URL has no host, or spaces or control characters".into());
        }
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(HttpUrl {
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// The Host header's value (RFC 9110 §7.2).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The file name the URL ends with, percent-decoded: still a name from
    /// the wire, to be made safe before it names anything on disk.
    pub fn file_name(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        let last = path.rsplit('/').next().unwrap_or_default();
        percent_decode(last)
    }

    /// Where to connect for this URL, if its host is the chat server's own
    /// (`server`: the address the chat connection went to; `named`: the
    /// host name given with --server). The reason in words if it is not.
    pub fn on_server(&self, server: SocketAddr, named: &str) -> Result<SocketAddr, String> {
        let loopback_name = matches!(self.host.as_str(), "localhost" | "localhost.");
        let ip = self.host.parse::<IpAddr>().ok();
        let same = match ip {
            Some(ip) => ip == server.ip() || (ip.is_loopback() && server.ip().is_loopback()),
            None => {
                (loopback_name && server.ip().is_loopback())
                    || self
                        .host
                        .eq_ignore_ascii_case(named.trim_matches(['[', ']']))
            }
        };
        if !same {
            return Err(format!(
                "its host {} is not the chat server's ({}): socklab fetches attachments only from the server it is connected to, so that a link in a message cannot make it reach other machines; open it yourself if you trust it",
                self.host,
                server.ip()
            ));
        }
        Ok(SocketAddr::new(ip.unwrap_or(server.ip()), self.port))
    }
}

/// `%2F` → `/`: the bytes a URL path escapes, decoded (invalid UTF-8 and
/// bad escapes are kept as they are, then made safe by the caller).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_to_host_port_and_path() {
        let u = HttpUrl::parse("http://127.0.0.1:5280/files/ab/photo.png").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 5280));
        assert_eq!(u.path, "/files/ab/photo.png");
        assert_eq!(u.file_name(), "photo.png");
        let u = HttpUrl::parse("http://[::1]:8/x/..%2F..%2F.bashrc?x=1#f").expect("v6");
        assert_eq!((u.host.as_str(), u.port), ("::1", 8));
        assert_eq!(u.authority(), "[::1]:8");
        assert_eq!(u.file_name(), "../../.bashrc");
        assert_eq!(HttpUrl::parse("http://localhost").expect("bare").path, "/");
        for bad in [
            "https://x/y",
            "ftp://x",
            "http://u@x/",
            "http://x:0/",
            "http://x:99999/",
            "http:///y",
            "http://x/a b",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_chat_servers_host_is_fetched() {
        let v4: SocketAddr = "127.0.0.1:5222".parse().expect("addr");
        let ok = |url: &str| HttpUrl::parse(url).expect("url").on_server(v4, "127.0.0.1");
        assert_eq!(
            ok("http://127.0.0.1:5280/f").expect("same"),
            "127.0.0.1:5280".parse().expect("a")
        );
        assert_eq!(
            ok("http://localhost:81/f").expect("name"),
            "127.0.0.1:81".parse().expect("a")
        );
        assert!(ok("http://[::1]:81/f").is_ok(), "loopback to loopback");
        for far in [
            "http://10.0.0.1/f",
            "http://example.com/f",
            "http://169.254.169.254/",
        ] {
            let why = ok(far).expect_err(far);
            assert!(why.contains("not the chat server's"), "{why}");
        }
    }
}
