//! SCRAM (RFC 5802; SHA-256 in RFC 7677): a password login in which the
//! password never crosses the wire and the server never stores it.
//!
//! ```text
//! client                                         server
//!   client-first  n,,n=user,r=CNONCE        ──▶
//!                                           ◀──  server-first  r=CNONCE+SNONCE,s=SALT,i=4096
//!   client-final  c=biws,r=CNONCE+SNONCE,p=PROOF ──▶
//!                                           ◀──  server-final  v=SIGNATURE
//! ```
//!
//! Both nonces together make each exchange unique, so a recorded proof is
//! useless later. PROOF shows the client knows ClientKey; SIGNATURE shows
//! the server knows ServerKey. `AuthMessage` (the three messages joined,
//! without the proof) is what both sides sign.

pub(crate) mod attrs;
pub mod client;
pub(crate) mod messages;
pub(crate) mod server;

#[cfg(test)]
mod tests;
