//! nc's invocations as people type them from memory, each one made to work
//! or answered precisely, before clap would say only "unexpected argument".
//!
//! Most of nc's flags mean the same in socklab (`-k`, `-C`, `-w`, `-v`, `-N`,
//! `-s`, `-p`, `-4`, `-6`, `-n`, `-d`, `-t`, `-i`, `-l` is accepted): clap
//! handles those. What is left is here, looked at in the raw arguments:
//!
//! - `connect -z HOST PORTS` is rewritten to `scan HOST PORTS` (nc's
//!   spelling of a port scan, `-zv` included);
//! - `-q N` (nc: quit N seconds after stdin ends) meets socklab's `-q`,
//!   which is `--quiet` and takes no value: answered with `--quit-after`;
//! - `-x PROXY:PORT` (nc: go through a proxy) meets socklab's `-x`, the hex
//!   dump, which takes no value: answered with what socklab does instead;
//! - `-e` and `-c` (run a program for the peer) are refused by design;
//! - `socklab -l ...` and `socklab HOST PORT` (nc without a verb) are
//!   answered with the verb.
//!
//! Every rule fires only on a command line that is not valid socklab, so a
//! valid one is never second-guessed (`listen -q 5288` is a quiet listener).

use std::ffi::OsString;

use clap::CommandFactory;

use crate::cli::Cli;

/// What to do with a command line before clap sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Habit {
    /// Parse these arguments instead.
    Rewrite(Vec<OsString>),
    /// A usage error (exit 2) with this message.
    Answer(String),
}

const VERBS: &[&str] = &[
    "listen",
    "connect",
    "send",
    "recv",
    "demo",
    "frame",
    "relay",
    "compare",
    "scan",
    "man",
    "completions",
    "lessons",
    "lesson",
    "help",
];

/// Looks at a command line for nc's habits.
pub fn check(args: &[OsString]) -> Option<Habit> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let line = Line::read(&words);
    let Some(verb) = line.verb.clone() else {
        return without_verb(&line);
    };
    if let Some(flag) = line.flags.iter().find(|f| is_exec(f)) {
        return Some(Habit::Answer(exec_refused(flag)));
    }
    match verb.as_str() {
        "connect" => connect(&line, args),
        "listen" => listen(&line),
        _ => None,
    }
}

/// A command line split the way clap will read it.
struct Line {
    words: Vec<String>,
    /// The subcommand, and where it is.
    verb: Option<String>,
    at: usize,
    /// Options after the verb (`-zv`, `--proto`), as typed.
    flags: Vec<String>,
    /// Positional arguments after the verb, with their index in `words`.
    positionals: Vec<(usize, String)>,
}

