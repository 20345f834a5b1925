//! Stdout: where the peer's bytes go.
//!
//! Stdout is data. When it is a pipe or a file the bytes are written exactly as
//! they came, with no buffering layer in between (a duplicate of fd 1, not
//! std's line-buffered `Stdout`), so a binary transfer is exact and fast. When
//! it is a terminal, control bytes are shown escaped: a peer must not be able
//! to drive your terminal (see [`TerminalSafe`]).

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;

use crate::trace::terminal::TerminalSafe;

pub struct Output {
    file: File,
    terminal: Option<TerminalSafe>,
    scratch: Vec<u8>,
}

impl Output {
    pub fn stdout() -> io::Result<Output> {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal().then(TerminalSafe::new);
        let file = File::from(stdout.as_fd().try_clone_to_owned()?);
        Ok(Output {
            file,
            terminal,
            scratch: Vec::new(),
        })
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal.is_some()
    }

    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.terminal {
            None => self.file.write_all(data),
            Some(filter) => {
                self.scratch.clear();
                filter.push(data, &mut self.scratch);
                self.file.write_all(&self.scratch)
            }
        }
    }

    /// Shows one datagram: on a terminal it ends with a newline so that the
    /// next one starts on a line of its own; in a pipe the bytes are exact.
    pub fn write_datagram(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data)?;
        if let Some(filter) = &mut self.terminal {
            self.scratch.clear();
            filter.finish(&mut self.scratch);
            if !data.ends_with(b"\n") {
                self.scratch.push(b'\n');
            }
            self.file.write_all(&self.scratch)?;
        }
        Ok(())
    }

    /// The stream ended: show anything the terminal filter still holds.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(filter) = &mut self.terminal {
            self.scratch.clear();
            filter.finish(&mut self.scratch);
            self.file.write_all(&self.scratch)?;
        }
        Ok(())
    }
}

/// Whether an error from writing stdout means the reader went away (`| head`).
/// Like ripgrep, socklab then stops quietly with exit code 0.
pub fn reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}
