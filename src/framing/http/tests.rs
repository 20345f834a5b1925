//! Tests of the HTTP codec: every message fed at every split point,
//! and each refusal checked for its rule and status.

use super::*;
use crate::framing::testing::{assert_any_split_same, decode_chunked};
use crate::framing::{ErrorKind, FrameReader};

fn server() -> FrameReader {
    FrameReader::new(Box::new(Http::new(Role::Server)), Limits::default())
}
fn client() -> FrameReader {
    FrameReader::new(Box::new(Http::new(Role::Client)), Limits::default())
}

/// A message put back together from its frames: head, body pieces, end.
#[derive(Debug)]
struct Whole {
    head: Message,
    body: Vec<u8>,
    chunked: bool,
    end: End,
}

impl std::ops::Deref for Whole {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.head
    }
}

/// The messages in `frames`, which must follow head, pieces, end.
fn messages(frames: &[crate::framing::Frame]) -> Vec<Whole> {
    let mut done = Vec::new();
    let mut open: Option<(Message, Vec<u8>)> = None;
    for f in frames {
        match &f.content {
            Content::Http(Part::Head(m)) => {
                assert!(open.is_none(), "a head inside a message");
                open = Some((m.clone(), Vec::new()));
            }
            Content::Http(part @ Part::Body(_)) => {
                let (_, body) = open.as_mut().expect("a body piece outside a message");
                body.extend_from_slice(part.body(&f.wire).expect("data"));
            }
            Content::Http(Part::End(end)) => {
                let (head, body) = open.take().expect("an end outside a message");
                assert_eq!(end.body, body.len() as u64, "the end counts the body");
                done.push(Whole {
                    chunked: head.body_length() == Length::Chunked,
                    head,
                    body,
                    end: *end,
                });
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(open.is_none(), "an unfinished message");
    done
}

const FORM: &[u8] = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\n\r\nusername=zhangsan&password=123456";

#[test]
fn the_curriculum_form_and_a_get_on_one_connection_at_every_split() {
    let mut stream = FORM.to_vec();
    stream.extend_from_slice(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    let ms = messages(&assert_any_split_same(server, &stream));
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].body, b"username=zhangsan&password=123456");
    assert_eq!(ms[0].start_line(), "POST /login HTTP/1.1");
    assert_eq!(ms[1].body, b"");
}

#[test]
fn a_long_head_fed_one_byte_at_a_time_stays_linear() {
    // 15 KiB of headers, one byte per push: quadratic re-parsing would
    // take over 10^8 steps; the scan for the empty line takes 15,000.
    let fields: String = (0..500)
        .map(|i| format!("X-Field-{i:03}: {}\r\n", "v".repeat(16)))
        .collect();
    let head = format!("GET / HTTP/1.1\r\n{fields}\r\n");
    let started = std::time::Instant::now();
    let limits = Limits {
        max_headers: 600,
        ..Limits::default()
    };
    let mut r = FrameReader::new(Box::new(Http::new(Role::Server)), limits);
    let mut frames = 0;
    for b in head.as_bytes() {
        r.push(std::slice::from_ref(b));
        frames += usize::from(r.next_frame().expect("valid").is_some());
    }
    assert_eq!(frames, 1);
    assert!(
        started.elapsed().as_secs() < 2,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn bare_lf_heads_parse_the_same_at_every_split() {
    let ms = messages(&assert_any_split_same(
        server,
        b"GET /lf HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\n\n",
    ));
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].start_line(), "GET /lf HTTP/1.1");
}

#[test]
fn expect_continue_is_signalled_once_while_the_body_is_pending() {
    let mut r = server();
    let next = |r: &mut FrameReader| r.next_frame().expect("ok").map(|f| f.content);
    r.push(b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert!(matches!(next(&mut r), Some(Content::Http(Part::Head(_)))));
    assert_eq!(next(&mut r), None, "the body has not come");
    assert!(r.codec_mut().wants_continue());
    assert!(!r.codec_mut().wants_continue(), "once");
    r.push(b"abc");
    assert_eq!(next(&mut r), Some(Content::Http(Part::Body(0..3))));
    assert!(matches!(next(&mut r), Some(Content::Http(Part::End(_)))));
    // With the body already there, no interim answer is needed.
    r.push(b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
    assert!(next(&mut r).is_some());
    assert!(!r.codec_mut().wants_continue());
}

#[test]
fn chunked_bodies_are_joined() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let ms = messages(&assert_any_split_same(client, wire));
    assert_eq!(ms[0].body, b"hello world");
    assert!(ms[0].chunked);
    assert_eq!(ms[0].end.trailers, 1);
}

#[test]
fn a_response_without_length_runs_to_the_close() {
    let (frames, err) = decode_chunked(client(), b"HTTP/1.0 200 OK\r\n\r\nall of it", 4);
    assert!(err.is_none());
    assert_eq!(messages(&frames)[0].body, b"all of it");
}

#[test]
fn head_and_204_responses_have_no_body() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let mut r = client();
    r.codec_mut().sent_request("HEAD");
    let (frames, err) = decode_chunked(r, wire, 5);
    assert!(err.is_none(), "{err:?}");
    let ms = messages(&frames);
    assert_eq!(ms.len(), 2);
    assert_eq!((&ms[0].body[..], &ms[1].body[..]), (&b""[..], &b""[..]));
}

#[test]
fn malformed_heads_point_at_the_bad_byte() {
    let (_, err) = decode_chunked(
        server(),
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        100,
    );
    let err = err.expect("malformed");
    assert_eq!(err.kind, ErrorKind::Malformed);
    assert_eq!(err.at, 28, "{err:?}");
}

#[test]
fn bad_length_and_encoding_values_point_at_the_value() {
    let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n";
    let err = decode_chunked(server(), wire, 100).1.expect("malformed");
    assert_eq!(&wire[err.at..err.at + 6], b"banana", "{err:?}");
    let wire = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
    let err = decode_chunked(server(), wire, 100).1.expect("malformed");
    assert_eq!(&wire[err.at..err.at + 4], b"gzip", "{err:?}");
}

#[test]
fn limits_name_their_flags() {
    let many: String = (0..70).map(|i| format!("X-{i}: v\r\n")).collect();
    let (_, err) = decode_chunked(
        server(),
        format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(),
        50,
    );
    assert!(err.expect("too many").detail.contains("--max-headers"));
    let (_, err) = decode_chunked(server(), &vec![b'a'; 20_000], 1000);
    assert!(err.expect("too big").detail.contains("--max-header-bytes"));
    let limits = Limits {
        max_frame: 40,
        ..Limits::default()
    };
    let r = FrameReader::new(Box::new(Http::new(Role::Server)), limits);
    let wire = format!(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;x={}\r\na\r\n0\r\n\r\n",
        "y".repeat(50)
    );
    let (_, err) = decode_chunked(r, wire.as_bytes(), 7);
    let err = err.expect("a chunk-size line over the limit");
    assert!(err.detail.contains("--max-frame"), "{}", err.detail);
}

#[test]
fn a_body_over_the_frame_limit_streams_through_in_pieces_under_it() {
    let limits = Limits {
        max_frame: 64,
        ..Limits::default()
    };
    let body = vec![b'x'; 1000];
    let mut wire = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    wire.extend_from_slice(&body);
    for chunk in [1, 100, wire.len()] {
        let r = FrameReader::new(Box::new(Http::new(Role::Client)), limits);
        let (frames, err) = decode_chunked(r, &wire, chunk);
        assert!(err.is_none(), "{err:?}");
        assert!(frames.iter().all(|f| f.wire.len() <= 64));
        assert_eq!(messages(&frames)[0].body, body, "{chunk}-byte reads");
    }
    // A 100 GB announcement is a head like any other: the body would stream.
    let mut r = server();
    r.push(b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nabc");
    let head = r.next_frame().expect("a head").expect("frame");
    assert!(
        head.summary().contains("99999999999-byte body"),
        "{}",
        head.summary()
    );
    let piece = r.next_frame().expect("a piece").expect("frame");
    assert_eq!(piece.output(), b"abc");
}

#[test]
fn eof_mid_body_is_named() {
    let (_, err) = decode_chunked(server(), &FORM[..FORM.len() - 5], 10);
    let err = err.expect("unfinished");
    assert_eq!(err.kind, ErrorKind::PeerClosedMidFrame);
    assert!(err.detail.contains("28 of the 33"), "{}", err.detail);
}

/// The error a server meets reading `wire` (fed whole and byte by byte:
/// both must agree).
fn refusal(wire: &[u8]) -> FrameError {
    let (_, whole) = decode_chunked(server(), wire, wire.len());
    let (_, trickled) = decode_chunked(server(), wire, 1);
    let e = whole.unwrap_or_else(|| panic!("accepted: {}", String::from_utf8_lossy(wire)));
    let t = trickled.expect("accepted byte by byte");
    assert_eq!((e.kind, e.http_status), (t.kind, t.http_status));
    e
}

#[test]
fn a_missing_or_non_ascii_reason_phrase_is_read_not_a_panic() {
    for (wire, line) in [
        (&b"HTTP/1.1 200\r\n\r\n"[..], "HTTP/1.1 200 "),
        (
            "HTTP/1.1 200 Café\r\nContent-Length: 2\r\n\r\nhi".as_bytes(),
            "HTTP/1.1 200 Café",
        ),
        (
            b"HTTP/1.1 404 Caf\xe9 \r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 404 Caf\u{fffd} ",
        ),
    ] {
        let ms = messages(&assert_any_split_same(client, wire));
        assert_eq!(ms[0].start_line(), line);
    }
}

#[test]
fn request_smuggling_shapes_are_refused_naming_the_rule() {
    for wire in [
        &b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"[..],
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    ] {
        let e = refusal(wire);
        assert_eq!(e.kind, ErrorKind::Malformed, "{e:?}");
        assert_eq!(e.http_status, Some(400), "{e:?}");
        assert!(e.detail.starts_with("RFC 9112 §"), "{}", e.detail);
    }
    let e = refusal(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!(e.http_status, Some(501), "{e:?}");
}

#[test]
fn one_length_repeated_is_that_length() {
    for wire in [
        &b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello"[..],
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    ] {
        assert_eq!(
            messages(&assert_any_split_same(server, wire))[0].body,
            b"hello"
        );
    }
}

#[test]
fn a_response_whose_last_coding_is_not_chunked_runs_to_the_close() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b...";
    assert_eq!(
        messages(&assert_any_split_same(client, wire))[0].body,
        b"\x1f\x8b..."
    );
}

#[test]
fn oversized_heads_answer_431_and_bodies_413() {
    let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(refusal(big.as_bytes()).http_status, Some(431));
    let many: String = (0..70).map(|i| format!("X-{i}: v\r\n")).collect();
    let wire = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(refusal(wire.as_bytes()).http_status, Some(431));
    let wire = b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    assert_eq!(refusal(wire).http_status, Some(413));
}

#[test]
fn an_interim_answer_does_not_use_up_the_head_request() {
    let mut r = client();
    r.codec_mut().sent_request("HEAD");
    let (frames, err) = decode_chunked(
        r,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        3,
    );
    assert!(err.is_none(), "{err:?}");
    let ms = messages(&frames);
    assert_eq!(ms[0].status(), Some(100));
    assert_eq!(ms[1].body, b"", "the answer to HEAD has no body");
}

#[test]
fn empty_lines_before_a_request_are_skipped() {
    let ms = messages(&assert_any_split_same(
        server,
        b"\r\n\nGET /a HTTP/1.1\r\n\r\n",
    ));
    assert_eq!(ms[0].start_line(), "GET /a HTTP/1.1");
}

#[test]
fn a_peer_that_does_not_speak_http_is_caught_at_its_first_line() {
    let mut r = client();
    r.push(b"SSH-2.0-OpenSSH_9.6\r\n");
    let e = r.next_frame().expect_err("not HTTP");
    assert_eq!(e.kind, ErrorKind::Malformed);
}

#[test]
fn built_messages_parse_back() {
    let req = request(
        "POST",
        "/login",
        "h:1",
        b"a=1",
        "application/x-www-form-urlencoded",
    );
    let ms = messages(&assert_any_split_same(server, &req));
    assert_eq!(ms[0].header("content-length"), Some(&b"3"[..]));
    let res = response(200, "OK", "text/plain", b"hi", false);
    let ms = messages(&assert_any_split_same(client, &res));
    assert!(!ms[0].wants_close());
}