impl Line {
    fn read(words: &[String]) -> Line {
        let root = Cli::command();
        let takes_value = |cmd: &clap::Command, word: &str| {
            cmd.get_arguments().any(|a| {
                let by_name = match word.strip_prefix("--") {
                    Some(long) => a.get_long() == Some(long),
                    None => word.len() == 2 && a.get_short() == word.chars().nth(1),
                };
                by_name && a.get_action().takes_values()
            })
        };
        let mut line = Line {
            words: words.to_vec(),
            verb: None,
            at: 0,
            flags: Vec::new(),
            positionals: Vec::new(),
        };
        let mut sub = None;
        let mut i = 1;
        while i < words.len() {
            let w = &words[i];
            if w == "--" {
                break;
            }
            if w.starts_with('-') && w.len() > 1 {
                line.flags.push(w.clone());
                let value = takes_value(&root, w)
                    || sub
                        .as_ref()
                        .is_some_and(|s: &clap::Command| takes_value(s, w));
                i += if value { 2 } else { 1 };
                continue;
            }
            if line.verb.is_none() && VERBS.contains(&w.as_str()) {
                line.verb = Some(w.clone());
                line.at = i;
                sub = root.find_subcommand(w).cloned();
                line.flags.clear();
            } else {
                line.positionals.push((i, w.clone()));
            }
            i += 1;
        }
        line
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// `-e`, `-c` and ncat's long forms: run a program for whoever connects.
fn is_exec(flag: &str) -> bool {
    matches!(flag, "-e" | "-c" | "--exec" | "--sh-exec" | "--lua-exec")
        || flag.starts_with("--exec=")
        || flag.starts_with("--sh-exec=")
}

fn exec_refused(flag: &str) -> String {
    format!(
        "{flag} (run a program with its stdin and stdout on the socket) is refused by design: \
         whoever connects would drive that program, and with a shell the whole machine (the classic backdoor). \
         Safe ways to serve something: pipe a program's output in (date | socklab listen 5288), \
         answer with what the client sends (socklab listen --echo 5288), or answer HTTP requests (socklab listen --proto http 5288)"
    )
}

/// nc's shapes without a socklab verb: `-l ...`, `HOST PORT`.
fn without_verb(line: &Line) -> Option<Habit> {
    let listens = line
        .flags
        .iter()
        .any(|f| !f.starts_with("--") && f[1..].contains('l'));
    if listens {
        return Some(Habit::Answer(
            "socklab's verb comes first: nc -l -p 5288 is socklab listen 5288 (or socklab listen -l -p 5288: -l and -p are accepted there)".into(),
        ));
    }
    match line.positionals.as_slice() {
        [(_, host), (_, port), ..] if port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(Habit::Answer(format!(
                "socklab's verb comes first: nc {host} {port} is socklab connect {host} {port}"
            )))
        }
        _ => None,
    }
}

fn connect(line: &Line, args: &[OsString]) -> Option<Habit> {
    if let Some(rewritten) = scan_rewrite(line, args) {
        return Some(Habit::Rewrite(rewritten));
    }
    if line.has("-l") {
        return Some(Habit::Answer(
            "connect opens a connection; to wait for one, use socklab listen PORT (nc -l)".into(),
        ));
    }
    if let Some(answer) = quit_after(line, true) {
        return Some(answer);
    }
    proxy(line)
}

fn listen(line: &Line) -> Option<Habit> {
    // `listen -q 5288` is a quiet listener; `listen -q 1 5288` is nc's -q.
    quit_after(line, line.positionals.len() > 1)
}

/// nc's `-q N`: N right after `-q`, where socklab's grammar has no room for
/// it (`wrong`: the positionals show it is not socklab's).
fn quit_after(line: &Line, wrong: bool) -> Option<Habit> {
    let q = line.words.iter().position(|w| w == "-q")?;
    let (_, n) = line.positionals.iter().find(|(i, _)| *i == q + 1)?;
    // 1, 0.5: not 127.0.0.1, which is a host.
    let number = n.bytes().all(|b| b.is_ascii_digit() || b == b'.') && n.parse::<f64>().is_ok();
    if !number || !(wrong || line.verb.as_deref() == Some("connect")) {
        return None;
    }
    let mut suggestion: Vec<String> = line.words.clone();
    suggestion[0] = "socklab".into();
    suggestion[q] = "--quit-after".into();
    suggestion[q + 1] = format!("{n}s");
    Some(Habit::Answer(format!(
        "-q is socklab's --quiet and takes no value, so {n} would be read as an address. \
         nc's -q {n} (close {n} seconds after stdin ends) is --quit-after: {}",
        suggestion.join(" ")
    )))
}

/// nc's `-x PROXY[:PORT]` (and `-X PROTO`): go through a SOCKS or HTTP proxy.
fn proxy(line: &Line) -> Option<Habit> {
    let x = line.words.iter().position(|w| w == "-x");
    let after_x = x.and_then(|x| line.positionals.iter().find(|(i, _)| *i == x + 1));
    // `connect -x HOST PORT` is a hex dump of a connection: valid. Only a
    // command line with an address too many is nc's proxy flag.
    let too_many = match line.positionals.as_slice() {
        [_, _, _, ..] => true,
        [(_, first), _] => first.contains(':') && !first.starts_with('['),
        _ => false,
    };
    let proxy = match (after_x, line.has("-X")) {
        (Some((_, p)), _) if too_many => p.clone(),
        (_, true) => "PROXY".to_string(),
        _ => return None,
    };
    let (host, port) = proxy.rsplit_once(':').unwrap_or((&proxy, "PORT"));
    Some(Habit::Answer(format!(
        "-x is socklab's hex dump and takes no value, so {proxy} was read as the address. \
         socklab does not go through proxies (nc -x/-X speak SOCKS or HTTP CONNECT for you); \
         to watch that protocol, talk to the proxy yourself: socklab connect -C {host} {port}, \
         then type CONNECT TARGET:PORT HTTP/1.1 and an empty line"
    )))
}

/// `connect -z HOST PORTS` (or `-zv`, `-vz`, `-zw1`) → `scan HOST PORTS`.
fn scan_rewrite(line: &Line, args: &[OsString]) -> Option<Vec<OsString>> {
    let z = line
        .words
        .iter()
        .enumerate()
        .skip(line.at)
        .position(|(_, w)| {
            w.starts_with('-') && !w.starts_with("--") && {
                // -z may share the dash with flags that take no value before it.
                let letters = &w[1..];
                letters
                    .find('z')
                    .is_some_and(|at| letters[..at].chars().all(|c| "vn46dkNCqx".contains(c)))
            }
        })?
        + line.at;
    let mut out: Vec<OsString> = args.to_vec();
    out[line.at] = "scan".into();
    let rest: String = line.words[z][1..].replacen('z', "", 1);
    if rest.is_empty() {
        out.remove(z);
    } else {
        out[z] = format!("-{rest}").into();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_str(line: &str) -> Option<Habit> {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        check(&args)
    }

    fn answer(line: &str) -> String {
        match check_str(line) {
            Some(Habit::Answer(a)) => a,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn valid_command_lines_are_left_alone() {
        for line in [
            "socklab listen -q 5288",
            "socklab -q connect 127.0.0.1 80",
            "socklab connect -x 127.0.0.1 80",
            "socklab connect -x 127.0.0.1:80",
            "socklab connect -q 127.0.0.1 80",
            "socklab listen -l -p 5288",
            "socklab --color never listen 5288",
            "socklab connect -C 127.0.0.1 80",
            "socklab lesson 3",
        ] {
            assert_eq!(check_str(line), None, "{line}");
        }
    }

    #[test]
    fn nc_shapes_are_answered() {
        assert!(
            answer("socklab connect -q 1 example.com 80")
                .contains("--quit-after 1s example.com 80")
        );
        assert!(answer("socklab connect -q 1 5288").contains("--quit-after"));
        assert!(answer("socklab listen -q 1 5288").contains("--quit-after"));
        assert!(answer("socklab connect -x proxy:3128 example.com 80").contains("hex dump"));
        assert!(answer("socklab connect -x 10.0.0.1:1080 example.com:80").contains("proxies"));
        assert!(answer("socklab listen -e /bin/sh 5288").contains("refused by design"));
        assert!(answer("socklab connect -c sh 127.0.0.1 80").contains("backdoor"));
        assert!(answer("socklab -l -p 5288").contains("socklab listen 5288"));
        assert!(answer("socklab 127.0.0.1 80").contains("socklab connect 127.0.0.1 80"));
        assert!(answer("socklab connect -l 5288").contains("socklab listen"));
    }

    #[test]
    fn connect_z_becomes_scan() {
        let rewritten = |line: &str| match check_str(line) {
            Some(Habit::Rewrite(a)) => a
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(
            rewritten("socklab connect -z 127.0.0.1 20-30"),
            "socklab scan 127.0.0.1 20-30"
        );
        assert_eq!(
            rewritten("socklab connect -zv 127.0.0.1 22"),
            "socklab scan -v 127.0.0.1 22"
        );
        assert_eq!(
            rewritten("socklab connect -vz -w 1 ::1 22"),
            "socklab scan -v -w 1 ::1 22"
        );
    }
}
