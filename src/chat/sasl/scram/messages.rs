//! The four SCRAM messages, parsed into typed values (RFC 5802 §7).
//!
//! ```text
//! client-first  n,,n=user,r=CLIENTNONCE               gs2 header, then the "bare" part
//! server-first  r=CLIENTNONCE+SERVERNONCE,s=SALT,i=4096
//! client-final  c=biws,r=CLIENTNONCE+SERVERNONCE,p=PROOF
//! server-final  v=SERVERSIGNATURE        (or e=some-error)
//! ```
//!
//! Parsing is shared by both sides and by the narration: the server reads
//! client messages, the client reads server messages, and `describe` reads
//! all four. Errors are plain sentences; each side wraps them its own way.

use super::attrs::{Attrs, check_nonce, shorten};
use crate::chat::sasl::hash::unb64;
use crate::chat::sasl::username::unescape_saslname;

/// The client's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst<'a> {
    /// `n,,`, `y,,` or `n,a=alice@example.org,`: repeated (base64) in c=.
    pub gs2_header: &'a str,
    /// Unescaped authzid; empty when absent.
    pub authzid: String,
    /// Unescaped username, not yet normalised.
    pub username: String,
    pub nonce: &'a str,
    /// Everything after the gs2 header: signed as part of AuthMessage.
    pub bare: &'a str,
}

/// Splits off and checks the gs2 header: `n` (no channel binding), `y`
/// (client could bind but thinks we cannot: true, we offer no -PLUS), or
/// `p=` (binding requested: only the -PLUS mechanisms do that).
pub(crate) fn parse_client_first(msg: &str) -> Result<ClientFirst<'_>, String> {
    let what = "client-first";
    let mut parts = msg.splitn(3, ',');
    let (Some(flag), Some(authz), Some(bare)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "{what}: no gs2 header: the message must start like 'n,,' (no channel binding)"
        ));
    };
    match flag {
        "n" | "y" => {}
        _ if flag.starts_with("p=") => {
            return Err(format!(
                "{what}: '{}' asks for channel binding, which only the -PLUS mechanisms \
                 do; this server offers none, so start with 'n,,'",
                shorten(flag)
            ));
        }
        _ => {
            return Err(format!(
                "{what}: the gs2 header (the part before the first comma, {} bytes) must \
                 be n, y or p=...; the message should start like 'n,,'",
                flag.len()
            ));
        }
    }
    let authzid = match authz {
        "" => String::new(),
        _ => match authz.strip_prefix("a=") {
            Some(name) => unescape_saslname(name).map_err(|e| format!("{what}: authzid: {e}"))?,
            None => {
                return Err(format!(
                    "{what}: the gs2 header's second field must be empty or a="
                ));
            }
        },
    };
    let gs2_header = &msg[..flag.len() + authz.len() + 2];
    let mut attrs = Attrs::parse(bare, what)?;
    attrs.refuse_mandatory_extension()?;
    let username = attrs.expect('n', "the username")?;
    let username = unescape_saslname(username).map_err(|e| format!("{what}: username: {e}"))?;
    let nonce = attrs.expect('r', "the client's nonce")?;
    check_nonce(nonce, what)?;
    Ok(ClientFirst {
        gs2_header,
        authzid,
        username,
        nonce,
        bare,
    })
}

/// The server's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFirst<'a> {
    pub nonce: &'a str,
    pub salt: Vec<u8>,
    /// Any count that fits in u32; the client checks the range.
    pub iterations: u32,
}

pub(crate) fn parse_server_first(msg: &str) -> Result<ServerFirst<'_>, String> {
    let what = "server-first";
    let mut attrs = Attrs::parse(msg, what)?;
    attrs.refuse_mandatory_extension()?;
    let nonce = attrs.expect('r', "the combined nonce")?;
    check_nonce(nonce, what)?;
    let salt = attrs.expect('s', "the salt")?;
    let salt = unb64(salt).ok_or_else(|| format!("{what}: the salt s= is not valid base64"))?;
    if salt.is_empty() {
        return Err(format!("{what}: the salt s= is empty"));
    }
    let iterations = parse_count(attrs.expect('i', "the iteration count")?)
        .map_err(|e| format!("{what}: {e}"))?;
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

/// `i=`: decimal digits only (no sign, no spaces), no overflow.
fn parse_count(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the iteration count i={} is not a number",
            shorten(text)
        ));
    }
    text.parse()
        .map_err(|_| format!("the iteration count i={} is too large", shorten(text)))
}

/// The client's final message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFinal<'a> {
    /// Decoded c=: must repeat the gs2 header byte for byte.
    pub channel_binding: Vec<u8>,
    pub nonce: &'a str,
    pub proof: Vec<u8>,
    /// Everything before `,p=`: signed as part of AuthMessage.
    pub without_proof: &'a str,
}

pub(crate) fn parse_client_final(msg: &str) -> Result<ClientFinal<'_>, String> {
    let what = "client-final";
    let mut attrs = Attrs::parse(msg, what)?;
    let proof_text = attrs.expect_last('p', "the client's proof")?;
    let cbind = attrs.expect('c', "the channel binding")?;
    let channel_binding = unb64(cbind)
        .ok_or_else(|| format!("{what}: the channel binding c= is not valid base64"))?;
    let nonce = attrs.expect('r', "the combined nonce")?;
    check_nonce(nonce, what)?;
    let proof =
        unb64(proof_text).ok_or_else(|| format!("{what}: the proof p= is not valid base64"))?;
    // expect_last proved the message ends with "p=" + proof_text, after a comma.
    let without_proof = &msg[..msg.len() - proof_text.len() - 3];
    Ok(ClientFinal {
        channel_binding,
        nonce,
        proof,
        without_proof,
    })
}

/// The server's final message: its signature, or an error it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerFinal {
    Verifier(Vec<u8>),
    Error(String),
}

pub(crate) fn parse_server_final(msg: &str) -> Result<ServerFinal, String> {
    let what = "server-final";
    let mut attrs = Attrs::parse(msg, what)?;
    if attrs.next_is('e') {
        let e = attrs.expect('e', "the server's error")?;
        return Ok(ServerFinal::Error(e.to_string()));
    }
    let v = attrs.expect('v', "the server's signature")?;
    unb64(v)
        .map(ServerFinal::Verifier)
        .ok_or_else(|| format!("{what}: the signature v= is not valid base64"))
}
