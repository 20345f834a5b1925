//! JIDs: the addresses of XMPP, `localpart@domain/resource` (RFC 7622).
//!
//! A *bare* JID (`alice@localhost`) names an account; a *full* JID
//! (`alice@localhost/laptop`) names one connected session of it, so a person
//! logged in from a laptop and a phone has one bare JID and two full ones.
//! Messages to a bare JID are for the person, and the server picks the
//! session(s); messages to a full JID are for that one device.
//!
//! Normalisation is kept simple and safe: the localpart and domain are
//! lowercased (RFC 7622 case-folds them; full PRECIS profiles are out of
//! scope) and the characters RFC 7622 forbids in a localpart are refused, as
//! are controls and spaces anywhere. A resource keeps its case.

use std::fmt;

/// Longest part, in bytes (RFC 7622 §3.1).
const MAX_PART: usize = 1023;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    pub local: Option<String>,
    pub domain: String,
    pub resource: Option<String>,
}

impl Jid {
    /// `local@domain`, already checked by the caller (a stored account).
    pub fn bare(local: &str, domain: &str) -> Jid {
        Jid {
            local: Some(local.to_string()),
            domain: domain.to_string(),
            resource: None,
        }
    }

    /// `local@domain/resource`.
    pub fn full(local: &str, domain: &str, resource: &str) -> Jid {
        Jid {
            resource: Some(resource.to_string()),
            ..Jid::bare(local, domain)
        }
    }

    /// The domain alone: the server itself.
    pub fn domain(domain: &str) -> Jid {
        Jid {
            local: None,
            domain: domain.to_string(),
            resource: None,
        }
    }

    /// Parses and normalises a JID; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Jid, String> {
        let (rest, resource) = match s.split_once('/') {
            Some((rest, res)) => (rest, Some(res)),
            None => (s, None),
        };
        let (local, domain) = match rest.split_once('@') {
            Some((l, d)) => (Some(l), d),
            None => (None, rest),
        };
        let domain = domain.to_lowercase();
        check_part("domain", &domain)?;
        if domain.contains(['@', '/']) {
            return Err(format!("{s:?} has more than one @"));
        }
        let local = match local {
            Some(l) => Some(localpart(l)?),
            None => None,
        };
        let resource = match resource {
            Some(r) => {
                check_part("resource", r)?;
                Some(r.to_string())
            }
            None => None,
        };
        Ok(Jid {
            local,
            domain,
            resource,
        })
    }

    /// This JID without its resource.
    pub fn to_bare(&self) -> Jid {
        Jid {
            resource: None,
            ..self.clone()
        }
    }

    pub fn is_bare(&self) -> bool {
        self.resource.is_none()
    }

    /// The account name, for a JID that has one.
    pub fn user(&self) -> Option<&str> {
        self.local.as_deref()
    }
}

/// Checks and lowercases an account name (a JID's localpart).
pub fn localpart(l: &str) -> Result<String, String> {
    let l = l.to_lowercase();
    check_part("user name", &l)?;
    if let Some(c) = l.chars().find(|c| "\"&'/:<>@".contains(*c)) {
        return Err(format!(
            "a user name cannot contain {c:?} (RFC 7622 forbids \"&'/:<>@ in the part before @)"
        ));
    }
    Ok(l)
}

fn check_part(what: &str, part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if part.len() > MAX_PART {
        return Err(format!(
            "the {what} is {} bytes, over the limit of {MAX_PART}",
            part.len()
        ));
    }
    if let Some(c) = part
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || crate::chat::invisible(*c))
    {
        return Err(format!(
            "the {what} contains {:?}: spaces, controls and invisible characters are not allowed",
            c
        ));
    }
    Ok(())
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if let Some(l) = &self.local {
            write!(f, "{l}@")?;
        }
        f.write_str(&self.domain)?;
        if let Some(r) = &self.resource {
            write!(f, "/{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_split_and_normalised() {
        let j = Jid::parse("Alice@LocalHost/Laptop").expect("valid");
        assert_eq!(j, Jid::full("alice", "localhost", "Laptop"));
        assert_eq!(j.to_string(), "alice@localhost/Laptop");
        assert_eq!(j.to_bare().to_string(), "alice@localhost");
        assert_eq!(
            Jid::parse("localhost").expect("domain"),
            Jid::domain("localhost")
        );
        // A resource may contain @ and /.
        let j = Jid::parse("a@b/c@d/e").expect("valid");
        assert_eq!(j.resource.as_deref(), Some("c@d/e"));
    }

    #[test]
    fn bad_jids_say_what_is_wrong() {
        for (jid, words) in [
            ("@localhost", "user name is empty"),
            ("a b@localhost", "spaces"),
            ("a\u{1b}@localhost", "controls"),
            ("a\u{202e}@localhost", "invisible"),
            ("a:b@localhost", "':'"),
            ("a@", "domain is empty"),
            ("a@b/", "resource is empty"),
        ] {
            let err = Jid::parse(jid).expect_err(jid);
            assert!(err.contains(words), "{jid}: {err}");
        }
        assert!(Jid::parse(&format!("{}@x", "a".repeat(2000))).is_err());
    }
}
