//! `-i DUR` (nc's interval): stdin goes out one line at a time, DUR apart,
//! so that a slow protocol exchange (or a person watching the narration)
//! can follow it.
//!
//! A chunk of stdin is split into lines, which wait here; no more stdin is
//! taken until they have all gone, so the reader thread is held back by
//! its bounded channel and memory stays at one chunk. The loop wakes for
//! the next line's time ([`Session::next_wake`]).

use std::time::Instant;

use super::Session;

impl Session<'_> {
    /// Splits a chunk of stdin into lines to send one per interval.
    pub(super) fn pace(&mut self, data: Vec<u8>) {
        self.paced
            .extend(data.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec));
    }

    /// Sends the next waiting line if its time has come.
    pub(super) fn release_paced(&mut self) -> anyhow::Result<()> {
        let Some(interval) = self.policy.interval else {
            return Ok(());
        };
        let now = Instant::now();
        if now < self.pace_next || self.conns.is_empty() {
            return Ok(());
        }
        if let Some(line) = self.paced.pop_front() {
            self.queue_input(line);
            self.pace_next = now + interval;
            let tokens: Vec<mio::Token> = self.conns.keys().copied().collect();
            for token in tokens {
                self.on_ready(token, false, true)?;
            }
        }
        Ok(())
    }
}
