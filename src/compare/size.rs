//! Size. A UDP datagram travels in one IP packet of at most 65,535 bytes, so
//! its payload is at most 65,507 bytes over IPv4 (20 bytes of IP header and 8
//! of UDP header) and 65,527 over IPv6 (whose length field leaves out its
//! 40-byte header); one byte more and send() fails with EMSGSIZE. TCP has no
//! message size at all: 10 MiB in one write simply arrives, in many reads.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use super::{Ctx, Row, short, thousands};

/// Sends `ok` and `ok + 1` bytes on `ip`: did the first arrive, and was the
/// second refused with EMSGSIZE? `None` when the family is unavailable.
fn limit(ip: std::net::IpAddr, ok: usize) -> anyhow::Result<Option<(bool, bool)>> {
    let Ok(receiver) = UdpSocket::bind(SocketAddr::new(ip, 0)) else {
        return Ok(None);
    };
    receiver.set_read_timeout(Some(Duration::from_secs(2)))?;
    let sender = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    sender.connect(receiver.local_addr()?)?;
    sender.send(&vec![b'u'; ok])?;
    let mut buf = vec![0u8; 65_536];
    let arrived = receiver.recv(&mut buf)? == ok;
    let refused = matches!(sender.send(&vec![b'u'; ok + 1]), Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE));
    Ok(Some((arrived, refused)))
}

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    cx.note("UDP over IPv4: a 65,507-byte datagram, then 65,508");
    let v4 = limit(Ipv4Addr::LOCALHOST.into(), 65_507)?;
    cx.note("UDP over IPv6: a 65,527-byte datagram, then 65,528");
    let v6 = limit(Ipv6Addr::LOCALHOST.into(), 65_527)?;
    let describe = |r: Option<(bool, bool)>, ok: usize| match r {
        None => "not available on this machine".to_string(),
        Some((arrived, refused)) => format!(
            "{} bytes {}; {} bytes {}",
            thousands(ok),
            if arrived {
                "arrived whole"
            } else {
                "did NOT arrive"
            },
            thousands(ok + 1),
            if refused {
                "refused: EMSGSIZE"
            } else {
                "were NOT refused"
            }
        ),
    };
    if let Some((arrived, refused)) = v4 {
        cx.measured(
            "udp_max_ipv4",
            if arrived && refused { 65_507.0 } else { 0.0 },
            "bytes",
        );
    }
    if let Some((arrived, refused)) = v6 {
        cx.measured(
            "udp_max_ipv6",
            if arrived && refused { 65_527.0 } else { 0.0 },
            "bytes",
        );
    }

    cx.note("TCP: one write() of 10 MiB");
    const BIG: usize = 10 << 20;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let receiver = thread::spawn(move || -> std::io::Result<(usize, usize)> {
        let (mut s, _) = listener.accept()?;
        let (mut total, mut reads) = (0, 0);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match s.read(&mut buf)? {
                0 => return Ok((total, reads)),
                n => (total, reads) = (total + n, reads + 1),
            }
        }
    });
    let started = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    s.write_all(&vec![b't'; BIG])?;
    s.shutdown(std::net::Shutdown::Write)?;
    let (total, reads) = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver failed"))??;
    let took = started.elapsed();
    cx.measured("tcp_big_bytes", total as f64, "bytes");
    cx.measured("tcp_big_reads", reads as f64, "reads");
    Ok(Row {
        name: "size",
        tcp: vec![format!("one write of 10 MiB: {} bytes arrived, in {reads} reads, in {}", thousands(total), short(took))],
        udp: vec![format!("IPv4: {}", describe(v4, 65_507)), format!("IPv6: {}", describe(v6, 65_527))],
        why: "a datagram must fit one IP packet (65,535 bytes with headers); a TCP stream has no messages, so no message size".into(),
    })
}
