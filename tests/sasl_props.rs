//! Property: whatever bytes a peer sends, at whatever step of a SASL
//! exchange, nothing panics: the server answers with a Failure that has a
//! reason (or, by luck, a valid next step), and the client returns an error.
//!
//! Random bytes rarely get past the first check, so the interesting
//! properties start from valid messages and damage them: one byte changed,
//! one cut, one attribute repeated.

use std::sync::OnceLock;

use proptest::prelude::*;

use socklab::chat::sasl::{
    Credentials, MIN_ITERATIONS, Mechanism, ScramClient, ScramHash, ServerExchange, ServerSettings,
    Step, describe, normalize_localpart, plain_initial, unescape_saslname,
};

fn settings() -> ServerSettings {
    ServerSettings::new("example.org")
}

/// One account, derived once: PBKDF2 in a debug build is slow.
fn creds() -> Credentials {
    static C: OnceLock<Credentials> = OnceLock::new();
    C.get_or_init(|| Credentials::derive(&"pencil".into(), MIN_ITERATIONS).expect("derive"))
        .clone()
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop::sample::select(Mechanism::ALL.to_vec())
}

fn hash() -> impl Strategy<Value = ScramHash> {
    prop::sample::select(vec![ScramHash::Sha1, ScramHash::Sha256])
}

/// Arbitrary bytes, mostly short, sometimes past the 4 KiB cap.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..300),
        1 => prop::collection::vec(any::<u8>(), 4000..4200),
    ]
}

/// Text made of SCRAM's own alphabet, so it gets further than noise.
fn scramish() -> impl Strategy<Value = Vec<u8>> {
    prop::string::string_regex("[nyrpcsivemax=,0-9A-Z+/\\-]{0,80}")
        .expect("regex")
        .prop_map(String::into_bytes)
}

/// A client-first whose gs2 header and username are drawn from the
/// characters their parsers treat specially (escapes, `@`, multi-byte).
fn client_firstish() -> impl Strategy<Value = Vec<u8>> {
    prop::string::string_regex("[ny]?,(a=[=23CDb@é]{0,6})?,n=[=23CDal@é ,]{0,12},r=[ -~]{0,6}")
        .expect("regex")
        .prop_map(String::into_bytes)
}

/// A damaged copy: one byte replaced, the message cut, or a slice repeated.
fn damage(msg: &[u8], at: usize, byte: u8, how: u8) -> Vec<u8> {
    let mut m = msg.to_vec();
    let at = at % (m.len() + 1);
    match how % 3 {
        0 if at < m.len() => m[at] = byte,
        1 => m.truncate(at),
        _ => {
            let copy = m[at..].to_vec();
            m.extend_from_slice(&copy);
        }
    }
    m
}

/// Any step must be well-formed: a Failure always says why, and a final
/// step leaves the exchange done.
fn check(step: &Step, exchange: &ServerExchange) {
    if let Step::Failure(f) = step {
        assert!(!f.reason.is_empty());
    }
    if step.is_final() {
        assert!(exchange.is_done());
    }
}

