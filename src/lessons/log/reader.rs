//! Reading a session log back, in bounded memory and time.
//!
//! The file is streamed line by line. A line is kept only if it is a socklab
//! event (a JSON object with a `step` and a `ts_us`) and the caller wants its
//! step; everything else is skipped and counted, so that one torn write, one
//! invalid UTF-8 byte or one line of something else never costs the learner
//! the rest of the log. A line longer than [`MAX_LINE`] is skipped without
//! being held, and reading stops after [`READ_LIMIT`] bytes. Like the writer,
//! the reader keeps at most [`KEEP`] events of one step per process, side and
//! connection, counting the rest: a log concatenated by hand or written by
//! an older socklab (which recorded every frame) cannot exhaust memory.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{KEEP, MAX_LINE, READ_LIMIT};

/// What was read from a session log.
#[derive(Debug, Default)]
pub struct Log {
    /// The events kept, in order of time.
    pub events: Vec<Value>,
    /// Lines that are not socklab events: torn, not JSON, invalid UTF-8,
    /// too long, or JSON of another shape.
    pub skipped: usize,
    /// A writer reached the cap: the log records nothing after that point.
    pub full: bool,
    /// The file is longer than [`READ_LIMIT`]: the rest was not read.
    pub cut: bool,
    /// Bulk events that were counted but not recorded one by one.
    pub summarised: u64,
}

/// The fields every event has, read without building the rest.
#[derive(Deserialize)]
struct Head {
    step: String,
    /// Required, though not used here: a line without a time is not an event.
    #[serde(rename = "ts_us")]
    _ts_us: u64,
    pid: Option<u64>,
    side: Option<String>,
    conn: Option<u64>,
}

/// Whose events a line is: one process, one side, one connection.
type Stream = (Option<u64>, Option<String>, Option<u64>);

/// The state of one pass over a log.
struct Reading<W> {
    log: Log,
    wanted: W,
    /// Events kept per stream and step. A log written by this socklab has at
    /// most KEEP bulk events of each; older or hand-made logs are held to the
    /// same bound here, the rest counted.
    kept: HashMap<(Stream, String), u64>,
    past_keep: u64,
    /// The latest summary of each stream: summaries count up.
    summaries: HashMap<Stream, u64>,
}

/// Reads the log at `path` (a missing file is an empty log), keeping the
/// events whose step `wanted` accepts.
pub fn read(path: &Path, wanted: impl Fn(&str) -> bool) -> io::Result<Log> {
    let file = match super::open_for_reading(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Log::default()),
        Err(e) => return Err(e),
    };
    let mut r = Reading {
        log: Log {
            cut: file.metadata()?.len() > READ_LIMIT,
            ..Log::default()
        },
        wanted,
        kept: HashMap::new(),
        past_keep: 0,
        summaries: HashMap::new(),
    };
    let mut input = BufReader::with_capacity(64 << 10, file.take(READ_LIMIT));
    let mut line = Vec::new();
    while let Some(ended) = next_line(&mut input, &mut line)? {
        if !ended && r.log.cut {
            // The line that the read limit cut in two.
            break;
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            r.line(&line);
        }
    }
    let mut log = r.log;
    log.summarised = r.summaries.values().sum::<u64>() + r.past_keep;
    // Processes append concurrently; time orders them (stable for ties).
    log.events.sort_by_key(|e| e["ts_us"].as_u64().unwrap_or(0));
    Ok(log)
}

impl<W: Fn(&str) -> bool> Reading<W> {
    fn line(&mut self, line: &[u8]) {
        // UTF-8 is checked for the whole line: the head's parser would skip
        // a bad byte in a field it does not read.
        let head = match (line.first(), std::str::from_utf8(line)) {
            (Some(b'{'), Ok(text)) if line.len() <= MAX_LINE => {
                serde_json::from_str::<Head>(text).ok()
            }
            _ => None,
        };
        let Some(head) = head else {
            self.log.skipped += 1;
            return;
        };
        let stream = (head.pid, head.side, head.conn);
        if head.step == "log_full" {
            self.log.full = true;
        }
        let summary = head.step == "log_summary";
        if !summary && !(self.wanted)(&head.step) {
            return;
        }
        let kept = self.kept.entry((stream.clone(), head.step)).or_insert(0);
        if *kept >= KEEP && !summary {
            self.past_keep += 1;
            return;
        }
        *kept += 1;
        let Ok(event) = serde_json::from_slice::<Value>(line) else {
            self.log.skipped += 1;
            return;
        };
        if summary {
            let omitted = event["omitted"].as_object().map_or(0, |counts| {
                counts.values().filter_map(Value::as_u64).sum::<u64>()
            });
            self.summaries.insert(stream, omitted);
        } else {
            self.log.events.push(event);
        }
    }
}

