//! `socklab frame`: the codecs offline, with no socket at all.
//!
//! `socklab frame --proto json --chunk 1 < messages` feeds the bytes to the
//! same frame reader a connection uses, in pieces of the size you choose (or
//! at the offsets you choose, or at random sizes from a seed), and narrates
//! every push and every frame cut. Whatever the pieces, the frames are the
//! same: that is the whole point of framing. `socklab frame encode` shows the
//! exact bytes a message becomes on the wire.

use std::io::{self, IsTerminal, Read, Write};
use std::ops::Range;

use anyhow::Context;

use crate::cli::{FrameAction, FrameArgs, FramingArgs};
use crate::exit::{Silent, UsageError};
use crate::framing::{Proto, Role};
use crate::net::output::{Output, reader_gone};
use crate::net::protocol::{Framing, InboundError};
use crate::trace::hexdump;
use crate::trace::{Data, Event, Side, Tracer};

pub fn run(args: &FrameArgs, t: &mut Tracer) -> anyhow::Result<()> {
    match &args.action {
        Some(FrameAction::Encode { input, framing }) => encode(input, framing, t),
        None => decode(args, t),
    }
}

fn proto(args: &FramingArgs) -> Result<Proto, UsageError> {
    args.proto
        .ok_or_else(|| UsageError::new("which protocol? add --proto raw, lines, http, xml or json"))
}

fn decode(args: &FrameArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let proto = proto(&args.framing)?;
    let input = match &args.file {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            let mut v = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut v)
                .context("cannot read stdin")?;
            v
        }
    };
    // HTTP bytes that begin with a status line are responses: decode them
    // as a client would.
    let role = if proto == Proto::Http && input.starts_with(b"HTTP/") {
        Role::Client
    } else {
        Role::Server
    };
    let framing = Framing::from_args(&args.framing, role, "socklab")?
        .ok_or_else(|| UsageError::new("--proto is required"))?;
    // Every piece of an HTTP body is shown: this is where to see how the
    // codec cuts one.
    let mut inbound = framing.inbound().narrating_every_piece();
    let mut out = Output::stdout()?.unmarked();
    let pieces = plan(args, input.len());
    let note = format!(
        "{} bytes in {} piece(s), fed to the {} frame reader one by one",
        input.len(),
        pieces.len(),
        proto.name()
    );
    t.emit(Side::Server, None, Event::Note { text: &note });
    let mut replies = Vec::new();
    let at = (Side::Server, None);
    let mut failed = false;
    for range in pieces {
        let piece = &input[range];
        t.emit(
            Side::Server,
            None,
            Event::Feed {
                n: piece.len(),
                data: Data(piece),
            },
        );
        match inbound.feed(t, at, piece, &mut out, &mut replies) {
            Ok(()) => {}
            Err(InboundError::Frame(_)) => return Err(Silent(crate::exit::EXIT_FAILURE).into()),
            Err(InboundError::Output(e)) if reader_gone(&e) => return Ok(()),
            Err(InboundError::Output(e)) => return Err(e).context("cannot write stdout"),
        }
    }
    match inbound.finish(t, at, &mut out, &mut replies) {
        Err(InboundError::Frame(_)) => failed = true,
        Err(InboundError::Output(e)) if !reader_gone(&e) => {
            return Err(e).context("cannot write stdout");
        }
        _ => {}
    }
    out.finish().ok();
    if failed || inbound.errors > 0 {
        Err(Silent(crate::exit::EXIT_FAILURE).into())
    } else {
        Ok(())
    }
}

/// Where to cut the input, from `--chunk`, `--split-at` or `--random-chunks`.
fn plan(args: &FrameArgs, len: usize) -> Vec<Range<usize>> {
    let mut cuts: Vec<usize> = if let Some(n) = args.chunk {
        (n as usize..len).step_by(n as usize).collect()
    } else if !args.split_at.is_empty() {
        args.split_at
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < len)
            .collect()
    } else if args.random_chunks {
        // xorshift64: the same seed cuts the same way on every machine.
        let mut x = args.seed.max(1);
        let mut at = 0;
        let mut v = Vec::new();
        loop {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            at += 1 + (x % 16) as usize;
            if at >= len {
                break v;
            }
            v.push(at);
        }
    } else {
        Vec::new()
    };
    cuts.sort_unstable();
    cuts.dedup();
    let mut start = 0;
    let mut ranges = Vec::new();
    for cut in cuts.into_iter().chain([len]) {
        ranges.push(start..cut);
        start = cut;
    }
    ranges.retain(|r| !r.is_empty() || len == 0);
    ranges
}

fn encode(input: &str, args: &FramingArgs, t: &mut Tracer) -> anyhow::Result<()> {
    proto(args)?;
    let framing = Framing::from_args(args, Role::Client, "127.0.0.1:5288")?
        .ok_or_else(|| UsageError::new("--proto is required"))?;
    let mut out = framing.outbound();
    let mut bytes = out
        .encode(t, Side::Client, format!("{input}\n").as_bytes())
        .into_bytes();
    bytes.extend(out.finish(t, Side::Client).into_bytes());
    if bytes.is_empty() {
        // The input was refused (narrated above).
        return Err(Silent(crate::exit::EXIT_FAILURE).into());
    }
    let mut stdout = io::stdout().lock();
    let result = if stdout.is_terminal() {
        let mut text = format!(
            "{} bytes on the wire:\n\n{}\n\n",
            bytes.len(),
            crate::trace::escape::preview(&bytes, usize::MAX)
        );
        hexdump::dump(' ', 0, &bytes, &mut text);
        stdout.write_all(text.as_bytes())
    } else {
        stdout.write_all(&bytes)
    };
    match result {
        Err(e) if !reader_gone(&e) => Err(e).context("cannot write stdout"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn ranges(extra: &[&str], len: usize) -> Vec<Range<usize>> {
        let mut argv = vec!["socklab", "frame", "--proto", "raw"];
        argv.extend_from_slice(extra);
        let cli = crate::cli::Cli::try_parse_from(argv).expect("parses");
        let crate::cli::Command::Frame(args) = cli.command else {
            panic!("not frame")
        };
        plan(&args, len)
    }

    #[test]
    fn cutting_plans() {
        assert_eq!(ranges(&[], 5), vec![(0..5)]);
        assert_eq!(ranges(&["--chunk", "2"], 5), [0..2, 2..4, 4..5]);
        assert_eq!(ranges(&["--split-at", "3,1,3,99"], 5), [0..1, 1..3, 3..5]);
        let a = ranges(&["--random-chunks", "--seed", "7"], 100);
        assert_eq!(
            a,
            ranges(&["--random-chunks", "--seed", "7"], 100),
            "same seed, same cuts"
        );
        assert_ne!(a, ranges(&["--random-chunks", "--seed", "8"], 100));
        assert_eq!(a.iter().map(|r| r.len()).sum::<usize>(), 100);
        assert!(a.iter().all(|r| (1..=16).contains(&r.len())));
    }
}
