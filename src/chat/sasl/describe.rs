//! Narration for learners: what each SASL message says, field by field, in
//! plain words, with every secret masked.
//!
//! Data only: each function returns a line; the caller decides whether it
//! becomes a coloured sentence, a JSON event or a lesson check. The output
//! starts with the message itself (masked) so the reader can match the
//! explanation to the bytes, then explains each part in parentheses.
//! Passwords never appear; SCRAM's proof `p=` is masked too (it is useless
//! to a replayer, but it is derived from the password and has no business
//! in a log). Messages that do not parse are described as such, never
//! panicked on.

use super::anonymous;
use super::mechanism::Mechanism;
use super::scram::attrs::shorten;
use super::scram::messages::{
    ServerFinal, parse_client_final, parse_client_first, parse_server_final, parse_server_first,
};
use super::secret::MASK;

/// Describes a message of any mechanism. SCRAM messages are recognised by
/// their shape (see [`describe_scram`]).
pub fn describe(mechanism: Mechanism, data: &[u8]) -> String {
    match mechanism {
        Mechanism::Plain => describe_plain(data),
        Mechanism::Anonymous => describe_anonymous(data),
        Mechanism::Scram(_) => describe_scram(data),
    }
}

/// `\0alice\0•••••• (authzid empty, user alice, password hidden: ...)`.
pub fn describe_plain(data: &[u8]) -> String {
    let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let [authzid, user, _password] = fields.as_slice() else {
        return format!(
            "not a PLAIN message: it needs exactly two NUL bytes (authzid \\0 user \\0 \
             password) and has {} (content hidden, it may hold a password)",
            fields.len() - 1
        );
    };
    let (authzid, user) = (
        String::from_utf8_lossy(authzid),
        String::from_utf8_lossy(user),
    );
    let authz_words = match authzid.as_ref() {
        "" => "authzid empty: log in as yourself".to_string(),
        a => format!("authzid {a}: act as {a}"),
    };
    format!(
        "{}\\0{}\\0{MASK} ({authz_words}, user {}, password hidden: PLAIN sends it \
         base64-encoded, not encrypted, so only TLS keeps it from onlookers)",
        shorten(&authzid),
        shorten(&user),
        shorten(&user)
    )
}

/// The ANONYMOUS trace, which nothing checks.
pub fn describe_anonymous(data: &[u8]) -> String {
    match anonymous::parse_trace(data) {
        Ok("") => "(empty: no trace information; the server will make up a username)".into(),
        Ok(trace) => format!(
            "{} (trace information, unchecked: the server may log it but must not trust it; \
             it will make up a username)",
            shorten(trace)
        ),
        Err(f) => format!("not a valid ANONYMOUS message: {}", f.reason),
    }
}

/// Any SCRAM message, recognised by its shape: a gs2 header (`n,`, `y,`,
/// `p=`) starts client-first; `c=` client-final; `v=`/`e=` server-final;
/// `r=` server-first.
pub fn describe_scram(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let t = text.as_ref();
    if t.is_empty() {
        "(empty: the server asks the client to send its first message)".into()
    } else if t.starts_with("n,") || t.starts_with("y,") || t.starts_with("p=") {
        describe_scram_client_first(t)
    } else if t.starts_with("c=") {
        describe_scram_client_final(t)
    } else if t.starts_with("v=") || t.starts_with("e=") {
        describe_scram_server_final(t)
    } else {
        describe_scram_server_first(t)
    }
}

pub fn describe_scram_client_first(msg: &str) -> String {
    let f = match parse_client_first(msg) {
        Ok(f) => f,
        Err(e) => return not_scram(msg, &e),
    };
    let gs2 = match (f.gs2_header.starts_with('y'), f.authzid.as_str()) {
        (false, "") => "n,,: no channel binding, no authzid (log in as yourself)".to_string(),
        (true, "") => "y,,: the client could bind to TLS but believes the server cannot; \
                       no authzid"
            .to_string(),
        (_, a) => format!(
            "{}: no channel binding; authzid {a}: act as {a}",
            f.gs2_header
        ),
    };
    format!(
        "{} ({gs2}; n={}: the username; r={}: the client's nonce, fresh random text \
         that makes this exchange unique so a recording cannot be replayed)",
        shorten(msg),
        shorten(&f.username),
        shorten(f.nonce)
    )
}

pub fn describe_scram_server_first(msg: &str) -> String {
    let f = match parse_server_first(msg) {
        Ok(f) => f,
        Err(e) => return not_scram(msg, &e),
    };
    format!(
        "{} (r=: the client's nonce with the server's appended, so both sides made \
         this exchange unique; s=: the salt, {} random bytes stored with the account so \
         equal passwords give different keys; i={}: PBKDF2 rounds the client must run \
         on the password, slow on purpose to make guessing expensive)",
        shorten(msg),
        f.salt.len(),
        f.iterations
    )
}

pub fn describe_scram_client_final(msg: &str) -> String {
    let f = match parse_client_final(msg) {
        Ok(f) => f,
        Err(e) => return not_scram(msg, &e),
    };
    let cbind = String::from_utf8_lossy(&f.channel_binding);
    format!(
        "{},p={MASK} (c=: the gs2 header '{}' again in base64, so the server sees nobody \
         removed it; r=: the combined nonce, echoed; p=: the proof, hidden: it shows the \
         client knows the password-derived key without revealing it, and only works for \
         this exchange's nonces)",
        shorten(f.without_proof),
        shorten(&cbind)
    )
}

pub fn describe_scram_server_final(msg: &str) -> String {
    match parse_server_final(msg) {
        Ok(ServerFinal::Verifier(_)) => format!(
            "{} (v=: the server's signature over the whole conversation; only a server \
             that holds this account's keys can make it, so the client checks it to \
             authenticate the server in turn)",
            shorten(msg)
        ),
        Ok(ServerFinal::Error(e)) => {
            format!("e={} (the server refuses: {})", shorten(&e), shorten(&e))
        }
        Err(e) => not_scram(msg, &e),
    }
}

/// A message that does not parse: say why, without echoing it whole (a
/// broken PLAIN-like message sent to SCRAM might hold a password).
fn not_scram(msg: &str, why: &str) -> String {
    format!("not a valid SCRAM message ({} bytes): {why}", msg.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_hides_the_password() {
        let d = describe_plain(b"\0alice\0pencil");
        assert!(d.starts_with("\\0alice\\0•••••• (authzid empty"), "{d}");
        assert!(d.contains("not encrypted") && !d.contains("pencil"), "{d}");
        let d = describe_plain(b"alicepencil");
        assert!(d.contains("has 0") && !d.contains("pencil"), "{d}");
    }

    #[test]
    fn each_scram_message_is_explained_field_by_field() {
        let cf = describe_scram(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        assert!(
            cf.contains("n=user: the username") && cf.contains("r=fyko"),
            "{cf}"
        );
        let sf = describe_scram(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096");
        assert!(
            sf.contains("i=4096: PBKDF2") && sf.contains("12 random bytes"),
            "{sf}"
        );
        let cl = describe_scram(b"c=biws,r=abcdef,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        assert!(cl.contains("p=••••••") && !cl.contains("v0X8"), "{cl}");
        assert!(cl.contains("'n,,'"), "{cl}");
        let sv = describe_scram(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
        assert!(sv.contains("signature"), "{sv}");
        let bad = describe_scram(b"\0alice\0pencil");
        assert!(
            bad.starts_with("not a valid SCRAM") && !bad.contains("pencil"),
            "{bad}"
        );
    }
}
