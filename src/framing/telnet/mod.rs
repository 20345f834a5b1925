//! `telnet`: the Network Virtual Terminal of RFC 854, with its commands
//! taken out of the data and named.
//!
//! Telnet mixes commands into the byte stream: byte 255, IAC ("interpret as
//! command"), starts one. `IAC WILL|WONT|DO|DONT option` negotiates an
//! option (RFC 855), `IAC SB option … IAC SE` carries an option's
//! parameters, `IAC x` is a one-byte command (NOP, AYT, IP…), and `IAC IAC`
//! is a data byte 255. Data lines end in CR LF; CR NUL is a carriage return
//! alone (RFC 854), which is also what a client in character mode sends for
//! Enter, so it ends a line here too.
//!
//! Each frame is either a command or a run of data: a line, or the data
//! before a command that came in the middle of a line. The codec remembers
//! how far it looked, so a stream fed one byte at a time is read in linear
//! time, and a command or subnegotiation may be split across reads at any
//! byte. A subnegotiation is bounded by [`MAX_SUB`]: real ones are a few
//! bytes (a window size, a terminal type), and a peer must not make us
//! buffer without end.
//!
//! [`names`] has the vocabulary; [`answer`] what socklab replies.

pub mod answer;
pub mod names;

use super::{Codec, Content, FrameError, Limits};
use names::{IAC, SB, SE};

/// Longest subnegotiation accepted, IAC SB to IAC SE.
pub const MAX_SUB: usize = 1024;

/// One frame of a telnet stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Data, IAC IAC unescaped, without its line end.
    Data { text: Vec<u8>, end: DataEnd },
    /// `IAC WILL|WONT|DO|DONT option`.
    Negotiate { verb: u8, option: u8 },
    /// `IAC SB option params IAC SE`; `ended` is false when another command
    /// cut it short (no IAC SE).
    Sub {
        option: u8,
        params: Vec<u8>,
        ended: bool,
    },
    /// `IAC x` for any other x.
    Command(u8),
}

/// How a run of data ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataEnd {
    Lf,
    CrLf,
    /// CR NUL: Enter in character mode.
    CrNul,
    /// A command follows; the line goes on after it.
    Command,
    /// The stream ended.
    Eof,
}

impl Item {
    /// The data a frame carries for stdout: a line as it was typed (CR LF
    /// kept, CR NUL as a newline), nothing for a command.
    pub fn output(&self) -> Vec<u8> {
        match self {
            Item::Data { text, end } => {
                let end: &[u8] = match end {
                    DataEnd::Lf | DataEnd::CrNul => b"\n",
                    DataEnd::CrLf => b"\r\n",
                    DataEnd::Command | DataEnd::Eof => b"",
                };
                [text.as_slice(), end].concat()
            }
            _ => Vec::new(),
        }
    }

    /// A one-line description for the narration.
    pub fn summary(&self) -> String {
        match self {
            Item::Data { text, end } => {
                let end = match end {
                    DataEnd::Lf => "ended by LF",
                    DataEnd::CrLf => "ended by CR LF",
                    DataEnd::CrNul => "ended by CR NUL: Enter in character mode",
                    DataEnd::Command => "a command follows in the middle of the line",
                    DataEnd::Eof => "no line ending: the stream ended",
                };
                format!("{} ({end})", crate::trace::escape::preview(text, 60))
            }
            Item::Negotiate { verb, option } => {
                format!("IAC {} {}", names::verb(*verb), names::option(*option).name)
            }
            Item::Sub { option, .. } => {
                format!("IAC SB {} … IAC SE", names::option(*option).name)
            }
            Item::Command(code) => format!("IAC {}", names::command(*code).0),
        }
    }
}

#[derive(Default)]
pub struct Telnet {
    /// Bytes of the current frame already looked at.
    scanned: usize,
}

impl Codec for Telnet {
    fn proto(&self) -> &'static str {
        "telnet"
    }

    fn decode(&mut self, buf: &[u8], _: &Limits) -> Result<Option<(Content, usize)>, FrameError> {
        let found = match buf {
            [] | [IAC] => None,
            [IAC, IAC, ..] => self.data(buf, false),
            [IAC, ..] => self.command(buf)?,
            _ => self.data(buf, false),
        };
        Ok(self.cut(found))
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        let found = match buf {
            [] => None,
            [IAC, IAC, ..] => self.data(buf, true),
            [IAC, ..] => match self.command(buf)? {
                Some(found) => Some(found),
                None => {
                    self.scanned = 0;
                    return Err(FrameError::closed_mid_frame(
                        "telnet",
                        buf.len(),
                        "the stream ended in the middle of a telnet command",
                    ));
                }
            },
            _ => self.data(buf, true),
        };
        Ok(self.cut(found))
    }
}