/// Drives whatever the step asks for, with `data` as every client message.
fn drive(mut exchange: ServerExchange, mut step: Step, data: &[u8], known: bool) {
    for _ in 0..4 {
        check(&step, &exchange);
        step = match step {
            Step::NeedCredentials { .. } => exchange.credentials(known.then(creds)),
            Step::VerifyPlain { .. } => exchange.plain_verified(known),
            Step::Challenge(_) => exchange.respond(data),
            Step::Success { .. } | Step::Failure(_) => return,
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_at_the_start_never_panic(
        m in mechanism(), data in prop_oneof![bytes(), scramish(), client_firstish()], known: bool,
    ) {
        let (exchange, step) = ServerExchange::start(&settings(), m, Some(&data));
        drive(exchange, step, &data, known);
        let (exchange, step) = ServerExchange::start(&settings(), m, None);
        drive(exchange, step, &data, known);
        describe(m, &data);
    }

    #[test]
    fn arbitrary_bytes_after_each_scram_step_never_panic(
        h in hash(), data in prop_oneof![bytes(), scramish()], known: bool,
    ) {
        let m = Mechanism::Scram(h);
        let (mut s, step) = ServerExchange::start(&settings(), m, Some(b"n,,n=alice,r=abc"));
        check(&step, &s);
        let late = s.respond(&data); // while the user is being looked up
        check(&late, &s);
        let (mut s, _) = ServerExchange::start(&settings(), m, Some(b"n,,n=alice,r=abc"));
        let step = s.credentials(known.then(creds));
        check(&step, &s);
        let step = s.respond(&data);
        check(&step, &s);
        prop_assert!(s.is_done());
        let step = s.respond(&data);
        prop_assert!(matches!(step, Step::Failure(_)));
    }

    #[test]
    fn arbitrary_bytes_to_the_client_never_panic(h in hash(), data in prop_oneof![bytes(), scramish()]) {
        let mut c = ScramClient::new(h, "alice", "pencil").expect("client");
        let _ = c.verify_server_final(&data);
        let _ = c.client_final(&data);
        let mut c = ScramClient::new(h, "alice", "pencil").expect("client");
        c.client_first();
        let _ = c.client_final(&data);
        let _ = c.verify_server_final(&data);
    }

    #[test]
    fn arbitrary_text_as_usernames_never_panics(name in prop_oneof![".{0,40}", "[=23CDa,é@ ]{0,12}"]) {
        let _ = normalize_localpart(&name);
        let _ = unescape_saslname(&name);
    }
}

proptest! {
    // Each case runs PBKDF2 on the client's side: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn damaged_scram_messages_fail_without_panicking(
        h in hash(), at: usize, byte: u8, how: u8, which in 0u8..3,
    ) {
        let m = Mechanism::Scram(h);
        let mut client = ScramClient::new(h, "alice", "pencil").expect("client");
        let first = client.client_first();
        let first_in = if which == 0 { damage(&first, at, byte, how) } else { first.clone() };
        let (mut s, step) = ServerExchange::start(&settings(), m, Some(&first_in));
        check(&step, &s);
        if !matches!(step, Step::NeedCredentials { .. }) {
            return Ok(());
        }
        let Step::Challenge(server_first) = s.credentials(Some(creds())) else {
            return Ok(());
        };
        describe(m, &server_first);
        // Only replace bytes of the server-first: a longer i= could ask the
        // client for millions of PBKDF2 rounds, which is allowed but slow.
        let server_first_in =
            if which == 1 { damage(&server_first, at, byte, 0) } else { server_first.clone() };
        let Ok(fin) = client.client_final(&server_first_in) else {
            return Ok(());
        };
        let fin_in = if which == 2 { damage(&fin, at, byte, how) } else { fin.clone() };
        describe(m, &fin_in);
        let step = s.respond(&fin_in);
        check(&step, &s);
        // Every byte is signed: the login succeeds exactly when nothing changed.
        let intact = first_in == first && server_first_in == server_first && fin_in == fin;
        prop_assert_eq!(matches!(step, Step::Success { .. }), intact, "{:?}", step);
        if let Step::Success { additional: Some(v), .. } = &step {
            let _ = client.verify_server_final(&damage(v, at, byte, how));
        }
    }

    #[test]
    fn damaged_plain_messages_fail_without_panicking(at: usize, byte: u8, how: u8) {
        let msg = damage(&plain_initial("", "alice", &"pencil".into()), at, byte, how);
        let (s, step) = ServerExchange::start(&settings(), Mechanism::Plain, Some(&msg));
        if let Step::VerifyPlain { username, .. } = &step {
            prop_assert!(normalize_localpart(username).is_ok());
        }
        drive(s, step, &msg, false);
        prop_assert!(!describe(Mechanism::Plain, &msg).contains("pencil"));
    }
}
