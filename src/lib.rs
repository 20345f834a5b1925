//! socklab: learn how sockets work by using real ones.
//!
//! netcat-style tools (`listen`, `connect`, `send`, `recv`) and a one-terminal
//! `demo`, all built on one idea: **one stream of events, many views**. Code
//! that moves bytes never prints; it records an [`Event`](trace::Event) for
//! every socket call, and renderers turn those events into coloured narration,
//! JSON lines, an event file for lessons, or a hex dump.
//!
//! # Layout
//!
//! ```text
//! main.rs        parse the command line, call run(), exit with its code
//! lib.rs         run(): build the tracer from the output flags, one arm per subcommand
//! cli.rs         clap declarations; doc comments are the --help text
//! addr.rs        "PORT", "HOST:PORT", "[::1]:PORT", "HOST PORT": parsing and resolution
//! units.rs       durations (5, 500ms) and sizes (64k) as typed on a command line
//! exit.rs        exit codes, UsageError (2) and Silent (already narrated)
//! interrupt.rs   Ctrl-C: a self-pipe in poll(), an orderly stop, exit 130
//! trace/         Event, Tracer, renderers (text, json, hexdump), escaping, explanations
//! net/           sockets and the mio event loop: listen, connect, send, recv;
//!                protocol.rs runs a codec on a live stream
//! framing/       pure codecs (raw, lines, http, xml, json, telnet), FrameReader, messages
//! frame.rs       `socklab frame`: the codecs offline, fed in chosen pieces
//! relay/         `socklab relay`: a forwarder that impairs TCP and UDP on purpose
//! compare/       `socklab compare`: TCP against UDP, one experiment per file
//! scan/          `socklab scan` (and `connect -z`): a connect scan, every answer explained
//! netcat.rs      nc's invocations as people type them: rewritten or answered
//! build.rs       what `--version` says about the build
//! demo/          `socklab demo`: a server and a client in one process, one loop
//! lessons/       the lesson runner: catalog (compiled from lessons/), check engine,
//!                progress and session logs, rendering, the flow chart
//! ```
//!
//! Exit codes ([`exit`]): 0 success, 1 network or runtime error (explained
//! on stderr), 2 usage error, 130 interrupted by Ctrl-C.

pub mod addr;
pub mod build;
pub mod chat;
pub mod cli;
pub mod compare;
pub mod demo;
pub mod exit;
pub mod frame;
pub mod framing;
pub mod interrupt;
pub mod lessons;
pub mod net;
pub mod netcat;
pub mod relay;
pub mod scan;
pub mod trace;
pub mod units;

use std::io::{self, IsTerminal};

