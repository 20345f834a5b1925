//! The one escaper: what a peer's text may not put on a terminal, and the
//! visible form it takes instead.
//!
//! A terminal obeys what it is sent: `ESC [ 2 J` clears the screen,
//! `ESC ] 52 ; c ; …` writes the clipboard, the C1 character U+009B is a
//! one-byte `ESC [` to many terminals. Unicode adds characters that draw
//! nothing but change what is drawn: bidirectional overrides make text display
//! in another order than it is ("Trojan Source"), zero-width characters and
//! separators hide or break it. Text from a peer (or from a file a peer could
//! have written) is untrusted, so before a person sees it every such
//! character becomes visible text: `\x1b`, `\u{202e}`.
//!
//! The set is decided once, in [`dangerous`], and used by every view: the
//! narration ([`line`], [`Untrusted`](super::Untrusted)), the quoted
//! [`preview`] of data, the stdout filter
//! ([`TerminalSafe`](super::terminal::TerminalSafe)) and JSON lines on a
//! terminal ([`json_for_terminal`]). Escaping leaves backslashes alone, so
//! escaping text that is already escaped changes nothing.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` must not reach a terminal raw: C0 and C1 controls and DEL
/// (Unicode category Cc), and the characters that draw nothing
/// ([`invisible`]).
pub fn dangerous(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// The format characters (category Cf, as of Unicode 15: soft hyphen, bidi
/// marks, embeddings, overrides and isolates, zero-width space and joiners,
/// word joiner and invisible operators, BOM, interlinear annotation, tags...)
/// and the line and paragraph separators U+2028 and U+2029, which some
/// terminals and editors take as a line break. Variation selectors
/// (category Mn) only choose a glyph and pass.
fn invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE007F
    )
}

/// The visible form of one dangerous character: `\n`, `\r`, `\t`, `\x1b`
/// below U+0080, `\u{202e}` above.
pub fn write_char(c: char, out: &mut impl fmt::Write) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

/// Writes `s` as one line of narration: every dangerous character, newline
/// and tab included, in its visible form; everything else as it is.
pub fn write_line(s: &str, out: &mut impl fmt::Write) -> fmt::Result {
    let mut clean = 0;
    for (i, c) in s.char_indices() {
        if dangerous(c) {
            out.write_str(&s[clean..i])?;
            write_char(c, out)?;
            clean = i + c.len_utf8();
        }
    }
    out.write_str(&s[clean..])
}

/// [`write_line`] into a string; borrowed when nothing needed escaping.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let _ = write_line(s, &mut out);
    Cow::Owned(out)
}

/// The first `max` characters of `s`, and how many bytes that leaves out.
/// Costs O(max), whatever the length of `s`.
pub fn clip(s: &str, max: usize) -> (&str, usize) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (&s[..i], s.len() - i),
        None => (s, 0),
    }
}

/// What clipping left out, for the end of a line: `… 1,048,000 more bytes`;
/// empty when nothing was.
pub fn more(bytes: usize) -> String {
    if bytes == 0 {
        return String::new();
    }
    let unit = if bytes == 1 { "byte" } else { "bytes" };
    format!("… {} more {unit}", grouped(bytes))
}

/// A count with thousands separators: `1,048,000`.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A quoted, escaped, one-line preview of some bytes: `"hello\r\n"`, with at
/// most `limit` characters and a trailing `…` when there is more. Quotes and
/// backslashes are escaped too, so the preview says exactly which bytes came.
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
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if dangerous(c) => {
                    let _ = write_char(c, &mut out);
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

/// A JSON line for a terminal. JSON allows DEL, C1 controls, bidi and
/// invisible characters raw inside strings, and serde_json writes them so;
/// here they become `\uXXXX` escapes (a pair of them above U+FFFF), which
/// decode to the same string. Outside its strings a JSON text is ASCII
/// punctuation, digits and words, so every such character is in a string.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(dangerous) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if dangerous(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_del_and_c1_controls_are_escaped() {
        assert_eq!(line("\x1b[2J\x07\x7f"), "\\x1b[2J\\x07\\x7f");
        assert_eq!(line("a\u{9b}31mb\u{85}"), "a\\u{9b}31mb\\u{85}");
        assert_eq!(line("a\nb\r\tc\0"), "a\\nb\\r\\tc\\x00");
    }

    #[test]
    fn bidi_controls_are_escaped() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
        ] {
            assert!(dangerous(c), "U+{:04X}", c as u32);
        }
        assert_eq!(line("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn separators_and_invisible_formatters_are_escaped() {
        for c in [
            '\u{2028}',
            '\u{2029}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2064}',
            '\u{feff}',
            '\u{ad}',
            '\u{180e}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{fff9}',
        ] {
            assert!(dangerous(c), "U+{:04X}", c as u32);
        }
        assert_eq!(line("\u{feff}x\u{200b}"), "\\u{feff}x\\u{200b}");
    }

    #[test]
    fn printable_text_in_any_script_passes() {
        for s in [
            "中午一起吃饭",
            "Grüße, ça va?",
            "שלום مرحبا",
            "emoji 👋🏽 and ❤\u{fe0f}",
            "\\x1b is four characters",
        ] {
            assert!(matches!(line(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn escaping_twice_is_escaping_once() {
        let hostile = "\x1b]52;c;AAAA\x07 \u{202e}\u{9b} \"quoted\" \\ back\u{2028}";
        let once = line(hostile).into_owned();
        assert_eq!(line(&once), once);
        let p = preview(hostile.as_bytes(), 100);
        assert_eq!(line(&p), p, "a preview is already display text");
    }

    #[test]
    fn clip_counts_the_bytes_left_out() {
        assert_eq!(clip("abcdef", 4), ("abcd", 2));
        assert_eq!(clip("abc", 4), ("abc", 0));
        assert_eq!(clip("一起吃饭", 2), ("一起", 6));
        assert_eq!(more(0), "");
        assert_eq!(more(1), "… 1 more byte");
        assert_eq!(more(1_048_000), "… 1,048,000 more bytes");
        assert_eq!(more(999), "… 999 more bytes");
    }

    #[test]
    fn preview_quotes_escapes_and_truncates() {
        assert_eq!(preview(b"hello\r\n", 40), "\"hello\\r\\n\"");
        assert_eq!(preview(b"abcdef", 3), "\"abc\"…");
        assert_eq!(preview(b"\x1b\xff", 40), "\"\\x1b\\xff\"");
        assert_eq!(preview("一起".as_bytes(), 40), "\"一起\"");
        assert_eq!(preview("a\u{200f}b".as_bytes(), 40), "\"a\\u{200f}b\"");
    }

    #[test]
    fn json_for_a_terminal_escapes_in_strings_and_decodes_the_same() {
        let value = serde_json::json!({"to": "x\u{202e}\u{9b}\u{7f}\u{2028}\u{e0041}", "n": 1});
        let raw = value.to_string();
        let shown = json_for_terminal(&raw);
        assert!(!shown.chars().any(dangerous), "{shown}");
        assert!(
            shown.contains("\\u202e\\u009b\\u007f\\u2028\\udb40\\udc41"),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        assert_eq!(back, value);
        assert!(matches!(
            json_for_terminal("{\"a\":\"中\"}"),
            Cow::Borrowed(_)
        ));
    }
}
