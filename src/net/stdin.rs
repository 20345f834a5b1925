//! Stdin, read on a thread of its own.
//!
//! epoll cannot watch a regular file (it is "always ready"), and a terminal or
//! pipe shared with the shell should not be switched to non-blocking mode. So a
//! thread does blocking reads of stdin, whatever it is, and hands each chunk to
//! the event loop through a bounded channel, waking the loop with a
//! `mio::Waker`. The bound is the back-pressure: when the loop stops taking
//! chunks (the socket is slower than the input), the thread blocks in `send`
//! and stops reading, so memory stays bounded.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread;

use mio::Waker;

/// Bytes per read: large enough that a bulk transfer makes few system calls.
pub const CHUNK: usize = 128 * 1024;
/// Chunks in flight between the thread and the loop.
const DEPTH: usize = 4;

pub enum Input {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

pub struct StdinPump {
    rx: Receiver<Input>,
    recycle: SyncSender<Vec<u8>>,
    ended: bool,
    /// Taken off the channel by [`StdinPump::has_next`], not yet by `try_next`.
    peeked: Option<Input>,
    /// Held here as well as in the thread: when the thread exits right after
    /// its last wake(), dropping the only Waker would close its eventfd, and
    /// epoll forgets the events of a closed descriptor, so the loop would
    /// never hear that stdin ended.
    _waker: Arc<Waker>,
}

impl StdinPump {
    /// Starts the reader thread. Reads a duplicate of fd 0 directly, without
    /// std's line buffering, so binary input passes through untouched.
    pub fn spawn(waker: Arc<Waker>) -> io::Result<StdinPump> {
        let mut file = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let (tx, rx) = sync_channel(DEPTH);
        let (recycle, spent) = sync_channel::<Vec<u8>>(DEPTH * 2);
        let keep = waker.clone();
        thread::Builder::new().name("stdin".into()).spawn(move || {
            loop {
                // Reuse a buffer the loop has finished with: no allocation
                // and no zeroing per chunk during a bulk transfer.
                let mut buf = spent.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let msg = match file.read(&mut buf) {
                    Ok(0) => Input::End,
                    Ok(n) => {
                        buf.truncate(n);
                        Input::Data(buf)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Input::Failed(e),
                };
                let last = !matches!(msg, Input::Data(_));
                if tx.send(msg).is_err() || waker.wake().is_err() || last {
                    return;
                }
            }
        })?;
        Ok(StdinPump {
            rx,
            recycle,
            ended: false,
            peeked: None,
            _waker: keep,
        })
    }

    /// Whether a chunk (or the end) is waiting, without taking it. Never
    /// blocks.
    pub fn has_next(&mut self) -> bool {
        if self.peeked.is_none() {
            self.peeked = self.receive();
        }
        self.peeked.is_some()
    }

    /// The next chunk, if one is waiting. Never blocks.
    /// Whether what is waiting is data (not the end of input).
    pub fn next_is_data(&mut self) -> bool {
        self.has_next() && matches!(self.peeked, Some(Input::Data(_)))
    }

    pub fn try_next(&mut self) -> Option<Input> {
        self.peeked.take().or_else(|| self.receive())
    }

    fn receive(&mut self) -> Option<Input> {
        if self.ended {
            return None;
        }
        match self.rx.try_recv() {
            Ok(input) => {
                self.ended = !matches!(input, Input::Data(_));
                Some(input)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.ended = true;
                Some(Input::End)
            }
        }
    }

    /// Gives a spent buffer back to the reader thread.
    pub fn recycle(&self, buf: Vec<u8>) {
        let _ = self.recycle.try_send(buf);
    }

    pub fn ended(&self) -> bool {
        self.ended
    }
}
