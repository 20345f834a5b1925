//! The documentation says what the program does: every command the README
//! shows parses with the real CLI, and every event step is in the schema.

mod util;

use clap::{CommandFactory, Parser};
use socklab::cli::Cli;
use util::{commands, words};

#[test]
fn every_command_in_the_readme_parses() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let mut checked = 0;
    for line in commands(&readme) {
        let (cmd, _) = line.split_once(" #").unwrap_or((&line, ""));
        let w = words(cmd);
        // A bare command name in prose ("`socklab listen` binds ...",
        // "`socklab chat history` prints ...").
        let mut cli = Cli::command();
        let bare = w.len() >= 2
            && w[1..]
                .iter()
                .all(|s| match cli.find_subcommand(s).cloned() {
                    Some(sub) => {
                        cli = sub;
                        true
                    }
                    None => false,
                });
        if bare {
            continue;
        }
        // A synopsis with placeholders (`socklab lesson reset [N]`,
        // `socklab listen [HOST:]PORT`) is a usage line, not a command.
        // An optional part is bracketed whole (`[N]`, `[tcp|udp]`); an IPv6
        // address is not (`[::1]:5288`).
        let placeholder = |w: &String| {
            let bare = w.trim_matches(|c| c == '[' || c == ']');
            (w.starts_with('[') && w.ends_with(']'))
                || (!bare.is_empty()
                    && bare.chars().all(|c| {
                        c.is_ascii_uppercase() || c == ':' || c == '_' || c == ']' || c == '['
                    }))
        };
        if w.iter().skip(1).any(placeholder) || cmd.contains('…') {
            continue;
        }
        // `--version` and `--help` end parsing with their text: they parse.
        let parsed = Cli::try_parse_from(&w)
            .map(drop)
            .or_else(|e| match e.kind() {
                clap::error::ErrorKind::DisplayVersion | clap::error::ErrorKind::DisplayHelp => {
                    Ok(())
                }
                _ => Err(e),
            });
        assert!(
            parsed.is_ok(),
            "README: `{cmd}` does not parse: {:?}",
            parsed.err()
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} README commands checked");
}

#[test]
fn every_event_step_is_in_the_schema() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/trace/event.rs"))
            .expect("event.rs");
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.md"))
        .expect("events.md");
    let step_fn = &source[source.find("pub fn step(&self)").expect("step()")..];
    let step_fn = &step_fn[..step_fn.find("\n    }\n").expect("end of step()")];
    let names: Vec<&str> = step_fn
        .split("=> \"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(names.len() > 30, "{names:?}");
    for name in names {
        assert!(
            schema.contains(&format!("| `{name}` |")),
            "docs/events.md does not describe the step {name:?}"
        );
    }
}
