//! Usernames: XMPP localparts, and SCRAM's escaping of them.
//!
//! A chat account is the localpart of a JID (`alice` in `alice@example.org`),
//! so a username follows RFC 7622's rules: 1 to 1023 bytes, none of
//! `" & ' / : < > @`, no spaces or control characters. Case does not count
//! (`Alice` and `alice` are one account); socklab folds ASCII only.
//!
//! SCRAM carries the username inside a comma-separated message, so RFC 5802
//! §5.1 escapes the two characters that would break it: `,` as `=2C` and
//! `=` as `=3D`. Any other `=` sequence is an error.

use super::failure::{Condition, Failure};

/// RFC 7622 §3.3.1: a localpart is at most 1023 bytes.
pub const MAX_LOCALPART: usize = 1023;

/// Checks a username and returns its normal form (ASCII-lowercased), or
/// says exactly what is wrong with it.
pub fn normalize_localpart(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("the username is empty".into());
    }
    if name.len() > MAX_LOCALPART {
        return Err(format!(
            "the username is {} bytes long; an XMPP localpart is at most {MAX_LOCALPART}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|&c| forbidden(c)) {
        return Err(format!(
            "the username contains {}, which an XMPP localpart may not \
             (forbidden: \" & ' / : < > @, spaces and control characters)",
            show_char(c)
        ));
    }
    Ok(name.to_ascii_lowercase())
}

fn forbidden(c: char) -> bool {
    "\"&'/:<>@".contains(c) || c.is_whitespace() || c.is_control()
}

/// A character as a person can read it in an error: `'@'`, `U+0009`.
fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// RFC 5802 `saslname`: `,` → `=2C`, `=` → `=3D`.
pub fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Undoes [`escape_saslname`]; any `=` not starting `=2C` or `=3D` is an
/// error (RFC 5802 §5.1: the server MUST fail the authentication).
pub fn unescape_saslname(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if after.starts_with("=2C") {
            out.push(',');
        } else if after.starts_with("=3D") {
            out.push('=');
        } else {
            let shown: String = after.chars().take(3).collect();
            return Err(format!(
                "'{shown}' is not a valid escape: in a SCRAM name '=' may only start \
                 =2C (a comma) or =3D (an equals sign)"
            ));
        }
        rest = &after[3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The authorization identity rule shared by PLAIN and SCRAM: a client may
/// log in as itself only, so the authzid must be empty or its own bare JID
/// (`alice@example.org`). Acting for someone else (a proxy login) is a
/// feature this server does not offer.
pub fn check_authzid(authzid: &str, username: &str, domain: &str) -> Result<(), Failure> {
    if authzid.is_empty() {
        return Ok(());
    }
    let own = format!("{username}@{domain}");
    if authzid.eq_ignore_ascii_case(&own) {
        return Ok(());
    }
    Err(Failure::new(
        Condition::InvalidAuthzid,
        format!(
            "the client asked to act as '{authzid}', but '{username}' may only act as \
             itself: leave the authzid empty or send '{own}'"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localparts_are_lowercased_and_checked() {
        assert_eq!(normalize_localpart("Alice").unwrap(), "alice");
        assert_eq!(normalize_localpart("ÉLodie").unwrap(), "Élodie");
        assert!(normalize_localpart("").is_err());
        assert!(normalize_localpart(&"a".repeat(1024)).is_err());
        assert!(normalize_localpart(&"a".repeat(1023)).is_ok());
        for bad in [
            "a@b", "a b", "a\tb", "a/b", "a:b", "a<b", "a\"b", "a'b", "a&b", "a\u{7f}",
        ] {
            let e = normalize_localpart(bad).unwrap_err();
            assert!(e.contains("forbidden"), "{bad}: {e}");
        }
        assert!(normalize_localpart("a,b=c").is_ok());
    }

    #[test]
    fn saslnames_round_trip_and_bad_escapes_fail() {
        for name in ["user", "a,b", "a=b", "=2C", ",,==", ""] {
            assert_eq!(unescape_saslname(&escape_saslname(name)).unwrap(), name);
        }
        assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
        for bad in ["a=", "a=2", "a=2c", "=41", "x=3"] {
            assert!(unescape_saslname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authzid_must_be_empty_or_the_own_bare_jid() {
        assert!(check_authzid("", "alice", "example.org").is_ok());
        assert!(check_authzid("Alice@Example.org", "alice", "example.org").is_ok());
        let f = check_authzid("bob@example.org", "alice", "example.org").unwrap_err();
        assert_eq!(f.condition, Condition::InvalidAuthzid);
        assert!(check_authzid("alice", "alice", "example.org").is_err());
    }
}
