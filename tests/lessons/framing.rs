//! Lessons 8 to 12: TCP as a stream, and the protocols that frame it.

use super::*;

#[test]
fn lesson_8_tcp_is_a_stream() {
    let lab = Lab::new(8);
    let (mut a, port) = lab.server("listen", &["--proto", "raw"]);
    a.close_stdin();
    lab.assert_stuck_at(2, "socklab lesson answer reads N");
    lab.answer("reads", "1");
    let big = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(big.path(), vec![0u8; 2_000_000]).expect("write");
    let b = shell(
        &lab,
        &format!(
            "socklab --json connect 127.0.0.1 {port} < {}",
            big.path().display()
        ),
    );
    assert_eq!(b.code(), 0, "{}", b.stderr);
    let a = a.finish();
    let reads = a.events.iter().filter(|e| e["step"] == "frame").count();
    assert!(reads >= 2, "2 MB in {reads} read(s)");
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains(&format!("You predicted \"1\"; the log shows \"{reads}\"")),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn lesson_9_lines() {
    require("telnet");
    let lab = Lab::new(9);
    // A keeps its side open, as it does when a person runs it in a terminal:
    // telnet quits as soon as the server closes.
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "lines"]);
    let p = port.to_string();
    let mut telnet = Proc::spawn("telnet", peer("telnet", &["127.0.0.1", &p]));
    telnet.write(b"from telnet\n");
    a.wait_until("a CR LF line", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["text"].as_str().is_some_and(|t| t.contains("CR LF"))
        })
    });
    drop(telnet);
    lab.assert_stuck_at(4, &format!("echo plain | socklab connect 127.0.0.1 {p}"));
    let send_and_close = |bytes: &[u8]| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(bytes).expect("write");
        s.shutdown(Shutdown::Write).expect("FIN");
    };
    send_and_close(b"plain\n");
    a.wait_until("an LF line", |evs| {
        evs.iter().any(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.contains("(ended by LF)"))
        })
    });
    lab.assert_stuck_at(5, "printf 'no end'");
    send_and_close(b"no end");
    a.wait_until("the unterminated last line", |evs| {
        evs.iter().any(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.contains("(no line ending: the stream ended)"))
        })
    });
    lab.assert_passes();
}

#[test]
fn lesson_10_http() {
    require("curl");
    let lab = Lab::new(10);
    let (_a, port) = lab.server("listen", &["-k", "--proto", "http"]);
    let base = format!("http://127.0.0.1:{port}");
    let get = shell(&lab, &format!("curl -s {base}/hello"));
    assert!(
        get.stdout_text().contains("socklab received: GET /hello"),
        "{}",
        get.stdout_text()
    );
    lab.assert_stuck_at(4, "username=zhangsan&password=123456");
    let form = shell(
        &lab,
        &format!("curl -s -d 'username=zhangsan&password=123456' {base}/login"),
    );
    assert!(
        form.stdout_text().contains("form: username = zhangsan"),
        "{}",
        form.stdout_text()
    );
    lab.assert_stuck_at(6, "socklab lesson answer length N");
    lab.answer("length", "34");
    lab.assert_stuck_at(
        7,
        "Your answer, \"34\", is not the length of a form body A read",
    );
    // As a person writes it: a number and its unit.
    lab.answer("length", "33 bytes");
    lab.assert_passes();
}

#[test]
fn lesson_11_xml_stanzas() {
    let lab = Lab::new(11);
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "xml"]);
    a.close_stdin();
    let p = port.to_string();
    let mut b = lab.spawn(&[
        "connect",
        "--proto",
        "xml",
        "--from",
        "Vincent",
        "--to",
        "Eli",
        "127.0.0.1",
        &p,
    ]);
    b.write("一起吃饭\n".as_bytes());
    b.close_stdin();
    b.finish();
    lab.assert_stuck_at(5, "<from>Vincent</from>");
    shell(
        &lab,
        &format!(
            "printf '<from>Vincent</from><to>Eli</to><body>一起吃饭</body>' | socklab connect 127.0.0.1 {p}"
        ),
    );
    lab.assert_stuck_at(6, "<message><body>oops</message>");
    shell(
        &lab,
        &format!("printf '<message><body>oops</message>' | socklab connect 127.0.0.1 {p}"),
    );
    lab.answer("frames", "3");
    lab.assert_passes();
}

#[test]
fn lesson_12_json_messages() {
    let lab = Lab::new(12);
    // A sender in the wrong framing: the listener refuses it.
    let (mut wrong, port) = lab.server(
        "listen",
        &["-k", "--proto", "json", "--json-framing", "length"],
    );
    wrong.close_stdin();
    lab.json_message(port, &[]);
    lab.assert_stuck_at(1, "both sides must use the same framing");
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "json"]);
    a.close_stdin();
    lab.json_message(port, &[]);
    lab.assert_stuck_at(2, "--json-framing length");
    let (mut l, port) = lab.server(
        "listen",
        &["-k", "--proto", "json", "--json-framing", "length"],
    );
    l.close_stdin();
    lab.json_message(port, &["--json-framing", "length"]);
    lab.assert_stuck_at(3, "--chunk 1");
    let piped = shell(
        &lab,
        "socklab frame encode --proto json --from Vincent --to Eli 中午一起吃饭 | socklab frame --proto json --chunk 1",
    );
    assert_eq!(piped.code(), 0, "{}", piped.stderr);
    lab.answer("utf8", "3");
    lab.assert_passes();
}
