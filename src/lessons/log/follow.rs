//! Events belong to the lesson that is current when they happen.
//!
//! A learner leaves `socklab listen 5288` running at the end of lesson 2 and
//! starts lesson 3 with the same command: the listener must record lesson 3's
//! connections in lesson 3's log. So a command does not pick its log once at
//! start: [`Follow`] looks at the progress file again (one `stat`) before
//! each step event (socket, accept, close...) and at most once a second
//! while only data flows, and when another lesson has become current the
//! sink switches files.
//!
//! A process that switches still holds what it set up before: its listening
//! socket, its connections. The new log would not show them, and a check
//! would say "nothing is listening" to a listener. So the process keeps the
//! lines of its standing steps ([`Standing`]: start, socket, bind, listen,
//! connect, connected, a chat server's `serve`, and accept until that
//! connection closes) and writes
//! them again at the top of the new log, with their original times, marked
//! `"carried": true` and `"started_under"` (the lesson current when the
//! process started, or null). The check then counts the process and says
//! that it was started under another lesson and is still running. The same
//! happens when the current lesson's log is reset under a running process.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::KEEP;
use crate::lessons::progress::State;
use crate::trace::json::to_line;
use crate::trace::{Event, Record, Side};

/// While only data flows, how often the progress file is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Process-wide standing lines kept (a process makes a few sockets).
const PROCESS_LINES: usize = 32;

/// What the progress file looked like: inode, size, modification time. It
/// is replaced (a new inode) on every save, so any change shows.
type Stamp = (u64, u64, Option<SystemTime>);

fn stamp(state: &State) -> Option<Stamp> {
    let m = fs::metadata(state.progress_path()).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()))
}

/// What changed since the last look.
pub enum Change {
    /// Another lesson is current (or none is): write its log from now on.
    Lesson(Option<&'static str>),
    /// The progress file changed, the lesson did not: its log may have
    /// been reset, so the writer checks that its file is still the log.
    Recheck,
}

/// Which lesson's log a running command writes.
pub struct Follow {
    state: State,
    lesson: Option<&'static str>,
    started_under: Option<&'static str>,
    seen: Option<Stamp>,
    last_look: Instant,
    /// Data events since the clock was last read.
    bulk: u32,
    warned: bool,
    pub standing: Standing,
}

impl Follow {
    /// Starts following; a damaged progress file is a warning, not an error.
    pub fn start(state: State) -> Follow {
        let seen = stamp(&state);
        let mut follow = Follow {
            state,
            lesson: None,
            started_under: None,
            seen,
            last_look: Instant::now(),
            bulk: 0,
            warned: false,
            standing: Standing::default(),
        };
        follow.lesson = follow.current();
        follow.started_under = follow.lesson;
        follow
    }

    /// The log to write now, if a lesson is current.
    pub fn path(&self) -> Option<PathBuf> {
        self.lesson.map(|id| self.state.log_path(id))
    }

    /// The lesson current when this process started.
    pub fn started_under(&self) -> Option<&'static str> {
        self.started_under
    }

    fn current(&mut self) -> Option<&'static str> {
        self.state.current_lesson().unwrap_or_else(|warning| {
            self.warn(&warning);
            None
        })
    }

    /// Shows a warning once per process: a command keeps running unrecorded.
    pub fn warn(&mut self, text: &str) {
        if !std::mem::replace(&mut self.warned, true) {
            eprintln!("socklab: {text}");
        }
    }

    /// Looks at the progress file if it is time to: before every step
    /// event, and at most once a second for data events.
    pub fn look(&mut self, step_event: bool) -> Option<Change> {
        if !step_event {
            // Reading the clock on every one of a million frames is waste.
            self.bulk = self.bulk.wrapping_add(1);
            if self.bulk % 64 != 0 || self.last_look.elapsed() < LOOK_EVERY {
                return None;
            }
        }
        self.last_look = Instant::now();
        let now = stamp(&self.state);
        if now == self.seen {
            return None;
        }
        self.seen = now;
        let lesson = self.current();
        if lesson == self.lesson {
            return Some(Change::Recheck);
        }
        self.lesson = lesson;
        Some(Change::Lesson(lesson))
    }
}

