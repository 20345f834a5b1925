//! Connection set-up. TCP asks before it talks: connect() to a closed port
//! is refused at once (the host answers the SYN with RST). UDP just sends:
//! send() to a closed port "succeeds", and only a connected UDP socket ever
//! hears the ICMP "port unreachable" that came back. Then the time to a first
//! reply: TCP pays for the handshake, UDP does not.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::{Ctx, Row, closed_port, percentiles, short, tcp_echo, udp_echo};

const ROUNDS: usize = 200;

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    cx.note("TCP: connect() to a loopback port where nothing listens");
    let closed = closed_port(false)?;
    let started = Instant::now();
    let refused = match TcpStream::connect(closed) {
        Ok(_) => bail!("something answered on {closed}, which should be closed"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => started.elapsed(),
        Err(e) => bail!("connect to {closed}: {e}"),
    };
    cx.measured("tcp_refused_us", refused.as_micros() as f64, "µs");
    cx.note(&format!(
        "refused after {}: the host answered the SYN with RST",
        short(refused)
    ));

    cx.note("UDP: send() to a closed port, from an unconnected socket");
    let closed = closed_port(true)?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let send_failed = socket.send_to(b"anyone there?", closed).is_err();
    cx.measured("udp_send_error", f64::from(u8::from(send_failed)), "bool");
    cx.note("send() returned Ok: nothing was asked, nothing was answered");
    let connected = UdpSocket::bind("127.0.0.1:0")?;
    connected.connect(closed)?;
    connected.set_read_timeout(Some(Duration::from_secs(1)))?;
    let started = Instant::now();
    connected.send(b"anyone there?")?;
    let mut buf = [0u8; 64];
    let icmp = match connected.recv(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(started.elapsed()),
        _ => None,
    };
    let icmp_line = match icmp {
        Some(d) => {
            cx.measured("udp_icmp_us", d.as_micros() as f64, "µs");
            format!(
                "a connected socket heard ICMP \"port unreachable\" after {}",
                short(d)
            )
        }
        None => "no ICMP answer came back (a firewall may drop them)".to_string(),
    };
    cx.note(&icmp_line);

    cx.note(&format!(
        "time to a first reply, {ROUNDS} times each, against echo servers"
    ));
    let tcp_server = tcp_echo()?;
    let udp_server = udp_echo()?;
    let mut tcp = Vec::with_capacity(ROUNDS);
    let mut udp = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut s = TcpStream::connect(tcp_server)?;
        s.set_nodelay(true)?;
        s.write_all(b"ping")?;
        s.read_exact(&mut buf[..4])?;
        tcp.push(started.elapsed());
        let u = UdpSocket::bind("127.0.0.1:0")?;
        u.set_read_timeout(Some(Duration::from_secs(1)))?;
        let started = Instant::now();
        u.send_to(b"ping", udp_server)?;
        u.recv(&mut buf)?;
        udp.push(started.elapsed());
    }
    let (tcp_first, _) = percentiles(tcp);
    let (udp_first, _) = percentiles(udp);
    cx.measured("tcp_first_reply_us", tcp_first.as_micros() as f64, "µs");
    cx.measured("udp_first_reply_us", udp_first.as_micros() as f64, "µs");
    Ok(Row {
        name: "setup",
        tcp: vec![
            format!("connect() to a closed port: refused after {}", short(refused)),
            format!("first reply (connect + request + reply): median {} of {ROUNDS}", short(tcp_first)),
        ],
        udp: vec![
            format!("send() to a closed port: {}", if send_failed { "failed" } else { "returned Ok" }),
            icmp_line,
            format!("first reply (request + reply): median {} of {ROUNDS}", short(udp_first)),
        ],
        why: "TCP sets up a connection first (the handshake costs a round trip, and a refusal is immediate); UDP just sends, and only ICMP can say that nobody was there".into(),
    })
}
