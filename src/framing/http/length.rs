//! How long a message's body is: RFC 9112 §6.3, rule by rule.
//!
//! The rules matter beyond reading one message: two programs that disagree
//! on where a body ends disagree on where the next request begins, and a
//! request hidden inside another's body ("request smuggling", RFC 9112
//! §11.2) slips past whatever checked the first. So every shape the RFC
//! calls faulty is refused, naming the rule, instead of being guessed at:
//! `Content-Length: +5`, two different lengths, a length beside a
//! Transfer-Encoding, `xchunked`, Transfer-Encoding in HTTP/1.0.

use super::message::{Message, Start};
use super::{is_tchar, trim_ows};
use crate::framing::FrameError;

/// Where a body ends, as its head says. No length is too large to read:
/// the body streams through in pieces, so `--max-frame` bounds heads, not
/// bodies; what a consumer does with a large one (write it to disk,
/// refuse it with 413) is its own policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// After exactly this many bytes (0: no body).
    Fixed(u64),
    /// At the zero-sized chunk (RFC 9112 §7.1).
    Chunked,
    /// When the server closes the connection (responses only).
    UntilClose,
}

/// The request a response answers, as far as its body is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Asked {
    Head,
    Connect,
    Other,
}

/// RFC 9112 §6.3 for `head`. `asked` is the request a response answers.
pub(super) fn body_length(head: &Message, asked: Asked) -> Result<Length, FrameError> {
    if let Start::Response { code, .. } = head.start() {
        // Rule 1: the answer to HEAD, and 1xx, 204 and 304, end at the head.
        if asked == Asked::Head || code < 200 || code == 204 || code == 304 {
            return Ok(Length::Fixed(0));
        }
        // Rule 2: a 2xx answer to CONNECT turns the connection into a tunnel.
        if asked == Asked::Connect && (200..300).contains(&code) {
            return Ok(Length::UntilClose);
        }
    }
    let te = head.header_at("transfer-encoding");
    let cl = head.header_at("content-length");
    if let Some((_, at)) = te {
        if head.minor() == 0 {
            return Err(bad(
                at,
                "RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty (HTTP/1.0 has no transfer codings)",
            ));
        }
        if let Some((_, cl_at)) = cl {
            return Err(bad(
                cl_at,
                "RFC 9112 §6.3 rule 3: Content-Length beside Transfer-Encoding is how requests are smuggled; send one or the other",
            ));
        }
        return transfer_coding(head, at);
    }
    match cl {
        Some((_, at)) => content_length(head, at).map(Length::Fixed),
        // Rules 6 and 7: a request without either has no body; a response
        // runs until the server closes.
        None if head.is_response() => Ok(Length::UntilClose),
        None => Ok(Length::Fixed(0)),
    }
}

fn bad(at: usize, detail: &str) -> FrameError {
    FrameError::malformed("http", at, detail).answer_with(400)
}

/// Rule 4: chunked must be the last coding. Every Transfer-Encoding line
/// counts: repeated fields are one comma-separated list (RFC 9110 §5.3).
fn transfer_coding(head: &Message, at: usize) -> Result<Length, FrameError> {
    let mut codings = Vec::new();
    for (name, value, at) in head.fields() {
        if !name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        for item in list_items(value) {
            let coding = coding_name(item).ok_or_else(|| {
                bad(
                    at,
                    "RFC 9112 §6.1: a Transfer-Encoding is a list of codings (tokens, with `;name=value` parameters)",
                )
            })?;
            codings.push(coding.to_ascii_lowercase());
        }
    }
    let chunked = codings
        .iter()
        .filter(|c| c.as_slice() == b"chunked")
        .count();
    let last_is_chunked = codings.last().is_some_and(|c| c == b"chunked");
    if codings.is_empty() {
        return Err(bad(at, "RFC 9112 §6.1: Transfer-Encoding names no coding"));
    }
    if chunked > 1 {
        return Err(bad(
            at,
            "RFC 9112 §6.1: chunked is applied more than once (a sender must not)",
        ));
    }
    if head.is_response() {
        // A response whose last coding is not chunked ends at the close.
        return Ok(if last_is_chunked {
            Length::Chunked
        } else {
            Length::UntilClose
        });
    }
    if !last_is_chunked {
        return Err(bad(
            at,
            "RFC 9112 §6.3 rule 4: in a request, chunked must be the last transfer coding, or the body's end cannot be known",
        ));
    }
    if codings.len() > 1 {
        return Err(FrameError::malformed(
            "http",
            at,
            "RFC 9112 §6.1: socklab understands only the chunked transfer coding (the others would stay applied to the body)",
        )
        .answer_with(501));
    }
    Ok(Length::Chunked)
}