use cli::{Cli, ColorWhen, Command, OutputArgs};
use exit::{EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, Interrupted, Silent, UsageError};
use lessons::log::writer::LessonLog;
use net::error::NetError;
use trace::explain::Action;
use trace::hexdump::HexSink;
use trace::json::JsonSink;
use trace::text::{Layout, TextSink};
use trace::{Event, Level, Side, Tracer};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let state = lessons::progress::State::locate(cli.output.state_dir.as_deref());
    let (name, side) = match &cli.command {
        Command::Listen(_) => ("listen", Side::Server),
        Command::Connect(_) => ("connect", Side::Client),
        Command::Send(_) => ("send", Side::Client),
        Command::Recv(_) => ("recv", Side::Server),
        Command::Demo(_) => ("demo", Side::Server),
        Command::Frame(_) => ("frame", Side::Server),
        Command::Relay(_) => ("relay", Side::Server),
        Command::Compare(_) => ("compare", Side::Client),
        Command::Chat(c) => match &c.action {
            Some(cli::ChatAction::Serve(_)) => ("chat", Side::Server),
            Some(cli::ChatAction::Send(_) | cli::ChatAction::History(_)) => ("chat", Side::Client),
            None => ("chat", Side::Client),
            Some(action) => return run_plain(chat::run_accounts(action)),
        },
        Command::Scan(_) => ("scan", Side::Client),
        Command::Lessons | Command::Lesson(_) => return run_lessons(&cli, &state),
        Command::Man => return man(),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "socklab", &mut io::stdout());
            return EXIT_OK;
        }
    };
    let layout = match &cli.command {
        Command::Demo(d) if d.kind == cli::DemoKind::Udp => Layout::Columns(demo::column_width()),
        _ => Layout::Lines,
    };
    // While a lesson is current, its session log records this command too
    // (the log of whichever lesson is current when each event happens).
    let mut tracer = match tracer_for(name, &cli.output, layout, Some(&state)) {
        Ok(t) => t,
        Err(e) => {
            let plain = OutputArgs {
                events: None,
                ..cli.output.clone()
            };
            let mut t =
                tracer_for(name, &plain, layout, None).unwrap_or_else(|_| Tracer::new(name));
            e.emit(&mut t, side, None);
            return EXIT_FAILURE;
        }
    };
    tracer.emit(
        side,
        None,
        Event::Start {
            command: name,
            version: env!("CARGO_PKG_VERSION"),
        },
    );
    let result = match &cli.command {
        Command::Listen(args) => net::listen::run(args, &mut tracer),
        Command::Connect(args) => net::connect::run(args, &mut tracer),
        Command::Send(args) => net::udp::send(args, &mut tracer),
        Command::Recv(args) => net::udp::recv(args, &mut tracer),
        Command::Demo(args) => demo::run(args, &mut tracer),
        Command::Frame(args) => frame::run(args, &mut tracer),
        Command::Relay(args) => relay::run(args, &mut tracer),
        Command::Compare(args) => compare::run(args, cli.output.json, &mut tracer),
        Command::Chat(args) => chat::run(args, cli.output.json, &mut tracer),
        Command::Scan(args) => scan::run(args, &mut tracer),
        Command::Lessons | Command::Lesson(_) | Command::Completions { .. } | Command::Man => {
            Ok(())
        }
    };
    let code = match result {
        Ok(()) => EXIT_OK,
        Err(err) => report(&mut tracer, side, &err),
    };
    tracer.emit(side, None, Event::Exit { code: code as i32 });
    code
}

/// `socklab man`: the manual page, generated from the same clap
/// declarations as `--help`, in roff for `man` to render.
fn man() -> u8 {
    use clap::CommandFactory;
    let page = clap_mangen::Man::new(Cli::command());
    match page.render(&mut io::stdout()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the manual page to stdout: {e}");
            EXIT_FAILURE
        }
    }
}

/// `socklab lessons` and `socklab lesson ...`: pages on stdout, errors on stderr.
fn run_lessons(cli: &Cli, state: &lessons::progress::State) -> u8 {
    let color = use_color(cli.output.color, io::stdout().is_terminal());
    colored::control::set_override(color);
    let result = match &cli.command {
        Command::Lesson(args) => lessons::run(args, state, color),
        _ => lessons::list(state, color),
    };
    // No socket was involved: a plain message, not a narrated event.
    match result {
        Ok(()) => EXIT_OK,
        Err(err) => match (
            err.downcast_ref::<Silent>(),
            err.downcast_ref::<UsageError>(),
        ) {
            (Some(Silent(code)), _) => *code,
            (_, Some(usage)) => usage.print(),
            _ => {
                // The chain may quote a file (a damaged progress file, a
                // session log): escaped like everything else shown.
                eprintln!("error: {}", trace::escape::line(&format!("{err:#}")));
                EXIT_FAILURE
            }
        },
    }
}

/// A command with plain output (no socket): its error printed once.
fn run_plain(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err(err) => match err.downcast_ref::<UsageError>() {
            Some(usage) => usage.print(),
            None => {
                eprintln!("error: {err:#}");
                EXIT_FAILURE
            }
        },
    }
}

