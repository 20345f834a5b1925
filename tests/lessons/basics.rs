//! Lessons 1 to 7, each against a wrong session and a reference session
//! really run on loopback.

use super::*;

#[test]
fn lesson_1_what_a_socket_is() {
    let lab = Lab::new(1);
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0, "{}", demo.stderr);
    lab.answer("port", "1");
    lab.assert_stuck_at(5, "Your answer so far: \"1\"");
    let port = port_of(&demo.find("bind").expect("bind")["addr"]);
    lab.answer("port", &port);
    lab.assert_passes();
}

#[test]
fn lesson_2_addresses_and_ports() {
    let lab = Lab::new(2);
    let (mut zero, port) = lab.server("listen", &[]);
    zero.close_stdin();
    drop(zero);
    lab.answer("zero", &port.to_string());
    lab.assert_stuck_at(3, "socklab listen 65536");
    let rejected = lab.run(&["listen", "65536"]);
    assert_eq!(rejected.code(), 2);
    lab.assert_stuck_at(4, "socklab listen 80");
    if util::is_root() {
        // Root may bind a reserved port: the check accepts that bind instead.
        let free = (1000..1024)
            .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .expect("a free port < 1024");
        let mut low = lab.spawn(&["listen", &free.to_string()]);
        low.wait_for("listen");
    } else {
        assert_eq!(
            lab.run(&["listen", "80"]).error_kind(),
            Some("permission_denied")
        );
    }
    lab.answer("ip", "0.0.0.0");
    lab.assert_stuck_at(5, "Your answer so far: \"0.0.0.0\"");
    lab.answer("ip", "127.0.0.1");
    lab.assert_passes();
}

#[test]
fn lesson_3_tcp_in_two_terminals() {
    let lab = Lab::new(3);
    let (a, port) = lab.server("listen", &[]);
    // No client yet: the client may be any program, so the check waits at
    // A's accept(), and says what to run.
    lab.assert_stuck_at(3, &format!("A is waiting in accept(): nobody has connected yet. In terminal B run `socklab connect 127.0.0.1 {port}`"));
    let accept = lab.conversation(a, port, || {
        lab.assert_stuck_at(4, "Type a line in terminal B");
    });
    lab.assert_stuck_at(9, "client_port");
    lab.answer("client_port", &port_of(&accept["peer"]));
    lab.assert_passes();
}

#[test]
fn lesson_3_accepts_a_foreign_client_and_checks_the_server_side() {
    let lab = Lab::new(3);
    let (mut a, port) = lab.server("listen", &[]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    s.write_all(b"hello from a plain socket\n").expect("write");
    a.wait_for("read");
    a.write(b"hi\n");
    let mut reply = [0u8; 3];
    s.read_exact(&mut reply).expect("reply");
    s.shutdown(Shutdown::Write).expect("FIN");
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    lab.answer(
        "client_port",
        &s.local_addr().expect("addr").port().to_string(),
    );
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains("not checked: that side was not socklab")
    );
}

#[test]
fn lesson_4_telnet() {
    require("telnet");
    let lab = Lab::new(4);
    // Wrong: plain nc sends LF, not CR LF.
    let (mut a, port) = lab.server("listen", &[]);
    let mut nc = Proc::spawn("nc", peer("nc", &["-N", "127.0.0.1", &port.to_string()]));
    nc.write(b"hello\n");
    a.wait_for("read");
    nc.close_stdin();
    a.close_stdin();
    a.finish();
    nc.finish();
    lab.assert_stuck_at(3, "nc sends only LF");
    // Right: real telnet, reading its input from a pipe.
    let (mut a, port) = lab.server("listen", &[]);
    let mut telnet = Proc::spawn("telnet", peer("telnet", &["127.0.0.1", &port.to_string()]));
    telnet.write(b"hello\n");
    a.wait_until("a CRLF line", |evs| {
        evs.iter()
            .any(|e| e["step"] == "read" && e["data"] == "hello\r\n")
    });
    a.close_stdin();
    a.finish();
    drop(telnet);
    lab.answer("line_end", "\\r\\n");
    lab.assert_passes();
}

