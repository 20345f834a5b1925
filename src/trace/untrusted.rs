//! `Untrusted`: text that came from outside, a peer or a file, carried in an
//! event.
//!
//! Its only display form is the escaper's: `format!("{u}")` shows every
//! control, bidi and invisible character as visible text (see
//! [`escape`](super::escape)) and clips a long text with a count of what it
//! left out. There is no way to get the raw string back for display, so a
//! renderer cannot forget to escape it. Scripts still get the exact text: the
//! JSON form is the raw string.

use std::fmt;

use serde::{Serialize, Serializer};

use super::escape::{clip, more, write_line};

/// Text from outside, in an [`Event`](super::Event) field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Untrusted<'a>(&'a str);

impl<'a> Untrusted<'a> {
    /// The most characters narration shows of one untrusted text: a person
    /// cannot read more on one line, and a megabyte-long field must not cost
    /// a megabyte of narration.
    pub const SHOWN: usize = 1000;

    pub fn new(text: &'a str) -> Untrusted<'a> {
        Untrusted(text)
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The text's lines, each still untrusted (for a preformatted block,
    /// such as the bytes around a framing error and the caret under them).
    pub fn lines(self) -> impl Iterator<Item = Untrusted<'a>> {
        self.0.lines().map(Untrusted)
    }
}

impl<'a> From<&'a str> for Untrusted<'a> {
    fn from(text: &'a str) -> Untrusted<'a> {
        Untrusted(text)
    }
}

impl<'a> From<&'a String> for Untrusted<'a> {
    fn from(text: &'a String) -> Untrusted<'a> {
        Untrusted(text)
    }
}

/// Escaped and clipped: the form a person sees.
impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (shown, left) = clip(self.0, Untrusted::SHOWN);
        write_line(shown, f)?;
        f.write_str(&more(left))
    }
}

/// Exact: the form a script reads.
impl Serialize for Untrusted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displayed_escaped_serialised_exact() {
        let u = Untrusted::new("\x1b]52;c;AAAA\x07\u{202e}");
        assert_eq!(u.to_string(), "\\x1b]52;c;AAAA\\x07\\u{202e}");
        assert_eq!(
            serde_json::to_value(u).expect("serialises"),
            "\x1b]52;c;AAAA\x07\u{202e}"
        );
    }

    #[test]
    fn a_long_text_is_clipped_with_a_count() {
        let long = "x".repeat(Untrusted::SHOWN + 1_234);
        let shown = Untrusted::new(&long).to_string();
        assert!(shown.ends_with("… 1,234 more bytes"), "{}", &shown[990..]);
        assert_eq!(
            shown.chars().filter(|&c| c == 'x').count(),
            Untrusted::SHOWN
        );
    }

    #[test]
    fn lines_stay_untrusted() {
        let u = Untrusted::new("a\u{9b}\n  ^");
        let lines: Vec<String> = u.lines().map(|l| l.to_string()).collect();
        assert_eq!(lines, ["a\\u{9b}", "  ^"]);
    }
}
