//! The command line as a whole: help, version, completions, and the range of
//! every number it accepts.

mod util;

use std::process::Command;

use clap::{CommandFactory, Parser};
use socklab::cli::Cli;

fn socklab_text(args: &[&str]) -> util::Finished {
    let mut cmd = Command::new(util::bin());
    cmd.args(args);
    util::run(&args.join(" "), cmd)
}

#[test]
fn shell_completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let f = socklab_text(&["completions", shell]);
        assert_eq!(f.code(), 0, "{shell}: {}", f.stderr);
        for sub in [
            "listen", "connect", "send", "recv", "relay", "compare", "lesson",
        ] {
            assert!(
                f.stdout_text().contains(sub),
                "{shell} completions lack {sub}"
            );
        }
    }
}

#[test]
fn help_explains_exit_codes_and_version_prints() {
    let help = socklab_text(&["--help"]);
    assert_eq!(help.code(), 0);
    assert!(
        help.stdout_text().contains("Exit codes: 0 success"),
        "{}",
        help.stdout_text()
    );
    assert!(help.stdout_text().contains("130 interrupted by Ctrl-C"));
    let version = socklab_text(&["--version"]);
    assert!(version.stdout_text().starts_with("socklab "));
    let none = socklab_text(&[]);
    assert_eq!(
        none.code(),
        2,
        "no subcommand is a usage error, with the help shown"
    );
}

#[test]
fn version_says_which_build_it_is() {
    let version = socklab_text(&["--version"]).stdout_text();
    for field in ["commit:", "rustc:", "target:"] {
        assert!(version.contains(field), "{version}");
    }
    assert!(version.contains(env!("CARGO_PKG_VERSION")));
    assert!(
        !version.contains("commit:  unknown"),
        "built in a git checkout: {version}"
    );
}

#[test]
fn the_man_page_is_generated_from_the_cli() {
    let f = socklab_text(&["man"]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    let page = f.stdout_text();
    assert!(
        page.starts_with(".ie") || page.contains(".TH socklab"),
        "not roff: {page:.200}"
    );
    for sub in ["listen", "connect", "scan", "man"] {
        assert!(page.contains(sub), "the page lacks {sub}");
    }
    if util::have("man") {
        // man renders it (the page is valid roff), via a file as installed.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("socklab.1");
        std::fs::write(&path, page.as_bytes()).expect("write");
        let mut cmd = Command::new("man");
        cmd.arg("-l")
            .arg(&path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80");
        let shown = util::run("man", cmd);
        assert_eq!(shown.code(), 0, "{}", shown.stderr);
        assert!(
            shown.stdout_text().contains("socklab"),
            "{}",
            shown.stdout_text()
        );
    }
}

#[test]
fn each_subcommands_help_puts_the_output_flags_under_their_own_heading() {
    for sub in ["listen", "connect", "send", "scan", "relay"] {
        let help = socklab_text(&[sub, "--help"]).stdout_text();
        let heading = help
            .find("Output (every command):")
            .unwrap_or_else(|| panic!("{sub}: no heading\n{help}"));
        for flag in ["--json", "--events", "--color", "--hex", "--state-dir"] {
            // The flag itself, not a longer one (--json-framing).
            let at = [format!("{flag}\n"), format!("{flag} ")]
                .iter()
                .filter_map(|f| help.find(f.as_str()))
                .min()
                .unwrap_or_else(|| panic!("{sub}: no {flag}"));
            assert!(
                at > heading,
                "{sub}: {flag} is listed among the command's own options"
            );
        }
    }
}

// ---- every number has a range ----------------------------------------------

/// Values nobody means: past u64, past every range, negative.
const ABSURD: &[&str] = &[
    "10000000000000000000",
    "18446744073709551616",
    "99999999999999999999999999",
    "4000000000",
    "-1",
];

/// Absurd-looking values that are in range on purpose: a seed is any u64.
/// Attachments of 4 GB are big but reasonable: within the file limits.
const IN_RANGE: &[(&str, &str)] = &[
    ("--seed", "10000000000000000000"),
    ("--seed", "4000000000"),
    ("--max-file-size", "4000000000"),
    ("--quota", "4000000000"),
];

/// One argument that takes a value, and how to write it on a command line.
struct Numeric {
    /// The subcommand path, e.g. `["frame", "encode"]`.
    path: Vec<String>,
    /// `--name`, `-s`, or the positional's value name.
    name: String,
    /// Positionals before this one (a positional is given after them).
    before: usize,
    positional: bool,
    help: String,
}

impl Numeric {
    fn line(&self, value: &str) -> Vec<String> {
        let mut line = vec!["socklab".to_string()];
        line.extend(self.path.iter().cloned());
        if self.positional {
            line.extend((0..self.before).map(|_| "127.0.0.1:9".to_string()));
            line.extend(["--".to_string(), value.to_string()]);
        } else if self.name.starts_with("--") {
            line.push(format!("{}={value}", self.name));
        } else {
            line.push(format!("{}{value}", self.name));
        }
        line
    }

    /// clap's verdict on one value: `None` if it was accepted (or refused
    /// for another reason, such as a missing argument), else the message.
    fn rejects(&self, value: &str) -> Option<String> {
        use clap::error::ErrorKind;
        match Cli::try_parse_from(self.line(value)) {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ValueValidation | ErrorKind::InvalidValue
                ) =>
            {
                Some(e.render().to_string())
            }
            _ => None,
        }
    }
}

/// Every argument of every subcommand that takes a number, found in clap's
/// own definition: it accepts `1` and rejects `abc`. A flag added later is
/// covered without touching this test.
fn numeric_args() -> Vec<Numeric> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Numeric>) {
        let mut before = 0;
        for arg in cmd.get_arguments() {
            if !arg.get_action().takes_values() || (arg.is_global_set() && !path.is_empty()) {
                continue;
            }
            let positional = arg.is_positional();
            let name = match (arg.get_long(), arg.get_short()) {
                _ if positional => arg.get_id().to_string(),
                (Some(long), _) => format!("--{long}"),
                (None, Some(short)) => format!("-{short}"),
                (None, None) => continue,
            };
            let help = [arg.get_help(), arg.get_long_help()]
                .iter()
                .flatten()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let a = Numeric {
                path: path.to_vec(),
                name,
                before,
                positional,
                help,
            };
            if positional {
                before += 1;
            }
            if a.rejects("abc").is_some() && a.rejects("1").is_none() {
                out.push(a);
            }
        }
        for sub in cmd.get_subcommands() {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            walk(sub, &p, out);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &[], &mut out);
    out
}

