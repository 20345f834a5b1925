//! The server's half of SCRAM, as a state machine that never touches a
//! socket or a database.
//!
//! ```text
//! AwaitFirst ──client-first──▶ AwaitCredentials ──credentials()──▶ AwaitFinal ──client-final──▶ done
//!                              (caller looks the user up)   (server-first sent)   (v= or failure)
//! ```
//!
//! An unknown user gets a server-first too, with a salt made from the
//! username and a per-process secret: the same name always gets the same
//! fake salt, as a real account always shows its real one, so probing
//! cannot tell them apart. Its proof then fails exactly like a wrong
//! password's, after the same computations.

use std::sync::OnceLock;

use super::messages::{parse_client_final, parse_client_first};
use crate::chat::sasl::Step;
use crate::chat::sasl::creds::{Credentials, SALT_LEN, ScramKeys};
use crate::chat::sasl::failure::{Condition, Failure, utf8};
use crate::chat::sasl::hash::{self, ScramHash, b64, ct_eq, xor};
use crate::chat::sasl::username::{check_authzid, normalize_localpart};

/// What the server remembers from the client's first message.
struct First {
    gs2_header: String,
    bare: String,
    client_nonce: String,
    username: String,
}

/// What the server needs to check the client's final message.
struct Pending {
    first: First,
    server_first: String,
    nonce: String,
    keys: ScramKeys,
    known: bool,
}

enum State {
    AwaitFirst,
    AwaitCredentials(First),
    AwaitFinal(Pending),
    Done,
}

pub(crate) struct ScramServer {
    hash: ScramHash,
    domain: String,
    /// The count an unknown user's fake server-first shows.
    iterations: u32,
    /// Tests pin the server's nonce to reproduce the RFC examples.
    fixed_nonce: Option<String>,
    state: State,
}

impl ScramServer {
    pub fn new(hash: ScramHash, domain: &str, iterations: u32) -> ScramServer {
        ScramServer {
            hash,
            domain: domain.to_string(),
            iterations,
            fixed_nonce: None,
            state: State::AwaitFirst,
        }
    }

    #[cfg(test)]
    pub fn with_nonce(mut self, nonce: &str) -> ScramServer {
        self.fixed_nonce = Some(nonce.to_string());
        self
    }

    /// Feeds the next client message to whichever step is waiting for one.
    pub fn respond(&mut self, data: &[u8]) -> Result<Step, Failure> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitFirst => self.client_first(data),
            State::AwaitFinal(pending) => self.client_final(data, pending),
            State::AwaitCredentials(_) => Err(Failure::malformed(
                "a client message arrived while the server was still looking the user up; \
                 SCRAM is strictly one message each in turn",
            )),
            State::Done => Err(done()),
        }
    }

    fn client_first(&mut self, data: &[u8]) -> Result<Step, Failure> {
        let msg = utf8(data, "client-first")?;
        let first = parse_client_first(msg).map_err(Failure::malformed)?;
        let username = normalize_localpart(&first.username).map_err(Failure::malformed)?;
        check_authzid(&first.authzid, &username, &self.domain)?;
        self.state = State::AwaitCredentials(First {
            gs2_header: first.gs2_header.to_string(),
            bare: first.bare.to_string(),
            client_nonce: first.nonce.to_string(),
            username: username.clone(),
        });
        Ok(Step::NeedCredentials { username })
    }

    /// The caller's answer to `NeedCredentials`: `None` for an unknown user.
    pub fn credentials(&mut self, creds: Option<Credentials>) -> Result<Step, Failure> {
        let first = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitCredentials(first) => first,
            _ => {
                return Err(Failure::malformed(
                    "credentials given when none were asked for",
                ));
            }
        };
        let server_nonce = match &self.fixed_nonce {
            Some(n) => n.clone(),
            None => hash::nonce().map_err(random_failed)?,
        };
        let nonce = format!("{}{server_nonce}", first.client_nonce);
        let (salt, iterations, keys, known) = match creds {
            Some(c) => (
                c.salt.clone(),
                c.iterations,
                c.keys(self.hash).clone(),
                true,
            ),
            None => {
                let zero = vec![0; self.hash.size()];
                let keys = ScramKeys {
                    stored_key: zero.clone(),
                    server_key: zero,
                };
                (fake_salt(&first.username)?, self.iterations, keys, false)
            }
        };
        let server_first = format!("r={nonce},s={},i={iterations}", b64(&salt));
        self.state = State::AwaitFinal(Pending {
            first,
            server_first: server_first.clone(),
            nonce,
            keys,
            known,
        });
        Ok(Step::Challenge(server_first.into_bytes()))
    }

    fn client_final(&mut self, data: &[u8], p: Pending) -> Result<Step, Failure> {
        let msg = utf8(data, "client-final")?;
        let fin = parse_client_final(msg).map_err(Failure::malformed)?;
        if fin.channel_binding != p.first.gs2_header.as_bytes() {
            return Err(Failure::malformed(format!(
                "client-final: c= must be the gs2 header '{}' in base64 ('{}'), since no \
                 channel binding is in use",
                p.first.gs2_header,
                b64(p.first.gs2_header.as_bytes())
            )));
        }
        if fin.nonce != p.nonce {
            return Err(Failure::new(
                Condition::NotAuthorized,
                "client-final: the nonce r= is not the one this exchange agreed on (a replayed \
                 or mixed-up message)",
            ));
        }
        if fin.proof.len() != self.hash.size() {
            return Err(Failure::malformed(format!(
                "client-final: the proof p= is {} bytes; {} proofs are {}",
                fin.proof.len(),
                self.hash.mechanism(),
                self.hash.size()
            )));
        }
        let auth_message = format!("{},{},{}", p.first.bare, p.server_first, fin.without_proof);
        let client_signature = self.hash.hmac(&p.keys.stored_key, auth_message.as_bytes());
        let client_key = xor(&fin.proof, &client_signature);
        let proof_ok = ct_eq(&self.hash.h(&client_key), &p.keys.stored_key);
        if !(proof_ok && p.known) {
            return Err(Failure::wrong_credentials());
        }
        let server_signature = self.hash.hmac(&p.keys.server_key, auth_message.as_bytes());
        Ok(Step::Success {
            username: p.first.username,
            additional: Some(format!("v={}", b64(&server_signature)).into_bytes()),
        })
    }
}

pub(crate) fn done() -> Failure {
    Failure::malformed("the exchange is already over; start a new one with <auth/>")
}

pub(crate) fn random_failed(e: getrandom::Error) -> Failure {
    Failure::new(
        Condition::TemporaryAuthFailure,
        format!("the server's random source failed ({e}); try again later"),
    )
}

/// A salt for a user that does not exist: HMAC(process secret, username),
/// stable for this process, unpredictable without the secret.
fn fake_salt(username: &str) -> Result<Vec<u8>, Failure> {
    static SECRET: OnceLock<Vec<u8>> = OnceLock::new();
    let secret = match SECRET.get() {
        Some(s) => s,
        None => {
            let fresh = hash::random_bytes(32).map_err(random_failed)?;
            SECRET.get_or_init(|| fresh)
        }
    };
    let mut salt = ScramHash::Sha256.hmac(secret, username.as_bytes());
    salt.truncate(SALT_LEN);
    Ok(salt)
}
