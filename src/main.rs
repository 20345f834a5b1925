//! The socklab binary: parse the command line, run, exit with the code.
//! Everything else is in the library (src/lib.rs has the map).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = socklab::cli::Cli::parse();
    ExitCode::from(socklab::run(cli))
}
