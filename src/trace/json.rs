//! JSON lines: one object per event, for scripts (`--json` on stderr) and for
//! the lessons (`--events FILE`, appended).
//!
//! The envelope fields (`v`, `ts_us`, `pid`, `cmd`, `side`, `conn`, `step`)
//! come first; the step's own fields follow. `docs/events.md` is the schema.
//! Each line is written with a single `write` call so that several socklab
//! processes appending to one event file never interleave inside a line.
//! On a terminal, characters that JSON allows raw in strings but a terminal
//! would obey (C1 controls, bidi and invisible characters) are written as
//! `\uXXXX` escapes: still JSON, decoding to the same text.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::escape::json_for_terminal;
use super::event::{Event, Level, Side};
use super::{Record, Sink};

/// Version of the JSON event schema. Bumped only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    ts_us: u64,
    pid: u32,
    cmd: &'a str,
    side: Side,
    #[serde(skip_serializing_if = "Option::is_none")]
    conn: Option<u64>,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

pub struct JsonSink {
    out: Box<dyn Write>,
    level: Level,
    line: Vec<u8>,
    /// The file behind `out` (`--events FILE`), named if a write fails.
    path: Option<PathBuf>,
    /// A write to `path` failed and was reported: the file gets no more.
    failed: bool,
    /// Whether `out` is a terminal (see [`JsonSink::on_terminal`]).
    terminal: bool,
    /// An event file masks passwords in what it records (see
    /// [`super::secrets`]): a file outlives the moment.
    secrets: Option<super::secrets::Secrets>,
}

impl JsonSink {
    pub fn new(out: Box<dyn Write>, level: Level) -> JsonSink {
        JsonSink {
            out,
            level,
            line: Vec::with_capacity(512),
            path: None,
            failed: false,
            terminal: false,
            secrets: None,
        }
    }

    /// Says that `out` is a terminal: strings are then escaped for it.
    /// A file or a pipe gets serde_json's output as it is.
    pub fn on_terminal(mut self, terminal: bool) -> JsonSink {
        self.terminal = terminal;
        self
    }

    /// Appends to `path`, creating it if needed.
    pub fn append_to(path: &Path, level: Level) -> io::Result<JsonSink> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        let terminal = file.is_terminal();
        Ok(JsonSink {
            path: Some(path.to_path_buf()),
            secrets: Some(super::secrets::Secrets::default()),
            ..JsonSink::new(Box::new(file), level).on_terminal(terminal)
        })
    }
}

/// The JSON line for a record, without the newline.
pub fn to_line(rec: &Record) -> serde_json::Result<Vec<u8>> {
    let mut line = Vec::new();
    write_line(rec, &mut line)?;
    Ok(line)
}

fn write_line(rec: &Record, line: &mut Vec<u8>) -> serde_json::Result<()> {
    let envelope = Envelope {
        v: SCHEMA_VERSION,
        ts_us: rec.ts_us,
        pid: rec.pid,
        cmd: rec.command,
        side: rec.side,
        conn: rec.conn,
        event: rec.event,
    };
    serde_json::to_writer(line, &envelope)
}

impl Sink for JsonSink {
    fn level(&self) -> Level {
        self.level
    }

    fn record(&mut self, rec: &Record) -> io::Result<()> {
        if self.failed {
            return Ok(());
        }
        self.line.clear();
        let line = &mut self.line;
        match self.secrets.as_mut() {
            Some(s) => s.recording(rec, |r| write_line(r, line))?,
            None => write_line(rec, line)?,
        }
        if self.terminal
            && let Ok(json) = std::str::from_utf8(&self.line)
            && let std::borrow::Cow::Owned(safe) = json_for_terminal(json)
        {
            self.line = safe.into_bytes();
        }
        self.line.push(b'\n');
        let written = self.out.write_all(&self.line);
        // A lost event file must not go unnoticed, nor stop the data path:
        // say so once, in plain words, and stop writing there.
        if let (Err(e), Some(path)) = (&written, &self.path) {
            self.failed = true;
            eprintln!(
                "socklab: cannot write events to {}: {e}; the events from here on are not in that file (the command carries on)",
                path.display()
            );
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::Data;
    use std::time::Duration;

    fn line(event: &Event) -> serde_json::Value {
        let rec = Record {
            ts_us: 1,
            elapsed: Duration::ZERO,
            pid: 7,
            command: "listen",
            side: Side::Server,
            conn: Some(1),
            event,
        };
        serde_json::from_slice(&to_line(&rec).expect("serialises")).expect("valid JSON")
    }

    #[test]
    fn envelope_and_step_fields_share_one_object() {
        let v = line(&Event::Read {
            n: 5,
            data: Data(b"hello"),
        });
        assert_eq!(v["v"], 1);
        assert_eq!(v["step"], "read");
        assert_eq!(v["side"], "server");
        assert_eq!(v["conn"], 1);
        assert_eq!(v["n"], 5);
        assert_eq!(v["data"], "hello");
    }

    #[test]
    fn unit_steps_serialise_with_their_name() {
        assert_eq!(line(&Event::PeerClosed)["step"], "peer_closed");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_exactly_in_base64() {
        use base64::Engine as _;
        let bytes = b"\xff\xfbGET \x80\x00ok";
        let v = line(&Event::Read {
            n: bytes.len(),
            data: Data(bytes),
        });
        assert_eq!(v["data"], "\u{fffd}\u{fffd}GET \u{fffd}\u{0}ok");
        let exact = base64::engine::general_purpose::STANDARD
            .decode(v["data_b64"].as_str().expect("data_b64"))
            .expect("base64");
        assert_eq!(exact, bytes);
        let text = line(&Event::Read {
            n: 5,
            data: Data("héllo".as_bytes()),
        });
        assert_eq!(text["data"], "héllo");
        assert!(text.get("data_b64").is_none(), "text needs no second copy");
    }

    #[test]
    fn a_preview_cut_inside_a_character_stays_text() {
        // 255 ASCII bytes, then 中 (3 bytes): the cut at 256 would split it.
        let mut bytes = vec![b'a'; 255];
        bytes.extend_from_slice("中文".as_bytes());
        let v = line(&Event::Write {
            n: bytes.len(),
            data: Data(&bytes),
        });
        assert_eq!(v["data"].as_str().map(str::len), Some(255));
        assert!(v.get("data_b64").is_none(), "{v}");
    }

    #[test]
    fn data_preview_is_bounded() {
        let big = vec![b'x'; 10_000];
        let v = line(&Event::Write {
            n: big.len(),
            data: Data(&big),
        });
        assert_eq!(v["n"], 10_000);
        assert_eq!(v["data"].as_str().map(str::len), Some(Data::PREVIEW));
    }
}
