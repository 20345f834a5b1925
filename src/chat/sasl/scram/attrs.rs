//! SCRAM's message syntax: `a=value,b=value,...`, read in a fixed order.
//!
//! Every SCRAM message is a list of one-letter attributes separated by
//! commas (RFC 5802 §5.1). Values never contain a comma (names escape it as
//! `=2C`, nonces forbid it, the rest is base64 or digits), so splitting on
//! `,` is exact. The order is fixed by the RFC's grammar, which is why the
//! reader is a cursor that expects one named attribute after another and
//! says what it found instead.

/// One `k=value` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attr<'a> {
    pub key: char,
    pub value: &'a str,
}

/// A cursor over one message's attributes.
pub(crate) struct Attrs<'a> {
    /// Which message this is, for errors: "client-first".
    what: &'static str,
    items: Vec<Attr<'a>>,
    next: usize,
}

impl<'a> Attrs<'a> {
    /// Splits a message into attributes, refusing empty ones, ones without
    /// `=`, keys that are not a single ASCII letter, and repeated keys (a
    /// second `r=` could smuggle a different nonce past one check).
    pub fn parse(msg: &'a str, what: &'static str) -> Result<Attrs<'a>, String> {
        let mut items: Vec<Attr> = Vec::new();
        for (i, part) in msg.split(',').enumerate() {
            let mut chars = part.chars();
            let (Some(key), Some('=')) = (chars.next(), chars.next()) else {
                // Not echoed: a PLAIN message sent here by mistake would
                // print its password.
                return Err(format!(
                    "{what}: attribute {} ({} bytes) is not 'letter=value'",
                    i + 1,
                    part.len()
                ));
            };
            if !key.is_ascii_alphabetic() {
                return Err(format!(
                    "{what}: attribute {} starts with '{}'; attribute names are single letters",
                    i + 1,
                    key.escape_debug()
                ));
            }
            if items.iter().any(|a| a.key == key) {
                return Err(format!("{what}: '{key}=' appears twice"));
            }
            items.push(Attr {
                key,
                value: &part[2..],
            });
        }
        Ok(Attrs {
            what,
            items,
            next: 0,
        })
    }

    /// The next attribute, which must be `key=`; `meaning` names it in the
    /// error ("the nonce").
    pub fn expect(&mut self, key: char, meaning: &str) -> Result<&'a str, String> {
        let what = self.what;
        match self.items.get(self.next) {
            Some(a) if a.key == key => {
                self.next += 1;
                Ok(a.value)
            }
            Some(a) => Err(format!(
                "{what}: expected {key}= ({meaning}) as attribute {}, found {}=",
                self.next + 1,
                a.key
            )),
            None => Err(format!("{what}: {key}= ({meaning}) is missing")),
        }
    }

    /// Whether the next attribute is `key=`.
    pub fn next_is(&self, key: char) -> bool {
        self.items.get(self.next).is_some_and(|a| a.key == key)
    }

    /// Takes the last attribute, which must be `key=` (the proof ends a
    /// client-final message, after any extensions).
    pub fn expect_last(&mut self, key: char, meaning: &str) -> Result<&'a str, String> {
        let what = self.what;
        match self.items.last() {
            Some(a) if a.key == key && self.items.len() > self.next => {
                let value = a.value;
                self.items.pop();
                Ok(value)
            }
            _ => Err(format!(
                "{what}: {key}= ({meaning}) must come last and is missing"
            )),
        }
    }

    /// Fails on `m=`: RFC 5802 reserves it for mandatory extensions, and
    /// an extension we do not know but must obey can only mean failure.
    pub fn refuse_mandatory_extension(&self) -> Result<(), String> {
        if self.next_is('m') {
            return Err(format!(
                "{}: m= asks for a mandatory extension, and this implementation knows none",
                self.what
            ));
        }
        Ok(())
    }
}

/// At most 40 characters of some text, for an error message.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// RFC 5802 nonce: printable ASCII (0x21-0x7E) without `,`; at least one.
pub(crate) fn check_nonce(nonce: &str, what: &str) -> Result<(), String> {
    if nonce.is_empty() {
        return Err(format!("{what}: the nonce r= is empty"));
    }
    match nonce.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        None => Ok(()),
        Some(at) => Err(format!(
            "{what}: the nonce r= has a character that is not printable ASCII at offset {at}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_read_in_order_and_duplicates_refused() {
        let mut a = Attrs::parse("n=user,r=abc,x=1", "client-first").unwrap();
        assert_eq!(a.expect('n', "the username"), Ok("user"));
        assert!(a.expect('s', "the salt").unwrap_err().contains("found r="));
        assert_eq!(a.expect('r', "the nonce"), Ok("abc"));
        assert!(a.next_is('x'));
        for bad in ["n=a,,r=b", "n=a,r", "1=a", "n=a,n=b", "", "é=x"] {
            assert!(Attrs::parse(bad, "m").is_err(), "{bad}");
        }
    }

    #[test]
    fn nonces_must_be_printable_ascii() {
        assert!(check_nonce("fyko+d2lbbFgONRv9qkxdawL", "m").is_ok());
        for bad in ["", "a b", "é", "a\u{7f}"] {
            assert!(check_nonce(bad, "m").is_err(), "{bad:?}");
        }
    }
}
