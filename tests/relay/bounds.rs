//! A fast sender must not make the relay buffer without bound: bytes held for
//! `--delay` or gathered for `--coalesce` count against the same limit as
//! bytes waiting to be written, and a UDP delay queue that is full drops
//! datagrams, narrated. Regression tests for issue item 11.
//!
//! Memory is read from /proc/PID/status: VmHWM is the peak of the process's
//! resident set, so no sampling can miss a spike.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;

use crate::util::{DEADLINE, random_bytes};
use crate::{narrated, relay};

/// The most memory the process has held at once, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024
}

/// Block `i` of a flood: the same random MiB, numbered, so that a lost,
/// repeated or reordered block cannot go unnoticed.
fn block(random: &[u8], i: u64) -> Vec<u8> {
    let mut b = random.to_vec();
    b[..8].copy_from_slice(&i.to_le_bytes());
    b
}

/// Streams `mib` MiB as fast as the relay takes them, through a relay with
/// `flags`, to a sink in this process that checks every block. Returns the
/// relay's peak memory and its events.
fn tcp_flood(flags: &[&str], mib: u64) -> (u64, Vec<serde_json::Value>) {
    let random = random_bytes(1 << 20, 5);
    let sink = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sink_port = sink.local_addr().expect("addr").port();
    let expected = random.clone();
    let received = thread::spawn(move || {
        let (mut s, _) = sink.accept().expect("accept");
        s.set_read_timeout(Some(DEADLINE)).expect("timeout");
        let mut buf = vec![0; 1 << 20];
        for i in 0..mib {
            s.read_exact(&mut buf).expect("every block arrives");
            assert!(buf == block(&expected, i), "block {i} changed on the way");
        }
        assert_eq!(s.read(&mut buf).expect("FIN"), 0, "nothing more than sent");
    });
    let (relay, port) = relay(sink_port, flags);
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    for i in 0..mib {
        c.write_all(&block(&random, i))
            .expect("the relay takes every byte");
    }
    c.shutdown(std::net::Shutdown::Write).expect("FIN");
    received.join().expect("every byte arrives intact");
    let peak = peak_rss_mib(relay.pid());
    (peak, relay.kill().events)
}

#[test]
fn a_fast_sender_through_coalesce_keeps_the_relay_small() {
    let (peak, events) = tcp_flood(&["--coalesce", "1s"], 200);
    assert!(peak < 64, "the relay held {peak} MiB at its peak");
    assert!(
        narrated(&events, "coalesced"),
        "the gathered bytes went out as coalesced writes"
    );
}

#[test]
fn a_fast_sender_through_delay_keeps_the_relay_small() {
    let (peak, events) = tcp_flood(&["--delay", "200ms"], 96);
    assert!(peak < 48, "the relay held {peak} MiB at its peak");
    assert!(narrated(&events, "delayed"));
}

#[test]
fn a_udp_flood_through_delay_is_bounded_and_its_drops_narrated() {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sink.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let sink_port = sink.local_addr().expect("addr").port();
    let (mut relay, port) = relay(sink_port, &["--udp", "--delay", "1s"]);
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client.connect(("127.0.0.1", port)).expect("connect");
    // 200 MiB in 32 KiB datagrams, as fast as the kernel takes them: far
    // more than a second's worth of delay line can reasonably hold.
    let datagram = random_bytes(32 << 10, 8);
    // Bursts until the relay says it dropped: on a loaded machine the
    // kernel drops some of each burst before the relay reads it, so how
    // many it takes varies; the deadline bounds it.
    let started = std::time::Instant::now();
    loop {
        for _ in 0..640 {
            // A full socket buffer (ENOBUFS/EAGAIN) is UDP being UDP.
            let _ = client.send(&datagram);
        }
        relay.drain();
        if narrated(&relay.seen, "dropped: delay queue full") {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no narrated drop within {DEADLINE:?}"
        );
    }
    relay.wait_until("the queue draining", |evs| narrated(evs, "room again"));
    let peak = peak_rss_mib(relay.pid());
    assert!(peak < 64, "the relay held {peak} MiB at its peak");
    // The relay goes on: a datagram after the flood is delayed, not
    // dropped, and arrives. (Stray flood datagrams may still be in the
    // relay's socket buffer and fill the queue again: then send again.)
    let mut seen = relay.seen.len();
    loop {
        client.send(b"after the flood").expect("send");
        relay.wait_until("the fate of the last datagram", |evs| {
            evs[seen..]
                .iter()
                .any(|e| e["step"] == "relay" && e["n"] == 15)
        });
        let fate = relay.seen[seen..]
            .iter()
            .find(|e| e["step"] == "relay" && e["n"] == 15)
            .map(|e| e["fate"].clone());
        if fate.is_some_and(|f| f == "delayed") {
            break;
        }
        seen = relay.seen.len();
    }
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = sink.recv(&mut buf).expect("the last datagram arrives");
        if &buf[..n] == b"after the flood" {
            break;
        }
    }
}
