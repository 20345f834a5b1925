//! The sink that records a command's events in the current lesson's log.
//!
//! Steps are recorded as they happen, as the same JSON lines `--events`
//! writes. Bulk events (reads, writes, frames, datagrams, pendings, polls,
//! relay fates, messages) are recorded for the first [`KEEP`] of each step on
//! each connection: enough for any check to find "a read that contained
//! hello" or "two frames on one connection". Past that they are counted, and
//! the counts go into a `log_summary` event: at most once a second while the
//! data flows, and once more when the connection closes or the command exits.
//!
//! The file never grows past [`CAP`]: the line that would cross it is
//! replaced by a single `log_full` event (unless another process already
//! wrote one), and nothing more is appended. A write error is reported once,
//! on stderr in plain words; the command itself carries on.
//!
//! A command's sink follows the current lesson ([`follow`](super::follow)):
//! when another lesson becomes current, the counts so far go to the old log,
//! and the new one gets this process's standing steps, then what follows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::follow::{Change, Follow};
use super::{CAP, KEEP, MAX_LINE, open_for_appending};
use crate::lessons::progress::State;
use crate::trace::json::{SCHEMA_VERSION, to_line};
use crate::trace::secrets::Secrets;
use crate::trace::{Event, Level, Record, Side, Sink};

/// How often a connection whose events are being counted gets a summary.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);

/// The events that come in proportion to the data rather than to the steps.
fn is_bulk(event: &Event) -> bool {
    event.level() >= Level::Data || matches!(event, Event::Frame { .. } | Event::Message { .. })
}

/// How one step fares on one stream: recorded, then counted.
struct Tally {
    step: &'static str,
    kept: u64,
    omitted: u64,
}

/// What one connection (or the connection-less part of a process) has
/// recorded and counted.
struct Stream {
    origin: Origin,
    /// One per bulk step seen: a handful, so a list is the fast lookup.
    tallies: Vec<Tally>,
    /// Counted since the last summary was written.
    unsummarised: bool,
    last_summary: Instant,
}

impl Stream {
    fn new(rec: &Record) -> Stream {
        Stream {
            origin: Origin {
                pid: rec.pid,
                cmd: rec.command.to_string(),
                side: rec.side,
                conn: rec.conn,
            },
            tallies: Vec::new(),
            unsummarised: false,
            last_summary: Instant::now(),
        }
    }

    fn tally(&mut self, step: &'static str) -> &mut Tally {
        let i = match self.tallies.iter().position(|t| t.step == step) {
            Some(i) => i,
            None => {
                self.tallies.push(Tally {
                    step,
                    kept: 0,
                    omitted: 0,
                });
                self.tallies.len() - 1
            }
        };
        &mut self.tallies[i]
    }

    /// Counts an event that is not recorded; true when a summary is due.
    fn omit(&mut self, step: &'static str) -> bool {
        let tally = self.tally(step);
        tally.omitted += 1;
        // Looking at the clock every 64th time is often enough for "once a
        // second" and keeps a flood of tiny frames cheap.
        let look = tally.omitted % 64 == 1;
        self.unsummarised = true;
        look && self.last_summary.elapsed() >= SUMMARY_EVERY
    }
}

/// The envelope of a line this sink writes on its own.
#[derive(Clone)]
struct Origin {
    pid: u32,
    cmd: String,
    side: Side,
    conn: Option<u64>,
}

pub struct LessonLog {
    path: PathBuf,
    /// None while no lesson is current (a following sink).
    file: Option<File>,
    level: Level,
    cap: u64,
    streams: HashMap<(Side, Option<u64>), Stream>,
    /// Full, or failed: nothing more is written to this file.
    stopped: bool,
    /// Which lesson's log to write, for a command's sink; None for a sink
    /// opened on one log (an answer, a usage error).
    follow: Option<Follow>,
    /// Masks passwords in previews before they are recorded.
    secrets: Secrets,
}

impl LessonLog {
    /// Opens (creating) the log at `path`, and its directory if need be.
    pub fn open(path: &Path, level: Level) -> io::Result<LessonLog> {
        LessonLog::with_cap(path, level, CAP)
    }

