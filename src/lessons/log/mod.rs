//! A lesson's session log: `sessions/<lesson>.jsonl` in the state directory.
//!
//! While a lesson is current, every socklab command appends its events here,
//! and `socklab lesson check` reads them back. An event belongs to the lesson
//! that is current when it happens, not when its command started: a command
//! that is still running when the learner moves on (a listener left open at
//! the end of a lesson) switches to the new lesson's log, and writes there
//! again the steps it still stands on, marked as carried over
//! ([`follow`]). Both ends are bounded, whatever the learner sends through a
//! socket:
//!
//! - what is recorded ([`writer`]): every step (socket, bind, accept, close,
//!   errors, answers...), but of the bulk events (read, write, frame,
//!   datagram, pending, poll...) only the first [`KEEP`] per connection and
//!   step; the rest are counted in `log_summary` events. A lesson needs
//!   steps, counts and short previews, not every frame of a 10 MB transfer;
//! - what a preview may show ([`crate::trace::secrets`]): never a password, a SASL
//!   payload or a SCRAM proof, whichever command read or wrote it;
//! - how big the file grows: at most [`CAP`] bytes. The process that reaches
//!   the cap appends one `log_full` event and every writer stops there;
//! - how it is read ([`reader`]): line by line, each line at most
//!   [`MAX_LINE`] bytes, at most [`READ_LIMIT`] bytes in all, keeping only the
//!   events the caller asks for.
//!
//! Several processes append to one log at once (a listener and a client in
//! two terminals). Each line goes out in one `write` on a file opened with
//! `O_APPEND`, so lines never interleave; a line torn by a full disk is
//! skipped by the reader and counted. The cap is checked (`fstat`) before
//! each line, so two writers racing at the cap may overshoot it by a line
//! each.
//!
//! The log file must be a regular file, and is never followed through a
//! symbolic link: a link or a FIFO planted at `sessions/<lesson>.jsonl` is
//! refused (logging goes off with a warning; reading it is an error). The
//! `sessions` directory itself may be a link, for a learner who keeps the
//! state on another disk: the state directory is theirs to arrange.

pub mod follow;
pub mod reader;
pub mod writer;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Bulk events recorded per connection and step before counting starts.
pub const KEEP: u64 = 256;

/// The largest a session log grows, in bytes.
pub const CAP: u64 = 8 << 20;

/// The longest line written or read; a longer one is counted, not kept.
pub const MAX_LINE: usize = 64 << 10;

/// How much of a log the reader reads: the cap, the `log_full` event, and
/// room for the lines that racing writers may append at the cap.
pub const READ_LIMIT: u64 = CAP + (1 << 20);

/// Opens the log at `path` the safe way: not through a symbolic link, not
/// blocking on a FIFO, and only if it is a regular file.
fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other(format!(
                "{} is a symbolic link; a session log must be a plain file",
                path.display()
            )),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a plain file",
            path.display()
        )));
    }
    Ok(file)
}

/// Opens the log for reading.
pub fn open_for_reading(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().read(true))
}

/// Opens (creating) the log for appending.
pub fn open_for_appending(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().create(true).append(true))
}
