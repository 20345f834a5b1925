//! SASL authentication for the chat server and client: pure code, no
//! sockets, no XML, no database.
//!
//! SASL (RFC 4422) is a framework: the server lists mechanisms, the client
//! picks one, and they trade opaque messages until the server says success
//! or failure. XMPP carries those messages base64-encoded in `<auth/>`,
//! `<challenge/>`, `<response/>`, `<success/>` and `<failure/>` (RFC 6120
//! §6); that wrapping is the XMPP adapter's job. Here is what is inside:
//!
//! ```text
//! mechanism.rs   Mechanism: the names and how a client's choice is checked
//! exchange.rs    ServerExchange, Step: the server's state machine, every mechanism
//! plain.rs       PLAIN (RFC 4616): authzid NUL user NUL password
//! anonymous.rs   ANONYMOUS (RFC 4505): no account, a made-up username
//! scram/         SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677): messages,
//!                server half, client half (ScramClient)
//! creds.rs       Credentials: what the server stores instead of a password
//! hash.rs        H, HMAC, PBKDF2 and constant-time comparison, per hash
//! username.rs    localpart rules, SCRAM's =2C/=3D escaping, the authzid rule
//! secret.rs      Secret: a password that prints as ••••••
//! failure.rs     Failure: RFC 6120 §6.5 condition and a plain-words reason
//! describe.rs    one-line explanations of each message, secrets masked
//! ```
//!
//! Two things are slow on purpose (PBKDF2): [`Credentials::derive`] and
//! [`verify_plain`]. The exchange never calls them; it hands the work to
//! the caller ([`Step::VerifyPlain`]) to run on a worker thread. Everything
//! else is a few hashes at most.

mod anonymous;
mod creds;
mod describe;
mod exchange;
mod failure;
mod hash;
mod mechanism;
mod plain;
mod scram;
mod secret;
mod username;

pub use creds::{
    Credentials, DEFAULT_ITERATIONS, DeriveError, MAX_ITERATIONS, MIN_ITERATIONS, SALT_LEN,
    ScramKeys, verify_plain,
};
pub use describe::{
    describe, describe_anonymous, describe_plain, describe_scram, describe_scram_client_final,
    describe_scram_client_first, describe_scram_server_final, describe_scram_server_first,
};
pub use exchange::{MAX_MESSAGE, ServerExchange, ServerSettings, Step};
pub use failure::{Condition, Failure};
pub use hash::ScramHash;
pub use mechanism::Mechanism;
pub use plain::plain_initial;
pub use scram::client::{ScramClient, ScramError};
pub use secret::{MASK, Secret};
pub use username::{MAX_LOCALPART, escape_saslname, normalize_localpart, unescape_saslname};

#[cfg(test)]
mod tests;
