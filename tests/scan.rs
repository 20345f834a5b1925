//! `socklab scan` and nc's spelling `connect -z`: a connect scan against
//! loopback only. Every port scanned belongs to the test: a listener of its
//! own, or a socket it bound without listening (so nobody else can listen
//! there, and a SYN to it is answered with RST), so the scan never touches
//! another program's port.

mod util;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use util::{Finished, Proc};

/// `n` consecutive loopback ports, each bound by a socket of ours; those
/// at the indexes in `listening` listen.
fn ports(n: u16, listening: &[u16]) -> (u16, Vec<Socket>) {
    // Tests run in parallel in one process: each call starts elsewhere.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let call = CALLS.fetch_add(1, Ordering::SeqCst);
    let mut last = String::new();
    'base: for attempt in 0..200u32 {
        let spread = (std::process::id() % 997) * 20 + call * 611 + attempt * 37;
        // Below Linux's ephemeral range (32768 up), where the kernel picks
        // client ports and thousands wait in TIME_WAIT.
        let base = (10_000 + spread % 22_000) as u16;
        let mut held = Vec::new();
        for i in 0..n {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, base + i));
            if let Err(e) = s.bind(&addr.into()) {
                last = format!("{addr}: {e}");
                continue 'base;
            }
            if listening.contains(&i) {
                s.listen(16).expect("listen");
            }
            held.push(s);
        }
        return (base, held);
    }
    panic!("no {n} consecutive free ports found (last: {last})");
}

fn scan(args: &[&str]) -> Finished {
    Proc::socklab(args).finish()
}

fn states(f: &Finished) -> Vec<(u16, String)> {
    f.events
        .iter()
        .filter(|e| e["step"] == "port")
        .map(|e| {
            let addr: SocketAddr = e["addr"].as_str().expect("addr").parse().expect("addr");
            (addr.port(), e["state"].as_str().expect("state").to_string())
        })
        .collect()
}

#[test]
fn a_scan_of_a_range_finds_the_listeners_and_names_the_rest_closed() {
    let (base, _held) = ports(5, &[1, 3]);
    let range = format!("{}-{}", base, base + 4);
    let f = scan(&["scan", "127.0.0.1", &range]);
    assert_eq!(f.code(), 0, "an open port: exit 0, as nc -z\n{}", f.stderr);
    let mut got = states(&f);
    got.sort();
    let want: Vec<(u16, String)> = (0..5)
        .map(|i| {
            let state = if i == 1 || i == 3 { "open" } else { "closed" };
            (base + i, state.to_string())
        })
        .collect();
    assert_eq!(got, want, "one row per port");
    assert_eq!(
        f.stdout_text(),
        format!("{}\n{}\n", base + 1, base + 3),
        "stdout: the open ports"
    );
    let done = f.find("scanned").expect("a summary");
    assert_eq!(
        (done["open"].as_u64(), done["closed"].as_u64()),
        (Some(2), Some(3))
    );
}

#[test]
fn the_narration_explains_syn_ack_and_rst() {
    let (base, _held) = ports(2, &[0]);
    let list = format!("{},{}", base, base + 1);
    let mut cmd = std::process::Command::new(util::bin());
    cmd.args(["--color", "never", "scan", "127.0.0.1", &list]);
    let f = util::run("scan", cmd);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    for says in [
        "SYN-ACK",
        "RST: nobody listening",
        "on loopback no firewall drops packets",
    ] {
        assert!(
            f.stderr.contains(says),
            "should say {says:?}:\n{}",
            f.stderr
        );
    }
}

#[test]
fn connect_z_is_nc_spelling_of_a_scan() {
    let (base, _held) = ports(2, &[0]);
    let f = scan(&[
        "connect",
        "-zv",
        "127.0.0.1",
        &base.to_string(),
        &(base + 1).to_string(),
    ]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert_eq!(f.events[0]["cmd"], "scan");
    assert_eq!(states(&f).len(), 2, "both ports, as nc takes several");
}

#[test]
fn no_open_port_exits_1_as_nc_z_does() {
    let (base, _held) = ports(3, &[]);
    let f = scan(&["scan", "127.0.0.1", &format!("{}-{}", base, base + 2)]);
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert!(f.stdout.is_empty());
}

#[test]
fn a_listener_whose_queue_is_full_is_filtered_even_on_loopback() {
    // The kernel drops SYNs to a listener whose accept queue is full:
    // silence, as from a firewall.
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind");
    s.listen(0).expect("listen");
    let addr = s.local_addr().expect("addr").as_socket().expect("inet");
    let _fill: Vec<TcpStream> = (0..3)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect();
    // An open port first: its answer comes before the silence, and the
    // silent port must still time out.
    let (open, _held) = ports(1, &[0]);
    let list = format!("{open},{}", addr.port());
    let f = scan(&["scan", "-w", "300ms", "127.0.0.1", &list]);
    assert_eq!(
        states(&f),
        [
            (open, "open".to_string()),
            (addr.port(), "filtered".to_string())
        ],
        "{}",
        f.stderr
    );
    assert_eq!(f.code(), 0);
}

#[test]
fn bad_port_lists_say_what_to_write() {
    for (list, says) in [
        ("80-22", "22-80"),
        ("22,,80", "empty item"),
        ("0", "port 0"),
    ] {
        let f = scan(&["scan", "127.0.0.1", list]);
        assert_eq!(f.code(), 2, "{list}");
        assert!(f.stderr.contains(says), "{list}: {}", f.stderr);
    }
    let f = scan(&["scan", "127.0.0.1:80", "81"]);
    assert_eq!(f.code(), 2);
    assert!(f.stderr.contains("their own argument"), "{}", f.stderr);
}

#[test]
fn many_ports_are_scanned_with_bounded_concurrency() {
    // 40 ports, 4 at a time: every one answered, each exactly once.
    let (base, _held) = ports(40, &[7, 30]);
    let range = format!("{}-{}", base, base + 39);
    let f = scan(&["scan", "--parallel", "4", "127.0.0.1", &range]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    let mut got: Vec<u16> = states(&f).into_iter().map(|(p, _)| p).collect();
    got.sort();
    assert_eq!(got, (base..base + 40).collect::<Vec<_>>());
    assert_eq!(f.stdout_text(), format!("{}\n{}\n", base + 7, base + 30));
}
