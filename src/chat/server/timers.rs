//! What the loop does when time passes: a failed login's delayed answer, a
//! connection that never logged in (or a file-service connection that went
//! quiet), a lingering close, accept() retried after running out of
//! descriptors, and retention (`--archive-days`).

use std::cmp::Reverse;
use std::rc::Rc;
use std::time::Instant;

use super::wire::Wire;
use super::{LINGER, Server};
use crate::chat::session::{Ctx, Request};
use crate::trace::{Event, Side};

impl Server<'_> {
    /// Retention (`--archive-days`): deletes what has grown too old, and
    /// comes back in an hour. Committed at once: a deletion is a write like
    /// any other, and the next turn may be an hour away.
    pub(super) fn expire(&mut self) {
        let Some(days) = self.opts.archive_days else {
            return;
        };
        let now = crate::chat::store::now_ms();
        let text = match crate::chat::retention::expire(&self.core.store, days, now)
            .and_then(|done| self.core.store.commit().map(|()| done))
        {
            Ok((n, cutoff)) => format!(
                "retention (--archive-days {days}): deleted {n} archived message(s) stamped before {}; the next look is in an hour",
                crate::chat::time::stamp(cutoff)
            ),
            Err(e) => format!("retention: the old archived messages could not be deleted: {e:#}"),
        };
        self.t.emit(
            Side::Server,
            None,
            Event::Chat {
                action: "expire",
                user: "",
                text: &text,
            },
        );
        self.expire_at = Some(Instant::now() + crate::chat::retention::CHECK_EVERY);
    }

    pub(super) fn fire_timers(&mut self) {
        let now = Instant::now();
        let idle = self.file_idle();
        if self.expire_at.is_some_and(|at| at <= now) {
            self.expire();
        }
        if self.accept_retry.is_some_and(|at| at <= now) {
            self.accept_retry = None;
            self.accept_all(false);
            self.accept_all(true);
        }
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            if let Some((when, _)) = &client.paused
                && *when <= now
                && let Some((_, bytes)) = client.paused.take()
            {
                client.conn.queue(Rc::new(bytes));
                self.pump(id);
                self.end_of_input(id);
                self.more.push(id);
            }
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            // A file-service connection's deadline moves with what it
            // does (see `FileConn::deadline`): not due yet, it is looked at
            // again then.
            if let (Wire::Files(f, _), Some(_)) = (&client.wire, client.login_by) {
                let due = f.deadline(client.conn.last_activity, idle);
                if due > now {
                    client.login_by = Some(due);
                    self.timers.push(Reverse((due, id)));
                    continue;
                }
            }
            if client.login_by.is_some_and(|at| at <= now) && client.closing.is_none() {
                client.login_by = None;
                let mut reply = Vec::new();
                let mut requests = Vec::new();
                let mut deliveries = Vec::new();
                let mut cx = Ctx {
                    t: self.t,
                    core: &mut self.core,
                    config: &self.opts.config,
                    id,
                    reply: &mut reply,
                    deliveries: &mut deliveries,
                    requests: &mut requests,
                };
                let secs = self.opts.login_timeout.as_secs();
                match &mut client.wire {
                    Wire::Xmpp(s, _) => s.timed_out(&mut cx, secs),
                    Wire::Json(s, _) => s.timed_out(&mut cx, secs),
                    Wire::Files(f, _) => f.timed_out(&mut cx, idle.as_secs()),
                    Wire::Unknown => {
                        cx.narrate(
                            "timeout",
                            "",
                            &format!("nothing but silence for {secs} s: closing (--login-timeout)"),
                        );
                    }
                }
                requests.push(Request::Close);
                self.apply(id, reply, requests);
            }
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            if client.closing.is_some_and(|at| at <= now) {
                // A file that is still going out to a reader that keeps
                // reading is not cut short (its idle rule closes it if
                // the reader stops).
                let draining = matches!(client.wire, Wire::Files(..))
                    && client.conn.queued() > 0
                    && client.conn.last_activity + LINGER > now;
                if draining {
                    let at = now + LINGER;
                    client.closing = Some(at);
                    self.timers.push(Reverse((at, id)));
                    continue;
                }
                self.close(id);
                continue;
            }
            self.settle(id);
        }
    }
}
