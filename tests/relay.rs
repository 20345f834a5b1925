//! `socklab relay`: deterministic impairment of UDP, intact TCP streams
//! however they are cut, many peers at once, and clear refusals.

mod util;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use socklab::relay::fate::{Dir, Fate, Impairment};
use util::{Proc, random_bytes, sha256};

/// Starts a relay in front of `target` and returns it with its port.
fn relay(target: u16, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["relay".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("0".into());
    args.push(format!("127.0.0.1:{target}"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut r = Proc::socklab(&args);
    let port = r.port();
    if !extra.contains(&"--udp") {
        r.wait_for("listen");
    }
    (r, port)
}

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

fn tcp_integrity(flags: &[&str], size: usize) {
    let data = random_bytes(size, 99);
    let (mut sink, sink_port) = Proc::server("listen", &["-q"]);
    sink.close_stdin();
    let (_relay, port) = relay(sink_port, flags);
    let mut args = vec!["-q", "connect", "127.0.0.1"];
    let p = port.to_string();
    args.push(&p);
    let mut c = Proc::socklab(&args);
    c.feed(data.clone());
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    let sink = sink.finish();
    assert_eq!(sink.code(), 0, "{}", sink.stderr);
    assert_eq!(
        sha256(&sink.stdout),
        sha256(&data),
        "{flags:?}: bytes changed on the way"
    );
}

#[test]
fn sixty_four_mib_through_slicing_arrive_intact() {
    tcp_integrity(&["-q", "--slice", "1000"], 64 << 20);
}

#[test]
fn sixty_four_mib_through_coalescing_arrive_intact() {
    tcp_integrity(&["-q", "--coalesce", "5ms"], 64 << 20);
}

#[test]
fn delayed_tcp_chunks_keep_their_order() {
    tcp_integrity(&["-q", "--delay", "2ms±2ms", "--seed", "3"], 4 << 20);
}

#[test]
fn slice_one_really_writes_one_byte_at_a_time() {
    let (mut sink, sink_port) = Proc::server("listen", &["--proto", "raw"]);
    sink.close_stdin();
    let (relay, port) = relay(sink_port, &["--slice", "1"]);
    let mut c = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    c.write(b"<message><body>hi</body></message>");
    c.close_stdin();
    c.finish();
    let sink = sink.finish();
    assert_eq!(sink.stdout_text(), "<message><body>hi</body></message>");
    let relay = relay.kill();
    let writes: Vec<u64> = relay
        .events
        .iter()
        .filter(|e| e["step"] == "write" && e["side"] == "client")
        .filter_map(|e| e["n"].as_u64())
        .collect();
    assert!(
        !writes.is_empty() && writes.iter().all(|&n| n == 1),
        "{writes:?}"
    );
}

#[test]
fn half_close_passes_through_the_relay() {
    let (_echo, echo_port) = Proc::server("listen", &["--echo"]);
    let (_relay, port) = relay(echo_port, &[]);
    let mut c = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    c.write(b"round trip\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "round trip\n");
}

#[test]
fn many_tcp_clients_at_once() {
    let (_echo, echo_port) = Proc::server("listen", &["-k", "--echo"]);
    let (_relay, port) = relay(echo_port, &["-q"]);
    let streams: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    for (i, mut s) in streams.iter().enumerate() {
        s.write_all(format!("client {i}\n").as_bytes())
            .expect("write");
    }
    for (i, mut s) in streams.into_iter().enumerate() {
        s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
        s.shutdown(std::net::Shutdown::Write).expect("FIN");
        let mut back = String::new();
        s.read_to_string(&mut back).expect("read");
        assert_eq!(back, format!("client {i}\n"));
    }
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
fn bad_values_are_refused_with_reasons() {
    for (args, says) in [
        (
            &["relay", "--udp", "--loss", "130%", "0", "127.0.0.1:9"][..],
            "between 0% and 100%",
        ),
        (
            &["relay", "--udp", "--delay", "-5ms", "0", "127.0.0.1:9"][..],
            "cannot be negative",
        ),
        (
            &["relay", "--udp", "--loss", "-5%", "0", "127.0.0.1:9"][..],
            "between 0% and 100%",
        ),
        (
            &["relay", "--loss", "5%", "0", "127.0.0.1:9"][..],
            "need --udp",
        ),
        (
            &["relay", "--udp", "--slice", "1", "0", "127.0.0.1:9"][..],
            "never cut or merged",
        ),
        (&["relay", "0", "127.0.0.1:0"][..], "real port"),
        (&["relay", "0", "127.0.0.1"][..], "which port"),
    ] {
        let mut cmd = std::process::Command::new(util::bin());
        cmd.args(args);
        let f = util::run("relay", cmd);
        assert_eq!(f.code(), 2, "{args:?}: {}", f.stderr);
        assert!(
            f.stderr.contains(says),
            "{args:?} should say {says:?}: {}",
            f.stderr
        );
    }
}
