//! Ctrl-C: the terminal sends SIGINT, and socklab stops in an orderly way,
//! says so, and exits with 130 (128 + SIGINT's number 2, what a shell shows
//! for a process that SIGINT killed, so scripts see the same code).
//!
//! A signal handler may do almost nothing safely, so it only writes a byte
//! to a socket pair (signal-hook's self-pipe); the read end is registered
//! in the event loop's poll() like any socket, under [`TOKEN`]. When it is
//! readable the loop returns [`Interrupted`], and `run()` narrates it and
//! exits with 130. A second Ctrl-C while that happens exits at once, with
//! the same code.
//!
//! Only the loops that watch for it install the handler ([`watch`]):
//! `listen`, `connect` and `scan`. Every other command keeps SIGINT's
//! default action (the kernel ends the process: also 130 in a shell), so a
//! loop that does not look can never make Ctrl-C do nothing.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::{Interest, Registry, Token};
use signal_hook::consts::SIGINT;

pub use crate::exit::Interrupted;

/// The poll() token of the self-pipe: no socket gets this one.
pub const TOKEN: Token = Token(usize::MAX);

/// Set by the first Ctrl-C; a second one then exits at once.
static SEEN: AtomicBool = AtomicBool::new(false);

/// The read end of the self-pipe, registered in a poll(). Keep it alive as
/// long as the loop runs.
pub struct Watch {
    _read: mio::net::UnixStream,
}

/// Makes Ctrl-C wake this poll() under [`TOKEN`] instead of killing the
/// process.
pub fn watch(registry: &Registry) -> io::Result<Watch> {
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let mut read = mio::net::UnixStream::from_std(read);
    registry.register(&mut read, TOKEN, Interest::READABLE)?;
    // Order matters: the shutdown check runs before the flag is set, so the
    // first Ctrl-C only sets it.
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, &SEEN)?;
    signal_hook::flag::register(SIGINT, &SEEN)?;
    signal_hook::low_level::pipe::register(SIGINT, write)?;
    Ok(Watch { _read: read })
}

/// Whether Ctrl-C was pressed (for loops between two polls).
pub fn requested() -> bool {
    SEEN.load(Ordering::SeqCst)
}
