//! What typed lines do. In the interactive chat a line is a message for the
//! current contact or a slash command ([`command`](super::command)); for
//! `chat send` every line is a message. Lines typed before the login
//! finishes wait for it; without a server (offline), `/history`, `/roster`
//! (as last seen), `/to` and `/help` still work, from the local cache.

use super::chat::{Chat, Input, Mode, Phase};
use super::command::{self, Command};
use super::wire::{Cx, Wire};
use crate::chat::client::cache::{Direction, Record};
use crate::chat::jid::Jid;
use crate::chat::store::now_ms;

impl Chat {
    pub fn on_input(&mut self, input: Input, wire: &mut dyn Wire, cx: &mut Cx) {
        self.waiting.push_back(input);
        self.pump(wire, cx);
    }

    /// Handles the lines that waited, once they can be handled.
    pub fn pump(&mut self, wire: &mut dyn Wire, cx: &mut Cx) {
        loop {
            match self.phase {
                Phase::Online | Phase::Offline(_) => {}
                Phase::Connecting => return,
                Phase::Closing | Phase::Done => {
                    let lines = self
                        .waiting
                        .iter()
                        .filter(|i| matches!(i, Input::Line(_)))
                        .count();
                    self.waiting.clear();
                    if lines > 0 {
                        cx.narrate(
                            "notice",
                            &format!("{lines} line(s) after the end of the conversation: ignored"),
                        );
                    }
                    return;
                }
            }
            let Some(input) = self.waiting.pop_front() else {
                return;
            };
            match &self.mode {
                Mode::Interactive => self.interactive(input, wire, cx),
                Mode::Send { to, .. } => {
                    let to = to.clone();
                    self.send_line(input, &to, wire, cx);
                }
                // Nothing is typed while syncing for `chat history`.
                Mode::Sync => {}
            }
        }
    }

    fn send_line(&mut self, input: Input, to: &Jid, wire: &mut dyn Wire, cx: &mut Cx) {
        match input {
            Input::Line(line) if line.trim().is_empty() => {}
            Input::Line(line) => self.say(to, line, wire, cx),
            Input::End => {
                // XMPP has no receipt for a message; but the server handles
                // a session's stanzas in order, so once it answers a ping
                // sent after them, any error for them has already come.
                let id = "ack".to_string();
                wire.ping(cx, &id);
                self.ack = Some(id);
                cx.narrate("ack", "all sent: pinging the server; errors for our messages would come before its answer, since it handles stanzas in order");
            }
        }
    }

    fn interactive(&mut self, input: Input, wire: &mut dyn Wire, cx: &mut Cx) {
        let line = match input {
            Input::End => {
                cx.narrate("notice", "end of input: leaving, as /quit does");
                return self.quit(wire, cx);
            }
            Input::Line(line) => line,
        };
        match command::parse(&line) {
            Command::Say(text) => match self.current.clone() {
                Some(to) => self.say(&to, text, wire, cx),
                None => {
                    let names: Vec<String> = self.roster.keys().map(|j| self.short(j)).collect();
                    let known = if names.is_empty() {
                        String::new()
                    } else {
                        format!(" (your roster: {})", names.join(", "))
                    };
                    cx.narrate("notice", &format!("who is this for? /to NAME picks the contact your lines go to{known}; the line was not sent"));
                }
            },
            Command::To(name) => {
                if let Some(j) = self.contact(&name, cx) {
                    let note = if self.roster.contains_key(&j.to_bare()) {
                        ""
                    } else {
                        " (not in your roster: /add to see their presence)"
                    };
                    cx.narrate("notice", &format!("your lines now go to {j}{note}"));
                    self.current = Some(j);
                }
            }
            Command::Roster => self.show_roster(),
            Command::Who => self.show_who(),
            Command::History(name, n) => {
                if let Some(j) = self.contact(&name, cx) {
                    self.show_history(&j, n, cx);
                }
            }
            Command::Add(name) => self.online_only(&name, cx, |_, j, cx| wire.add(cx, j)),
            Command::Accept(name) => self.online_only(&name, cx, |c, j, cx| {
                c.requests.remove(j);
                let ask_back = !c
                    .roster
                    .get(j)
                    .is_some_and(|i| i.subscription.to() || i.ask_out);
                wire.accept(cx, j, ask_back);
            }),
            Command::Deny(name) => self.online_only(&name, cx, |c, j, cx| {
                c.requests.remove(j);
                wire.deny(cx, j);
            }),
            Command::Remove(name) => self.online_only(&name, cx, |_, j, cx| wire.remove(cx, j)),
            Command::Send(name, path) => {
                let to = match name {
                    Some(n) => self.contact(&n, cx),
                    None if self.current.is_none() => {
                        cx.narrate(
                            "notice",
                            "who is this for? /to NAME first, or /send NAME PATH; nothing was sent",
                        );
                        None
                    }
                    None => self.current.clone(),
                };
                if let Some(to) = to {
                    self.send_file(&to, &path, wire, cx);
                }
            }
            Command::Attachments => self.show_attachments(cx),
            Command::Open(n) => self.open(n, cx),
            Command::Quit => self.quit(wire, cx),
            Command::Help => self.print(command::HELP),
            Command::Nothing => {}
            Command::Bad(text) => cx.narrate("notice", &text),
        }
    }

