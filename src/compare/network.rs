//! A bad network, simulated by `socklab relay` in this process: UDP through a
//! relay that loses, duplicates and reorders datagrams with a fixed seed
//! shows exactly which ones were hit (and it is the set the seed predicts);
//! the same messages over TCP, through a relay that delays and slices the
//! stream, arrive complete and in order.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

use crate::relay::fate::{Dir, Fate, Impairment};
use crate::relay::tcp::{TcpOptions, TcpRelay};
use crate::relay::udp::UdpRelay;
use crate::trace::Tracer;

use super::{Ctx, Row};

const COUNT: u64 = 500;

fn impairment() -> Impairment {
    Impairment {
        loss: 0.10,
        dup: 0.03,
        reorder: 0.05,
        seed: 7,
        ..Impairment::default()
    }
}

/// Runs a relay in a thread for the rest of the process.
fn udp_relay(target: SocketAddr, imp: Impairment) -> anyhow::Result<SocketAddr> {
    let socket = mio::net::UdpSocket::bind("127.0.0.1:0".parse()?)?;
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
    let addr = socket.local_addr()?;
    thread::spawn(move || {
        let mut t = Tracer::silent();
        if let Ok(relay) = UdpRelay::new(&mut t, socket, target, imp, Duration::from_secs(60)) {
            let _ = relay.run();
        }
    });
    Ok(addr)
}

fn tcp_relay(target: SocketAddr, opts: TcpOptions) -> anyhow::Result<SocketAddr> {
    let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse()?)?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        let mut t = Tracer::silent();
        if let Ok(relay) = TcpRelay::new(&mut t, listener, target, opts) {
            let _ = relay.run();
        }
    });
    Ok(addr)
}

/// Lost, duplicated and out-of-order datagram numbers in what arrived.
pub fn analyse(got: &[u64], count: u64) -> (Vec<u64>, Vec<u64>, usize) {
    let lost = (1..=count).filter(|i| !got.contains(i)).collect();
    let mut seen = std::collections::BTreeMap::new();
    got.iter().for_each(|i| *seen.entry(*i).or_insert(0) += 1);
    let dups = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, _)| *i)
        .collect();
    let reordered = got.windows(2).filter(|w| w[1] < w[0]).count();
    (lost, dups, reordered)
}

fn numbers(v: &[u64]) -> String {
    let shown: Vec<String> = v.iter().take(12).map(|n| format!("#{n}")).collect();
    let more = if v.len() > 12 {
        format!(" and {} more", v.len() - 12)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(" "))
}

pub fn run(cx: &mut Ctx) -> anyhow::Result<Row> {
    let imp = impairment();
    cx.note(&format!(
        "UDP: {COUNT} numbered datagrams through a relay with loss 10%, dup 3%, reorder 5%, seed 7"
    ));
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_millis(400)))?;
    // Big buffers and a paced sender: the only losses here should be the
    // ones the relay decides, not a socket buffer overflowing (that is the
    // pressure experiment).
    let _ = socket2::SockRef::from(&receiver).set_recv_buffer_size(4 << 20);
    let relay = udp_relay(receiver.local_addr()?, imp)?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    sender.connect(relay)?;
    for i in 1..=COUNT {
        sender.send(&i.to_be_bytes())?;
        if i % 20 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(n) = receiver.recv(&mut buf) {
        if let Ok(bytes) = <[u8; 8]>::try_from(&buf[..n]) {
            got.push(u64::from_be_bytes(bytes));
        }
    }
    let (lost, dups, reordered) = analyse(&got, COUNT);
    let predicted: Vec<u64> = (1..=COUNT)
        .filter(|i| imp.fate(Dir::Up, *i) == Fate::Drop)
        .collect();
    let as_predicted = lost == predicted;
    cx.measured("udp_received", got.len() as f64, "datagrams");
    cx.measured("udp_lost", lost.len() as f64, "datagrams");
    cx.measured("udp_duplicated", dups.len() as f64, "datagrams");
    cx.measured("udp_out_of_order", reordered as f64, "places");
    cx.measured(
        "udp_lost_as_predicted",
        f64::from(u8::from(as_predicted)),
        "bool",
    );
    cx.note(&format!("lost {}", numbers(&lost)));

    cx.note(&format!("TCP: {COUNT} numbered lines through a relay that delays (1 ms ± 1 ms) and slices (7 bytes) the stream"));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let target = listener.local_addr()?;
    let reader = thread::spawn(move || -> std::io::Result<Vec<u64>> {
        let (s, _) = listener.accept()?;
        BufReader::new(s)
            .lines()
            .map(|l| l.map(|l| l.trim().parse().unwrap_or(0)))
            .collect()
    });
    let opts = TcpOptions {
        slice: Some(7),
        coalesce: None,
        impairment: Impairment {
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(1),
            seed: 7,
            ..Impairment::default()
        },
    };
    let relay = tcp_relay(target, opts)?;
    let mut s = TcpStream::connect(relay)?;
    for i in 1..=COUNT {
        s.write_all(format!("{i}\n").as_bytes())?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let lines = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader failed"))??;
    let in_order = lines == (1..=COUNT).collect::<Vec<_>>();
    cx.measured("tcp_received", lines.len() as f64, "messages");
    cx.measured("tcp_in_order", f64::from(u8::from(in_order)), "bool");
    Ok(Row {
        name: "network",
        tcp: vec![format!(
            "{} of {COUNT} messages through a delaying, slicing relay, {}",
            lines.len(),
            if in_order { "complete and in order" } else { "NOT in order" }
        )],
        udp: vec![
            format!("{} of {COUNT} arrived; lost {}", got.len(), numbers(&lost)),
            format!("duplicated {}; {reordered} arrived before an earlier one", if dups.is_empty() { "none".into() } else { numbers(&dups) }),
            format!("the lost set is {} the seed predicts", if as_predicted { "exactly the one" } else { "NOT the one" }),
        ],
        why: "UDP delivers what the network delivers; TCP numbers every byte, acknowledges, resends and reorders, so the application sees the stream as it was sent".into(),
    })
}
