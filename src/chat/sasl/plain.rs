//! PLAIN (RFC 4616): the password itself, in one message.
//!
//! ```text
//! message = [authzid] NUL authcid NUL passwd
//! ```
//!
//! `authcid` is the username, `authzid` who to act as (empty: yourself). On
//! the XMPP wire the message is base64, which is an encoding, not
//! encryption: anyone who sees the bytes has the password. That is why
//! servers offer PLAIN only inside TLS, and why SCRAM exists.
//!
//! The server cannot check the password here: that needs PBKDF2 (slow), so
//! the exchange hands the parsed request to its caller
//! ([`Step::VerifyPlain`](super::Step::VerifyPlain)).

use super::failure::Failure;
use super::secret::Secret;
use super::username::{check_authzid, normalize_localpart};

/// A parsed PLAIN message: the username normalised, the authzid checked.
#[derive(Debug)]
pub(super) struct PlainRequest {
    pub authzid: String,
    pub username: String,
    pub password: Secret,
}

/// Parses and checks a PLAIN message. Every way it can be wrong has its own
/// reason; none of them echoes the password.
pub(super) fn parse(data: &[u8], domain: &str) -> Result<PlainRequest, Failure> {
    let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let [authzid, authcid, passwd] = fields.as_slice() else {
        return Err(Failure::malformed(format!(
            "PLAIN needs exactly two NUL bytes (authzid NUL username NUL password); \
             this message has {}",
            fields.len() - 1
        )));
    };
    let text = |field: &[u8], what: &str| {
        std::str::from_utf8(field).map(str::to_string).map_err(|e| {
            Failure::malformed(format!(
                "the {what} is not UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ))
        })
    };
    let authzid = text(authzid, "authzid")?;
    let authcid = text(authcid, "username")?;
    let password = Secret::new(text(passwd, "password")?);
    if password.is_empty() {
        return Err(Failure::malformed("the password is empty"));
    }
    let username = normalize_localpart(&authcid).map_err(Failure::malformed)?;
    check_authzid(&authzid, &username, domain)?;
    Ok(PlainRequest {
        authzid,
        username,
        password,
    })
}

/// The client's PLAIN message (before base64): `authzid NUL username NUL
/// password`. Pass `""` as authzid to log in as yourself.
pub fn plain_initial(authzid: &str, username: &str, password: &Secret) -> Vec<u8> {
    let mut out = Vec::with_capacity(authzid.len() + username.len() + password.expose().len() + 2);
    out.extend_from_slice(authzid.as_bytes());
    out.push(0);
    out.extend_from_slice(username.as_bytes());
    out.push(0);
    out.extend_from_slice(password.expose().as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::sasl::Condition;

    #[test]
    fn a_plain_message_parses_into_its_three_fields() {
        let msg = plain_initial("alice@example.org", "Alice", &"pencil".into());
        assert_eq!(msg, b"alice@example.org\0Alice\0pencil");
        let r = parse(&msg, "example.org").unwrap();
        assert_eq!(
            (r.authzid.as_str(), r.username.as_str()),
            ("alice@example.org", "alice")
        );
        assert_eq!(r.password.expose(), "pencil");
    }

    #[test]
    fn broken_plain_messages_fail_with_a_reason() {
        let cases: [(&[u8], Condition, &str); 7] = [
            (b"alice\0pencil", Condition::MalformedRequest, "has 1"),
            (b"\0alice\0pen\0cil", Condition::MalformedRequest, "has 3"),
            (
                b"\0alice\0",
                Condition::MalformedRequest,
                "password is empty",
            ),
            (
                b"\0\0pencil",
                Condition::MalformedRequest,
                "username is empty",
            ),
            (
                b"\0al\xffice\0pencil",
                Condition::MalformedRequest,
                "offset 2",
            ),
            (b"\0a b\0pencil", Condition::MalformedRequest, "U+0020"),
            (
                b"bob@example.org\0alice\0pencil",
                Condition::InvalidAuthzid,
                "bob@",
            ),
        ];
        for (msg, condition, words) in cases {
            let f = parse(msg, "example.org").unwrap_err();
            assert_eq!(f.condition, condition, "{f}");
            assert!(f.reason.contains(words), "{f}");
            assert!(!f.reason.contains("pencil"), "{f}");
        }
    }
}
