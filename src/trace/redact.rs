//! Keeping passwords out of the narration and the event files.
//!
//! A chat connection carries passwords: PLAIN's base64 payload inside
//! `<auth>` (and `<response>`), and `"password"` in a JSON login. The read
//! and write events show a preview of every byte, and those previews go to
//! `--events` files and lesson logs; so on chat connections each preview
//! passes through a [`Redactor`] first, which replaces the secret with `•••`.
//! It is a small state machine fed the stream in order, because a secret may
//! be split between two reads.

use std::borrow::Cow;

/// What the redactor is in the middle of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Plain,
    /// Inside a SASL start tag (`<auth ...`), until its `>`.
    SaslTag,
    /// Inside the SASL element's text, until `<`.
    SaslText,
    /// After the JSON key `"password"`, until the value's opening quote.
    JsonKey,
    /// Inside the password string, until its closing quote.
    JsonValue { escaped: bool },
}

/// Masks secrets in one direction of one connection.
#[derive(Default)]
pub struct Redactor {
    state: State,
    /// The last bytes seen, to match a marker split between two reads.
    tail: Vec<u8>,
}

const MARKERS: [(&[u8], State); 3] = [
    (b"<auth", State::SaslTag),
    (b"<response", State::SaslTag),
    (b"\"password\"", State::JsonKey),
];
const LONGEST: usize = 10;
const MASK: &str = "•••";

impl Redactor {
    pub fn redact<'a>(&mut self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let mut masked = false;
        for (i, &b) in data.iter().enumerate() {
            let hide = self.step(b);
            if hide && out.is_none() {
                out = Some(data[..i].to_vec());
            }
            if let Some(o) = out.as_mut() {
                if hide {
                    if !masked {
                        o.extend_from_slice(MASK.as_bytes());
                        masked = true;
                    }
                } else {
                    masked = false;
                    o.push(b);
                }
            }
        }
        match out {
            Some(o) => Cow::Owned(o),
            None => Cow::Borrowed(data),
        }
    }

    /// Advances by one byte; true if the byte is secret.
    fn step(&mut self, b: u8) -> bool {
        match self.state {
            State::Plain => {
                self.tail.push(b);
                if self.tail.len() > LONGEST {
                    self.tail.remove(0);
                }
                if let Some((_, next)) = MARKERS.iter().find(|(m, _)| self.tail.ends_with(m)) {
                    self.state = *next;
                    self.tail.clear();
                }
                false
            }
            State::SaslTag => {
                if b == b'>' {
                    self.state = State::SaslText;
                } else if b == b'/' {
                    // `<auth .../>`: no text to hide.
                    self.state = State::Plain;
                }
                false
            }
            State::SaslText => {
                if b == b'<' {
                    self.state = State::Plain;
                    self.tail.push(b);
                    false
                } else {
                    !b.is_ascii_whitespace()
                }
            }
            State::JsonKey => {
                if b == b'"' {
                    self.state = State::JsonValue { escaped: false };
                } else if !(b == b':' || b.is_ascii_whitespace()) {
                    // Not a string value: nothing secret follows.
                    self.state = State::Plain;
                }
                false
            }
            State::JsonValue { escaped } => {
                if !escaped && b == b'"' {
                    self.state = State::Plain;
                    return false;
                }
                self.state = State::JsonValue {
                    escaped: !escaped && b == b'\\',
                };
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> String {
        let mut r = Redactor::default();
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&r.redact(c)).into_owned())
            .collect()
    }

    #[test]
    fn sasl_payloads_and_json_passwords_are_masked_even_when_split() {
        let auth = b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth><presence/>";
        let want = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>•••</auth><presence/>";
        assert_eq!(all(&[auth]), want);
        for cut in 0..auth.len() {
            let got = all(&[&auth[..cut], &auth[cut..]]);
            assert!(!got.contains("AGFsaWNl"), "cut {cut}: {got}");
        }
        let login = br#"{"type":"login","user":"alice","password":"s\"ecret"}"#;
        assert_eq!(
            all(&[login]),
            r#"{"type":"login","user":"alice","password":"•••"}"#
        );
        for cut in 0..login.len() {
            let got = all(&[&login[..cut], &login[cut..]]);
            assert!(!got.contains("ecret"), "cut {cut}: {got}");
        }
    }

    #[test]
    fn other_bytes_pass_untouched_without_copying() {
        let mut r = Redactor::default();
        let data = b"<message><body>the password is not here</body></message>";
        assert!(matches!(r.redact(data), Cow::Borrowed(_)));
    }
}
