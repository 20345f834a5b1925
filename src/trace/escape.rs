//! Showing a peer's bytes without letting the peer drive your terminal.
//!
//! A terminal obeys escape sequences: `ESC [ 2 J` clears the screen, other
//! sequences retitle the window or, on some terminals, do worse. Bytes from a
//! peer are untrusted, so when they are shown on a terminal every control
//! character becomes visible text (`\x1b`). When stdout is a pipe or a file the
//! bytes pass untouched: a binary transfer must be exact.
//!
//! Two forms live here: [`TerminalSafe`], a stateful filter for the data stream
//! (a UTF-8 character or a CRLF may be split between two reads), and
//! [`preview`], the quoted one-line form the narration uses.

use std::fmt::Write as _;

/// Characters that must not reach a terminal raw: C0 and C1 controls, DEL, and
/// the Unicode bidirectional overrides that can make text display in a
/// different order than it is ("Trojan Source").
fn dangerous(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(c: char, out: &mut Vec<u8>) {
    let _ = if (c as u32) < 0x80 {
        write!(VecWriter(out), "\\x{:02x}", c as u32)
    } else {
        write!(VecWriter(out), "\\u{{{:x}}}", c as u32)
    };
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

/// A quoted, escaped, one-line preview of some bytes: `"hello\r\n"`, with at
/// most `limit` characters and a trailing `…` when there is more.
pub fn preview(data: &[u8], limit: usize) -> String {
    let mut out = String::from("\"");
    let mut shown = 0;
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown == limit {
                out.push_str("\"…");
                return out;
            }
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if dangerous(c) => {
                    let mut v = Vec::new();
                    push_escaped(c, &mut v);
                    out.push_str(&String::from_utf8_lossy(&v));
                }
                c => out.push(c),
            }
            shown += 1;
        }
        for &b in chunk.invalid() {
            if shown == limit {
                out.push_str("\"…");
                return out;
            }
            let _ = write!(out, "\\x{b:02x}");
            shown += 1;
        }
    }
    out.push('"');
    out
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

    #[test]
    fn preview_quotes_escapes_and_truncates() {
        assert_eq!(preview(b"hello\r\n", 40), "\"hello\\r\\n\"");
        assert_eq!(preview(b"abcdef", 3), "\"abc\"…");
        assert_eq!(preview(b"\x1b\xff", 40), "\"\\x1b\\xff\"");
        assert_eq!(preview("一起".as_bytes(), 40), "\"一起\"");
    }
}
