//! Loss under pressure, on the real kernel: a receiver with a small receive
//! buffer that is not reading yet. A burst of UDP datagrams overflows the
//! buffer and the kernel drops the rest, silently; the same burst over TCP
//! is all delivered, because flow control holds the sender back (its writes
//! block) until the receiver reads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::{Ctx, Row, short, thousands};

const COUNT: usize = 1000;
const SIZE: usize = 1000;
/// How long the TCP receiver waits before reading: the sender's wait.
const STALL: Duration = Duration::from_millis(200);
/// Receive buffer asked for: room for a few dozen of the datagrams.
const RCVBUF: usize = 64 * 1024;

/// A socket with a small receive buffer (the kernel doubles the request for
/// its own bookkeeping, and says so when asked).
fn small_buffer(ty: Type) -> std::io::Result<(Socket, usize)> {
    let socket = Socket::new(Domain::IPV4, ty, None)?;
    socket.set_recv_buffer_size(RCVBUF)?;
    let actual = socket.recv_buffer_size()?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    Ok((socket, actual))
}

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    let (socket, rcvbuf) = small_buffer(Type::DGRAM)?;
    let receiver: UdpSocket = socket.into();
    cx.measured("rcvbuf", rcvbuf as f64, "bytes");
    cx.note(&format!("UDP: {COUNT} datagrams of {SIZE} bytes into a receiver with a {rcvbuf}-byte buffer that is not reading"));
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    sender.connect(receiver.local_addr()?)?;
    for i in 0..COUNT {
        let mut d = vec![b'p'; SIZE];
        d[..8].copy_from_slice(&(i as u64).to_be_bytes());
        sender.send(&d)?;
    }
    receiver.set_nonblocking(true)?;
    let mut buf = [0u8; 2048];
    let mut received = 0;
    while receiver.recv(&mut buf).is_ok() {
        received += 1;
    }
    cx.measured("udp_sent", COUNT as f64, "datagrams");
    cx.measured("udp_received", received as f64, "datagrams");
    cx.measured("udp_dropped", (COUNT - received) as f64, "datagrams");
    cx.note(&format!(
        "the receiver then read {received}: the kernel dropped {} without telling anyone",
        COUNT - received
    ));

    cx.note(&format!(
        "TCP: the same {} bytes to a receiver that waits {} ms before reading",
        COUNT * SIZE,
        STALL.as_millis()
    ));
    let (socket, _) = small_buffer(Type::STREAM)?;
    socket.listen(1)?;
    let listener: std::net::TcpListener = socket.into();
    let addr = listener.local_addr()?;
    let reader = thread::spawn(move || -> std::io::Result<usize> {
        let (mut s, _) = listener.accept()?;
        // The stall is the experiment: a receiver busy elsewhere.
        thread::sleep(STALL);
        let mut total = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    });
    // The sender's buffer is small too, or the kernel would simply take the
    // whole megabyte into it and the wait would not show.
    let sender = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    sender.set_send_buffer_size(4096)?;
    sender.connect(&addr.into())?;
    let mut s: TcpStream = sender.into();
    let started = Instant::now();
    s.write_all(&vec![b'p'; COUNT * SIZE])?;
    let held = started.elapsed();
    s.shutdown(std::net::Shutdown::Write)?;
    let delivered = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader failed"))??;
    cx.measured("tcp_delivered", delivered as f64, "bytes");
    cx.measured("tcp_held_ms", held.as_millis() as f64, "ms");
    Ok(Row {
        name: "pressure",
        tcp: vec![format!(
            "{} of {} bytes delivered; the sender's writes were held back {} by flow control",
            thousands(delivered),
            thousands(COUNT * SIZE),
            short(held)
        )],
        udp: vec![format!(
            "{received} of {} datagrams delivered; {} dropped by the receiver's kernel ({}-byte buffer full)",
            thousands(COUNT),
            COUNT - received,
            thousands(rcvbuf)
        )],
        why: "TCP's receiver advertises how much room it has, and the sender waits; a UDP sender never hears, so what does not fit is dropped".into(),
    })
}