/// `token *( OWS ";" OWS name "=" value )`: the coding's name, if the
/// element has that shape. A parameter's value may be a quoted string.
fn coding_name(item: &[u8]) -> Option<&[u8]> {
    let mut parts = item.split(|&b| b == b';');
    let name = trim(parts.next()?);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    for param in parts {
        let param = trim(param);
        let eq = param.iter().position(|&b| b == b'=')?;
        let (k, v) = (trim(&param[..eq]), trim(&param[eq + 1..]));
        let quoted = v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"';
        let token = !v.is_empty() && v.iter().all(|&b| is_tchar(b));
        if k.is_empty() || !k.iter().all(|&b| is_tchar(b)) || !(quoted || token) {
            return None;
        }
    }
    Some(name)
}

/// Rule 5: `Content-Length = 1*DIGIT`. A list of one value repeated
/// (`5, 5`, or the field twice) is that value; anything else is refused.
fn content_length(head: &Message, at: usize) -> Result<u64, FrameError> {
    let mut length: Option<u64> = None;
    for (name, value, at) in head.fields() {
        if !name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let mut items = 0;
        for item in list_items(value) {
            items += 1;
            let n = match decimal(item) {
                Some(Some(n)) => n,
                Some(None) => return Err(FrameError::too_large(
                    "http",
                    "Content-Length is a number too big for any body (over 2^64 bytes): it cannot be read exactly, so it is refused",
                )
                .answer_with(413)),
                None => return Err(bad(
                    at,
                    "RFC 9112 §6.3 rule 5: Content-Length must be digits only (no sign, no spaces inside)",
                )),
            };
            if length.is_some_and(|l| l != n) {
                return Err(bad(
                    at,
                    "RFC 9112 §6.3 rule 5: two different Content-Length values; which one is right cannot be known",
                ));
            }
            length = Some(n);
        }
        if items == 0 {
            return Err(bad(at, "RFC 9112 §6.3 rule 5: Content-Length is empty"));
        }
    }
    length.ok_or_else(|| bad(at, "RFC 9112 §6.3 rule 5: Content-Length is empty"))
}

/// Digits only (`None` otherwise); `Some(None)` for a number too big for
/// 64 bits, which no stream can deliver and no two programs would read
/// alike.
fn decimal(s: &[u8]) -> Option<Option<u64>> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    }))
}

/// The elements of a comma-separated list, empty ones skipped (RFC 9110
/// §5.6.1 asks recipients to accept `a, , b`).
fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|i| !i.is_empty())
}

fn trim(s: &[u8]) -> &[u8] {
    &s[trim_ows(s, 0..s.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_digits_only_and_never_wraps() {
        assert_eq!(decimal(b"42"), Some(Some(42)));
        assert_eq!(decimal(b"+5"), None);
        assert_eq!(decimal(b"-1"), None);
        assert_eq!(decimal(b"0x10"), None);
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal(b"18446744073709551615"), Some(Some(u64::MAX)));
        assert_eq!(decimal(b"18446744073709551616"), Some(None));
        assert_eq!(decimal(&[b'9'; 40]), Some(None));
    }

    #[test]
    fn coding_names_are_whole_tokens() {
        assert_eq!(coding_name(b"chunked"), Some(&b"chunked"[..]));
        assert_eq!(coding_name(b"gzip ; q=1"), Some(&b"gzip"[..]));
        assert_eq!(coding_name(b"x;a=\"b c\""), Some(&b"x"[..]));
        assert_eq!(coding_name(b"chun ked"), None);
        assert_eq!(coding_name(b"gzip;q"), None);
        assert_eq!(coding_name(b";a=b"), None);
    }
}
