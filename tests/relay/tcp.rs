//! TCP through the relay: streams arrive intact however they are cut, FIN
//! passes through, many clients at once, and bad flags are refused.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::relay;
use crate::util::{self, Proc, random_bytes, sha256};

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