    /// A contact command: needs the server.
    fn online_only(&mut self, name: &str, cx: &mut Cx, act: impl FnOnce(&mut Chat, &Jid, &mut Cx)) {
        let Some(j) = self.contact(name, cx) else {
            return;
        };
        let j = j.to_bare();
        if let Phase::Offline(why) = &self.phase {
            let text = format!("offline ({why}): {name} needs the server; nothing was done");
            self.problems.push(text.clone());
            return cx.narrate("notice", &text);
        }
        act(self, &j, cx);
    }

    /// The JID a typed name stands for: `bob` is bob@our-domain.
    fn contact(&self, name: &str, cx: &mut Cx) -> Option<Jid> {
        let full = if name.contains('@') {
            name.to_string()
        } else {
            format!("{name}@{}", self.me.domain)
        };
        match Jid::parse(&full) {
            Ok(j) if j.local.is_none() => {
                cx.narrate(
                    "notice",
                    &format!("{name} is a server, not a person: write NAME or NAME@DOMAIN"),
                );
                None
            }
            Ok(j) if j.to_bare() == self.me.to_bare() => {
                cx.narrate("notice", &format!("{name} is you"));
                None
            }
            Ok(j) => Some(j),
            Err(why) => {
                cx.narrate("notice", &format!("{name:?} is not an address: {why}"));
                None
            }
        }
    }

    /// Sends a message; it is stored once its bytes are on the socket.
    fn say(&mut self, to: &Jid, body: String, wire: &mut dyn Wire, cx: &mut Cx) {
        if let Phase::Offline(why) = &self.phase {
            let text = format!("offline ({why}): the message to {to} was not sent");
            self.problems.push(text.clone());
            return cx.narrate("notice", &text);
        }
        if let Some(why) = wire.cannot_carry(&body) {
            let text = format!("not sent to {to}: {why}");
            if matches!(self.mode, Mode::Send { .. }) {
                self.problems.push(text.clone());
            }
            return cx.narrate("notice", &text);
        }
        let id = wire.message(cx, to, &body, None);
        let record = Record {
            peer: to.to_bare(),
            direction: Direction::Out,
            body,
            stamp_ms: now_ms(),
            stanza_id: Some(id),
            archive_id: None,
            error: None,
        };
        self.outbox.push_back((cx.mark(), record));
    }

    pub(super) fn quit(&mut self, wire: &mut dyn Wire, cx: &mut Cx) {
        match self.phase {
            Phase::Online | Phase::Connecting => {
                wire.close(cx);
                self.phase = Phase::Closing;
            }
            Phase::Offline(_) => self.phase = Phase::Done,
            Phase::Closing | Phase::Done => {}
        }
    }

    fn show_history(&mut self, peer: &Jid, n: usize, cx: &mut Cx) {
        let records = match self.cache.history(peer, n) {
            Ok(r) => r,
            Err(e) => return cx.narrate("notice", &format!("cannot read the cache: {e:#}")),
        };
        let me = self.short(&self.me);
        let them = self.short(peer);
        if records.is_empty() {
            self.print(&format!("no messages with {them} in the local cache yet"));
        }
        for r in &records {
            let (from, to) = match r.direction {
                Direction::Out => (&me, &them),
                Direction::In => (&them, &me),
            };
            let refused = r
                .error
                .as_ref()
                .map(|e| format!("  (refused: {e})"))
                .unwrap_or_default();
            let line = format!(
                "[{}] {from} → {to}: {}{refused}",
                crate::chat::time::stamp(r.stamp_ms),
                r.body
            );
            self.print(&line);
        }
        let text = format!(
            "{} message(s) with {} from the local cache {} (no server needed)",
            records.len(),
            peer.to_bare(),
            self.cache.path().display()
        );
        cx.narrate("history", &text);
    }
}
