//! Latency and throughput, the same payloads over both: ping-pong round trips
//! (p50 and p99) against an echo server, and bulk transfer rate. On loopback
//! there is no network to be slow, so the differences are the protocols' own
//! cost in the kernel.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use super::{Ctx, Row, percentiles, short, tcp_echo, udp_echo};

const PINGS: usize = 2000;
const PING: usize = 64;
const BULK: usize = 256 << 20;
const DATAGRAM: usize = 1472;

fn mib_per_s(bytes: usize, d: Duration) -> f64 {
    (bytes as f64 / (1 << 20) as f64 / d.as_secs_f64() * 10.0).round() / 10.0
}

/// The explanation, written from what this run measured: on loopback the
/// round trips are close, and either may win.
fn why(udp_quicker: bool, tcp_more: bool) -> String {
    let latency = if udp_quicker {
        "UDP's round trip was the shorter here: it does less per message (no acknowledgement, no ordering)"
    } else {
        "TCP's round trip was as short or shorter here: once a connection is set up, a small message costs it little more than UDP (the handshake was paid once)"
    };
    let bulk = if tcp_more {
        "in bulk TCP moved more, with large segments and flow control, and lost nothing"
    } else {
        "in bulk UDP moved more this time, but only by sending without waiting, and it may lose"
    };
    format!("{latency}; {bulk}")
}

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    cx.note(&format!(
        "ping-pong: {PINGS} round trips of {PING} bytes each, TCP (TCP_NODELAY) and UDP"
    ));
    let mut buf = vec![0u8; 64 * 1024];
    let mut s = TcpStream::connect(tcp_echo()?)?;
    s.set_nodelay(true)?;
    let mut tcp = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let started = Instant::now();
        s.write_all(&[b'p'; PING])?;
        s.read_exact(&mut buf[..PING])?;
        tcp.push(started.elapsed());
    }
    let u = UdpSocket::bind("127.0.0.1:0")?;
    u.connect(udp_echo()?)?;
    u.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut udp = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let started = Instant::now();
        u.send(&[b'p'; PING])?;
        u.recv(&mut buf)?;
        udp.push(started.elapsed());
    }
    let (tcp50, tcp99) = percentiles(tcp);
    let (udp50, udp99) = percentiles(udp);
    cx.measured("tcp_rtt_p50_us", tcp50.as_micros() as f64, "µs");
    cx.measured("tcp_rtt_p99_us", tcp99.as_micros() as f64, "µs");
    cx.measured("udp_rtt_p50_us", udp50.as_micros() as f64, "µs");
    cx.measured("udp_rtt_p99_us", udp99.as_micros() as f64, "µs");

    cx.note(&format!("bulk: {} MiB over TCP", BULK >> 20));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = thread::spawn(move || -> std::io::Result<usize> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    });
    let started = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    let chunk = vec![b'b'; 1 << 20];
    for _ in 0..(BULK >> 20) {
        s.write_all(&chunk)?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader failed"))??;
    let tcp_rate = mib_per_s(got, started.elapsed());
    cx.measured("tcp_bulk_mib_s", tcp_rate, "MiB/s");

    let count = BULK / DATAGRAM / 4;
    cx.note(&format!(
        "bulk: {count} datagrams of {DATAGRAM} bytes over UDP, as fast as send() goes"
    ));
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    let _ = socket2::SockRef::from(&receiver).set_recv_buffer_size(8 << 20);
    receiver.set_read_timeout(Some(Duration::from_millis(200)))?;
    let target = receiver.local_addr()?;
    let counter = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0usize;
        let mut last = Instant::now();
        while receiver.recv(&mut buf).is_ok() {
            n += 1;
            last = Instant::now();
        }
        (n, last)
    });
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    sender.connect(target)?;
    let datagram = [b'u'; DATAGRAM];
    let started = Instant::now();
    for _ in 0..count {
        sender.send(&datagram)?;
    }
    let (received, last) = counter
        .join()
        .map_err(|_| anyhow::anyhow!("counter failed"))?;
    let udp_rate = mib_per_s(received * DATAGRAM, last.saturating_duration_since(started));
    let lost = 100.0 * (count - received) as f64 / count as f64;
    cx.measured("udp_bulk_mib_s", udp_rate, "MiB/s");
    cx.measured("udp_bulk_lost_pct", (lost * 10.0).round() / 10.0, "%");
    Ok(Row {
        name: "speed",
        tcp: vec![
            format!("round trip: p50 {}, p99 {}", short(tcp50), short(tcp99)),
            format!("bulk: {tcp_rate} MiB/s, everything delivered"),
        ],
        udp: vec![
            format!("round trip: p50 {}, p99 {}", short(udp50), short(udp99)),
            format!(
                "bulk: {udp_rate} MiB/s delivered, {:.1}% of datagrams lost",
                (lost * 10.0).round() / 10.0
            ),
        ],
        why: why(udp50 < tcp50, tcp_rate > udp_rate),
    })
}
