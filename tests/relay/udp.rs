//! UDP through the relay: deterministic impairment, one session per peer.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use socklab::relay::fate::{Dir, Fate, Impairment};

use crate::relay;
use crate::util::{self, Proc};

/// Sends datagrams "1".."n" through a UDP relay with these flags to a plain
/// socket, and returns what arrived, in arrival order.
fn udp_through(flags: &[&str], n: u64) -> Vec<u64> {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sink.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut args = vec!["--udp"];
    args.extend_from_slice(flags);
    let (mut r, port) = relay(sink.local_addr().expect("addr").port(), &args);
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client.connect(("127.0.0.1", port)).expect("connect");
    for i in 1..=n {
        client.send(i.to_string().as_bytes()).expect("send");
    }
    // Every fate is narrated once a datagram is through the relay (held ones
    // when released), so this waits for the relay to have finished with all.
    r.wait_until("every datagram decided", |evs| {
        let decided = evs
            .iter()
            .filter(|e| e["step"] == "relay" && e["fate"] != "held back, to go after the next one")
            .count();
        decided as u64 >= n
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(k) = sink.recv(&mut buf) {
        got.push(
            std::str::from_utf8(&buf[..k])
                .expect("utf-8")
                .parse()
                .expect("number"),
        );
    }
    got
}

#[test]
fn udp_impairment_is_deterministic_and_matches_the_prediction() {
    let flags = ["--loss", "30%", "--dup", "10%", "--seed", "42"];
    let first = udp_through(&flags, 200);
    let second = udp_through(&flags, 200);
    assert_eq!(
        first, second,
        "the same seed must do the same thing every time"
    );
    // The library's fate function predicts exactly what was delivered.
    let imp = Impairment {
        loss: 0.3,
        dup: 0.1,
        seed: 42,
        ..Impairment::default()
    };
    let mut predicted = Vec::new();
    for i in 1..=200u64 {
        match imp.fate(Dir::Up, i) {
            Fate::Drop => {}
            Fate::Deliver { copies, .. } => {
                predicted.extend(std::iter::repeat_n(i, copies as usize))
            }
        }
    }
    assert_eq!(first, predicted);
    assert!(first.len() < 200, "30% loss lost something");
    let other_seed = udp_through(&["--loss", "30%", "--dup", "10%", "--seed", "43"], 200);
    assert_ne!(first, other_seed);
}

#[test]
fn reordering_swaps_neighbours() {
    let got = udp_through(&["--reorder", "20%", "--seed", "9"], 100);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=100).collect::<Vec<_>>(),
        "nothing lost or added"
    );
    assert_ne!(got, sorted, "some datagrams came out of order");
}

#[test]
fn many_udp_peers_each_get_their_own_replies() {
    let (_echo, echo_port) = Proc::server("recv", &["--echo"]);
    let (_relay, port) = relay(echo_port, &["--udp", "-q"]);
    let peers: Vec<UdpSocket> = (0..20)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    for (i, p) in peers.iter().enumerate() {
        p.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
        p.send_to(format!("peer {i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    let mut answers = BTreeMap::new();
    for (i, p) in peers.iter().enumerate() {
        let mut buf = [0u8; 64];
        let n = p.recv(&mut buf).expect("a reply for each peer");
        answers.insert(i, String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        answers.iter().all(|(i, a)| *a == format!("peer {i}")),
        "{answers:?}"
    );
}

#[test]
fn empty_and_largest_datagrams_pass_and_an_unreachable_target_is_narrated() {
    let echo = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let echo_port = echo.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut buf = vec![0; 65_536];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    let (_relay, port) = relay(echo_port, &["--udp", "-q"]);
    let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
    peer.set_read_timeout(Some(util::DEADLINE))
        .expect("timeout");
    let mut buf = vec![0; 65_536];
    // 65,507 bytes: 65,535 minus the IPv4 and UDP headers, the most one
    // datagram can carry.
    for size in [0, 1, 65_507] {
        let data = util::random_bytes(size, size as u64);
        peer.send_to(&data, ("127.0.0.1", port)).expect("send");
        let n = peer.recv(&mut buf).expect("the echo comes back");
        assert_eq!(&buf[..n], &data[..], "a {size}-byte datagram, whole");
    }

    // Nobody listens on the target: the kernel answers with ICMP, which a
    // connected session socket reports as ECONNREFUSED. The relay says so
    // and stays up for the next datagram.
    let gone = util::free_udp_port();
    let (mut lost, port) = relay(gone, &["--udp"]);
    for round in 1..=2 {
        peer.send_to(b"anyone?", ("127.0.0.1", port)).expect("send");
        lost.wait_until("the unreachable port, narrated", |evs| {
            evs.iter()
                .filter(|e| e["kind"] == "port_unreachable")
                .count()
                >= round
        });
    }
}
