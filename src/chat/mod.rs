//! `socklab chat`: an XMPP and JSON chat server and client, built to be
//! watched. This module holds the parts that need no socket: SASL
//! authentication (`sasl`), with the wire adapters, core and store beside it.

pub mod sasl;
