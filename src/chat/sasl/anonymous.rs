//! ANONYMOUS (RFC 4505): log in without an account.
//!
//! The client sends one optional message, "trace information" (often an
//! email address or a nickname) that the server may log but must not trust:
//! nothing checks it. The server makes up a fresh username for the session,
//! so two anonymous users never share one.

use super::failure::Failure;
use super::hash;

/// RFC 4505 §3: the trace is at most 255 characters.
pub const MAX_TRACE_CHARS: usize = 255;

/// Checks the trace (UTF-8, at most 255 characters) and returns it.
pub(super) fn parse_trace(data: &[u8]) -> Result<&str, Failure> {
    let trace = std::str::from_utf8(data).map_err(|e| {
        Failure::malformed(format!(
            "the ANONYMOUS trace is not UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let chars = trace.chars().count();
    if chars > MAX_TRACE_CHARS {
        return Err(Failure::malformed(format!(
            "the ANONYMOUS trace is {chars} characters long; RFC 4505 allows {MAX_TRACE_CHARS}"
        )));
    }
    Ok(trace)
}

/// A fresh username for an anonymous session: `anon-` and 16 random hex
/// digits (64 bits, so two sessions will not collide).
pub(super) fn fresh_username() -> Result<String, getrandom::Error> {
    let bytes = hash::random_bytes(8)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("anon-{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_checked_and_usernames_fresh() {
        assert_eq!(
            parse_trace(b"sirhc@example.org").unwrap(),
            "sirhc@example.org"
        );
        assert_eq!(parse_trace(b"").unwrap(), "");
        assert!(parse_trace("é".repeat(255).as_bytes()).is_ok());
        assert!(parse_trace("é".repeat(256).as_bytes()).is_err());
        assert!(parse_trace(b"\xff").is_err());
        let (a, b) = (fresh_username().unwrap(), fresh_username().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "anon-".len() + 16);
    }
}
