//! Lessons: every command they show parses, and every check fails on an empty
//! log, fails on a wrong session and passes on a reference session really run
//! on loopback (a check that cannot fail, or cannot pass, is a defect).

#[path = "../util/mod.rs"]
mod util;

mod basics;
mod chat;
mod chat_attachments;
mod chat_history;
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
            "lesson {} should pass:\n{}{}\n{}",
            self.lesson,
            f.stdout_text(),
            f.stderr,
            self.session_logs()
        );
        assert!(
            f.stdout_text()
                .contains(&format!("Lesson {} done", self.lesson)),
            "{}",
            f.stdout_text()
        );
    }

    /// The end of every session log in the lab, for a failure's message: a
    /// check that fails in CI only is explained by what it read.
    fn session_logs(&self) -> String {
        let mut out = String::new();
        let Ok(dir) = std::fs::read_dir(self.dir.path().join("sessions")) else {
            return "(no sessions directory)".into();
        };
        for entry in dir.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(150);
            out.push_str(&format!(
                "--- {} ({} lines, the last {}):\n",
                entry.path().display(),
                lines.len(),
                lines.len() - from
            ));
            for line in &lines[from..] {
                out.extend(line.chars().take(300));
                out.push('\n');
            }
        }
        out
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
            "lesson {}: advice should say {says:?}:\n{out}\n{}",
            self.lesson,
            self.session_logs()
        );
        // A `{"` opens a JSON object the advice quotes, not a template.
        let unfilled = out
            .match_indices('{')
            .any(|(i, _)| !out[i + 1..].starts_with('"'));
        assert!(!unfilled, "a template was left unfilled:\n{out}");
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

impl Lab {
    /// A shell command line run on a pseudo-terminal (util-linux `script`),
    /// with this lab's state directory.
    pub fn on_a_terminal(&self, line: &str) -> Command {
        require("script");
        let mut c = Command::new("script");
        c.args(["-q", "-e", "-c", line, "/dev/null"])
            .env("SOCKLAB_STATE_DIR", self.dir.path());
        c
    }

    /// B, a socklab client, says `line` to the listener `a` on `port` and
    /// ends its input; both finish (B sends FIN first).
    pub fn line_then_fin(&self, mut a: Proc, port: u16, line: &[u8]) {
        let mut b = self.spawn(&["connect", "127.0.0.1", &port.to_string()]);
        b.write(line);
        b.close_stdin();
        a.wait_for("peer_closed");
        a.close_stdin();
        a.finish();
        b.finish();
    }

    /// Lesson 3's conversation with the listener `a` on `port`: B connects,
    /// (`connected` runs), B says hello, A answers, B ends with FIN. Returns
    /// A's accept event.
    pub fn conversation(
        &self,
        mut a: Proc,
        port: u16,
        connected: impl FnOnce(),
    ) -> serde_json::Value {
        let mut b = self.spawn(&["connect", "127.0.0.1", &port.to_string()]);
        let accept = a.wait_for("accept");
        // Two processes: B's connected event is its own, logged in its own time.
        b.wait_for("connected");
        connected();
        b.write(b"hello\n");
        a.wait_for("read");
        a.write(b"hi B\n");
        b.wait_for("read");
        b.close_stdin();
        a.wait_for("peer_closed");
        a.close_stdin();
        a.finish();
        b.finish();
        accept
    }

    /// `socklab connect --proto json [FRAMING] --from Vincent --to Eli` to
    /// `port`, sending 中午一起吃饭 and ending.
    pub fn json_message(&self, port: u16, framing: &[&str]) {
        let port = port.to_string();
        let mut args = vec!["connect", "--proto", "json"];
        args.extend_from_slice(framing);
        args.extend(["--from", "Vincent", "--to", "Eli", "127.0.0.1", &port]);
        let mut b = self.spawn(&args);
        b.write("中午一起吃饭\n".as_bytes());
        b.close_stdin();
        b.finish();
    }

    /// `socklab relay --udp --loss 30% --seed 42` in front of `target`, and
    /// `seq 1 20 | socklab send` through it; returns the relay once it has
    /// decided the fate of all twenty.
    pub fn twenty_through_a_lossy_relay(&self, target: u16) -> Proc {
        let target = format!("127.0.0.1:{target}");
        let mut relay = self.spawn(&[
            "relay", "--udp", "--loss", "30%", "--seed", "42", "0", &target,
        ]);
        let relay_port = relay.port().to_string();
        let mut s = self.spawn(&["send", "--wait", "0", "127.0.0.1", &relay_port]);
        let lines: String = (1..=20).map(|i| format!("{i}\n")).collect();
        s.write(lines.as_bytes());
        s.close_stdin();
        s.finish();
        relay.wait_for_count("relay", 20);
        relay
    }
}
