//! `socklab relay`: deterministic impairment of UDP, intact TCP streams
//! however they are cut, many peers at once, clear refusals, and a relay
//! that stays up and bounded when pushed (floods, no file descriptors left,
//! peers that reset).
//!
//! One test binary, one file per theme; the helpers every theme uses are here.

#[path = "../util/mod.rs"]
mod util;

mod bounds;
mod descriptors;
mod reset;
mod tcp;
mod udp;

use std::process::Command;

use util::Proc;

/// Starts a relay in front of `target` and returns it with its port.
fn relay(target: u16, extra: &[&str]) -> (Proc, u16) {
    relay_from(util::socklab, target, extra)
}

/// Like [`relay`], with the command line built by `build` (to lower the
/// file descriptor limit, say).
fn relay_from(build: impl Fn(&[&str]) -> Command, target: u16, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["relay".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("0".into());
    args.push(format!("127.0.0.1:{target}"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut r = Proc::spawn(&format!("socklab {}", args.join(" ")), build(&args));
    let port = r.port();
    if !extra.contains(&"--udp") {
        r.wait_for("listen");
    }
    (r, port)
}

/// Whether some relay event says `text` in its fate or note.
fn narrated(events: &[serde_json::Value], text: &str) -> bool {
    events.iter().any(|e| {
        [&e["fate"], &e["text"]]
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.contains(text)))
    })
}