#[test]
fn lesson_5_closing() {
    let lab = Lab::new(5);
    let (a, port) = lab.server("listen", &[]);
    lab.line_then_fin(a, port, b"bye\n");
    lab.answer("first", "client");
    // Without the half-close experiment, the check stops there.
    lab.assert_stuck_at(8, "(sleep 2; echo world) | socklab listen 5288");
    // The half-close: B sends and closes its half at once; A answers after
    // B's FIN has arrived, and B still reads the answer.
    let (mut a, port) = lab.server("listen", &[]);
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    b.feed(b"hello\n".to_vec());
    a.wait_for("peer_closed");
    a.write(b"world\n");
    a.close_stdin();
    assert_eq!(b.finish().stdout_text(), "world\n");
    a.finish();
    lab.assert_passes();
}

#[test]
fn lesson_6_udp() {
    let lab = Lab::new(6);
    let (mut a, port) = lab.server("recv", &[]);
    let target = format!("127.0.0.1:{port}");
    // Sending before predicting: the check wants the prediction first.
    lab.assert_stuck_at(2, "socklab lesson answer datagrams N");
    lab.answer("datagrams", "1");
    let mut burst = lab.spawn(&["send", "--wait", "0", &target]);
    burst.write(b"one\ntwo\nthree\n");
    burst.close_stdin();
    assert_eq!(burst.finish().code(), 0);
    a.wait_for_count("datagram", 3);
    lab.assert_stuck_at(4, "another sender");
    assert_eq!(
        lab.run(&["send", "--wait", "0", &target, "another sender"])
            .code(),
        0
    );
    a.wait_for_count("datagram", 4);
    let nobody = util::free_udp_port().to_string();
    assert_eq!(
        lab.run(&["send", "127.0.0.1", &nobody, "anyone?"])
            .error_kind(),
        Some("port_unreachable")
    );
    assert_eq!(
        lab.run(&["send", "--size", "65508", &target]).error_kind(),
        Some("message_too_long")
    );
    lab.assert_stuck_at(7, "--size 65507");
    assert_eq!(
        lab.run(&["send", "--wait", "0", "--size", "65507", &target])
            .code(),
        0
    );
    // The sender's exit says the datagram left, not that A has read it
    // (and logged it): the check waits for A's datagram event.
    a.wait_event("the 65,507-byte datagram", |e| {
        e["step"] == "datagram" && e["n"] == 65507
    });
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains("You predicted \"1\"; the log shows \"3\""),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn lesson_7_non_blocking() {
    let lab = Lab::new(7);
    // Without -v there are no poll events to see.
    let (mut a, port) = lab.server("listen", &[]);
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    b.wait_for("connected");
    drop(b);
    a.close_stdin();
    drop(a);
    lab.assert_stuck_at(3, "run it with -v");
    let (mut a, port) = lab.server("listen", &["-v"]);
    // As a person would: B connects once A says it is waiting (accept() =
    // EAGAIN), so A learns of B through poll().
    a.wait_until("accept() would block", |evs| {
        evs.iter()
            .any(|e| e["step"] == "would_block" && e["op"] == "accept")
    });
    let mut b = lab.spawn(&["-v", "connect", "127.0.0.1", &port.to_string()]);
    b.write(b"ready?\n");
    // A reads, then read() says EAGAIN: wait for that before B's FIN, or
    // the data and the FIN may come in one round and no EAGAIN is seen.
    a.wait_until("read() would block after the read", |evs| {
        evs.iter()
            .skip_while(|e| e["step"] != "read")
            .any(|e| e["step"] == "would_block" && e["op"] == "read")
    });
    b.close_stdin();
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    b.finish();
    lab.answer("connect", "EINPROGRESS");
    lab.assert_passes();
}
