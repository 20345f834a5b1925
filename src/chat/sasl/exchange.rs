//! `ServerExchange`: one SASL negotiation on the server's side, whatever the
//! mechanism, as a state machine the caller drives with the client's
//! messages and with the answers only it can give (who the user is, whether
//! a PLAIN password is right).
//!
//! ```text
//! start(mechanism, initial response?) ─┐
//! respond(client data) ────────────────┼──▶ Step::Challenge(bytes)        send <challenge/>, wait for respond()
//! credentials(Some/None) ──────────────┤    Step::NeedCredentials{user}   look the user up, call credentials()
//! plain_verified(bool) ────────────────┤    Step::VerifyPlain{..}         verify_plain() on a worker, call plain_verified()
//! abort() ─────────────────────────────┘    Step::Success{user, v=..?}    send <success/>: done
//!                                           Step::Failure(condition)      send <failure/>: done
//! ```
//!
//! Once a Success or Failure has been returned the exchange is over; any
//! further call fails with `malformed-request`. Nothing here blocks or runs
//! PBKDF2, so the caller can drive it from its event loop.

use std::fmt;

use super::anonymous;
use super::creds::{Credentials, DEFAULT_ITERATIONS};
use super::failure::{Condition, Failure};
use super::mechanism::Mechanism;
use super::plain;
use super::scram::server::{ScramServer, done, random_failed};
use super::secret::Secret;

/// The largest SASL message accepted, after base64 decoding. Real ones are
/// under 300 bytes; the cap keeps a hostile client from making the server
/// hash or copy megabytes.
pub const MAX_MESSAGE: usize = 4096;

/// What the server's exchanges need to know about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The XMPP domain: `alice@DOMAIN` is an acceptable authzid for alice.
    pub domain: String,
    /// The iteration count new accounts get. An unknown user's fake SCRAM
    /// challenge shows it, and PLAIN spends it on an unknown user, so both
    /// look like a real account.
    pub iterations: u32,
}