    /// Like [`LessonLog::open`] with another cap (for tests).
    pub fn with_cap(path: &Path, level: Level, cap: u64) -> io::Result<LessonLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(LessonLog {
            path: path.to_path_buf(),
            file: Some(open_for_appending(path)?),
            level,
            cap,
            streams: HashMap::new(),
            stopped: false,
            follow: None,
            secrets: Secrets::default(),
        })
    }

    /// A command's sink: it writes the log of whichever lesson is current
    /// when each event happens (none while no lesson is). Never fails: a
    /// log that cannot be opened is a warning, and the command carries on.
    pub fn following(state: State, level: Level) -> LessonLog {
        let mut log = LessonLog {
            path: PathBuf::new(),
            file: None,
            level,
            cap: CAP,
            streams: HashMap::new(),
            stopped: false,
            follow: Some(Follow::start(state)),
            secrets: Secrets::default(),
        };
        log.open_current();
        log
    }

    /// Opens the current lesson's log, if one is current.
    fn open_current(&mut self) -> bool {
        let Some(follow) = self.follow.as_mut() else {
            return false;
        };
        let Some(path) = follow.path() else {
            return false;
        };
        let opened = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| open_for_appending(&path));
        match opened {
            Ok(file) => {
                self.file = Some(file);
                self.path = path;
                true
            }
            Err(e) => {
                follow.warn(&format!(
                    "lesson logging is off: cannot open the session log {}: {e}",
                    path.display()
                ));
                false
            }
        }
    }

    /// Before recording `rec`: follows a change of lesson (or of the log
    /// under it), then notes what `rec` sets up.
    fn follow(&mut self, rec: &Record) {
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        let change = follow.look(!is_bulk(rec.event));
        let switch = match change {
            Some(Change::Lesson(_)) => true,
            Some(Change::Recheck) => !self.still_the_log(),
            None => false,
        };
        if switch {
            self.switch();
        }
        if let Some(follow) = self.follow.as_mut()
            && let Err(e) = follow.standing.note(rec)
        {
            follow.warn(&format!("lesson logging: {e}"));
        }
    }

    /// Whether the open file is still the one at the log's path (a reset
    /// removes it; a new one may have been made since).
    fn still_the_log(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Some(file), Ok(there)) = (&self.file, std::fs::symlink_metadata(&self.path)) else {
            return false;
        };
        file.metadata()
            .is_ok_and(|m| m.dev() == there.dev() && m.ino() == there.ino())
    }

    /// Leaves the log written so far (with its counts) for the current
    /// lesson's, which gets the standing steps first.
    fn switch(&mut self) {
        self.summarise_all(None);
        self.streams.clear();
        self.file = None;
        self.stopped = false;
        if !self.open_current() {
            return;
        }
        let carried = match &self.follow {
            Some(f) => f.standing.carried(f.started_under()),
            None => return,
        };
        for line in carried {
            self.append(line);
        }
    }

    /// Writes the counts of one stream, if anything was counted since the
    /// last summary. The counts are totals since the command started.
    fn summarise(&mut self, key: (Side, Option<u64>), ts_us: Option<u64>) {
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if !stream.unsummarised {
            return;
        }
        stream.unsummarised = false;
        stream.last_summary = Instant::now();
        let omitted: serde_json::Map<String, Value> = (stream.tallies.iter())
            .filter(|t| t.omitted > 0)
            .map(|t| (t.step.to_string(), t.omitted.into()))
            .collect();
        let fields = json!({ "kept": KEEP, "omitted": omitted });
        let line = own_line(&stream.origin, ts_us, "log_summary", fields);
        self.append(line);
    }

    fn summarise_all(&mut self, ts_us: Option<u64>) {
        let mut keys: Vec<_> = self.streams.keys().copied().collect();
        keys.sort_by_key(|(side, conn)| (*side as u8, *conn));
        for key in keys {
            self.summarise(key, ts_us);
        }
    }

    /// Appends one line, unless it would take the file past the cap.
    fn append(&mut self, mut line: Vec<u8>) {
        if self.stopped {
            return;
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        line.push(b'\n');
        let cap = self.cap;
        let full = file
            .metadata()
            .map(|m| (m.len() + line.len() as u64 > cap, m.len()));
        let result = match full {
            Ok((true, size)) => {
                self.stopped = true;
                self.mark_full(size)
            }
            Ok((false, _)) => file.write_all(&line),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            self.stopped = true;
            eprintln!(
                "socklab: cannot write the lesson's session log {}: {e}; this command is no longer recorded for the lesson (it carries on)",
                self.path.display()
            );
        }
    }

    /// Appends the `log_full` event, unless the log already ends with one.
    fn mark_full(&mut self, size: u64) -> io::Result<()> {
        if ends_full(&self.path, size) {
            return Ok(());
        }
        let origin = match self.streams.values().next() {
            Some(s) => Origin {
                conn: None,
                ..s.origin.clone()
            },
            None => Origin {
                pid: std::process::id(),
                cmd: "socklab".into(),
                side: Side::Learner,
                conn: None,
            },
        };
        let fields = json!({
            "cap": self.cap,
            "why": "the session log reached its size limit; nothing more is recorded for this lesson",
            "next": "`socklab lesson reset N` on this lesson starts a fresh log",
        });
        let mut line = own_line(&origin, None, "log_full", fields);
        line.push(b'\n');
        match self.file.as_mut() {
            Some(file) => file.write_all(&line),
            None => Ok(()),
        }
    }
}

