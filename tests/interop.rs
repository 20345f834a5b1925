//! Interoperability with the tools socklab should replace: OpenBSD nc and
//! socat, on both sides, for TCP and UDP. CI installs both (.ci/run).

mod util;

use util::{Proc, peer};

fn socklab_listener(extra: &[&str]) -> (Proc, String) {
    let (p, port) = Proc::server("listen", extra);
    (p, port.to_string())
}

#[test]
fn nc_client_talks_to_socklab_listen() {
    let (mut server, port) = socklab_listener(&[]);
    let mut nc = Proc::spawn("nc", peer("nc", &["-N", "127.0.0.1", &port]));
    server.wait_for("accept");
    server.write(b"from socklab\n");
    nc.wait_stdout(b"from socklab\n");
    nc.write(b"from nc\n");
    nc.close_stdin(); // -N: nc sends FIN at EOF
    server.wait_for("peer_closed");
    server.close_stdin();
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    assert_eq!(server.stdout_text(), "from nc\n");
    assert_eq!(nc.finish().stdout_text(), "from socklab\n");
}

#[test]
fn socklab_connect_talks_to_nc_listen() {
    let port = util::free_tcp_port().to_string();
    let mut nc = Proc::spawn("nc -l", peer("nc", &["-N", "-l", "127.0.0.1", &port]));
    util::wait_tcp_listening(port.parse().expect("port"));
    let mut client = Proc::socklab(&["connect", "127.0.0.1", &port]);
    client.wait_for("connected");
    nc.write(b"from nc\n");
    client.wait_for("read");
    nc.close_stdin();
    client.write(b"from socklab\n");
    client.close_stdin();
    let client = client.finish();
    assert_eq!(client.code(), 0, "{}", client.stderr);
    assert_eq!(client.stdout_text(), "from nc\n");
    assert_eq!(nc.finish().stdout_text(), "from socklab\n");
}

#[test]
fn socat_client_talks_to_socklab_listen() {
    let (mut server, port) = socklab_listener(&["--echo"]);
    let mut socat = Proc::spawn(
        "socat",
        peer("socat", &["-", &format!("TCP:127.0.0.1:{port}")]),
    );
    socat.write(b"echo me\n");
    socat.close_stdin();
    let socat = socat.finish();
    assert_eq!(socat.stdout_text(), "echo me\n", "{}", socat.stderr);
    server.wait_for("close");
}

#[test]
fn socklab_connect_talks_to_socat_listen() {
    let port = util::free_tcp_port();
    let listen = format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr");
    let socat = Proc::spawn("socat listen", peer("socat", &[&listen, "EXEC:cat"]));
    util::wait_tcp_listening(port);
    let mut client = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    client.write(b"through cat\n");
    client.close_stdin();
    let client = client.finish();
    assert_eq!(client.code(), 0, "{}", client.stderr);
    assert_eq!(client.stdout_text(), "through cat\n");
    drop(socat);
}

#[test]
fn nc_udp_datagrams_reach_socklab_recv() {
    let mut r = Proc::socklab(&["recv", "--count", "1", "0"]);
    let port = r.port().to_string();
    let mut nc = Proc::spawn("nc -u", peer("nc", &["-u", "127.0.0.1", &port]));
    nc.write(b"udp from nc\n");
    let r = r.finish();
    assert_eq!(r.stdout_text(), "udp from nc\n");
    let from = r.find("datagram").expect("datagram")["from"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(from.starts_with("127.0.0.1:"), "{from}");
    drop(nc);
}

#[test]
fn socklab_send_reaches_nc_udp_listen_and_gets_its_reply() {
    let port = util::free_udp_port();
    let mut nc = Proc::spawn(
        "nc -u -l",
        peer("nc", &["-u", "-l", "127.0.0.1", &port.to_string()]),
    );
    util::wait_udp_bound(port);
    let mut send = Proc::socklab(&["send", "--wait", "20s", "127.0.0.1", &port.to_string()]);
    send.write(b"hello nc\n");
    nc.wait_stdout(b"hello nc\n");
    // nc -u -l answers the first peer with its stdin.
    nc.write(b"hello socklab\n");
    send.wait_stdout(b"hello socklab\n");
    send.close_stdin();
    assert_eq!(send.kill().stdout_text(), "hello socklab\n");
}

#[test]
fn socat_udp_both_ways() {
    // socat → socklab recv --echo → back to socat.
    let mut r = Proc::socklab(&["recv", "--echo", "0"]);
    let port = r.port();
    let mut socat = Proc::spawn(
        "socat udp",
        peer("socat", &["-", &format!("UDP:127.0.0.1:{port}")]),
    );
    socat.write(b"round trip\n");
    socat.wait_stdout(b"round trip\n");
    r.wait_for("sent");
    drop(socat);
    // socklab send → socat receiving.
    let port = util::free_udp_port();
    let recv = Proc::spawn(
        "socat recv",
        peer(
            "socat",
            &["-u", &format!("UDP-RECV:{port},bind=127.0.0.1"), "-"],
        ),
    );
    util::wait_udp_bound(port);
    let s = Proc::socklab(&[
        "send",
        "--wait",
        "0",
        "127.0.0.1",
        &port.to_string(),
        "to socat",
    ])
    .finish();
    assert_eq!(s.code(), 0, "{}", s.stderr);
    recv.wait_stdout(b"to socat");
}
