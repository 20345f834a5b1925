//! Tracing: one stream of events, many views.
//!
//! Everything socklab does on a socket becomes an [`Event`] handed to a
//! [`Tracer`]. The tracer stamps it (time, process, side, connection) and passes
//! it to each [`Sink`]: the coloured narration ([`text`]), JSON lines on stderr or
//! in an `--events FILE` ([`json`]), the `-x` hex dump ([`hexdump`]). Sinks
//! declare the [`Level`] they want, so a quiet bulk transfer does not even build
//! the events nobody will read. Text from a peer travels in events as
//! [`Untrusted`], which only the one escaper ([`escape`]) turns into display
//! text.

pub mod escape;
pub mod event;
pub mod explain;
pub mod hexdump;
pub mod json;
pub mod redact;
pub mod secrets;
pub mod terminal;
pub mod text;
pub mod untrusted;
pub mod wrap;

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use event::{Data, Event, Family, Kind, Level, Op, Side};
pub use untrusted::Untrusted;

/// An event with the facts every renderer needs beside it.
pub struct Record<'a> {
    /// Microseconds since the Unix epoch: orders events from several processes.
    pub ts_us: u64,
    /// Time since this process started tracing.
    pub elapsed: Duration,
    pub pid: u32,
    /// The subcommand that emitted it (`listen`, `connect`, ...).
    pub command: &'a str,
    pub side: Side,
    /// Connection number within this process (1, 2, ...), for TCP streams.
    pub conn: Option<u64>,
    pub event: &'a Event<'a>,
}

/// A view of the event stream.
pub trait Sink {
    /// The most detailed level this sink renders.
    fn level(&self) -> Level;
    /// Render one event. Failing to write narration must never stop the data
    /// path, so the tracer ignores the error (stderr may be closed).
    fn record(&mut self, rec: &Record) -> io::Result<()>;
}

/// Stamps events and fans them out to the sinks.
pub struct Tracer {
    sinks: Vec<Box<dyn Sink>>,
    max_level: Option<Level>,
    start: Instant,
    start_unix: Duration,
    pid: u32,
    command: &'static str,
    quiet_screen: bool,
}

impl Tracer {
    pub fn new(command: &'static str) -> Tracer {
        Tracer {
            sinks: Vec::new(),
            max_level: None,
            start: Instant::now(),
            start_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            pid: std::process::id(),
            command,
            quiet_screen: false,
        }
    }

    /// A tracer with no sinks: every `emit` is a no-op. For tests and callers
    /// that only want the side effects.
    pub fn silent() -> Tracer {
        Tracer::new("silent")
    }

    pub fn add(&mut self, sink: Box<dyn Sink>) {
        let level = sink.level();
        self.max_level = Some(self.max_level.map_or(level, |l| l.max(level)));
        self.sinks.push(sink);
    }

    pub fn command(&self) -> &'static str {
        self.command
    }

    /// `-q` on a terminal's stderr (not `--json`): a person reads no
    /// narration, so a program whose narration carries the conversation's
    /// news (the chat client: "bob is online") prints that news itself.
    pub fn set_quiet_screen(&mut self) {
        self.quiet_screen = true;
    }

    pub fn screen_is_quiet(&self) -> bool {
        self.quiet_screen
    }

    /// Whether any sink would render an event of this level. Callers on the
    /// hot path check this before building an event.
    #[inline]
    pub fn wants(&self, level: Level) -> bool {
        self.max_level.is_some_and(|max| level <= max)
    }

    pub fn emit(&mut self, side: Side, conn: Option<u64>, event: Event) {
        let level = event.level();
        if !self.wants(level) {
            return;
        }
        let elapsed = self.start.elapsed();
        let rec = Record {
            ts_us: (self.start_unix + elapsed).as_micros() as u64,
            elapsed,
            pid: self.pid,
            command: self.command,
            side,
            conn,
            event: &event,
        };
        for sink in &mut self.sinks {
            if level <= sink.level() {
                let _ = sink.record(&rec);
            }
        }
    }
}