/// Emits the error as an event (narrated with its explanation, or as JSON)
/// and picks the exit code.
fn report(tracer: &mut Tracer, side: Side, err: &anyhow::Error) -> u8 {
    if let Some(Silent(code)) = err.downcast_ref::<Silent>() {
        return *code;
    }
    if let Some(usage) = err.downcast_ref::<UsageError>() {
        return usage.print();
    }
    if err.downcast_ref::<Interrupted>().is_some() {
        let text = "Ctrl-C (SIGINT): stopping; the kernel closes every socket as the process exits (exit code 130)";
        tracer.emit(side, None, Event::Note { text });
        return EXIT_INTERRUPTED;
    }
    match err.downcast_ref::<NetError>() {
        Some(net) => net.emit(tracer, side, None),
        None => {
            let message = format!("{err:#}");
            tracer.emit(
                side,
                None,
                Event::Error {
                    kind: "error",
                    message: (&message).into(),
                    why: "",
                    next: "",
                    errno: None,
                    pointer: None,
                },
            );
        }
    }
    EXIT_FAILURE
}

/// Decides colour for a stream: on for a terminal unless NO_COLOR is set or
/// TERM is dumb; `--color` overrides.
pub fn use_color(when: ColorWhen, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Builds the tracer the output flags ask for; with `lessons`, a sink that
/// records into the current lesson's session log.
pub fn tracer_for(
    command: &'static str,
    out: &OutputArgs,
    layout: Layout,
    lessons: Option<&lessons::progress::State>,
) -> Result<Tracer, NetError> {
    colored::control::set_override(use_color(out.color, io::stderr().is_terminal()));
    let mut tracer = Tracer::new(command);
    let detail = if out.verbose {
        Level::Detail
    } else {
        Level::Data
    };
    // Files first: whatever a person or a script sees on stderr has already
    // been written to the event file and the lesson log.
    if let Some(path) = &out.events {
        let sink = JsonSink::append_to(path, detail)
            .map_err(|e| NetError::new(Action::Events, path.display(), e))?;
        tracer.add(Box::new(sink));
    }
    // The lesson log was not asked for on this command line: if it cannot be
    // opened, the command runs unrecorded (with a warning) rather than not
    // at all.
    if let Some(state) = lessons {
        tracer.add(Box::new(LessonLog::following(state.clone(), detail)));
    }
    if out.json {
        let sink =
            JsonSink::new(Box::new(io::stderr()), detail).on_terminal(io::stderr().is_terminal());
        tracer.add(Box::new(sink));
    } else {
        let level = if out.quiet {
            tracer.set_quiet_screen();
            Level::Error
        } else {
            detail
        };
        tracer.add(Box::new(TextSink::new(
            Box::new(io::stderr()),
            level,
            layout,
        )));
    }
    if out.hex {
        tracer.add(Box::new(HexSink::new(Box::new(io::stderr()))));
    }
    Ok(tracer)
}

/// Records a rejected command line in the current lesson's session log, so a
/// lesson can check that the learner tried (say) port 65536 and saw why it
/// was refused. Called before clap exits with code 2.
pub fn record_usage_error(args: &[std::ffi::OsString], message: &str) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let explicit = args
        .iter()
        .position(|a| a == "--state-dir")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--state-dir=").map(str::to_string))
        })
        .or_else(|| {
            std::env::var("SOCKLAB_STATE_DIR")
                .ok()
                .filter(|v| !v.is_empty())
        });
    let state = lessons::progress::State::locate(explicit.as_deref().map(std::path::Path::new));
    let Some(log) = state.active_log() else {
        return;
    };
    // The subcommand is the first argument that names one (option values
    // such as `--color never` come before it).
    let known = [
        ("listen", Side::Server),
        ("recv", Side::Server),
        ("connect", Side::Client),
        ("send", Side::Client),
        ("scan", Side::Client),
        ("demo", Side::Server),
    ];
    let Some((command, side)) = args
        .iter()
        .skip(1)
        .find_map(|a| known.iter().find(|(k, _)| k == a).copied())
    else {
        return;
    };
    match LessonLog::open(&log, Level::Data) {
        Ok(sink) => {
            let mut tracer = Tracer::new(command);
            tracer.add(Box::new(sink));
            tracer.emit(side, None, Event::UsageError { message });
        }
        Err(e) => eprintln!(
            "socklab: lesson logging is off: cannot open the session log {}: {e}",
            log.display()
        ),
    }
}
