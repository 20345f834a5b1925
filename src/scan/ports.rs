//! Port lists as people type them for a scan: `22`, `22,80,443`,
//! `8000-8100`, and any mix (`22,80,8000-8100`), as nc -z and nmap -p take
//! them. Several arguments add up (`nc -z host 20 22-25`).
//!
//! Port 0 is not a port anyone can listen on for a connection (binding 0
//! means "any free port"), so a scan starts at 1.

use std::fmt;

/// Ports typed in one argument: inclusive ranges, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortList(pub Vec<(u16, u16)>);

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Parses `22,80,8000-8100`, with errors that say what to write.
pub fn parse_ports(s: &str) -> Result<PortList, String> {
    let mut ranges = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!(
                "{s:?} has an empty item: write ports like 22,80,8000-8100"
            ));
        }
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (port(a, s)?, port(b, s)?),
            None => (port(part, s)?, port(part, s)?),
        };
        if a > b {
            return Err(format!(
                "{part:?} runs backwards: write the lower port first, {b}-{a}"
            ));
        }
        ranges.push((a, b));
    }
    Ok(PortList(ranges))
}

fn port(text: &str, whole: &str) -> Result<u16, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} in {whole:?} is not a port: ports are numbers from 1 to 65535, like 22,80,8000-8100"
        ));
    }
    match text.parse::<u16>() {
        Ok(0) => Err(
            "port 0 cannot be scanned: it means \"any free port\" when binding, and nothing listens on it"
                .into(),
        ),
        Ok(p) => Ok(p),
        Err(_) => Err(format!(
            "port {text} is out of range: ports are 16-bit numbers, 1 to 65535"
        )),
    }
}

/// Every port of the lists, in the order given, each once (a 65,536-bit
/// set remembers which were seen: linear, whatever the overlap).
pub fn expand(lists: &[PortList]) -> Vec<u16> {
    let mut seen = vec![false; 1 << 16];
    let mut out = Vec::new();
    for (a, b) in lists.iter().flat_map(|l| l.0.iter()) {
        for p in *a..=*b {
            if !std::mem::replace(&mut seen[p as usize], true) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges_parse() {
        let l = parse_ports("22,80,8000-8002").expect("valid");
        assert_eq!(l.0, [(22, 22), (80, 80), (8000, 8002)]);
        assert_eq!(l.to_string(), "22,80,8000-8002");
        assert_eq!(parse_ports("1-65535").expect("valid").0, [(1, 65535)]);
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let err = |s: &str| parse_ports(s).expect_err(s);
        assert!(err("22,,80").contains("empty item"));
        assert!(err("80-22").contains("22-80"));
        assert!(err("0").contains("port 0"));
        assert!(err("70000").contains("out of range"));
        assert!(err("http").contains("not a port"));
        assert!(err("1-").contains("not a port"));
    }

    #[test]
    fn ports_are_scanned_once_in_the_order_given() {
        let lists = [
            parse_ports("80,20-22").expect("valid"),
            parse_ports("21,443").expect("valid"),
        ];
        assert_eq!(expand(&lists), [80, 20, 21, 22, 443]);
    }
}
