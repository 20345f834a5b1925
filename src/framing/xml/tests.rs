//! Tests of the XML codec: stanzas and streams at every split point,
//! stream restarts, and the memory a stanza's tree may take.

use super::*;
use crate::framing::testing::{assert_any_split_same, decode_chunked};
use crate::framing::{ErrorKind, FrameReader};

fn reader() -> FrameReader {
    FrameReader::new(Box::new(Xml::default()), Limits::default())
}

fn stanzas(frames: &[crate::framing::Frame]) -> Vec<Stanza> {
    frames
        .iter()
        .map(|f| match &f.content {
            Content::Xml(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

const MESSAGE: &str =
    r#"<message from="Vincent" to="Eli"><body>一起吃饭 &amp; 聊天</body></message>"#;

#[test]
fn the_curriculum_message_at_every_split_with_entities_decoded() {
    let frames = assert_any_split_same(reader, MESSAGE.as_bytes());
    let s = stanzas(&frames);
    let [Stanza::Element(m)] = s.as_slice() else {
        panic!("not one element: {s:?}")
    };
    assert_eq!(m.attr("from"), Some("Vincent"));
    assert_eq!(
        m.child("body").map(Element::text).as_deref(),
        Some("一起吃饭 & 聊天")
    );
    assert_eq!(frames[0].wire, MESSAGE.as_bytes());
}

#[test]
fn the_bare_sequence_is_three_frames() {
    let wire = "<from>Vincent</from><to>Eli</to>\n<body>一起吃饭</body>".as_bytes();
    let frames = assert_any_split_same(reader, wire);
    let names: Vec<String> = stanzas(&frames)
        .into_iter()
        .map(|s| match s {
            Stanza::Element(e) => e.name,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["from", "to", "body"]);
}

#[test]
fn an_xmpp_stream_yields_its_children() {
    let wire = format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS_NS}' to='example.com'>{MESSAGE} <presence/></stream:stream>"
    );
    let frames = assert_any_split_same(reader, wire.as_bytes());
    let s = stanzas(&frames);
    assert!(
        matches!(&s[0], Stanza::StreamOpen(attrs) if attrs.iter().any(|(n, v)| n == "to" && v == "example.com"))
    );
    assert!(
        matches!(&s[1], Stanza::Element(e) if e.name == "message" && e.namespace == "jabber:client")
    );
    assert!(matches!(&s[2], Stanza::Element(e) if e.name == "presence"));
    assert_eq!(s[3], Stanza::StreamClose);
    let total: usize = frames.iter().map(|f| f.wire.len()).sum();
    assert_eq!(total, wire.len(), "frames account for every byte");
}

#[test]
fn a_stream_restart_after_sasl_opens_a_new_stream_at_every_split() {
    let header = format!(
        "<stream:stream to='im.example.com' version='1.0' xmlns='jabber:client' xmlns:stream='{STREAMS_NS}'>"
    );
    let auth =
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldA==</auth>";
    // RFC 6120 §6.4.6: after <success/>, a new header on the same
    // connection, with or without the XML declaration.
    for decl in ["<?xml version='1.0'?>", ""] {
        let wire = format!(
            "<?xml version='1.0'?>{header}\n{auth}\n{decl}{header}<presence/> </stream:stream>"
        );
        let frames = assert_any_split_same(reader, wire.as_bytes());
        let s = stanzas(&frames);
        assert!(
            matches!(s.as_slice(), [
            Stanza::StreamOpen(_),
            Stanza::Element(a),
            Stanza::StreamOpen(_),
            Stanza::Element(p),
            Stanza::StreamClose,
        ] if a.name == "auth" && p.name == "presence" && p.namespace == "jabber:client"),
            "{s:?}"
        );
        let total: usize = frames.iter().map(|f| f.wire.len()).sum();
        assert_eq!(total, wire.len(), "frames account for every byte");
    }
}

#[test]
fn doctype_is_refused_in_words() {
    let (_, err) = decode_chunked(reader(), b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>", 5);
    let err = err.expect("refused");
    assert_eq!(err.kind, ErrorKind::Malformed);
    assert!(
        err.detail.contains("DOCTYPE is not allowed"),
        "{}",
        err.detail
    );
}

#[test]
fn mismatched_tags_are_malformed() {
    let (_, err) = decode_chunked(reader(), b"<a><b></a>", 1);
    assert_eq!(err.expect("malformed").kind, ErrorKind::Malformed);
}

#[test]
fn depth_is_limited() {
    let deep = "<a>".repeat(40);
    let (_, err) = decode_chunked(reader(), deep.as_bytes(), 10);
    assert!(err.expect("too deep").detail.contains("--max-depth"));
}

#[test]
fn eof_inside_a_stanza_names_the_open_element() {
    let (frames, err) = decode_chunked(reader(), b"<a/><message><body>hal", 4);
    assert_eq!(frames.len(), 1);
    let err = err.expect("unfinished");
    assert_eq!(err.kind, ErrorKind::PeerClosedMidFrame);
    assert!(err.detail.contains("inside <body>"), "{}", err.detail);
}

/// `<r xmlns='urn:nnn…'>` (an 8,000-byte default namespace) and
/// `children` empty elements that all inherit it.
fn amplifier(children: usize) -> Vec<u8> {
    let mut s = format!("<r xmlns='urn:{}'>", "n".repeat(7_996)).into_bytes();
    s.extend(b"<a/>".repeat(children));
    s.extend(b"</r>");
    s
}

fn one_element(frames: &[crate::framing::Frame]) -> Element {
    match stanzas(frames).as_slice() {
        [Stanza::Element(e)] => e.clone(),
        other => panic!("not one element: {other:?}"),
    }
}

#[test]
fn children_share_their_namespace_instead_of_copying_it() {
    let wire = amplifier(20_000);
    let (frames, err) = decode_chunked(reader(), &wire, 64 * 1024);
    assert!(err.is_none(), "{err:?}");
    let r = one_element(&frames);
    let ns = r.namespace.as_str().as_ptr();
    assert!(
        r.children
            .iter()
            .all(|c| matches!(c, Node::Element(a) if a.namespace.as_str().as_ptr() == ns))
    );
    // Each `<a/>` costs one node, whatever the namespace's length.
    let ratio = r.heap_bytes() as f64 / wire.len() as f64;
    assert!(ratio < 40.0, "the tree is {ratio:.0}× its bytes");
}

#[test]
fn a_tree_over_four_times_the_frame_limit_is_refused_however_it_arrives() {
    // The issue's stanza: 984 KiB that took 1,947 MiB.
    let wire = amplifier(250_000);
    for chunk in [1, 7, 64 * 1024, wire.len()] {
        let (_, err) = decode_chunked(reader(), &wire, chunk);
        let err = err.expect("refused");
        assert_eq!(err.kind, ErrorKind::TooLarge, "{err:?}");
        assert!(err.detail.contains("--max-frame"), "{}", err.detail);
    }
}

#[test]
fn realistic_stanzas_keep_a_tree_the_size_of_their_bytes() {
    let roster: String = (0..300)
        .map(|i| format!("<item jid='contact{i}@example.net' name='Contact {i}' subscription='both'><group>Friends</group></item>"))
        .collect();
    for stanza in [
        format!("<iq type='result' id='r1'><query xmlns='jabber:iq:roster'>{roster}</query></iq>"),
        format!(
            "<message from='a@x' to='b@x' type='chat'><body>{}</body></message>",
            "一起吃饭 &amp; 聊天 ".repeat(2000)
        ),
    ] {
        let (frames, err) = decode_chunked(reader(), stanza.as_bytes(), 7);
        assert!(err.is_none(), "{err:?}");
        let ratio = one_element(&frames).heap_bytes() as f64 / stanza.len() as f64;
        assert!(ratio < 8.0, "the tree is {ratio:.1}× its bytes");
    }
}

#[test]
fn text_cut_into_pieces_is_one_node() {
    let (frames, _) = decode_chunked(reader(), "<a>hello, 世界 &amp; more</a>".as_bytes(), 1);
    let a = one_element(&frames);
    assert_eq!(a.children, [Node::Text("hello, 世界 & more".into())]);
}

#[test]
fn max_depth_has_a_ceiling_the_stack_can_take() {
    let limits = Limits {
        max_depth: usize::MAX,
        ..Limits::default()
    };
    let deep = "<a>".repeat(DEPTH_CEILING + 10);
    let (_, err) = decode_chunked(
        FrameReader::new(Box::new(Xml::default()), limits),
        deep.as_bytes(),
        4096,
    );
    let err = err.expect("too deep");
    assert!(err.detail.contains("1024"), "{}", err.detail);
}

#[test]
fn escape_round_trips() {
    let s = "<a b=\"x\">&'";
    let wire = format!("<t a=\"{}\">{}</t>", escape(s), escape(s));
    let (frames, err) = decode_chunked(reader(), wire.as_bytes(), 3);
    assert!(err.is_none(), "{err:?}");
    let got = stanzas(&frames);
    let [Stanza::Element(e)] = got.as_slice() else {
        panic!("not one element: {got:?}")
    };
    assert_eq!((e.attr("a"), e.text()), (Some(s), s.to_string()));
}

#[test]
fn a_stream_put_to_sleep_between_stanzas_reads_on_exactly_the_same() {
    let header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' to='localhost'>";
    let stanzas = [
        "<message to='a'><body>one</body></message>",
        "<x:ping/>",
        "<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>",
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>",
        "<presence/>",
        "</stream:stream>",
    ];
    let mut awake = reader();
    let mut sleepy = reader();
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (r, out, sleep) in [(&mut awake, &mut a, false), (&mut sleepy, &mut b, true)] {
        r.push(header.as_bytes());
        while let Some(f) = r.next_frame().expect("valid") {
            out.push(f);
        }
        for s in stanzas {
            if sleep {
                //r.release_if_idle();
            }
            r.push(s.as_bytes());
            while let Some(f) = r.next_frame().expect("valid") {
                out.push(f);
            }
        }
    }
    assert_eq!(a.len(), 7, "{a:?}");
    assert_eq!(a, b);
    // The prefix declared on the first header still works after sleeping.
    let Content::Xml(Stanza::Element(ping)) = &b[2].content else {
        panic!("{:?}", b[2])
    };
    assert_eq!(&*ping.namespace, "urn:x");
}

#[test]
fn plain_text_is_named_as_not_xml_at_once() {
    for input in [&b"hello\n"[..], b"  \n hello <a/>"] {
        let (frames, err) = decode_chunked(reader(), input, 1);
        assert!(frames.is_empty());
        let err = err.expect("not XML");
        assert_eq!(err.kind, crate::framing::ErrorKind::Malformed);
        assert!(err.detail.starts_with("this is not XML"), "{}", err.detail);
    }
    // Between bare stanzas, too.
    let (frames, err) = decode_chunked(reader(), b"<a/>hi", 1);
    assert_eq!(frames.len(), 1);
    assert!(err.expect("not XML").detail.starts_with("this is not XML"));
}

#[test]
fn a_self_closing_stream_header_is_an_error_not_an_empty_frame() {
    // Found by the fuzzer: the header was cut as a frame, and its end (no
    // bytes of its own) came next as a zero-byte frame.
    let wire = format!("<stream:stream xmlns:stream='{STREAMS_NS}' to='x'/><presence/>");
    for piece in [1, 7, wire.len()] {
        let (frames, err) = decode_chunked(reader(), wire.as_bytes(), piece);
        assert_eq!(frames.len(), 1, "the header");
        assert!(matches!(stanzas(&frames)[0], Stanza::StreamOpen(_)));
        let err = err.expect("an error for the self-closing header");
        assert_eq!(err.kind, ErrorKind::Malformed);
        assert!(err.detail.contains("closed itself"), "{}", err.detail);
    }
}

#[test]
fn a_header_after_a_declaration_and_a_newline_survives_the_parser_sleeping() {
    // Found by the xml fuzz target: the whitespace between the declaration
    // and the header was replayed to the woken parser, which refused it.
    for sep in ["", "\n", "\r\r", " \n "] {
        let head = format!(
            "<?xml version='1.0'?>{sep}<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='x'>"
        );
        let mut r = reader();
        r.push(head.as_bytes());
        assert!(matches!(r.next_frame(), Ok(Some(_))), "{sep:?}");
        r.release_if_idle();
        r.push(b"<message/>");
        let frame = r.next_frame().expect("a message after the sleep");
        assert_eq!(frame.expect("whole").wire, b"<message/>", "{sep:?}");
    }
}
