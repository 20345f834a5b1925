//! Whole exchanges through the public API: our client against our server
//! for every mechanism, and the ways a login must fail.

use super::*;

fn settings() -> ServerSettings {
    ServerSettings::new("example.org")
}

/// Alice's credentials, derived once (PBKDF2 is slow in debug builds).
fn alice() -> Credentials {
    use std::sync::OnceLock;
    static CREDS: OnceLock<Credentials> = OnceLock::new();
    CREDS
        .get_or_init(|| Credentials::derive(&"pencil".into(), DEFAULT_ITERATIONS).unwrap())
        .clone()
}

/// Runs a SCRAM login; `lookup` plays the store. Returns the server's last
/// step and what the client made of it.
fn scram_login(
    hash: ScramHash,
    user: &str,
    password: &str,
    lookup: impl Fn(&str) -> Option<Credentials>,
) -> (Step, Option<Result<(), ScramError>>, Vec<u8>) {
    let mut client = ScramClient::new(hash, user, password).unwrap();
    let (mut server, step) = ServerExchange::start(
        &settings(),
        Mechanism::Scram(hash),
        Some(&client.client_first()),
    );
    let Step::NeedCredentials { username } = step else {
        panic!("{step:?}")
    };
    let Step::Challenge(server_first) = server.credentials(lookup(&username)) else {
        panic!("no server-first")
    };
    let client_final = client.client_final(&server_first).unwrap();
    let step = server.respond(&client_final);
    let verdict = match &step {
        Step::Success {
            additional: Some(v),
            ..
        } => Some(client.verify_server_final(v)),
        _ => None,
    };
    (step, verdict, server_first)
}

fn only_alice(name: &str) -> Option<Credentials> {
    (name == "alice").then(alice)
}

#[test]
fn scram_round_trips_for_both_hashes_and_the_client_checks_the_server() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let (step, verdict, _) = scram_login(hash, "Alice", "pencil", only_alice);
        assert!(
            matches!(&step, Step::Success { username, .. } if username == "alice"),
            "{step:?}"
        );
        assert_eq!(verdict, Some(Ok(())), "{hash:?}");
    }
}

#[test]
fn a_wrong_password_and_an_unknown_user_fail_alike() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let (wrong, _, real_first) = scram_login(hash, "alice", "pencil2", only_alice);
        let (unknown, _, fake_first) = scram_login(hash, "bob", "pencil", only_alice);
        let (Step::Failure(a), Step::Failure(b)) = (&wrong, &unknown) else {
            panic!("{wrong:?} / {unknown:?}")
        };
        assert_eq!(a, b);
        assert_eq!(a.condition, Condition::NotAuthorized);
        // The fake server-first has the real one's shape: same salt size, same count.
        let shape = |m: &[u8]| {
            let text = String::from_utf8(m.to_vec()).unwrap();
            let parts: Vec<String> = text.split(',').map(|p| p[..2].to_string()).collect();
            let salt = text
                .split(",s=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .len();
            (parts, salt, text.rsplit(',').next().unwrap().to_string())
        };
        assert_eq!(shape(&real_first), shape(&fake_first));
    }
}

#[test]
fn an_unknown_user_sees_the_same_salt_every_time_as_a_real_one_would() {
    let salt = |m: Vec<u8>| {
        String::from_utf8(m)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_string()
    };
    let (_, _, first) = scram_login(ScramHash::Sha256, "nobody", "x", |_| None);
    let (_, _, again) = scram_login(ScramHash::Sha256, "nobody", "y", |_| None);
    let (_, _, other) = scram_login(ScramHash::Sha256, "nobody2", "x", |_| None);
    assert_eq!(salt(first.clone()), salt(again));
    assert_ne!(salt(first), salt(other));
}

#[test]
fn a_replayed_client_final_fails_in_a_new_exchange() {
    let hash = ScramHash::Sha256;
    let mut client = ScramClient::new(hash, "alice", "pencil").unwrap();
    let first = client.client_first();
    let (mut s1, _) = ServerExchange::start(&settings(), Mechanism::Scram(hash), Some(&first));
    let Step::Challenge(sf) = s1.credentials(Some(alice())) else {
        panic!()
    };
    let recorded = client.client_final(&sf).unwrap();
    assert!(matches!(s1.respond(&recorded), Step::Success { .. }));
    // An eavesdropper replays both client messages to a fresh exchange.
    let (mut s2, _) = ServerExchange::start(&settings(), Mechanism::Scram(hash), Some(&first));
    s2.credentials(Some(alice()));
    let Step::Failure(f) = s2.respond(&recorded) else {
        panic!()
    };
    assert_eq!(f.condition, Condition::NotAuthorized);
    assert!(f.reason.contains("replayed"), "{f}");
}