impl Sink for LessonLog {
    fn level(&self) -> Level {
        self.level
    }

    fn record(&mut self, rec: &Record) -> io::Result<()> {
        self.follow(rec);
        if self.stopped || self.file.is_none() {
            return Ok(());
        }
        let key = (rec.side, rec.conn);
        let step = rec.event.step();
        let stream = self.streams.entry(key).or_insert_with(|| Stream::new(rec));
        // Counting comes before serialising: an event past KEEP costs a
        // lookup, not a JSON line.
        if is_bulk(rec.event) {
            let tally = stream.tally(step);
            if tally.kept >= KEEP {
                if stream.omit(step) {
                    self.summarise(key, Some(rec.ts_us));
                }
                return Ok(());
            }
            tally.kept += 1;
        }
        let line = self.secrets.recording(rec, to_line)?;
        if line.len() >= MAX_LINE {
            // Too long to read back (a huge error message): counted instead.
            if let Some(stream) = self.streams.get_mut(&key) {
                stream.omit(step);
            }
            return Ok(());
        }
        match rec.event {
            // The counts of a connection go just before its end.
            Event::Close { .. } => {
                self.summarise(key, Some(rec.ts_us));
                self.append(line);
                if rec.conn.is_some() {
                    self.streams.remove(&key);
                }
            }
            Event::Exit { .. } => {
                self.summarise_all(Some(rec.ts_us));
                self.append(line);
            }
            _ => self.append(line),
        }
        Ok(())
    }
}

impl Drop for LessonLog {
    /// A command that ends without its `exit` event (an error path) still
    /// leaves its counts.
    fn drop(&mut self) {
        self.summarise_all(None);
    }
}

/// A line of this sink's own, in the envelope every event has.
fn own_line(origin: &Origin, ts_us: Option<u64>, step: &str, fields: Value) -> Vec<u8> {
    let ts_us = ts_us.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    });
    let mut line = json!({
        "v": SCHEMA_VERSION,
        "ts_us": ts_us,
        "pid": origin.pid,
        "cmd": origin.cmd,
        "side": origin.side,
    });
    if let (Some(conn), Some(map)) = (origin.conn, line.as_object_mut()) {
        map.insert("conn".into(), conn.into());
    }
    if let (Some(map), Value::Object(more)) = (line.as_object_mut(), fields) {
        map.insert("step".into(), step.into());
        map.extend(more);
    }
    // Serialising a Value built from strings and numbers cannot fail.
    serde_json::to_vec(&line).unwrap_or_default()
}

/// Whether the log at `path` ends with a `log_full` event: nothing more
/// will be recorded in it.
pub fn is_full(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| ends_full(path, m.len()))
}

