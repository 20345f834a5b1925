//! Stdout: where the peer's bytes go.
//!
//! Stdout is data. When it is a pipe or a file the bytes are written exactly as
//! they came, with no buffering layer in between (a duplicate of fd 1, not
//! std's line-buffered `Stdout`), so a binary transfer is exact and fast.
//!
//! When it is a terminal, a person reads it, between what they type and the
//! narration, so three things change there, and only there:
//!
//! - control bytes from the peer are shown escaped: a peer must not be able
//!   to drive your terminal (see [`TerminalSafe`]);
//! - each line received starts with a dim `<` gutter, so that a line the
//!   peer sent never looks like one you typed;
//! - one delivery (a read, a frame, a datagram) whose display takes more
//!   than [`FLOOD`] bytes is shown as one line: its size, its first and last
//!   bytes. Two megabytes of zeros
//!   would otherwise print eight megabytes of `\x00` and bury the narration.
//!   The first such line says how to get every byte: redirect stdout to a
//!   file (`> FILE`), or `-x` for a hex dump on stderr.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;

use crate::trace::escape::{dangerous, grouped, write_char};
use crate::trace::terminal::TerminalSafe;
use crate::trace::wrap::columns;

/// On a terminal, a delivery whose display form is larger than this is
/// summarised: about a screenful (4 KiB is 35 lines of 120 columns), and
/// binary data is four columns a byte (`\x00`).
pub const FLOOD: usize = 4096;

/// Columns of a summary given to the first bytes, and to the last.
const HEAD_COLUMNS: usize = 48;
const TAIL_COLUMNS: usize = 20;

pub struct Output {
    file: File,
    terminal: Option<Screen>,
    scratch: Vec<u8>,
}

impl Output {
    /// Stdout for what a peer sends: on a terminal, escaped, marked with the
    /// gutter, floods summarised.
    pub fn stdout() -> io::Result<Output> {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal().then(|| {
            let colour = colored::control::SHOULD_COLORIZE.should_colorize();
            Screen::new(if colour { "\x1b[2m<\x1b[0m " } else { "< " })
        });
        let file = File::from(stdout.as_fd().try_clone_to_owned()?);
        Ok(Output {
            file,
            terminal,
            scratch: Vec::new(),
        })
    }

    /// Without the gutter: output that did not come from a peer
    /// (`socklab frame` shows what its reader cut from a file).
    pub fn unmarked(mut self) -> Output {
        if let Some(screen) = self.terminal.as_mut() {
            screen.gutter = "";
        }
        self
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal.is_some()
    }

    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.terminal {
            None => self.file.write_all(data),
            Some(screen) => {
                self.scratch.clear();
                screen.show(data, &mut self.scratch);
                self.file.write_all(&self.scratch)
            }
        }
    }

    /// Shows one whole message (a datagram, a frame): on a terminal it ends
    /// its line, so that the next one starts on a line of its own; in a pipe
    /// the bytes are exact.
    pub fn write_whole(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data)?;
        if let Some(screen) = &mut self.terminal {
            self.scratch.clear();
            screen.end_line(&mut self.scratch);
            self.file.write_all(&self.scratch)?;
        }
        Ok(())
    }

    /// The stream ended: show anything the terminal filter still holds.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(screen) = &mut self.terminal {
            self.scratch.clear();
            screen.flush(&mut self.scratch);
            self.file.write_all(&self.scratch)?;
        }
        Ok(())
    }
}

/// What a terminal shows of the data: see the module docs.
struct Screen {
    filter: TerminalSafe,
    gutter: &'static str,
    /// The next byte shown starts a line (and so gets the gutter).
    line_start: bool,
    /// A summary has been shown (the first one says how to see everything).
    summarised: bool,
    escaped: Vec<u8>,
}

impl Screen {
    fn new(gutter: &'static str) -> Screen {
        Screen {
            filter: TerminalSafe::new(),
            gutter,
            line_start: true,
            summarised: false,
            escaped: Vec::new(),
        }
    }

    fn show(&mut self, data: &[u8], out: &mut Vec<u8>) {
        // The display form counts: 3,000 zero bytes are 12,000 columns of
        // `\x00`. Its escaping is at least as long as the data.
        if data.len() > FLOOD {
            return self.summary(data, out);
        }
        self.escaped.clear();
        self.filter.push(data, &mut self.escaped);
        if self.escaped.len() > FLOOD {
            // The summary stands for these bytes: what the filter held
            // back of them (half a character) goes with it.
            self.filter = TerminalSafe::new();
            return self.summary(data, out);
        }
        let escaped = std::mem::take(&mut self.escaped);
        self.mark(&escaped, out);
        self.escaped = escaped;
    }

    /// Copies display text, putting the gutter before each line's first byte.
    fn mark(&mut self, text: &[u8], out: &mut Vec<u8>) {
        for line in text.split_inclusive(|&b| b == b'\n') {
            if self.line_start {
                out.extend_from_slice(self.gutter.as_bytes());
            }
            out.extend_from_slice(line);
            self.line_start = line.ends_with(b"\n");
        }
    }

    /// Shows what the filter holds (half a character, a lone CR).
    fn flush(&mut self, out: &mut Vec<u8>) {
        let mut held = Vec::new();
        self.filter.finish(&mut held);
        self.mark(&held, out);
    }

    /// Ends the current line, if one is open.
    fn end_line(&mut self, out: &mut Vec<u8>) {
        self.flush(out);
        if !self.line_start {
            out.push(b'\n');
            self.line_start = true;
        }
    }

