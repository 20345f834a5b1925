//! `-x/--hex`: every byte that crosses a socket, as a hex and ASCII dump on
//! stderr, like `hexdump -C`, with its direction (`>` sent, `<` received), its
//! offset in that direction's stream and the time it crossed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::event::{Event, Level, Side};
use super::{Record, Sink};

pub struct HexSink {
    out: Box<dyn Write>,
    /// Bytes so far per (side, connection, direction).
    offsets: HashMap<(Side, Option<u64>, char), u64>,
}

impl HexSink {
    pub fn new(out: Box<dyn Write>) -> HexSink {
        HexSink {
            out,
            offsets: HashMap::new(),
        }
    }
}

impl Sink for HexSink {
    fn level(&self) -> Level {
        Level::Data
    }

    fn record(&mut self, rec: &Record) -> io::Result<()> {
        let (dir, data) = match rec.event {
            Event::Write { data, .. } | Event::Sent { data, .. } => ('>', data.0),
            Event::Read { data, .. } | Event::Datagram { data, .. } => ('<', data.0),
            _ => return Ok(()),
        };
        let offset = self.offsets.entry((rec.side, rec.conn, dir)).or_insert(0);
        let conn = rec.conn.map(|c| format!(" #{c}")).unwrap_or_default();
        let mut text = format!(
            "{dir} {}{conn} {} bytes at +{:.6}s\n",
            rec.side.label(),
            data.len(),
            rec.elapsed.as_secs_f64()
        );
        dump(dir, *offset, data, &mut text);
        *offset += data.len() as u64;
        self.out.write_all(text.as_bytes())
    }
}

/// Appends `hexdump -C` style lines for `data`, numbered from `offset`.
pub fn dump(dir: char, offset: u64, data: &[u8], text: &mut String) {
    for (i, row) in data.chunks(16).enumerate() {
        let _ = write!(text, "{dir} {:08x} ", offset + 16 * i as u64);
        for j in 0..16 {
            if j == 8 {
                text.push(' ');
            }
            match row.get(j) {
                Some(b) => {
                    let _ = write!(text, " {b:02x}");
                }
                None => text.push_str("   "),
            }
        }
        text.push_str("  |");
        text.extend(row.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        text.push_str("|\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_sixteen_with_offset_hex_and_ascii() {
        let mut s = String::new();
        dump('>', 16, b"hello, world!\r\n\x1bX", &mut s);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "> 00000010  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0d 0a 1b  |hello, world!...|"
        );
        assert!(lines[1].starts_with("> 00000020  58 "), "{}", lines[1]);
        assert!(lines[1].ends_with("|X|"));
    }
}
