//! `socklab listen`: the server side of the flow chart.
//!
//! socket() → setsockopt(SO_REUSEADDR) → bind() → listen() → accept() → read and
//! write → close(). By default it binds 127.0.0.1 (a learning tool must not
//! open a port to the network unless asked), serves one client and exits, like
//! nc; `-k` keeps accepting and serves every client from the same loop. As an
//! HTTP server (`--proto http`) it bounds how long a request head may take
//! and how long a keep-alive connection may stay quiet.
//!
//! The address may be written as socklab writes it (`5288`, `HOST:5288`) or
//! as nc does (`-l -p 5288`, `-s HOST`).

use std::time::Duration;

use mio::Poll;

use super::protocol::Framing;
use super::resolve_for;
use super::session::{Policy, Session};
use super::socket::listen_tcp;
use crate::addr::{Endpoint, Host};
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
    let lookup = args.lookup.lookup();
    let (host, port) = endpoint(args)?
        .bind_target_for(lookup)
        .map_err(UsageError::new)?;
    // Ctrl-C is watched before the first step is narrated: a signal sent
    // as soon as `listen` shows must find the handler there.
    let poll = Poll::new()?;
    let _ctrl_c = crate::interrupt::watch(poll.registry())?;
    let addrs = resolve_for(t, Side::Server, &host, port, lookup)?;
    let (listener, local) = listen_tcp(t, Side::Server, addrs[0], args.backlog)?;
    let framing =
        Framing::from_stream(&args.framing, &args.stream, Role::Server, local.to_string())?;
    let http = framing.as_ref().is_some_and(Framing::answers_requests);
    let stream = Policy::from_stream(&args.stream);
    let policy = Policy {
        keep_open: args.keep_open,
        max_conns: args.max_conns.map(|n| n as usize),
        echo: args.echo,
        head_timeout: http.then_some(args.head_timeout),
        max_lag: args.keep_open.then_some(args.max_lag),
        idle_timeout: stream.idle_timeout.or(http.then_some(HTTP_IDLE)),
        ..stream
    };
    let mut session = Session::new(poll, t, Side::Server, policy, framing)?;
    session.listen(listener, local)?;
    session.run()
}

/// Where to listen, from `[HOST:]PORT` or nc's `-p PORT` and `-s IP`.
fn endpoint(args: &ListenArgs) -> Result<Endpoint, UsageError> {
    let mut endpoint = match (&args.addr, args.port) {
        (Some(addr), _) => addr.clone(),
        (None, port) => Endpoint { host: None, port },
    };
    if let Some(ip) = args.source {
        if let Some(host) = &endpoint.host {
            return Err(UsageError::new(format!(
                "the address is given twice ({host} and -s {ip}): write {ip}:PORT, or -s {ip} -p PORT"
            )));
        }
        endpoint.host = Some(Host::Ip(ip));
    }
    Ok(endpoint)
}
