//! The end of a loop turn: the database commits what the turn wrote, then
//! the queued bytes go out (group commit: nothing reaches a socket before
//! it is durable). Downloads are refilled from disk here, as their socket
//! takes more; finished and hopeless connections are closed.

use std::cmp::Reverse;
use std::rc::Rc;
use std::time::Instant;

use super::wire::{Client, Wire};
use super::{LINGER, MAX_QUEUE, Server};
use crate::chat::core::SessionId;
use crate::net::error::NetError;
use crate::trace::{Event, Side};

/// A download is refilled from disk while fewer than this many bytes wait.
const REFILL_BELOW: usize = 512 * 1024;

impl Server<'_> {
    /// Marks a session as having something to write: it is written at the
    /// end of the loop's turn, after the database commits.
    pub(super) fn settle(&mut self, id: SessionId) {
        if let Some(client) = self.clients.get_mut(&id)
            && !client.dirty
        {
            client.dirty = true;
            self.dirty.push(id);
        }
    }

    /// The end of a turn: commit what the turn wrote to the database, then
    /// send what it queued. Nothing reaches a socket before it is durable:
    /// a message whose recipient has it is in the archive, even after
    /// `kill -9`. (One commit per turn, not per message: group commit.)
    pub(super) fn flush_dirty(&mut self) {
        if let Err(e) = self.core.store.commit() {
            let text =
                format!("the database could not commit: {e:#}; what this turn wrote may be lost");
            self.t.emit(
                Side::Server,
                None,
                Event::Chat {
                    action: "error",
                    user: "",
                    text: &text,
                },
            );
        }
        while let Some(id) = self.dirty.pop() {
            self.flush_one(id);
            if self.dirty.is_empty() {
                // Closing sessions may have made presence for others.
                let _ = self.core.store.commit();
            }
        }
    }

    /// Writes a session's queue and closes it if it is finished or hopeless.
    pub(super) fn flush_one(&mut self, id: SessionId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        client.dirty = false;
        // Whether a file-service answer was still going out: when it is
        // done, the requests read behind it are taken up (once; an idle
        // connection must not be read again and again for nothing).
        let answering =
            matches!(&client.wire, Wire::Files(f, _) if f.busy()) || client.conn.queued() > 0;
        let Client { conn, wire, .. } = &mut **client;
        // A chunk of a download the socket took goes back for the next one.
        let mut spent = |buf| {
            if let Wire::Files(file, _) = wire {
                file.recycle(buf);
            }
        };
        if let Err(e) = conn.flush(self.t, &mut spent) {
            return self.fail(id, e);
        }
        // A download takes the next chunk from disk when the socket has
        // taken the last: the file is never in memory whole.
        if let Wire::Files(file, _) = &mut client.wire {
            while client.conn.queued() < REFILL_BELOW {
                let Some(chunk) = file.refill() else { break };
                client.conn.queue(Rc::new(chunk));
                if let Err(e) = client.conn.flush(self.t, &mut |buf| file.recycle(buf)) {
                    return self.fail(id, e);
                }
            }
            if file.close_due() && client.closing.is_none() {
                // The download asked to close after it (`Connection:
                // close`), and its last byte is queued.
                let at = Instant::now() + LINGER;
                client.closing = Some(at);
                self.timers.push(Reverse((at, id)));
            }
            let idle = !file.busy();
            if answering && idle && client.conn.queued() == 0 {
                // The answer is out: the next request may be read.
                self.more.push(id);
            }
        }
        if client.conn.queued() == 0 {
            self.core.offline_written(self.t, id);
        }
        if client.conn.queued() > MAX_QUEUE {
            let text = format!(
                "{} bytes of stanzas wait for this session and it is not reading them: closing it, so that it cannot make the server hold memory",
                client.conn.queued()
            );
            self.t.emit(
                Side::Server,
                Some(id),
                Event::Chat {
                    action: "drop_session",
                    user: "",
                    text: &text,
                },
            );
            return self.close(id);
        }
        if client.closing.is_some() && client.paused.is_none() {
            client.conn.finish_sending(true);
            if let Err(e) = client.conn.flush(self.t, &mut drop) {
                return self.fail(id, e);
            }
            if client.conn.peer_closed && client.conn.sending_done() {
                self.close(id);
            }
        }
    }

    /// The peer sent FIN: its stream is over. Ours ends after what is queued.
    /// The peer sent FIN. Like `printf '…login…\n…message…\n' | nc -N`,
    /// it may have sent a login and a message and closed its half at once:
    /// every whole frame it sent is handled first (after the password check
    /// they wait for, if any), and their answers go out before our FIN.
    pub(super) fn peer_closed(&mut self, id: SessionId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        client.eof = true;
        self.pump(id);
        self.end_of_input(id);
    }

    /// Closes a session whose peer sent FIN once nothing it sent waits to
    /// be handled (a password check, a failed login's delay, a download).
    pub(super) fn end_of_input(&mut self, id: SessionId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let busy = matches!(&client.wire, Wire::Files(f, _) if f.busy());
        if !client.eof || client.checking || client.paused.is_some() || busy {
            return;
        }
        match &mut client.wire {
            Wire::Xmpp(s, _) => {
                let bytes = s.closing_bytes();
                if !bytes.is_empty() {
                    client.conn.queue(Rc::new(bytes));
                }
            }
            // An upload that stopped short leaves no file behind.
            Wire::Files(f, _) => f.abandon(self.t, id),
            _ => {}
        }
        client.conn.finish_sending(true);
        if client.closing.is_none() {
            let at = Instant::now() + LINGER;
            client.closing = Some(at);
            self.timers.push(Reverse((at, id)));
        }
        self.settle(id);
    }

    pub(super) fn fail(&mut self, id: SessionId, e: NetError) {
        e.emit(self.t, Side::Server, Some(id));
        self.close(id);
    }

    /// Forgets a session: the core tells its contacts it went away.
    pub(super) fn close(&mut self, id: SessionId) {
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        if let Wire::Files(f, _) = &mut client.wire {
            f.abandon(self.t, id);
        }
        client.conn.close(self.t, self.poll.registry());
        let mut deliveries = Vec::new();
        self.core.unbind(self.t, id, &mut deliveries);
        self.dispatch(id, deliveries);
        self.more.retain(|s| *s != id);
        if self.accept_retry.is_some() {
            // A descriptor just came free.
            self.accept_retry = None;
            self.accept_all(false);
            self.accept_all(true);
        }
    }
}
