//! `socklab listen`: the server side of the flow chart.
//!
//! socket() → setsockopt(SO_REUSEADDR) → bind() → listen() → accept() → read and
//! write → close(). By default it binds 127.0.0.1 (a learning tool must not
//! open a port to the network unless asked), serves one client and exits, like
//! nc; `-k` keeps accepting and serves every client from the same loop.

use mio::Poll;

use super::protocol::Framing;
use super::resolve_narrated;
use super::session::{Policy, Session};
use super::socket::listen_tcp;
use crate::UsageError;
use crate::cli::ListenArgs;
use crate::framing::Role;
use crate::trace::{Side, Tracer};

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
    let policy = Policy {
        keep_open: args.keep_open,
        max_conns: args.max_conns.map(|n| n as usize),
        echo: args.echo,
        ..Policy::from_stream(&args.stream)
    };
    let framing = Framing::from_args(&args.framing, Role::Server, local.to_string())?;
    let mut session = Session::new(Poll::new()?, t, Side::Server, policy, framing)?;
    session.listen(listener, local)?;
    session.run()
}