impl Telnet {
    /// A frame found: the scan starts afresh with the next one.
    fn cut(&mut self, found: Option<(Item, usize)>) -> Option<(Content, usize)> {
        let (item, n) = found?;
        self.scanned = 0;
        Some((Content::Telnet(item), n))
    }

    /// A command at the start of `buf` (which starts with IAC and is not
    /// IAC IAC).
    fn command(&mut self, buf: &[u8]) -> Result<Option<(Item, usize)>, FrameError> {
        let Some(&code) = buf.get(1) else {
            return Ok(None);
        };
        Ok(match code {
            names::WILL..=names::DONT => buf
                .get(2)
                .map(|&option| (Item::Negotiate { verb: code, option }, 3)),
            SB => self.sub(buf)?,
            code => Some((Item::Command(code), 2)),
        })
    }

    /// `IAC SB option … IAC SE`, found in linear time across reads.
    fn sub(&mut self, buf: &[u8]) -> Result<Option<(Item, usize)>, FrameError> {
        let mut i = self.scanned.max(3);
        while i < buf.len() {
            if buf[i] != IAC {
                i += 1;
                continue;
            }
            match buf.get(i + 1) {
                None => break,
                Some(&IAC) => i += 2,
                Some(&SE) => return Ok(Some((sub_item(buf, i, true), i + 2))),
                // Another command: the subnegotiation was cut short.
                Some(_) => return Ok(Some((sub_item(buf, i, false), i))),
            }
        }
        self.scanned = i;
        if buf.len() > MAX_SUB {
            self.scanned = 0;
            return Err(FrameError::too_large(
                "telnet",
                format!(
                    "a subnegotiation longer than {MAX_SUB} bytes without IAC SE: real ones are a few bytes (a window size, a terminal type)"
                ),
            ));
        }
        Ok(None)
    }

    /// A run of data: up to a line end, or up to the next command.
    fn data(&mut self, buf: &[u8], eof: bool) -> Option<(Item, usize)> {
        let mut i = self.scanned;
        while i < buf.len() {
            match buf[i] {
                b'\n' => {
                    let crlf = i > 0 && buf[i - 1] == b'\r';
                    let (end, text_end) = if crlf {
                        (DataEnd::CrLf, i - 1)
                    } else {
                        (DataEnd::Lf, i)
                    };
                    return Some((data_item(&buf[..text_end], end), i + 1));
                }
                b'\r' => match buf.get(i + 1) {
                    None => break,
                    Some(0) => return Some((data_item(&buf[..i], DataEnd::CrNul), i + 2)),
                    Some(_) => i += 1,
                },
                IAC => match buf.get(i + 1) {
                    None => break,
                    Some(&IAC) => i += 2,
                    Some(_) => return Some((data_item(&buf[..i], DataEnd::Command), i)),
                },
                _ => i += 1,
            }
        }
        self.scanned = i;
        if !eof {
            return None;
        }
        // The end of the stream ends the last line; a lone IAC after it is
        // an unfinished command, left for the next call to report.
        let end = if buf.last() == Some(&IAC) && i < buf.len() {
            i
        } else {
            buf.len()
        };
        (end > 0).then(|| (data_item(&buf[..end], DataEnd::Eof), end))
    }
}

/// Data bytes with IAC IAC turned into one 255 byte.
fn unescape(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        out.push(wire[i]);
        i += if wire[i] == IAC && wire.get(i + 1) == Some(&IAC) {
            2
        } else {
            1
        };
    }
    out
}

fn data_item(wire: &[u8], end: DataEnd) -> Item {
    Item::Data {
        text: unescape(wire),
        end,
    }
}

/// The subnegotiation in `buf[..iac]` (IAC SB option params).
fn sub_item(buf: &[u8], iac: usize, ended: bool) -> Item {
    Item::Sub {
        option: buf[2],
        params: unescape(&buf[3..iac]),
        ended,
    }
}

/// What is typed, as telnet sends it: a data byte 255 doubled (IAC IAC),
/// and every line ending in CR LF (an LF alone becomes CR LF; `last_cr`
/// carries a CR across chunks).
pub fn escape(data: &[u8], last_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for &b in data {
        match b {
            IAC => out.extend_from_slice(&[IAC, IAC]),
            b'\n' if !*last_cr => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        *last_cr = b == b'\r';
    }
    out
}

#[cfg(test)]
mod tests;