impl ServerSettings {
    pub fn new(domain: &str) -> ServerSettings {
        ServerSettings {
            domain: domain.to_string(),
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

/// What the caller must do next.
#[derive(Debug)]
pub enum Step {
    /// SCRAM: look the (normalised) user up, then call `credentials`.
    NeedCredentials { username: String },
    /// PLAIN: run `verify_plain` on a worker thread, then `plain_verified`.
    VerifyPlain {
        authzid: String,
        username: String,
        password: Secret,
    },
    /// Send these bytes to the client (`<challenge/>`; may be empty).
    Challenge(Vec<u8>),
    /// Logged in. `additional` goes in `<success/>` (SCRAM's `v=...`).
    Success {
        username: String,
        additional: Option<Vec<u8>>,
    },
    /// Send `<failure/>` with this condition; the exchange is over.
    Failure(Failure),
}

impl Step {
    /// Whether the exchange ended with this step.
    pub fn is_final(&self) -> bool {
        matches!(self, Step::Success { .. } | Step::Failure(_))
    }
}

enum State {
    AwaitPlain,
    AwaitVerdict { username: String },
    AwaitAnonymous,
    Scram(Box<ScramServer>),
    Done,
}

/// One SASL negotiation, server side.
pub struct ServerExchange {
    mechanism: Mechanism,
    domain: String,
    state: State,
}

impl ServerExchange {
    /// Begins an exchange for the mechanism the client chose (see
    /// [`Mechanism::choose`]), with its initial response if `<auth/>` had
    /// one. `Some(&[])` is an empty initial response (`=` on the XMPP wire),
    /// `None` none at all: then the first step is an empty challenge.
    pub fn start(
        settings: &ServerSettings,
        mechanism: Mechanism,
        initial_response: Option<&[u8]>,
    ) -> (ServerExchange, Step) {
        let state = match mechanism {
            Mechanism::Plain => State::AwaitPlain,
            Mechanism::Anonymous => State::AwaitAnonymous,
            Mechanism::Scram(hash) => State::Scram(Box::new(ScramServer::new(
                hash,
                &settings.domain,
                settings.iterations,
            ))),
        };
        let mut exchange = ServerExchange {
            mechanism,
            domain: settings.domain.clone(),
            state,
        };
        let step = match initial_response {
            Some(data) => exchange.respond(data),
            None => Step::Challenge(Vec::new()),
        };
        (exchange, step)
    }

    /// A SCRAM exchange whose server nonce is fixed (RFC test vectors).
    #[cfg(test)]
    pub(crate) fn start_scram_with_nonce(
        settings: &ServerSettings,
        hash: super::ScramHash,
        nonce: &str,
    ) -> ServerExchange {
        let server = ScramServer::new(hash, &settings.domain, settings.iterations);
        ServerExchange {
            mechanism: Mechanism::Scram(hash),
            domain: settings.domain.clone(),
            state: State::Scram(Box::new(server.with_nonce(nonce))),
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The client's next message (`<response/>` data, base64 already decoded).
    pub fn respond(&mut self, data: &[u8]) -> Step {
        if data.len() > MAX_MESSAGE {
            return self.end(Err(Failure::malformed(format!(
                "the message is {} bytes; this server accepts at most {MAX_MESSAGE}",
                data.len()
            ))));
        }
        let result = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitPlain => plain::parse(data, &self.domain).map(|r| {
                self.state = State::AwaitVerdict {
                    username: r.username.clone(),
                };
                Step::VerifyPlain {
                    authzid: r.authzid,
                    username: r.username,
                    password: r.password,
                }
            }),
            State::AwaitAnonymous => anonymous::parse_trace(data).and_then(|_| {
                let username = anonymous::fresh_username().map_err(random_failed)?;
                Ok(Step::Success {
                    username,
                    additional: None,
                })
            }),
            State::Scram(mut server) => {
                let result = server.respond(data);
                self.state = State::Scram(server);
                result
            }
            State::AwaitVerdict { .. } => Err(Failure::malformed(
                "a client message arrived while the PLAIN password was being checked",
            )),
            State::Done => Err(done()),
        };
        self.end(result)
    }

    /// The answer to [`Step::NeedCredentials`]: the user's stored
    /// credentials, or `None` if there is no such user (the client then
    /// fails later exactly as with a wrong password).
    pub fn credentials(&mut self, creds: Option<Credentials>) -> Step {
        let result = match std::mem::replace(&mut self.state, State::Done) {
            State::Scram(mut server) => {
                let result = server.credentials(creds);
                self.state = State::Scram(server);
                result
            }
            _ => Err(Failure::malformed(
                "credentials given when none were asked for",
            )),
        };
        self.end(result)
    }

    /// The answer to [`Step::VerifyPlain`]: whether [`verify_plain`](super::verify_plain)
    /// accepted the password.
    pub fn plain_verified(&mut self, ok: bool) -> Step {
        let result = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitVerdict { username } if ok => Ok(Step::Success {
                username,
                additional: None,
            }),
            State::AwaitVerdict { .. } => Err(Failure::wrong_credentials()),
            _ => Err(Failure::malformed(
                "a PLAIN verdict given when none was asked for",
            )),
        };
        self.end(result)
    }

    /// The client sent `<abort/>` (RFC 6120 §6.4.4).
    pub fn abort(&mut self) -> Step {
        self.end(Err(Failure::new(
            Condition::Aborted,
            "the client aborted the authentication",
        )))
    }

    /// Turns an error into a Failure step, and ends the exchange on a final step.
    fn end(&mut self, result: Result<Step, Failure>) -> Step {
        let step = result.unwrap_or_else(Step::Failure);
        if step.is_final() {
            self.state = State::Done;
        }
        step
    }
}

impl fmt::Debug for ServerExchange {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let state = match &self.state {
            State::AwaitPlain => "awaiting the PLAIN message",
            State::AwaitVerdict { .. } => "awaiting the password check",
            State::AwaitAnonymous => "awaiting the ANONYMOUS trace",
            State::Scram(_) => "in a SCRAM exchange",
            State::Done => "done",
        };
        write!(f, "ServerExchange({}, {state})", self.mechanism.name())
    }
}