/// The lines of what a process has set up and still holds, to be written
/// again when it switches to another log.
#[derive(Default)]
pub struct Standing {
    /// Process-wide: start, sockets, bind, listen, connect, connected.
    process: Vec<(&'static str, Vec<u8>)>,
    /// Per open connection: its accept.
    conns: HashMap<(Side, u64), Vec<u8>>,
}

impl Standing {
    /// Keeps, or forgets, what `rec` sets up or ends.
    pub fn note(&mut self, rec: &Record) -> std::io::Result<()> {
        match (rec.event, rec.conn) {
            (
                Event::Start { .. }
                | Event::Socket { .. }
                | Event::Bind { .. }
                | Event::Listen { .. }
                | Event::Connect { .. }
                | Event::Connected { .. },
                None,
            ) if self.process.len() < PROCESS_LINES => {
                self.process.push((rec.event.step(), to_line(rec)?));
            }
            // A chat server's first narration says what it serves (domain,
            // address, data directory): as standing as its listen.
            (
                Event::Chat {
                    action: "serve", ..
                },
                None,
            ) if self.process.len() < PROCESS_LINES => {
                self.process.push((rec.event.step(), to_line(rec)?));
            }
            // Bounded like the log: past KEEP open connections, the newest
            // are not carried.
            (Event::Accept { .. }, Some(conn)) if self.conns.len() < KEEP as usize => {
                self.conns.insert((rec.side, conn), to_line(rec)?);
            }
            (Event::Close { .. }, Some(conn)) => {
                self.conns.remove(&(rec.side, conn));
            }
            // It no longer listens: a new lesson must not see a listener.
            (Event::StopListening { .. }, _) => {
                self.process.retain(|(step, _)| *step != "listen");
            }
            _ => {}
        }
        Ok(())
    }

    /// The lines to write at the top of a new log, marked as carried over
    /// from a process `started_under` a lesson (or none), in time order.
    pub fn carried(&self, started_under: Option<&str>) -> Vec<Vec<u8>> {
        let under = match started_under {
            Some(id) => format!("\"{id}\""),
            None => "null".into(),
        };
        let mark = format!(",\"carried\":true,\"started_under\":{under}}}");
        let mut conns: Vec<&Vec<u8>> = self.conns.values().collect();
        // Lines begin with their envelope, `{"v":1,"ts_us":...`: in a
        // process the times increase, so byte order is time order.
        conns.sort();
        let lines = self.process.iter().map(|(_, l)| l).chain(conns);
        lines
            .filter(|l| l.ends_with(b"}"))
            .map(|l| {
                let mut line = l[..l.len() - 1].to_vec();
                line.extend_from_slice(mark.as_bytes());
                line
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Data, Event, Tracer};

    /// A sink that hands each record to a `Standing`.
    struct Keep(std::rc::Rc<std::cell::RefCell<Standing>>);
    impl crate::trace::Sink for Keep {
        fn level(&self) -> crate::trace::Level {
            crate::trace::Level::Data
        }
        fn record(&mut self, rec: &Record) -> std::io::Result<()> {
            self.0.borrow_mut().note(rec)
        }
    }

    #[test]
    fn standing_lines_are_what_still_holds() {
        let standing = std::rc::Rc::new(std::cell::RefCell::new(Standing::default()));
        let mut t = Tracer::new("listen");
        t.add(Box::new(Keep(standing.clone())));
        let addr = "127.0.0.1:5288".parse().expect("addr");
        let peer = "127.0.0.1:40000".parse().expect("addr");
        t.emit(Side::Server, None, Event::Listen { addr, backlog: 128 });
        for conn in [1, 2] {
            t.emit(
                Side::Server,
                Some(conn),
                Event::Accept {
                    peer,
                    local: addr,
                    fd: 5,
                },
            );
        }
        let read = Event::Read {
            n: 2,
            data: Data(b"hi"),
        };
        t.emit(Side::Server, Some(1), read);
        t.emit(
            Side::Server,
            Some(1),
            Event::Close {
                sent: 0,
                received: 2,
            },
        );
        let lines = standing.borrow().carried(Some("02-addresses-and-ports"));
        let steps: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_slice(l).expect("still JSON"))
            .collect();
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert_eq!(steps[0]["step"], "listen");
        assert_eq!(steps[1]["step"], "accept");
        assert_eq!(steps[1]["conn"], 2);
        assert!(steps.iter().all(|s| s["carried"] == true));
        assert_eq!(steps[0]["started_under"], "02-addresses-and-ports");
        // A listener that stopped listening is no longer one.
        t.emit(Side::Server, None, Event::StopListening { addr });
        assert_eq!(standing.borrow().carried(None).len(), 1);
    }
}
