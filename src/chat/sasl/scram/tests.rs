//! SCRAM against the RFCs' own examples, both halves, and against itself.
//!
//! RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) print a whole
//! exchange for user "user", password "pencil". Pinning our nonces (and,
//! on the server, the salt) to theirs must reproduce every byte.

use super::client::{ScramClient, ScramError};
use crate::chat::sasl::hash::unb64;
use crate::chat::sasl::{Condition, Credentials, ScramHash, ServerExchange, ServerSettings, Step};

struct Vector {
    hash: ScramHash,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt: &'static str,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

const RFC5802: Vector = Vector {
    hash: ScramHash::Sha1,
    client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
    server_nonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

const RFC7677: Vector = Vector {
    hash: ScramHash::Sha256,
    client_nonce: "rOprNGfwEbeRWgbNEkqO",
    server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                   s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                   p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

fn settings() -> ServerSettings {
    ServerSettings::new("example.org")
}

fn rfc_credentials(v: &Vector) -> Credentials {
    let salt = unb64(v.salt).unwrap();
    Credentials::from_salt(&"pencil".into(), &salt, 4096).unwrap()
}

fn client_side(v: &Vector) {
    let mut c = ScramClient::fixed(v.hash, "user", "pencil", v.client_nonce);
    assert_eq!(c.client_first(), v.client_first.as_bytes());
    let fin = c.client_final(v.server_first.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(fin).unwrap(), v.client_final);
    c.verify_server_final(v.server_final.as_bytes()).unwrap();
}

fn server_side(v: &Vector) {
    let mut s = ServerExchange::start_scram_with_nonce(&settings(), v.hash, v.server_nonce);
    let step = s.respond(v.client_first.as_bytes());
    assert!(
        matches!(&step, Step::NeedCredentials { username } if username == "user"),
        "{step:?}"
    );
    let step = s.credentials(Some(rfc_credentials(v)));
    assert!(
        matches!(&step, Step::Challenge(b) if b == v.server_first.as_bytes()),
        "{step:?}"
    );
    match s.respond(v.client_final.as_bytes()) {
        Step::Success {
            username,
            additional,
        } => {
            assert_eq!(username, "user");
            assert_eq!(additional.as_deref(), Some(v.server_final.as_bytes()));
        }
        other => panic!("{other:?}"),
    }
    assert!(s.is_done());
}

#[test]
fn rfc5802_sha1_example_client_side() {
    client_side(&RFC5802);
}

#[test]
fn rfc5802_sha1_example_server_side() {
    server_side(&RFC5802);
}

#[test]
fn rfc7677_sha256_example_client_side() {
    client_side(&RFC7677);
}

#[test]
fn rfc7677_sha256_example_server_side() {
    server_side(&RFC7677);
}

#[test]
fn a_server_with_the_wrong_keys_fails_the_clients_check() {
    let v = &RFC7677;
    let mut c = ScramClient::fixed(v.hash, "user", "pencil", v.client_nonce);
    c.client_first();
    c.client_final(v.server_first.as_bytes()).unwrap();
    let forged = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    let e = c.verify_server_final(forged.as_bytes()).unwrap_err();
    assert_eq!(e, ScramError::ServerSignature);
    assert!(
        e.to_string().contains("server signature v= is wrong"),
        "{e}"
    );
}

#[test]
fn the_client_refuses_bad_server_first_messages() {
    let v = &RFC5802;
    let salt = ",s=QSXCR+Q6sek8bf92";
    let cases = [
        (
            format!("r=someoneelse{salt},i=4096"),
            "does not start with ours",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawL{salt},i=4096"),
            "adds nothing",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawLx{salt},i=999"),
            "asks for 999 PBKDF2",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawLx{salt},i=10000001"),
            "for 10000001 PBKDF2",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawLx{salt},i=99999999999"),
            "too large",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawLx{salt},i=-1"),
            "not a number",
        ),
        (
            format!("m=ext,r=fyko+d2lbbFgONRv9qkxdawLx{salt},i=4096"),
            "mandatory extension",
        ),
        (
            format!("r=fyko+d2lbbFgONRv9qkxdawLx,i=4096{salt}"),
            "expected s=",
        ),
        (
            "r=fyko+d2lbbFgONRv9qkxdawLx,s=,i=4096".into(),
            "salt s= is empty",
        ),
    ];
    for (server_first, words) in cases {
        let mut c = ScramClient::fixed(v.hash, "user", "pencil", v.client_nonce);
        c.client_first();
        let e = c.client_final(server_first.as_bytes()).unwrap_err();
        assert!(e.to_string().contains(words), "{server_first}: {e}");
    }
}

#[test]
fn the_client_refuses_steps_out_of_order_and_server_errors() {
    let mut c = ScramClient::fixed(ScramHash::Sha1, "user", "pencil", "abc");
    assert!(matches!(
        c.client_final(b"r=abcd,s=c2FsdA==,i=4096"),
        Err(ScramError::OutOfOrder(_))
    ));
    let v = &RFC5802;
    let mut c = ScramClient::fixed(v.hash, "user", "pencil", v.client_nonce);
    c.client_first();
    c.client_final(v.server_first.as_bytes()).unwrap();
    let e = c.verify_server_final(b"e=invalid-proof").unwrap_err();
    assert_eq!(e, ScramError::ServerError("invalid-proof".into()));
    assert!(matches!(
        c.verify_server_final(v.server_final.as_bytes()),
        Err(ScramError::OutOfOrder(_))
    ));
}

#[test]
fn the_client_escapes_commas_and_equals_in_the_username() {
    let mut c = ScramClient::fixed(ScramHash::Sha256, "a,b=c", "pw", "xyz");
    assert_eq!(c.client_first(), b"n,,n=a=2Cb=3Dc,r=xyz");
    let shown = format!("{c:?}");
    assert_eq!(
        shown,
        "ScramClient(SCRAM-SHA-256, a,b=c, awaiting server-first)"
    );
}

/// Runs one exchange from the server's side with the RFC's client-final
/// altered by replacing `from` with `to`, and returns the failure.
fn server_failure(first: &str, from: &str, to: &str) -> crate::chat::sasl::Failure {
    let v = &RFC7677;
    let mut s = ServerExchange::start_scram_with_nonce(&settings(), v.hash, v.server_nonce);
    let step = s.respond(first.as_bytes());
    if let Step::Failure(f) = step {
        return f;
    }
    s.credentials(Some(rfc_credentials(v)));
    match s.respond(v.client_final.replace(from, to).as_bytes()) {
        Step::Failure(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn the_server_refuses_a_tampered_client_final_with_a_reason() {
    use Condition::*;
    let proof = ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    let cases = [
        ("p=dH", "p=dI", NotAuthorized, "wrong username or password"),
        ("c=biws", "c=eSws", MalformedRequest, "gs2 header 'n,,'"),
        ("$k0", "$k1", NotAuthorized, "not the one"),
        (",p=", ",x=1,p=", NotAuthorized, "wrong username"),
        (",p=", ",r=x,p=", MalformedRequest, "appears twice"),
        (
            "p=dHzbZapWIk4jUhN+",
            "p=",
            MalformedRequest,
            "proof p= is 20 bytes",
        ),
        (proof, "", MalformedRequest, "must come last"),
        ("AndVQ=", "AndVQ=\0", MalformedRequest, "not valid base64"),
        ("c=biws,", "", MalformedRequest, "expected c="),
        (
            "c=biws",
            "c=bi!ws",
            MalformedRequest,
            "c= is not valid base64",
        ),
    ];
    for (from, to, condition, words) in cases {
        let f = server_failure(RFC7677.client_first, from, to);
        assert_eq!(f.condition, condition, "{from} -> {to}: {f}");
        assert!(f.reason.contains(words), "{from} -> {to}: {f}");
    }
}

#[test]
fn the_server_refuses_a_bad_client_first_with_a_reason() {
    use Condition::*;
    let cases = [
        ("n,,r=abc,n=user", MalformedRequest, "expected n="),
        ("n,,n=us=er,r=abc", MalformedRequest, "'=er'"),
        ("n,,n=a@b,r=abc", MalformedRequest, "'@'"),
        ("n,,n=,r=abc", MalformedRequest, "empty"),
        ("p=tls-unique,,n=user,r=abc", MalformedRequest, "-PLUS"),
        ("x,,n=user,r=abc", MalformedRequest, "must be n, y or p="),
        ("n,a=bob@example.org,n=user,r=abc", InvalidAuthzid, "bob@"),
        ("n,b=x,n=user,r=abc", MalformedRequest, "empty or a="),
        ("n,,n=user,r=a b", MalformedRequest, "printable"),
        (
            "n,,n=user",
            MalformedRequest,
            "r= (the client's nonce) is missing",
        ),
        ("n,,n=user,r=", MalformedRequest, "nonce r= is empty"),
        ("n,,m=x,n=user,r=abc", MalformedRequest, "mandatory"),
        ("n,,n=us\u{7f}er,r=abc", MalformedRequest, "U+007F"),
        ("n,,n=user,n=user,r=abc", MalformedRequest, "appears twice"),
        ("n,,n=user,r=abc,,", MalformedRequest, "not 'letter=value'"),
        ("n,n=user,r=abc", MalformedRequest, "empty or a="),
        ("n=user,r=abc", MalformedRequest, "no gs2 header"),
    ];
    for (first, condition, words) in cases {
        let f = server_failure(first, "", "");
        assert_eq!(f.condition, condition, "{first}: {f}");
        assert!(f.reason.contains(words), "{first}: {f}");
    }
}

#[test]
fn a_y_flag_is_accepted_since_we_offer_no_channel_binding() {
    let settings = settings();
    let (mut s, step) = ServerExchange::start(
        &settings,
        crate::chat::sasl::Mechanism::Scram(ScramHash::Sha256),
        Some(b"y,,n=user,r=abc"),
    );
    assert!(matches!(step, Step::NeedCredentials { .. }), "{step:?}");
    assert!(matches!(s.credentials(None), Step::Challenge(_)));
}
