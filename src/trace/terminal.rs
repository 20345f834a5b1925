//! Stdout on a terminal: a peer's bytes shown without letting the peer drive
//! your terminal.
//!
//! When stdout is a terminal every character that [`dangerous`] names becomes
//! visible text (`\x1b`, `\u{202e}`); newlines, tabs and CRLF line ends pass,
//! because on stdout they are the data's own layout. When stdout is a pipe or
//! a file the bytes pass untouched: a binary transfer must be exact. The filter
//! is stateful, because a UTF-8 character or a CRLF may be split between two
//! reads.

use std::fmt::Write as _;

use super::escape::{dangerous, write_char};

fn push_escaped(c: char, out: &mut Vec<u8>) {
    let _ = write_char(c, &mut VecWriter(out));
}

fn push_byte_escaped(b: u8, out: &mut Vec<u8>) {
    let _ = write!(VecWriter(out), "\\x{b:02x}");
}

struct VecWriter<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Filters a byte stream for display on a terminal. Printable UTF-8 (Chinese
/// included), newline, tab and CRLF pass; everything else is shown escaped.
/// State carries an incomplete UTF-8 sequence or a lone CR to the next chunk.
#[derive(Default)]
pub struct TerminalSafe {
    pending: Vec<u8>,
}

impl TerminalSafe {
    pub fn new() -> TerminalSafe {
        TerminalSafe::default()
    }

    /// Appends the display form of `input` to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            input
        } else {
            let mut v = std::mem::take(&mut self.pending);
            v.extend_from_slice(input);
            joined = v;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.push_str(s, out);
                    return;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // valid_up_to() marks a char boundary, so this cannot fail.
                    self.push_str(std::str::from_utf8(good).unwrap_or_default(), out);
                    match e.error_len() {
                        Some(len) => {
                            self.flush_cr(out);
                            bad[..len].iter().for_each(|&b| push_byte_escaped(b, out));
                            rest = &bad[len..];
                        }
                        None => {
                            // The chunk ends inside a character: keep its
                            // first bytes until the rest arrives.
                            self.pending.extend_from_slice(bad);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The stream ended: whatever is still held is shown escaped.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        for b in std::mem::take(&mut self.pending) {
            push_byte_escaped(b, out);
        }
    }

    fn flush_cr(&mut self, out: &mut Vec<u8>) {
        if self.pending == b"\r" {
            self.pending.clear();
            out.extend_from_slice(b"\\x0d");
        }
    }

    fn push_str(&mut self, s: &str, out: &mut Vec<u8>) {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if self.pending == b"\r" {
                self.pending.clear();
                if c == '\n' {
                    out.extend_from_slice(b"\r\n");
                    continue;
                }
                out.extend_from_slice(b"\\x0d");
            }
            match c {
                '\n' | '\t' => out.push(c as u8),
                // A CR is harmless before LF (telnet's line end) but alone it
                // moves the cursor back over what was printed: decide when
                // the next character is known, which may be in the next read.
                '\r' => match chars.peek() {
                    Some('\n') => {
                        chars.next();
                        out.extend_from_slice(b"\r\n");
                    }
                    Some(_) => out.extend_from_slice(b"\\x0d"),
                    None => self.pending.push(b'\r'),
                },
                c if dangerous(c) => push_escaped(c, out),
                c => {
                    let mut b = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(chunks: &[&[u8]]) -> String {
        let mut t = TerminalSafe::new();
        let mut out = Vec::new();
        for c in chunks {
            t.push(c, &mut out);
        }
        t.finish(&mut out);
        String::from_utf8(out).expect("output is always UTF-8")
    }

    #[test]
    fn escape_sequences_become_visible_text() {
        assert_eq!(safe(&[b"\x1b[2Jhi"]), "\\x1b[2Jhi");
        assert_eq!(safe(&[b"a\x07b\x7f"]), "a\\x07b\\x7f");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_escaped() {
        assert_eq!(safe(&["x\u{9b}y".as_bytes()]), "x\\u{9b}y");
        assert_eq!(safe(&["a\u{202e}b".as_bytes()]), "a\\u{202e}b");
    }

    #[test]
    fn invisible_formatters_and_separators_are_escaped() {
        assert_eq!(
            safe(&["a\u{200f}b\u{2028}c\u{200b}d\u{feff}".as_bytes()]),
            "a\\u{200f}b\\u{2028}c\\u{200b}d\\u{feff}"
        );
    }

    #[test]
    fn text_newlines_tabs_and_crlf_pass() {
        assert_eq!(safe(&[b"a\tb\r\nc\n"]), "a\tb\r\nc\n");
    }

    #[test]
    fn crlf_split_between_reads_passes_and_lone_cr_is_escaped() {
        assert_eq!(safe(&[b"a\r", b"\nb"]), "a\r\nb");
        assert_eq!(safe(&[b"a\r", b"b"]), "a\\x0db");
        assert_eq!(safe(&[b"a\r"]), "a\\x0d");
    }

    #[test]
    fn utf8_split_at_every_point_decodes_whole() {
        let text = "中午一起吃饭\n".as_bytes();
        for cut in 0..=text.len() {
            assert_eq!(
                safe(&[&text[..cut], &text[cut..]]),
                "中午一起吃饭\n",
                "cut {cut}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_shown_as_hex() {
        assert_eq!(safe(&[b"a\xffb"]), "a\\xffb");
        assert_eq!(safe(&[b"a\xe4\xb8"]), "a\\xe4\\xb8");
    }
}
