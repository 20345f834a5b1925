//! Exit codes, and the two errors that choose one.
//!
//! Every command returns `anyhow::Result`; `run()` turns the result into the
//! process's exit code. Most errors are network or runtime errors (1), but
//! two kinds decide the code themselves: a [`UsageError`] (2, printed the way
//! clap prints its own) and [`Silent`] (an error already narrated where it
//! happened, which must not be printed twice). They live here, at the bottom
//! of the crate beside `addr` and `units`, so that the commands (net/,
//! relay/, compare/, lessons/) import them downwards, not from the crate root.

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a network or runtime error.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage error (also what clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (SIGINT): 128 + the signal's number (2), which is
/// what a shell shows for a process that SIGINT killed.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A mistake in how socklab was called that clap's types cannot catch (a port
/// given twice, a MESSAGE and --size together). Exits with code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }

    /// Prints the error the way clap prints its own, and gives the exit code.
    pub fn print(&self) -> u8 {
        eprintln!("error: {self}\n\nFor more information, try '--help'.");
        EXIT_USAGE
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A failure whose explanation has already been shown (a lesson check that
/// did not pass, a connection error narrated where it happened): exit with
/// this code and print nothing more.
#[derive(Debug)]
pub struct Silent(pub u8);

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Silent {}

/// Ctrl-C (SIGINT) stopped the command: exit 130, narrated by `run()`.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("interrupted by Ctrl-C (SIGINT)")
    }
}

impl std::error::Error for Interrupted {}
