//! The socklab binary: parse the command line, run, exit with the code.
//! Everything else is in the library (src/lib.rs has the map).

use std::process::ExitCode;

use clap::Parser;
use socklab::exit::UsageError;
use socklab::netcat::Habit;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // nc's invocations typed from memory: made to work, or answered by name.
    match socklab::netcat::check(&args) {
        Some(Habit::Rewrite(rewritten)) => args = rewritten,
        Some(Habit::Answer(message)) => {
            socklab::record_usage_error(&args, &format!("error: {message}"));
            return ExitCode::from(UsageError::new(message).print());
        }
        None => {}
    }
    let cli = match socklab::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                // A rejected command line is part of a lesson too (port 65536...).
                socklab::record_usage_error(&args, &e.render().to_string());
            }
            e.exit()
        }
    };
    ExitCode::from(socklab::run(cli))
}