#[test]
fn scram_without_an_initial_response_starts_with_an_empty_challenge() {
    let (mut s, step) = ServerExchange::start(&settings(), Mechanism::Scram(ScramHash::Sha1), None);
    assert!(
        matches!(&step, Step::Challenge(c) if c.is_empty()),
        "{step:?}"
    );
    assert!(matches!(
        s.respond(b"n,,n=alice,r=abc"),
        Step::NeedCredentials { .. }
    ));
    let Step::Failure(f) = s.respond(b"n,,n=alice,r=abc") else {
        panic!()
    };
    assert!(f.reason.contains("looking the user up"), "{f}");
}

fn plain(initial: &[u8]) -> (ServerExchange, Step) {
    ServerExchange::start(&settings(), Mechanism::Plain, Some(initial))
}

#[test]
fn plain_hands_the_password_to_the_caller_and_takes_its_verdict() {
    let msg = plain_initial("", "Alice", &"pencil".into());
    for (password_ok, creds) in [(true, Some(alice())), (false, None)] {
        let (mut s, step) = plain(&msg);
        let Step::VerifyPlain {
            authzid,
            username,
            password,
        } = step
        else {
            panic!("{step:?}")
        };
        assert_eq!((authzid.as_str(), username.as_str()), ("", "alice"));
        let ok = verify_plain(creds.as_ref(), &password, DEFAULT_ITERATIONS);
        assert_eq!(ok, password_ok);
        match s.plain_verified(ok) {
            Step::Success {
                username,
                additional: None,
            } => assert_eq!(username, "alice"),
            Step::Failure(f) => assert_eq!(f, Failure::wrong_credentials()),
            other => panic!("{other:?}"),
        }
        assert!(s.is_done());
    }
}

#[test]
fn plain_without_an_initial_response_and_with_a_bad_authzid() {
    let (mut s, step) = ServerExchange::start(&settings(), Mechanism::Plain, None);
    assert!(matches!(&step, Step::Challenge(c) if c.is_empty()));
    assert!(matches!(
        s.respond(b"alice@example.org\0alice\0pw"),
        Step::VerifyPlain { .. }
    ));
    let (_, step) = plain(b"bob@example.org\0alice\0pw");
    assert!(matches!(
        step,
        Step::Failure(Failure {
            condition: Condition::InvalidAuthzid,
            ..
        })
    ));
}

#[test]
fn anonymous_makes_up_a_fresh_username() {
    let (_, a) = ServerExchange::start(&settings(), Mechanism::Anonymous, Some(b"trace"));
    let (mut s, step) = ServerExchange::start(&settings(), Mechanism::Anonymous, None);
    assert!(matches!(step, Step::Challenge(_)));
    let b = s.respond(b"");
    let (Step::Success { username: a, .. }, Step::Success { username: b, .. }) = (a, b) else {
        panic!()
    };
    assert!(a.starts_with("anon-") && a != b, "{a} {b}");
    let (_, step) = ServerExchange::start(&settings(), Mechanism::Anonymous, Some(&[0xff]));
    assert!(matches!(step, Step::Failure(_)));
}

#[test]
fn oversized_messages_late_calls_and_aborts_fail_with_a_reason() {
    let big = vec![b'a'; MAX_MESSAGE + 1];
    for m in Mechanism::ALL {
        let (mut s, step) = ServerExchange::start(&settings(), m, Some(&big));
        let Step::Failure(f) = step else {
            panic!("{m:?}: {step:?}")
        };
        assert!(f.reason.contains("4097 bytes"), "{f}");
        let Step::Failure(f) = s.respond(b"anything") else {
            panic!()
        };
        assert!(f.reason.contains("already over"), "{f}");
        assert!(matches!(s.credentials(None), Step::Failure(_)));
        assert!(matches!(s.plain_verified(true), Step::Failure(_)));
    }
    let (mut s, _) = ServerExchange::start(&settings(), Mechanism::Plain, None);
    let Step::Failure(f) = s.abort() else {
        panic!()
    };
    assert_eq!(f.condition, Condition::Aborted);
    assert!(s.is_done());
}

#[test]
fn secrets_stay_hidden_in_debug_output_of_steps() {
    let (s, step) = plain(b"\0alice\0pencil");
    let text = format!("{step:?} {s:?}");
    assert!(!text.contains("pencil") && text.contains(MASK), "{text}");
}