/// Reads the next line into `line`, without its newline. Returns `None` at
/// the end, else whether the line ended with a newline. A line longer than
/// [`MAX_LINE`] is consumed but not stored: `line` then holds one byte more
/// than the limit allows, so the caller sees it is too long.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<bool>> {
    line.clear();
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(false));
        }
        any = true;
        let newline = chunk.iter().position(|&b| b == b'\n');
        let part = &chunk[..newline.unwrap_or(chunk.len())];
        let room = (MAX_LINE + 1).saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        let used = newline.map_or(chunk.len(), |i| i + 1);
        input.consume(used);
        if newline.is_some() {
            return Ok(Some(true));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, bytes).expect("write");
        (dir, path)
    }

    fn steps(log: &Log) -> Vec<&str> {
        log.events
            .iter()
            .map(|e| e["step"].as_str().unwrap_or(""))
            .collect()
    }

    #[test]
    fn events_come_in_time_order_and_torn_lines_are_counted() {
        let (_d, path) = log_of(
            b"{\"ts_us\":2,\"step\":\"b\"}\n{\"ts_us\":1,\"step\":\"a\"}\n{\"ts_us\":3,\"st\n",
        );
        let log = read(&path, |_| true).expect("read");
        assert_eq!(steps(&log), ["a", "b"]);
        assert_eq!(log.skipped, 1);
    }

    #[test]
    fn one_bad_byte_costs_one_line() {
        let (_d, path) =
            log_of(b"{\"ts_us\":1,\"step\":\"a\"}\n{\"ts_us\":2,\"step\":\"b\",\"data\":\"\xff\"}\n{\"ts_us\":3,\"step\":\"c\"}\n");
        let log = read(&path, |_| true).expect("read");
        assert_eq!(steps(&log), ["a", "c"]);
        assert_eq!(log.skipped, 1);
        // Counted even when its step is not wanted.
        assert_eq!(read(&path, |s| s == "a").expect("read").skipped, 1);
    }

    #[test]
    fn json_that_is_not_an_event_is_skipped() {
        let (_d, path) = log_of(
            b"[1,2]\n\"text\"\n{\"step\":5,\"ts_us\":1}\n{\"level\":3}\n{\"ts_us\":1,\"step\":\"a\"}\n\n",
        );
        let log = read(&path, |_| true).expect("read");
        assert_eq!(steps(&log), ["a"]);
        assert_eq!(log.skipped, 4);
    }

    #[test]
    fn a_huge_line_is_skipped_without_being_held() {
        let mut bytes =
            b"{\"ts_us\":1,\"step\":\"a\"}\n{\"ts_us\":2,\"step\":\"b\",\"data\":\"".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 5 << 20));
        bytes.extend(b"\"}\n{\"ts_us\":3,\"step\":\"c\"}\n");
        let (_d, path) = log_of(&bytes);
        let log = read(&path, |_| true).expect("read");
        assert_eq!(steps(&log), ["a", "c"]);
        assert_eq!(log.skipped, 1);
    }

    #[test]
    fn only_wanted_steps_are_kept_and_summaries_add_up() {
        let (_d, path) = log_of(
            br#"{"ts_us":1,"pid":7,"side":"server","conn":1,"step":"read"}
{"ts_us":2,"pid":7,"side":"server","conn":1,"step":"log_summary","omitted":{"read":10,"frame":5}}
{"ts_us":3,"pid":7,"side":"server","conn":1,"step":"log_summary","omitted":{"read":20,"frame":9}}
{"ts_us":4,"pid":8,"side":"client","step":"log_summary","omitted":{"write":1}}
{"ts_us":5,"pid":7,"side":"server","step":"log_full","cap":100}
"#,
        );
        let log = read(&path, |s| s == "read").expect("read");
        assert_eq!(steps(&log), ["read"]);
        assert_eq!(log.summarised, 30);
        assert!(log.full && !log.cut);
        assert_eq!(log.skipped, 0);
    }

    #[test]
    fn past_keep_events_of_one_stream_are_counted_not_kept() {
        let mut bytes = Vec::new();
        for ts in 0..1000 {
            bytes.extend(format!("{{\"ts_us\":{ts},\"pid\":1,\"side\":\"server\",\"conn\":1,\"step\":\"read\"}}\n").bytes());
        }
        bytes.extend(
            b"{\"ts_us\":1000,\"pid\":1,\"side\":\"server\",\"conn\":2,\"step\":\"read\"}\n",
        );
        let (_d, path) = log_of(&bytes);
        let log = read(&path, |_| true).expect("read");
        assert_eq!(log.events.len() as u64, KEEP + 1);
        assert_eq!(log.summarised, 1000 - KEEP);
    }

    #[test]
    fn a_missing_log_is_empty_and_a_fifo_or_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = read(&dir.path().join("none.jsonl"), |_| true).expect("empty");
        assert!(log.events.is_empty());
        assert!(read(dir.path(), |_| true).is_err(), "a directory is no log");
        let fifo = dir.path().join("fifo.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Opening a FIFO with no writer would block for ever.
            let err = read(&fifo, |_| true).expect_err("a FIFO");
            assert!(err.to_string().contains("not a plain file"), "{err}");
        }
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let (dir, path) = log_of(b"{\"ts_us\":1,\"step\":\"a\"}\n");
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        let err = read(&link, |_| true).expect_err("a link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