/// The range a message names: `between 1ms and 24h`, or `0 to 65535`.
fn named_range(message: &str) -> Option<(String, String)> {
    let words: Vec<&str> = message
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(4).find_map(|w| match w {
        ["between", lo, "and", hi] => Some((lo.to_string(), hi.to_string())),
        [lo, "to", hi, _] if lo.starts_with(|c: char| c.is_ascii_digit()) => {
            Some((lo.to_string(), hi.to_string()))
        }
        _ => None,
    })
}

#[test]
fn every_numeric_flag_rejects_absurd_values_naming_its_range() {
    let numeric = numeric_args();
    let names: Vec<String> = numeric
        .iter()
        .map(|a| format!("{} {}", a.path.join(" "), a.name))
        .collect();
    // The probe finds what the issue lists (and whatever came since).
    for expected in [
        "connect --timeout",
        "listen --idle-timeout",
        "listen --backlog",
        "listen --max-conns",
        "listen --max-headers",
        "listen --max-header-bytes",
        "listen --max-depth",
        "listen --max-frame",
        "send --wait",
        "send --size",
        "recv --count",
        "demo --pace",
        "frame --chunk",
        "frame --split-at",
        "frame --seed",
        "relay --delay",
        "relay --coalesce",
        "relay --udp-idle",
        "relay --slice",
        "relay --loss",
        "lesson number",
        "lesson reset number",
    ] {
        assert!(
            names.iter().any(|n| n.trim() == expected),
            "{expected} not found among {names:?}"
        );
    }
    let state = tempfile::tempdir().expect("tempdir");
    for arg in &numeric {
        for value in ABSURD {
            if IN_RANGE.contains(&(arg.name.as_str(), value)) {
                continue;
            }
            let line = arg.line(value);
            let shown = line.join(" ");
            let message = arg
                .rejects(value)
                .unwrap_or_else(|| panic!("`{shown}` was accepted"));
            let (lo, hi) = named_range(&message)
                .unwrap_or_else(|| panic!("`{shown}`: the error names no range: {message}"));
            // The help says the same range the error does.
            if message.contains("between") {
                assert!(
                    arg.help.contains(&format!("{lo} to {hi}")),
                    "{}: the help should say \"{lo} to {hi}\": {:?}",
                    arg.name,
                    arg.help
                );
            }
            // And the real binary exits with a usage error, not a panic.
            let mut cmd = Command::new(util::bin());
            cmd.args(&line[1..]).env("SOCKLAB_STATE_DIR", state.path());
            let f = util::run(&shown, cmd);
            assert_eq!(f.code(), 2, "`{shown}`: {}", f.stderr);
            assert!(f.stderr.contains(&lo), "`{shown}`: {}", f.stderr);
        }
    }
}

#[test]
fn the_largest_value_of_each_timer_runs_without_panicking() {
    // The idle deadline is computed after every read.
    let (mut listen, port) = util::Proc::server("listen", &["--idle-timeout", "24h"]);
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    std::io::Write::write_all(&mut client, b"hi\n").expect("write");
    listen.wait_for("read");
    drop(client);
    listen.close_stdin();
    assert_eq!(listen.finish().code(), 0);
    // A UDP relay holding a datagram for the longest delay, sessions kept
    // for the longest idle time: the datagram is scheduled, nothing panics.
    let target = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let target = target.local_addr().expect("addr").to_string();
    let mut relay = util::Proc::socklab(&[
        "relay",
        "--udp",
        "--delay",
        "1m±1m",
        "--udp-idle",
        "24h",
        "0",
        &target,
    ]);
    let relay_port = relay.port();
    let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    client
        .send_to(b"x", ("127.0.0.1", relay_port))
        .expect("send");
    let held = relay.wait_for("relay");
    assert!(
        held["millis"].as_u64().is_some_and(|ms| ms <= 120_000),
        "{held}"
    );
    let f = relay.kill();
    assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
}

#[test]
fn an_event_file_that_cannot_be_written_is_reported_once() {
    let mut cmd = Command::new(util::bin());
    cmd.args(["-q", "--events", "/dev/full", "demo"]);
    let f = util::run("demo --events /dev/full", cmd);
    assert_eq!(f.code(), 0, "the data path carries on: {}", f.stderr);
    assert_eq!(
        f.stderr.matches("cannot write events to /dev/full").count(),
        1,
        "{}",
        f.stderr
    );
}
