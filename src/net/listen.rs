//! `socklab listen`: the server side of the flow chart.
//!
//! socket() → setsockopt(SO_REUSEADDR) → bind() → listen() → accept() → read and
//! write → close(). By default it binds 127.0.0.1 (a learning tool must not
//! open a port to the network unless asked), serves one client and exits, like
//! nc; `-k` keeps accepting and serves every client from the same loop. As an
//! HTTP server (`--proto http`) it bounds how long a request head may take
//! and how long a keep-alive connection may stay quiet.

use std::time::Duration;

use mio::Poll;

use super::protocol::Framing;
use super::resolve_narrated;
use super::session::{Policy, Session};
use super::socket::listen_tcp;
use crate::cli::ListenArgs;
use crate::exit::UsageError;
use crate::framing::Role;
use crate::trace::{Side, Tracer};

/// How long an HTTP server keeps a quiet keep-alive connection unless
/// `--idle-timeout` says otherwise (nginx's default is 75 s, Apache's 5 s): a
/// server that never closes them can be filled with idle clients.
pub const HTTP_IDLE: Duration = Duration::from_secs(60);

pub fn run(args: &ListenArgs, t: &mut Tracer) -> anyhow::Result<()> {
    if args.stream.udp {
        return Err(UsageError::new(
            "-u: UDP has no connection to listen for; receive datagrams with `socklab recv PORT`",
        )
        .into());
    }
    let (host, port) = args.addr.bind_target().map_err(UsageError::new)?;
    let addrs = resolve_narrated(t, Side::Server, &host, port)?;
    let (listener, local) = listen_tcp(t, Side::Server, addrs[0], args.backlog)?;
    let framing = Framing::from_args(&args.framing, Role::Server, local.to_string())?;
    let http = framing.as_ref().is_some_and(Framing::answers_requests);
    let policy = Policy {
        keep_open: args.keep_open,
        max_conns: args.max_conns.map(|n| n as usize),
        echo: args.echo,
        head_timeout: http.then_some(args.head_timeout),
        max_lag: args.keep_open.then_some(args.max_lag),
        idle_timeout: args.stream.idle_timeout.or(http.then_some(HTTP_IDLE)),
        ..Policy::from_stream(&args.stream)
    };
    let mut session = Session::new(Poll::new()?, t, Side::Server, policy, framing)?;
    session.listen(listener, local)?;
    session.run()
}
