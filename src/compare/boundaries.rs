//! Message boundaries. Three writes of 100 bytes: over TCP the receiver's
//! reads come in whatever pieces the stream delivered (with Nagle's
//! algorithm the second and third writes usually wait for the first one's
//! ACK and travel together); over UDP, three datagrams are three recv()s of
//! 100 bytes, always.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

use super::{Ctx, Row};

const WRITE: usize = 100;

/// The sizes of the reads that received three 100-byte writes.
fn tcp_reads(nodelay: bool) -> anyhow::Result<Vec<usize>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let receiver = thread::spawn(move || -> std::io::Result<Vec<usize>> {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut sizes = Vec::new();
        let mut buf = [0u8; 4096];
        while sizes.iter().sum::<usize>() < 3 * WRITE {
            match s.read(&mut buf)? {
                0 => break,
                n => sizes.push(n),
            }
        }
        Ok(sizes)
    });
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(nodelay)?;
    for _ in 0..3 {
        s.write_all(&[b'x'; WRITE])?;
    }
    receiver
        .join()
        .map_err(|_| anyhow::anyhow!("the receiver thread failed"))?
        .map_err(Into::into)
}

fn udp_recvs() -> anyhow::Result<Vec<usize>> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_secs(2)))?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    for _ in 0..3 {
        sender.send_to(&[b'x'; WRITE], receiver.local_addr()?)?;
    }
    let mut buf = [0u8; 4096];
    (0..3).map(|_| Ok(receiver.recv(&mut buf)?)).collect()
}

fn sizes(v: &[usize]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    cx.note("TCP: three write() calls of 100 bytes, Nagle's algorithm on (the default)");
    let nagle = tcp_reads(false)?;
    cx.note(&format!("the receiver's reads: {} bytes", sizes(&nagle)));
    cx.note("TCP again, with TCP_NODELAY (each write sent at once)");
    let nodelay = tcp_reads(true)?;
    cx.note(&format!("the receiver's reads: {} bytes", sizes(&nodelay)));
    cx.note("UDP: three send() calls of 100 bytes");
    let udp = udp_recvs()?;
    cx.note(&format!(
        "the receiver's recv() calls: {} bytes",
        sizes(&udp)
    ));
    cx.measured("tcp_reads_nagle", nagle.len() as f64, "reads");
    cx.measured("tcp_reads_nodelay", nodelay.len() as f64, "reads");
    cx.measured("udp_recvs", udp.len() as f64, "recvs");
    Ok(Row {
        name: "boundaries",
        tcp: vec![
            format!("3 writes of 100 B, Nagle on: read as {} bytes", sizes(&nagle)),
            format!("3 writes of 100 B, TCP_NODELAY: read as {} bytes", sizes(&nodelay)),
        ],
        udp: vec![format!("3 sends of 100 B: {} recv() calls of {} bytes", udp.len(), sizes(&udp))],
        why: "TCP is a byte stream: writes are not messages, and the reader gets whatever has arrived; UDP keeps each datagram whole and separate".into(),
    })
}