/// Whether the last line of the log (of `size` bytes) is a `log_full` event.
fn ends_full(path: &Path, size: u64) -> bool {
    let tail = (|| -> io::Result<Vec<u8>> {
        let mut file = super::open_for_reading(path)?;
        file.seek(SeekFrom::Start(size.saturating_sub(4096)))?;
        let mut tail = Vec::new();
        file.take(4096).read_to_end(&mut tail)?;
        Ok(tail)
    })();
    let Ok(tail) = tail else {
        return false;
    };
    let last = tail
        .split(|&b| b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    String::from_utf8_lossy(last).contains("\"step\":\"log_full\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Data, Tracer};

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .expect("log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect()
    }

    fn tracer(path: &Path, cap: u64) -> Tracer {
        let mut t = Tracer::new("listen");
        t.add(Box::new(
            LessonLog::with_cap(path, Level::Data, cap).expect("open"),
        ));
        t
    }

    #[test]
    fn bulk_events_past_keep_are_counted_in_a_summary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sessions/x.jsonl");
        let mut t = tracer(&path, CAP);
        let read = Event::Read {
            n: 1,
            data: Data(b"\n"),
        };
        for _ in 0..1000 {
            t.emit(Side::Server, Some(1), read.clone());
            t.emit(Side::Server, Some(2), read.clone());
        }
        let close = Event::Close {
            sent: 0,
            received: 1000,
        };
        t.emit(Side::Server, Some(1), close.clone());
        t.emit(Side::Server, None, Event::Exit { code: 0 });
        drop(t);
        let log = lines(&path);
        let steps: Vec<&str> = log.iter().filter_map(|e| e["step"].as_str()).collect();
        assert_eq!(
            steps.iter().filter(|s| **s == "read").count() as u64,
            2 * KEEP
        );
        // Connection 1's counts come just before its close; connection 2's
        // (never closed) at the exit.
        let summaries: Vec<&Value> = log.iter().filter(|e| e["step"] == "log_summary").collect();
        assert_eq!(summaries.len(), 2, "{summaries:?}");
        for (summary, conn) in summaries.iter().zip([1, 2]) {
            assert_eq!(summary["conn"], conn);
            assert_eq!(summary["omitted"]["read"], 1000 - KEEP);
        }
        let close_at = steps.iter().position(|s| *s == "close").expect("close");
        assert_eq!(steps[close_at - 1], "log_summary");
        assert_eq!(steps.last(), Some(&"exit"));
    }

    #[test]
    fn the_log_stops_at_its_cap_with_one_marker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.jsonl");
        let cap = 4096;
        for _ in 0..2 {
            // A second process finds the log full and adds nothing.
            let mut t = tracer(&path, cap);
            for _ in 0..100 {
                t.emit(Side::Server, None, Event::Note { text: "a step" });
            }
        }
        let log = lines(&path);
        let full = log.iter().filter(|e| e["step"] == "log_full").count();
        assert_eq!(full, 1);
        assert_eq!(log.last().map(|e| &e["step"]), Some(&"log_full".into()));
        let size = std::fs::metadata(&path).expect("size").len();
        assert!(size <= cap + 512, "{size}");
        assert!(is_full(&path));
    }

    #[test]
    fn concurrent_writers_never_interleave_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.jsonl");
        let text = "x".repeat(3000);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut t = tracer(&path, CAP);
                    for _ in 0..500 {
                        t.emit(Side::Server, None, Event::Note { text: &text });
                    }
                });
            }
        });
        let log = lines(&path);
        assert_eq!(log.len(), 2000);
        assert!(log.iter().all(|e| e["text"] == text.as_str()));
    }

    #[test]
    fn a_sessions_directory_that_is_a_link_is_followed() {
        // The state directory is the learner's to arrange (another disk...).
        let dir = tempfile::tempdir().expect("tempdir");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).expect("dir");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("sessions")).expect("symlink");
        let mut t = tracer(&dir.path().join("sessions/x.jsonl"), CAP);
        t.emit(Side::Server, None, Event::Note { text: "here" });
        drop(t);
        assert_eq!(lines(&elsewhere.join("x.jsonl")).len(), 1);
    }

    #[test]
    fn a_symbolic_link_is_not_written_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"").expect("write");
        let link = dir.path().join("x.jsonl");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = LessonLog::open(&link, Level::Data).err().expect("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
