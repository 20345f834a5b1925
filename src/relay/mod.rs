//! `socklab relay`: a forwarder between a port and a target that can make the
//! network worse on purpose, without root and without a kernel module
//! (netem needs both; Toxiproxy does TCP only).
//!
//! ```text
//! socklab relay 9001 127.0.0.1:9000 --udp --loss 30% --dup 5% --reorder 10% --delay 50ms±20ms --seed 42
//! socklab relay 9001 127.0.0.1:9000 --slice 1          # TCP: one byte per write
//! socklab relay 9001 127.0.0.1:9000 --coalesce 20ms    # TCP: merge writes
//! ```
//!
//! Put it between two terminals, or in front of a framing demo (`--slice 1`
//! before `listen --proto xml` is the torture test for a stanza parser).
//! [`fate`] decides deterministically what happens to each datagram;
//! [`udp`] and [`tcp`] are the two event loops; [`limits`] says how much
//! they may hold before a TCP sender is slowed down (back-pressure) or a UDP
//! datagram is dropped (narrated), so that no sender can make the relay
//! grow without bound.

pub mod fate;
pub mod limits;
pub mod tcp;
pub mod udp;

use std::time::Duration;

use crate::addr::resolve;
use crate::cli::RelayArgs;
use crate::exit::UsageError;
use crate::net::resolve_narrated;
use crate::net::socket::{bind_udp, listen_tcp};
use crate::trace::{Event, Side, Tracer};
use fate::Impairment;

pub fn run(args: &RelayArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let (delay, jitter) = args.delay.unwrap_or_default();
    let impairment = Impairment {
        loss: args.loss.unwrap_or(0.0),
        dup: args.dup.unwrap_or(0.0),
        reorder: args.reorder.unwrap_or(0.0),
        delay,
        jitter,
        seed: args.seed,
    };
    if !args.udp && (impairment.loss > 0.0 || impairment.dup > 0.0 || impairment.reorder > 0.0) {
        return Err(UsageError::new(
            "--loss, --dup and --reorder need --udp: a TCP relay sees a byte stream, and dropping or reordering bytes would corrupt it (TCP's own reliability lives in the kernels at both ends). For TCP use --slice, --coalesce or --delay",
        )
        .into());
    }
    if args.udp && (args.slice.is_some() || args.coalesce.is_some()) {
        return Err(UsageError::new("--slice and --coalesce cut and merge a TCP stream; UDP datagrams are never cut or merged").into());
    }
    let (host, port) = args.listen.bind_target().map_err(UsageError::new)?;
    let (target_host, target_port) = args
        .target
        .clone()
        .with_port(None)
        .map_err(UsageError::new)?;
    if target_port == 0 {
        return Err(UsageError::new("the target's port 0 means \"any port\": the relay needs the real port of what it forwards to").into());
    }
    let target = resolve(&target_host, target_port).map_err(|e| {
        crate::net::error::NetError::new(crate::trace::explain::Action::Resolve, &target_host, e)
    })?[0];
    let addr = resolve_narrated(t, Side::Server, &host, port)?[0];
    let what = describe(&impairment, args);
    if args.udp {
        let socket = bind_udp(t, Side::Server, addr)?;
        let local = socket.local_addr()?;
        let text = format!("relaying UDP {local} → {target}{what}");
        t.emit(Side::Server, None, Event::Note { text: &text });
        udp::UdpRelay::new(t, socket, target, impairment, args.udp_idle)?.run()
    } else {
        let (listener, local) = listen_tcp(t, Side::Server, addr, 128)?;
        let text = format!("relaying TCP {local} → {target}{what}");
        t.emit(Side::Server, None, Event::Note { text: &text });
        let opts = tcp::TcpOptions {
            slice: args.slice.map(|n| n as usize),
            coalesce: args.coalesce,
            impairment,
        };
        tcp::TcpRelay::new(t, listener, target, opts)?.run()
    }
}

fn describe(imp: &Impairment, args: &RelayArgs) -> String {
    let mut parts = Vec::new();
    let pct = |p: f64| format!("{}%", (p * 1000.0).round() / 10.0);
    if imp.loss > 0.0 {
        parts.push(format!("loss {}", pct(imp.loss)));
    }
    if imp.dup > 0.0 {
        parts.push(format!("dup {}", pct(imp.dup)));
    }
    if imp.reorder > 0.0 {
        parts.push(format!("reorder {}", pct(imp.reorder)));
    }
    if imp.delay > Duration::ZERO || imp.jitter > Duration::ZERO {
        parts.push(format!(
            "delay {} ms ± {} ms",
            imp.delay.as_millis(),
            imp.jitter.as_millis()
        ));
    }
    if let Some(n) = args.slice {
        parts.push(format!("slices of {n} byte(s)"));
    }
    if let Some(d) = args.coalesce {
        parts.push(format!("coalesce every {} ms", d.as_millis()));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(" with {} (seed {})", parts.join(", "), imp.seed)
}
