//! The telnet codec fed real negotiations, at every split point.

use super::names::{DO, DONT, IAC, SB, SE, WILL, WONT};
use super::*;
use crate::framing::testing::{assert_any_split_same, decode_chunked};
use crate::framing::{ErrorKind, Frame, FrameReader};

fn reader() -> FrameReader {
    FrameReader::new(Box::new(Telnet::default()), Limits::default())
}

fn items(frames: &[Frame]) -> Vec<Item> {
    frames
        .iter()
        .map(|f| match &f.content {
            Content::Telnet(item) => item.clone(),
            other => panic!("not telnet: {other:?}"),
        })
        .collect()
}

/// What inetutils telnet sends first when it connects to port 23.
const CLIENT_HELLO: &[u8] = &[
    IAC, DO, 3, IAC, WILL, 24, IAC, WILL, 31, IAC, WILL, 32, IAC, WILL, 33, IAC, WILL, 34, IAC,
    WILL, 39, IAC, DO, 5, IAC, WILL, 35,
];

#[test]
fn a_clients_first_words_are_named_commands_at_every_split() {
    let mut input = CLIENT_HELLO.to_vec();
    input.extend_from_slice(b"hello\r\n");
    let frames = assert_any_split_same(reader, &input);
    let items = items(&frames);
    assert_eq!(items.len(), 10);
    assert_eq!(
        items[0],
        Item::Negotiate {
            verb: DO,
            option: 3
        }
    );
    assert_eq!(frames[1].summary(), "IAC WILL TERMINAL-TYPE");
    assert_eq!(
        items[9],
        Item::Data {
            text: b"hello".to_vec(),
            end: DataEnd::CrLf
        }
    );
    let out: Vec<u8> = frames.iter().flat_map(|f| f.output()).collect();
    assert_eq!(out, b"hello\r\n", "commands never reach stdout");
}

#[test]
fn iac_iac_is_a_data_byte_and_a_command_may_split_a_line() {
    let input = [b"a".as_slice(), &[IAC, IAC], b"b", &[IAC, 241], b"c\r\0d\n"].concat();
    let frames = assert_any_split_same(reader, &input);
    assert_eq!(
        items(&frames),
        [
            Item::Data {
                text: vec![b'a', 255, b'b'],
                end: DataEnd::Command
            },
            Item::Command(241),
            Item::Data {
                text: b"c".to_vec(),
                end: DataEnd::CrNul
            },
            Item::Data {
                text: b"d".to_vec(),
                end: DataEnd::Lf
            },
        ]
    );
    let out: Vec<u8> = frames.iter().flat_map(|f| f.output()).collect();
    assert_eq!(out, [b"a".as_slice(), &[255], b"bc\nd\n"].concat());
}

#[test]
fn subnegotiations_carry_their_parameters_even_with_iac_inside() {
    // NAWS 255x24: the width's low byte is 255, sent as IAC IAC.
    let input = [&[IAC, SB, 31, 0, IAC, IAC, 0, 24, IAC, SE][..], b"x\n"].concat();
    let frames = assert_any_split_same(reader, &input);
    assert_eq!(
        items(&frames)[0],
        Item::Sub {
            option: 31,
            params: vec![0, 255, 0, 24],
            ended: true
        }
    );
    assert_eq!(answer::params(31, &[0, 255, 0, 24]), "255x24");
}

#[test]
fn a_subnegotiation_cut_short_by_a_command_ends_there() {
    let input = [IAC, SB, 24, 0, b'X', IAC, WONT, 1];
    let frames = assert_any_split_same(reader, &input);
    let items = items(&frames);
    assert!(
        matches!(items[0], Item::Sub { ended: false, .. }),
        "{items:?}"
    );
    assert_eq!(
        items[1],
        Item::Negotiate {
            verb: WONT,
            option: 1
        }
    );
}

#[test]
fn an_endless_subnegotiation_is_refused() {
    let mut input = vec![IAC, SB, 24];
    input.extend(std::iter::repeat_n(b'x', MAX_SUB + 10));
    let (_, err) = decode_chunked(reader(), &input, 7);
    assert_eq!(err.expect("too large").kind, ErrorKind::TooLarge);
}

#[test]
fn a_stream_that_ends_inside_a_command_says_so() {
    for tail in [&[IAC][..], &[IAC, DONT], &[IAC, SB, 31, 0]] {
        let input = [b"ok\n".as_slice(), tail].concat();
        let (frames, err) = decode_chunked(reader(), &input, 1);
        assert_eq!(frames.len(), 1, "{tail:?}");
        assert_eq!(
            err.expect("unfinished").kind,
            ErrorKind::PeerClosedMidFrame,
            "{tail:?}"
        );
    }
    let (frames, err) = decode_chunked(reader(), b"no end", 2);
    assert!(err.is_none());
    assert_eq!(
        frames[0].summary(),
        "\"no end\" (no line ending: the stream ended)"
    );
}

#[test]
fn typed_text_is_escaped_for_the_wire() {
    let mut cr = false;
    assert_eq!(escape(b"a\nb\r\n", &mut cr), b"a\r\nb\r\n");
    assert_eq!(escape(&[255, b'\r'], &mut cr), [IAC, IAC, b'\r']);
    assert_eq!(escape(b"\n", &mut cr), b"\n", "CR LF split across chunks");
}
