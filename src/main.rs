//! The socklab binary: parse the command line, run, exit with the code.
//! Everything else is in the library (src/lib.rs has the map).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
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