    /// One line for a delivery too large to show.
    fn summary(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.end_line(out);
        let (head, head_len) = escaped_head(data, HEAD_COLUMNS);
        let tail = escaped_tail(&data[head_len..], TAIL_COLUMNS);
        let line = format!("‹{} bytes: \"{head}\" … \"{tail}\"›\n", grouped(data.len()));
        self.mark(line.as_bytes(), out);
        if !std::mem::replace(&mut self.summarised, true) {
            let note = format!(
                "  (on a terminal, reads over {} KiB are summarised; to see every byte: > FILE, or -x for a hex dump)\n",
                FLOOD / 1024
            );
            out.extend_from_slice(note.as_bytes());
        }
    }
}

/// The escaped form of one character, for a summary (newlines too: a
/// summary is one line).
fn escaped(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if dangerous(c) => {
            let _ = write_char(c, out);
        }
        c => out.push(c),
    }
}

/// The first characters of `data`, escaped, within `budget` columns; and
/// how many bytes they took.
fn escaped_head(data: &[u8], budget: usize) -> (String, usize) {
    let mut out = String::new();
    let mut used = 0;
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            let before = out.len();
            escaped(c, &mut out);
            if columns(&out) > budget {
                out.truncate(before);
                return (out, used);
            }
            used += c.len_utf8();
        }
        for &b in chunk.invalid() {
            let before = out.len();
            out.push_str(&format!("\\x{b:02x}"));
            if columns(&out) > budget {
                out.truncate(before);
                return (out, used);
            }
            used += 1;
        }
    }
    (out, used)
}

/// The last characters of `data`, escaped, within `budget` columns.
fn escaped_tail(data: &[u8], budget: usize) -> String {
    // At most four bytes a column; start at a character boundary.
    let mut start = data.len().saturating_sub(budget * 4);
    while start < data.len() && (data[start] & 0xc0) == 0x80 {
        start += 1;
    }
    let mut pieces: Vec<String> = Vec::new();
    for chunk in data[start..].utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut s = String::new();
            escaped(c, &mut s);
            pieces.push(s);
        }
        pieces.extend(chunk.invalid().iter().map(|b| format!("\\x{b:02x}")));
    }
    let mut kept = 0;
    let mut width = 0;
    for piece in pieces.iter().rev() {
        width += columns(piece);
        if width > budget {
            break;
        }
        kept += 1;
    }
    pieces[pieces.len() - kept..].concat()
}

/// Whether an error from writing stdout means the reader went away (`| head`).
/// Like ripgrep, socklab then stops quietly with exit code 0.
pub fn reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(chunks: &[&[u8]], datagrams: bool) -> String {
        let mut screen = Screen::new("< ");
        let mut out = Vec::new();
        for c in chunks {
            screen.show(c, &mut out);
            if datagrams {
                screen.end_line(&mut out);
            }
        }
        screen.flush(&mut out);
        String::from_utf8(out).expect("display text is UTF-8")
    }

    #[test]
    fn every_received_line_starts_with_the_gutter_however_it_was_cut() {
        assert_eq!(
            shown(&[b"hel", b"lo\nwor", b"ld\n"], false),
            "< hello\n< world\n"
        );
        assert_eq!(shown(&[b"a\r", b"\nb\r\n"], false), "< a\r\n< b\r\n");
        assert_eq!(shown(&[b"one", b"two"], true), "< one\n< two\n");
        assert_eq!(shown(&["中午\n一起".as_bytes()], false), "< 中午\n< 一起");
    }

    #[test]
    fn a_flood_is_one_line_with_its_size_and_both_ends() {
        let mut data = b"BEGIN".to_vec();
        data.extend(vec![0u8; 65_536]);
        data.extend(b"END\n");
        let text = shown(&[b"before ", &data, b"after\n"], false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "< before ", "{text}");
        assert!(
            lines[1].starts_with("< ‹65,545 bytes: \"BEGIN\\x00"),
            "{text}"
        );
        assert!(lines[1].ends_with("\\x00END\\n\"›"), "{text}");
        assert!(
            lines[2].contains("> FILE") && lines[2].contains("-x"),
            "{text}"
        );
        assert_eq!(lines[3], "< after");
        // The explanation is given once.
        let twice = shown(&[&data, &data], false);
        assert_eq!(twice.matches("> FILE").count(), 1, "{twice}");
        assert!(lines[1].chars().count() < 100, "{}", lines[1]);
    }

    #[test]
    fn a_summary_escapes_and_keeps_characters_whole() {
        let mut data = "\u{1b}[2J中".as_bytes().to_vec();
        data.extend("午".repeat(3000).as_bytes());
        let text = shown(&[&data], false);
        assert!(text.starts_with("< ‹9,007 bytes: \"\\x1b[2J中午"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.lines().next().is_some_and(|l| l.ends_with("午午\"›")),
            "{text}"
        );
    }

    #[test]
    fn what_escaping_would_blow_up_is_summarised_too() {
        // 3,099 zero bytes: 12,396 columns of `\x00`, 103 lines.
        let text = shown(&[&[0u8; 3099]], false);
        assert!(text.starts_with("< ‹3,099 bytes: "), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        // Text of the same size is shown as it is.
        let text = shown(&[&[b'x'; 3099]], false);
        assert_eq!(text.len(), 2 + 3099);
    }

    #[test]
    fn a_delivery_at_the_threshold_is_shown_whole() {
        let data = vec![b'x'; FLOOD];
        let text = shown(&[&data], false);
        assert_eq!(text.len(), 2 + FLOOD, "{text}");
    }
}
