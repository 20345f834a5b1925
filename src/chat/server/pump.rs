//! From frames to effects: each frame goes to its connection's adapter
//! (XMPP, JSON, the file service), what the adapter asks of the loop is
//! carried out, and what the core decided for other sessions is encoded for
//! each receiver's protocol.

use std::cmp::Reverse;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::wire::{Wire, emit_error, narrate_frame};
use super::{LINGER, Server};
use crate::chat::core::{Delivery, Outgoing, SessionId};
use crate::chat::session::{Ctx, Request};
use crate::framing::Content;
use crate::trace::{Event, Side};

impl Server<'_> {
    /// Handles the frames buffered for a session, until one needs to wait.
    pub(super) fn pump(&mut self, id: SessionId) {
        let mut deliveries = Vec::new();
        loop {
            let Some(client) = self.clients.get_mut(&id) else {
                return;
            };
            let busy = matches!(&client.wire, Wire::Files(f, _) if f.busy());
            if client.paused.is_some() || client.checking || client.closing.is_some() || busy {
                break;
            }
            let mut reply = Vec::new();
            let mut requests = Vec::new();
            let mut cx = Ctx {
                t: self.t,
                core: &mut self.core,
                config: &self.opts.config,
                id,
                reply: &mut reply,
                deliveries: &mut deliveries,
                requests: &mut requests,
            };
            let more = match &mut client.wire {
                Wire::Unknown => false,
                Wire::Xmpp(stream, reader) => match reader.next_frame() {
                    Ok(Some(frame)) => {
                        client.frames += 1;
                        narrate_frame(cx.t, id, client.frames, &frame);
                        if let Content::Xml(stanza) = &frame.content {
                            stream.on_stanza(&mut cx, stanza);
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        emit_error(cx.t, id, &e);
                        stream.on_frame_error(&mut cx, &e);
                        false
                    }
                },
                Wire::Files(file, reader) => match reader.next_frame() {
                    Ok(Some(frame)) => {
                        if matches!(
                            &frame.content,
                            Content::Http(crate::framing::http::Part::Head(_))
                        ) {
                            client.frames += 1;
                            narrate_frame(cx.t, id, client.frames, &frame);
                        }
                        file.on_frame(&mut cx, &frame);
                        // curl asks before sending a large body
                        // (Expect: 100-continue) and waits a second
                        // for the answer: an accepted upload gets it now.
                        if file.receiving() && reader.codec_mut().wants_continue() {
                            cx.send(b"HTTP/1.1 100 Continue\r\n\r\n");
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        emit_error(cx.t, id, &e);
                        file.refuse_frame(&mut cx, &e);
                        false
                    }
                },
                Wire::Json(session, reader) => match reader.next_frame() {
                    Ok(Some(frame)) => {
                        client.frames += 1;
                        narrate_frame(cx.t, id, client.frames, &frame);
                        if let Content::Json(v) = &frame.content {
                            session.on_object(&mut cx, v);
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        emit_error(cx.t, id, &e);
                        let skip = e.skip.is_some();
                        session.on_frame_error(&mut cx, &e);
                        skip
                    }
                },
            };
            self.apply(id, reply, requests);
            // What this frame produced is encoded before the next frame is
            // handled: a `</stream:stream>` later in the same read must not
            // find the offline messages its `<presence/>` released unsent.
            self.dispatch(id, std::mem::take(&mut deliveries));
            if !more {
                break;
            }
        }
        if let Some(c) = self.clients.get_mut(&id)
            && let Wire::Xmpp(_, r) | Wire::Json(_, r) | Wire::Files(_, r) = &mut c.wire
        {
            r.release_if_idle();
        }
    }

    /// Queues a session's own replies and carries out its requests.
    pub(super) fn apply(&mut self, id: SessionId, reply: Vec<u8>, requests: Vec<Request>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if !reply.is_empty() {
            client.conn.queue(Rc::new(reply));
        }
        if client.login_by.is_some() && self.core.session(id).is_some() {
            client.login_by = None;
        }
        for request in requests {
            match request {
                Request::VerifyPlain {
                    password,
                    credentials,
                    ..
                } => {
                    client.checking = true;
                    self.workers.verify(id, password, credentials);
                }
                Request::Later(bytes, delay) => {
                    let at = Instant::now() + delay;
                    client.paused = Some((at, bytes));
                    self.timers.push(Reverse((at, id)));
                }
                Request::Close => {
                    if client.closing.is_none() {
                        let at = Instant::now()
                            + LINGER
                            + client.paused.as_ref().map_or(Duration::ZERO, |(at, _)| {
                                at.saturating_duration_since(Instant::now())
                            });
                        client.closing = Some(at);
                        self.timers.push(Reverse((at, id)));
                    }
                }
            }
        }
    }

    /// Password checks that have finished.
    pub(super) fn verdicts(&mut self) {
        let verdicts: Vec<_> = self.workers.done().collect();
        for v in verdicts {
            let Some(client) = self.clients.get_mut(&v.id) else {
                continue;
            };
            client.checking = false;
            let mut reply = Vec::new();
            let mut requests = Vec::new();
            let mut deliveries = Vec::new();
            let mut cx = Ctx {
                t: self.t,
                core: &mut self.core,
                config: &self.opts.config,
                id: v.id,
                reply: &mut reply,
                deliveries: &mut deliveries,
                requests: &mut requests,
            };
            match &mut client.wire {
                Wire::Xmpp(s, _) => s.verified(&mut cx, v.ok),
                Wire::Json(s, _) => s.verified(&mut cx, v.ok),
                Wire::Unknown | Wire::Files(..) => {}
            }
            self.apply(v.id, reply, requests);
            self.dispatch(v.id, deliveries);
            // Frames that arrived during the check are handled now.
            self.pump(v.id);
            self.end_of_input(v.id);
            self.settle(v.id);
        }
    }

    /// Encodes each delivery for its receiver and queues it.
    pub(super) fn dispatch(&mut self, from: SessionId, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let from_wire = self.clients.get(&from).map_or("", |c| c.wire.name());
        let mut touched = Vec::new();
        for Delivery { to, what } in deliveries {
            let Some(target) = self.clients.get_mut(&to) else {
                continue;
            };
            let Some(jid) = self.core.session(to).map(|s| s.jid.clone()) else {
                continue;
            };
            let bytes = match &mut target.wire {
                Wire::Xmpp(s, _) => s.encode(&what, &jid),
                Wire::Json(s, _) => s.encode(&what, &self.opts.config.domain),
                Wire::Unknown | Wire::Files(..) => continue,
            };
            if let Outgoing::Message(m) = &what
                && from_wire != target.wire.name()
                && !from_wire.is_empty()
            {
                let text = format!(
                    "translate for {}: {} speaks {}, so the message is re-encoded: {}",
                    m.to,
                    jid,
                    target.wire.name(),
                    String::from_utf8_lossy(&bytes).trim_end()
                );
                self.t.emit(
                    Side::Server,
                    Some(to),
                    Event::Chat {
                        action: "translate",
                        user: m.from.user().unwrap_or_default(),
                        text: &text,
                    },
                );
            }
            if !bytes.is_empty() {
                target.conn.queue(Rc::new(bytes));
                touched.push(to);
            }
        }
        for id in touched {
            self.settle(id);
        }
    }
}
