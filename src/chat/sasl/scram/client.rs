//! The client's half of SCRAM: the side socklab's chat client uses to log
//! in to a real server (Prosody), and that checks the server back.
//!
//! SCRAM authenticates both ways. The client proves it knows the password
//! without sending it; then the server proves it knows the stored keys by
//! signing the same conversation (`v=`). A server that merely accepts
//! everyone cannot produce that signature, so [`ScramClient::verify_server_final`]
//! failing means "this is not the server that holds your account".

use std::fmt;

use super::messages::{ServerFinal, parse_server_final, parse_server_first};
use crate::chat::sasl::creds::{MAX_ITERATIONS, MIN_ITERATIONS};
use crate::chat::sasl::hash::{self, ScramHash, b64, ct_eq, xor};
use crate::chat::sasl::secret::Secret;
use crate::chat::sasl::username::escape_saslname;

/// What went wrong on the client's side of SCRAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramError {
    /// A server message that breaks RFC 5802's syntax (the reason says how).
    Malformed(String),
    /// The server's nonce does not extend ours: a replay or a mix-up.
    NonceMismatch,
    /// An iteration count outside MIN_ITERATIONS..=MAX_ITERATIONS.
    Iterations(u32),
    /// The server said `e=...` in its final message.
    ServerError(String),
    /// The server's signature `v=` is wrong: mutual authentication failed.
    ServerSignature,
    /// A method called out of turn (client_final before client_first...).
    OutOfOrder(&'static str),
    /// The operating system's random source failed.
    Random(String),
}

impl fmt::Display for ScramError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ScramError::Malformed(why) => {
                write!(f, "malformed SCRAM message from the server: {why}")
            }
            ScramError::NonceMismatch => f.write_str(
                "the server's nonce does not start with ours (or adds nothing to it): \
                 SCRAM requires the server to extend the client's nonce",
            ),
            ScramError::Iterations(i) => write!(
                f,
                "the server asks for {i} PBKDF2 iterations; this client accepts \
                 {MIN_ITERATIONS} to {MAX_ITERATIONS} (fewer make stolen keys cheap to \
                 crack, more would stall the client)"
            ),
            ScramError::ServerError(e) => write!(f, "the server reported a SCRAM error: {e}"),
            ScramError::ServerSignature => f.write_str(
                "the server signature v= is wrong: the server does not hold this account's \
                 keys (a wrong server, or someone in the middle); do not trust this connection",
            ),
            ScramError::OutOfOrder(why) => write!(f, "SCRAM steps out of order: {why}"),
            ScramError::Random(e) => write!(f, "the system's random source failed: {e}"),
        }
    }
}

impl std::error::Error for ScramError {}

enum State {
    New,
    SentFirst,
    SentFinal { server_signature: Vec<u8> },
    Done,
}

/// One SCRAM login from the client's side.
pub struct ScramClient {
    hash: ScramHash,
    username: String,
    password: Secret,
    nonce: String,
    state: State,
}

impl fmt::Debug for ScramClient {
    /// The mechanism, user and step; never the password.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let step = match self.state {
            State::New => "before client-first",
            State::SentFirst => "awaiting server-first",
            State::SentFinal { .. } => "awaiting server-final",
            State::Done => "done",
        };
        write!(
            f,
            "ScramClient({}, {}, {step})",
            self.hash.mechanism(),
            self.username
        )
    }
}

impl ScramClient {
    pub fn new(
        hash: ScramHash,
        username: &str,
        password: impl Into<Secret>,
    ) -> Result<ScramClient, ScramError> {
        let nonce = hash::nonce().map_err(|e| ScramError::Random(e.to_string()))?;
        Ok(ScramClient::with_nonce(hash, username, password, &nonce))
    }

    /// A client with a chosen nonce, to reproduce the RFC examples.
    #[cfg(test)]
    pub(crate) fn fixed(hash: ScramHash, user: &str, pw: &str, nonce: &str) -> ScramClient {
        ScramClient::with_nonce(hash, user, pw, nonce)
    }

    fn with_nonce(
        hash: ScramHash,
        username: &str,
        password: impl Into<Secret>,
        nonce: &str,
    ) -> ScramClient {
        ScramClient {
            hash,
            username: username.to_string(),
            password: password.into(),
            nonce: nonce.to_string(),
            state: State::New,
        }
    }

    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// `n,,n=USER,r=NONCE`: no channel binding, no authzid.
    pub fn client_first(&mut self) -> Vec<u8> {
        self.state = State::SentFirst;
        format!("n,,{}", self.first_bare()).into_bytes()
    }

    fn first_bare(&self) -> String {
        format!("n={},r={}", escape_saslname(&self.username), self.nonce)
    }

    /// Reads the server-first message and answers with client-final
    /// (`c=biws,r=...,p=PROOF`). Runs PBKDF2, so it takes a few milliseconds
    /// at 4096 iterations and about a second at the 10,000,000 maximum.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        if !matches!(self.state, State::SentFirst) {
            return Err(ScramError::OutOfOrder(
                "client_final needs client_first first",
            ));
        }
        self.state = State::Done;
        let text = std::str::from_utf8(server_first)
            .map_err(|_| ScramError::Malformed("server-first: not UTF-8".into()))?;
        let sf = parse_server_first(text).map_err(ScramError::Malformed)?;
        if !sf.nonce.starts_with(&self.nonce) || sf.nonce.len() == self.nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&sf.iterations) {
            return Err(ScramError::Iterations(sf.iterations));
        }
        let pw = self.password.expose().as_bytes();
        let salted = self.hash.salted_password(pw, &sf.salt, sf.iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.h(&client_key);
        let server_key = self.hash.hmac(&salted, b"Server Key");
        // "biws" is base64("n,,"): the gs2 header, repeated so the server can
        // see nobody stripped a channel-binding request off client-first.
        let without_proof = format!("c={},r={}", b64(b"n,,"), sf.nonce);
        let auth_message = format!("{},{text},{without_proof}", self.first_bare());
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &signature);
        self.state = State::SentFinal {
            server_signature: self.hash.hmac(&server_key, auth_message.as_bytes()),
        };
        Ok(format!("{without_proof},p={}", b64(&proof)).into_bytes())
    }

    /// Checks the server-final message (the `<success/>` data): `v=` must
    /// be the signature only the real server can make.
    pub fn verify_server_final(&mut self, data: &[u8]) -> Result<(), ScramError> {
        let State::SentFinal { server_signature } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(ScramError::OutOfOrder(
                "verify_server_final needs client_final first",
            ));
        };
        let text = std::str::from_utf8(data)
            .map_err(|_| ScramError::Malformed("server-final: not UTF-8".into()))?;
        match parse_server_final(text).map_err(ScramError::Malformed)? {
            ServerFinal::Error(e) => Err(ScramError::ServerError(e)),
            ServerFinal::Verifier(v) if ct_eq(&v, &server_signature) => Ok(()),
            ServerFinal::Verifier(_) => Err(ScramError::ServerSignature),
        }
    }
}
