//! What an adapter (XMPP or JSON) may do while handling one frame: answer
//! its own session, hand deliveries for other sessions to the loop, and ask
//! the loop for the things only the loop can do — check a password on the
//! worker thread, answer later, restart the stream, close.

use std::time::Duration;

use super::core::{Core, Delivery, SessionId};
use super::sasl::{Credentials, Secret};
use crate::trace::{Event, Side, Tracer};

/// Server settings the adapters read.
#[derive(Clone, Debug)]
pub struct Config {
    pub domain: String,
    /// SASL mechanisms offered, strongest first.
    pub mechanisms: Vec<super::sasl::Mechanism>,
    /// How long a wrong password waits before its failure is sent.
    pub failure_delay: Duration,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// The file service, when it runs.
    pub files: Option<super::files::FilesConfig>,
}

/// Something only the event loop can do.
#[derive(Debug)]
pub enum Request {
    /// Check a password (PBKDF2: slow on purpose) off the loop thread, then
    /// call the adapter's `verified`.
    VerifyPlain {
        user: String,
        password: Secret,
        credentials: Option<Credentials>,
    },
    /// Send these bytes after a delay, reading nothing from the session
    /// meanwhile (a failed login).
    Later(Vec<u8>, Duration),
    /// Send what is queued, then close.
    Close,
}

/// The context of one frame.
pub struct Ctx<'a> {
    pub t: &'a mut Tracer,
    pub core: &'a mut Core,
    pub config: &'a Config,
    pub id: SessionId,
    /// Bytes for this session.
    pub reply: &'a mut Vec<u8>,
    pub deliveries: &'a mut Vec<Delivery>,
    pub requests: &'a mut Vec<Request>,
}

impl Ctx<'_> {
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.reply.extend_from_slice(bytes.as_ref());
    }

    pub fn narrate(&mut self, action: &str, user: &str, text: &str) {
        self.t.emit(
            Side::Server,
            Some(self.id),
            Event::Chat { action, user, text },
        );
    }

    pub fn request(&mut self, r: Request) {
        self.requests.push(r);
    }
}
