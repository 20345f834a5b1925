//! Lessons: every command they show parses, and every check fails on an empty
//! log, fails on a wrong session and passes on a reference session really run
//! on loopback (a check that cannot fail, or cannot pass, is a defect).

#[path = "../util/mod.rs"]
mod util;

mod basics;
mod commands;
mod compare;
mod framing;
mod near_miss;
mod page;
mod progress;
mod session_log;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use clap::{CommandFactory, Parser};
use socklab::cli::Cli;
use socklab::lessons::{answer, catalog, render};
use util::{Finished, Proc, commands, fill_defaults, peer, require, run, words};

/// A learner's state directory with one lesson made current.
pub struct Lab {
    dir: tempfile::TempDir,
    lesson: usize,
}

impl Lab {
    fn new(lesson: usize) -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().expect("tempdir"),
            lesson,
        };
        let shown = lab.run(&["lesson", &lesson.to_string()]);
        assert_eq!(shown.code(), 0, "{}", shown.stderr);
        lab
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = util::socklab(args);
        cmd.env("SOCKLAB_STATE_DIR", self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Finished {
        run(&args.join(" "), self.command(args))
    }

    fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(&args.join(" "), self.command(args))
    }

    /// Starts `socklab COMMAND [EXTRA] 0` and returns it with its port.
    fn server(&self, command: &str, extra: &[&str]) -> (Proc, u16) {
        Proc::server_from(command, extra, |args| self.command(args))
    }

    fn answer(&self, question: &str, value: &str) {
        let f = self.run(&["lesson", "answer", question, value]);
        assert_eq!(f.code(), 0, "{}", f.stderr);
    }

    fn check(&self) -> Finished {
        self.run(&["lesson", "check"])
    }

    fn assert_passes(&self) {
        let f = self.check();
        assert_eq!(
            f.code(),
            0,
            "lesson {} should pass:\n{}{}",
            self.lesson,
            f.stdout_text(),
            f.stderr
        );
        assert!(
            f.stdout_text()
                .contains(&format!("Lesson {} done", self.lesson)),
            "{}",
            f.stdout_text()
        );
    }

    /// Asserts that the check fails at step `n` (1-based) with advice containing `says`.
    fn assert_stuck_at(&self, n: usize, says: &str) {
        let f = self.check();
        let out = f.stdout_text();
        assert_eq!(
            f.code(),
            1,
            "lesson {} should not pass:\n{out}",
            self.lesson
        );
        assert!(
            out.contains(&format!("✗ {n}.")),
            "lesson {}: expected to be stuck at step {n}:\n{out}",
            self.lesson
        );
        assert!(
            flat(&out).contains(&flat(says)),
            "lesson {}: advice should say {says:?}:\n{out}",
            self.lesson
        );
        assert!(!out.contains('{'), "a template was left unfilled:\n{out}");
    }
}

pub fn port_of(addr: &serde_json::Value) -> String {
    let a: std::net::SocketAddr = addr
        .as_str()
        .expect("address")
        .parse()
        .expect("socket address");
    a.port().to_string()
}

/// Runs a shell pipeline with the lab's state directory, the way a learner
/// would type it (the socklab on PATH is the one under test).
fn shell(lab: &Lab, line: &str) -> Finished {
    let dir = Path::new(util::bin())
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.args(["-c", line])
        .env("PATH", path)
        .env("SOCKLAB_STATE_DIR", lab.dir.path());
    run(line, c)
}

/// Text as one line: the check wraps what it says to the width.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
