//! `NetError`: a failed socket call together with what was being done and to
//! whom, so that the explanation table can say what happened in plain words.

use std::fmt;
use std::io;

use crate::trace::explain::{Action, Explanation, explain};
use crate::trace::{Event, Side, Tracer};

#[derive(Debug)]
pub struct NetError {
    pub action: Action,
    /// The address or name involved, as a user would write it.
    pub target: String,
    pub source: io::Error,
}

impl NetError {
    pub fn new(action: Action, target: impl fmt::Display, source: io::Error) -> NetError {
        NetError {
            action,
            target: target.to_string(),
            source,
        }
    }

    pub fn explanation(&self) -> Explanation {
        explain(self.action, &self.target, &self.source)
    }

    /// Records this error as an event: narration shows it with its
    /// explanation, JSON carries `kind`, `why` and `next`.
    pub fn emit(&self, tracer: &mut Tracer, side: Side, conn: Option<u64>) {
        self.emit_as(tracer, side, conn, &self.to_string());
    }

    /// Like [`NetError::emit`], with a message of the caller's wording (when
    /// "could not VERB TARGET" does not say what happened).
    pub fn emit_as(&self, tracer: &mut Tracer, side: Side, conn: Option<u64>, message: &str) {
        self.emit_with(tracer, side, conn, message, None);
    }

    /// Like [`NetError::emit_as`], and with the caller's own next step
    /// when the table's generic one would mislead (a chat client refused by
    /// a port where no chat server runs is told to start `socklab chat
    /// serve`, not a listener).
    pub fn emit_with(
        &self,
        tracer: &mut Tracer,
        side: Side,
        conn: Option<u64>,
        message: &str,
        next: Option<&str>,
    ) {
        let ex = self.explanation();
        tracer.emit(
            side,
            conn,
            Event::Error {
                kind: ex.kind,
                message: message.into(),
                why: &ex.why,
                next: next.unwrap_or(&ex.next),
                errno: self.source.raw_os_error(),
                pointer: None,
            },
        );
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "could not {} {}: {}",
            self.action.verb(),
            self.target,
            self.source
        )
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Attaches an action and a target to an `io::Result`.
pub trait NetContext<T> {
    fn net(self, action: Action, target: impl fmt::Display) -> Result<T, NetError>;
}

impl<T> NetContext<T> for io::Result<T> {
    fn net(self, action: Action, target: impl fmt::Display) -> Result<T, NetError> {
        self.map_err(|e| NetError::new(action, target, e))
    }
}
