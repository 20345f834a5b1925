//! Every error socklab explains, produced for real, and the exit codes.
//!
//! Errors that need an unreachable network are made inside a fresh network
//! namespace (`unshare -n`): it has no routes and no interfaces but loopback,
//! so the error comes from the kernel at once and no packet leaves the machine.

mod util;

use std::net::{TcpListener, TcpStream};
use std::process::Command;

use util::{Finished, Proc, is_root, run};

fn socklab_text(args: &[&str]) -> Finished {
    let mut cmd = Command::new(util::bin());
    cmd.args(["--color", "never"]).args(args);
    run(&args.join(" "), cmd)
}

/// Runs socklab in a new, empty network namespace.
fn in_empty_netns(setup: &str, args: &[&str]) -> Finished {
    assert!(
        is_root(),
        "network-namespace tests need root (CI runs as root)"
    );
    let script = format!("ip link set lo up; {setup} exec \"$0\" \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "sh", "-c", &script, util::bin(), "--json"])
        .args(args);
    run(&args.join(" "), cmd)
}

#[test]
fn address_in_use_says_who_to_ask() {
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port().to_string();
    let f = socklab_text(&["listen", &port]);
    assert_eq!(f.code(), 1);
    assert!(f.stderr.contains("Address already in use"), "{}", f.stderr);
    assert!(
        f.stderr.contains(&format!("ss -ltnup 'sport = :{port}'")),
        "{}",
        f.stderr
    );
}

#[test]
fn a_reserved_port_needs_privileges() {
    let f = if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            util::bin(),
            "--json",
            "listen",
            "80",
        ]);
        run("setpriv listen 80", cmd)
    } else {
        Proc::socklab(&["listen", "80"]).finish()
    };
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("permission_denied"));
}

#[test]
fn connection_refused_means_nothing_listens() {
    let port = util::free_tcp_port().to_string();
    let f = socklab_text(&["connect", "127.0.0.1", &port]);
    assert_eq!(f.code(), 1);
    assert!(f.stderr.contains("nothing is listening"), "{}", f.stderr);
    assert!(
        f.stderr.contains(&format!("socklab listen {port}")),
        "{}",
        f.stderr
    );
}

#[test]
fn connect_timeout_when_syns_go_unanswered() {
    // A listener with a full accept queue drops new SYNs: the handshake
    // never completes, exactly like a host that does not answer.
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .expect("addr")
                .into(),
        )
        .expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet");
    let _fill: Vec<_> = (0..3)
        .filter_map(|_| {
            TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).ok()
        })
        .collect();
    let f = Proc::socklab(&["connect", "-w", "500ms", &addr.to_string()]).finish();
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("timed_out"));
    assert!(f.find("timeout").is_some());
}

#[test]
fn network_unreachable_without_a_route() {
    let f = in_empty_netns("", &["connect", "10.1.2.3", "80"]);
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("network_unreachable"));
}

#[test]
fn host_unreachable_from_an_unreachable_route() {
    let f = in_empty_netns(
        "ip route add unreachable 10.9.9.9;",
        &["connect", "10.9.9.9", "80"],
    );
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("host_unreachable"));
}

#[test]
fn a_name_that_does_not_resolve() {
    let f = in_empty_netns("", &["connect", "no-such-host.example", "80"]);
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("resolve_failed"));
}

#[test]
fn connection_reset_by_the_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let mut client = Proc::socklab(&["connect", "127.0.0.1", &port]);
    let (stream, _) = listener.accept().expect("accept");
    // SO_LINGER 0: close() sends RST instead of FIN.
    socket2::SockRef::from(&stream)
        .set_linger(Some(std::time::Duration::ZERO))
        .expect("linger");
    client.wait_for("connected");
    drop(stream);
    let f = client.finish();
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("connection_reset"));
}

#[test]
fn writing_to_a_closed_peer_is_explained() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let mut client = Proc::socklab(&["connect", "--send-only", "127.0.0.1", &port]);
    let (stream, _) = listener.accept().expect("accept");
    drop(stream);
    // Keep sending: the first write draws RST, later ones EPIPE.
    client.feed(vec![b'x'; 64 << 20]);
    let f = client.finish();
    assert_eq!(f.code(), 1, "{}", f.stderr);
    let kind = f.error_kind();
    assert!(
        matches!(kind, Some("broken_pipe" | "connection_reset")),
        "{kind:?}"
    );
}

#[test]
fn usage_errors_exit_with_two_and_say_what_to_write() {
    for (args, says) in [
        (&["listen", "70000"][..], "out of range"),
        (&["connect", "localhost:"][..], "write localhost:5288"),
        (&["connect", "localhost:80", "81"][..], "given twice"),
        (&["connect", "127.0.0.1"][..], "which port"),
        (&["connect", "127.0.0.1", "0"][..], "port 0"),
        (&["listen", "-u", "5288"][..], "socklab recv"),
        (&["listen", "--max-conns", "2", "5288"][..], "--keep-open"),
    ] {
        let f = socklab_text(args);
        assert_eq!(f.code(), 2, "{args:?}: {}", f.stderr);
        assert!(
            f.stderr.contains(says),
            "{args:?} should say {says:?}: {}",
            f.stderr
        );
    }
}

#[test]
fn quiet_still_shows_errors() {
    let port = util::free_tcp_port().to_string();
    let f = socklab_text(&["-q", "connect", "127.0.0.1", &port]);
    assert_eq!(f.code(), 1);
    assert!(
        f.stderr.contains("error:") && f.stderr.contains("next:"),
        "{}",
        f.stderr
    );
    assert_eq!(
        f.stderr.lines().filter(|l| l.contains("socket(")).count(),
        0,
        "no narration with -q"
    );
}

#[test]
fn an_unwritable_event_file_is_explained() {
    let f = socklab_text(&["--events", "/nonexistent/dir/events.jsonl", "demo"]);
    assert_eq!(f.code(), 1);
    assert!(f.stderr.contains("event file"), "{}", f.stderr);
}
