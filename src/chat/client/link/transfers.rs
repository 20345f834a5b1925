//! The link's attachment transfers: each an HTTP connection of its own on
//! the same poll as the chat connection and stdin, with its own token, so a
//! 1 GiB download never stops the chat (nothing here blocks). The chat asks
//! for transfers ([`Chat::jobs`](crate::chat::client::chat::Chat)); the
//! link starts them, drives them on readiness and deadlines, and hands each
//! result back to the chat.

use mio::Token;

use super::Link;

/// Transfers under way at once: a few connections, however many links came.
const AT_ONCE: usize = 4;
use crate::chat::client::attach::Transfer;
use crate::chat::client::attach::transfer::Finished;

impl Link<'_> {
    /// Starts what the chat asked for, [`AT_ONCE`] at most: the others wait
    /// their turn (each finished transfer is a step, which starts the next).
    pub(super) fn start_transfers(&mut self) {
        while self.transfers.len() < AT_ONCE {
            let Some((job, url, addr)) = self.chat.jobs.pop_front() else {
                return;
            };
            let token = Token(self.next_token);
            self.next_token += 1;
            let id = token.0 as u64;
            let registry = self.poll.registry();
            match Transfer::start(
                self.t,
                registry,
                token,
                id,
                addr,
                url,
                job.clone(),
                &self.user,
            ) {
                Ok(x) => self.transfers.push(x),
                Err(why) => self.step(|wire, chat, cx| chat.transfer_done(job, Err(why), wire, cx)),
            }
        }
    }

    /// Readiness for a transfer's socket.
    pub(super) fn on_transfer(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(at) = self.transfers.iter().position(|x| x.conn_token() == token) else {
            return;
        };
        if let Some(done) = self.transfers[at].on_ready(self.t, readable, writable) {
            self.finish_transfer(at, done);
        }
    }

    /// Transfers that went quiet too long (or a download kept after its end).
    pub(super) fn transfer_deadlines(&mut self) {
        let mut at = 0;
        while at < self.transfers.len() {
            match self.transfers[at].on_timer() {
                Some(done) => self.finish_transfer(at, done),
                None => at += 1,
            }
        }
    }

    fn finish_transfer(&mut self, at: usize, done: Finished) {
        let x = self.transfers.remove(at);
        let job = x.job.clone();
        x.close(self.t, self.poll.registry());
        self.step(|wire, chat, cx| chat.transfer_done(job, done, wire, cx));
    }

    /// The chat is over: transfers still under way stop (a download's
    /// `.part` file is removed), each said.
    pub(super) fn abandon_transfers(&mut self) {
        for x in std::mem::take(&mut self.transfers) {
            let text = format!("{} abandoned: the chat ended first", x.job.url());
            self.narrate("attachment_error", &text);
            x.close(self.t, self.poll.registry());
        }
    }
}
